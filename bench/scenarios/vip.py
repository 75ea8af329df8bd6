"""VIP tiers (issue 7): re-evaluating the tiers of 1 000 000 customers after a threshold change.

* Data (its own tenant, slug TENANT_SLUG, independent of the base bench data): TEAMS teams
  (created through the services once), CUSTOMERS customers spread over the teams, loaded
  set-based once with INSERT ... SELECT generate_series in one transaction of the tenant (the
  restricted application role, `app.tenant_id` set: the RLS policy checks every row) and
  reused. Each customer has a `CustomerTier` row whose stored facts are derived from its index
  by md5 (no randomness): a contract total uniform over 1 000–150 000 and successful referrals
  0 (80 %), 1 (12 %), 2 (5 %) or 3–5 (3 %); its tier is what the default preset (Gold 50 000
  or 1 referral, Diamond 100 000 or 2) gives, as version 0. The tier rows are laid again
  before each run (DELETE + INSERT ... SELECT, the history and the scheme versions removed)
  whenever a previous run changed them, then VACUUM (ANALYZE) as the owner: every run starts
  from freshly loaded, full pages, as the first one does.
* The change: a scheme version in force today (`tier_scheme_create`, no task started) with
  LOWER money thresholds and higher referral ones (Gold 30 000 or 2 referrals, Diamond
  80 000 or 3): about a quarter of the customers go up (history rows), and those whose tier
  came from referrals alone drop below it (review flags, never a downgrade).
* **tier_recompute_all_s** is the wall time of `apps.vip.recompute.tiers_recompute_all(tenant)`
  called in-process (the backfill query, then CHUNK-row chunks, each one UPDATE ... RETURNING
  feeding the history INSERT in its own transaction, then `recomputed_at`). The expected
  upgrades and reviews are counted with plain SQL before the run and checked against the
  summary and the history rows after it; every row's stored computed tier must be what the new version gives.
"""

from __future__ import annotations

import time

from django.db import connection, connections, transaction

from apps.customers.models import Customer
from apps.ownership.selectors import tenant_today
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Team, Tenant
from apps.tenancy.roles import Role
from apps.tenancy.services import staff_create, team_create, tenant_create
from apps.vip import recompute
from apps.vip.models import CustomerTier
from apps.vip.recompute import computed_order_sql, tiers_recompute_all
from apps.vip.schemes import tier_preset_rules, tier_scheme_create
from apps.vip.tiers import PRESETS, parse_tier_rules
from bench.scenarios.referrals import _exec, _name, _u
from bench.util import BenchContext

NAME = "vip"
DESCRIPTION = "re-evaluate the tiers of 1 000 000 customers after a threshold change"
TARGETS = {"tier_recompute_all_s": ("<=", 20.0)}

TENANT_SLUG = "bench-vip"
CUSTOMERS = 1_000_000
TEAMS = 10


def _changed_rules() -> dict:
    data = {**PRESETS["default"], "tiers": [dict(t) for t in PRESETS["default"]["tiers"]]}
    data["tiers"][1].update(min_total="30000", min_referrals=2)
    data["tiers"][2].update(min_total="80000", min_referrals=3)
    return data


CHANGED = _changed_rules()


# --------------------------------------------------------------------------- loading

def _ensure_tenant(log) -> tuple[Tenant, list[int]]:
    tenant = Tenant.objects.filter(slug=TENANT_SLUG).first()
    if tenant is None:
        with transaction.atomic():
            tenant = tenant_create(name="压测会员", slug=TENANT_SLUG,
                                   industry=Tenant.Industry.HOME_FURNISHING)
            staff_create(tenant=tenant, actor=None, username=f"{TENANT_SLUG}-admin",
                         password=None, name="管理员", roles=[Role.ADMIN])
    with tenant_context(tenant):
        teams = list(Team.objects.order_by("id").values_list("id", flat=True))
    if len(teams) < TEAMS:
        with transaction.atomic():
            for t in range(len(teams) + 1, TEAMS + 1):
                teams.append(team_create(tenant=tenant, actor=None, name=f"{t}组").pk)
        log(f"  {TENANT_SLUG}: {TEAMS} teams")
    return tenant, teams[:TEAMS]


def _load_customers(tenant: Tenant, teams: list[int], log) -> None:
    t0 = time.perf_counter()
    with tenant_context(tenant), connection.cursor() as cur:
        cur.execute("DELETE FROM followups_followuptask")  # (they protect customers)
        cur.execute("DELETE FROM vip_tierchange")
        cur.execute("DELETE FROM vip_customertier")
        cur.execute("DELETE FROM vip_tierscheme")
        cur.execute("DELETE FROM customers_customer")
        n = _exec(cur, Customer, {
            "tenant_id": "%(t)s", "name": _name("i"),
            "phone": "'139' || lpad(i::text, 8, '0')",
            "team_id": f"(%(teams)s::bigint[])[1 + mod(i, {len(teams)})]",
            "source": "'walk_in'", "created_at": "now() - interval '400 days'",
            "updated_at": "now() - interval '400 days'",
        }, f"FROM generate_series(1, {CUSTOMERS}) i ORDER BY i",
            {"t": tenant.pk, "teams": "{" + ",".join(map(str, teams)) + "}"})
    with connections["owner"].cursor() as cur:
        cur.execute("VACUUM (ANALYZE) customers_customer")
    log(f"  {n} customers loaded in {time.perf_counter() - t0:.1f}s")


def _lay_tiers(tenant: Tenant, log) -> None:
    """The tier rows as the default preset (version 0) gives them; no history, no version."""
    t0 = time.perf_counter()
    rules = tier_preset_rules("default")
    total = f"round((1000 + 149000 * {_u('c.i', ':total')})::numeric, 2)"
    u = _u("c.i", ":refs")
    refs = (f"(CASE WHEN {u} < 0.80 THEN 0 WHEN {u} < 0.92 THEN 1 WHEN {u} < 0.97 THEN 2 "
            f"ELSE 3 + mod(c.i, 3) END)")
    order = computed_order_sql(rules, "f.total", "f.refs")
    codes = "ARRAY[" + ",".join(f"'{t.code}'" for t in rules.tiers) + "]"
    with tenant_context(tenant), connection.cursor() as cur:
        cur.execute("DELETE FROM vip_tierchange")
        cur.execute("DELETE FROM vip_customertier")
        cur.execute("DELETE FROM vip_tierscheme")
        n = _exec(cur, CustomerTier, {
            "tenant_id": "%(t)s", "customer_id": "f.id", "tier": f"({codes})[f.o]",
            "tier_order": "f.o", "computed_order": "f.o", "contract_total": "f.total",
            "successful_referrals": "f.refs", "scheme_version": "0",
            "since": "now() - interval '100 days'", "updated_at": "now() - interval '100 days'",
        }, f"FROM (SELECT f.*, {order} AS o FROM (SELECT c.id, {total} AS total, {refs} AS refs "
           f"FROM (SELECT id, substr(phone, 4)::int AS i FROM customers_customer) c) f) f "
           "ORDER BY f.id", {"t": tenant.pk})
    t1 = time.perf_counter()
    with connections["owner"].cursor() as cur:
        for table in ("vip_customertier", "vip_tierchange", "vip_tierscheme"):
            cur.execute(f"VACUUM (ANALYZE) {table}")
    log(f"  {n} tier rows laid in {t1 - t0:.1f}s, vacuumed in {time.perf_counter() - t1:.1f}s")


def ensure(log) -> Tenant:
    tenant, teams = _ensure_tenant(log)
    with tenant_context(tenant), connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM customers_customer")
        customers = cur.fetchone()[0]
    if customers != CUSTOMERS:
        log(f"  {TENANT_SLUG}: {customers} -> {CUSTOMERS} customers")
        _load_customers(tenant, teams, log)
    else:
        log(f"  {TENANT_SLUG}: reusing {customers} customers")
    with tenant_context(tenant), connection.cursor() as cur:
        cur.execute("SELECT count(*), count(*) FILTER (WHERE scheme_version <> 0 OR review), "
                    "(SELECT count(*) FROM vip_tierchange), (SELECT count(*) FROM vip_tierscheme) "
                    "FROM vip_customertier")
        rows, touched, changes, versions = cur.fetchone()
    if rows != CUSTOMERS or touched or changes or versions:
        _lay_tiers(tenant, log)
    else:
        log(f"  reusing {rows} untouched tier rows")
    return tenant


# --------------------------------------------------------------------------- measuring

def _expected(tenant: Tenant) -> tuple[int, int]:
    """(upgrades, reviews) the changed scheme gives, counted with plain SQL."""
    computed = computed_order_sql(parse_tier_rules(CHANGED), "contract_total",
                                  "successful_referrals")
    with tenant_context(tenant), connection.cursor() as cur:
        cur.execute(f"SELECT count(*) FILTER (WHERE c > tier_order), "
                    f"count(*) FILTER (WHERE c < tier_order AND computed_order >= tier_order) "
                    f"FROM (SELECT tier_order, computed_order, {computed} AS c "
                    f"FROM vip_customertier) t")
        return cur.fetchone()


def _stored(tenant: Tenant, version: int) -> tuple[int, int, int, int]:
    """(rows whose stored computed tier is what the changed scheme gives, rows flagged,
    upgrade and review history rows of the run)."""
    computed = computed_order_sql(parse_tier_rules(CHANGED), "contract_total",
                                  "successful_referrals")
    with tenant_context(tenant), connection.cursor() as cur:
        cur.execute(f"SELECT count(*) FILTER (WHERE computed_order = {computed}), "  # noqa: S608
                    "count(*) FILTER (WHERE review) FROM vip_customertier")
        current, reviews = cur.fetchone()
        cur.execute("SELECT count(*) FILTER (WHERE kind = 'upgrade'), "
                    "count(*) FILTER (WHERE kind = 'review') FROM vip_tierchange "
                    "WHERE cause = %s", [f"recompute:v{version}"])
        return current, reviews, *cur.fetchone()


def run(ctx: BenchContext) -> dict[str, float]:
    t0 = time.perf_counter()
    tenant = ensure(ctx.log)
    ctx.log(f"  data ready in {time.perf_counter() - t0:.1f}s")
    row = tier_scheme_create(tenant=tenant, actor=None, effective_from=tenant_today(tenant),
                             name="降低金额门槛", rules=CHANGED, start_recompute=False)
    upgrades, reviews = _expected(tenant)
    ctx.log(f"  version {row.version} saved; SQL count: {upgrades} upgrades, {reviews} reviews "
            "expected")
    marks: list[tuple[float, int, int]] = []
    started = time.perf_counter()

    def progress(current: int, total: int) -> None:
        marks.append((time.perf_counter() - started, current, total))

    summary = tiers_recompute_all(tenant, progress=progress)
    seconds = time.perf_counter() - started
    steps = ", ".join(f"{c // 1000}k@{t:.1f}s" for t, c, _total in marks)
    ctx.log(f"  tiers_recompute_all: {seconds:.1f}s, {summary.chunks} chunks of "
            f"{recompute.CHUNK}, {summary.customers} rows evaluated, {summary.changed} written, "
            f"{summary.upgraded} upgrades, {summary.reviews} reviews, {summary.backfilled} "
            f"backfilled; progress {steps}")
    current, flagged, upgrade_rows, review_rows = _stored(tenant, row.version)
    problems = []
    if summary.busy:
        problems.append("another run held the lock")
    if (summary.upgraded, summary.reviews) != (upgrades, reviews):
        problems.append(f"summary {summary.upgraded}/{summary.reviews} != SQL "
                        f"{upgrades}/{reviews}")
    if (upgrade_rows, review_rows) != (upgrades, reviews):
        problems.append(f"history {upgrade_rows}/{review_rows} != {upgrades}/{reviews}")
    if current != CUSTOMERS or summary.customers != CUSTOMERS:
        problems.append(f"{current} rows settled under v{row.version}, {summary.customers} "
                        "evaluated")
    if flagged != reviews:
        problems.append(f"{flagged} rows flagged for review, {reviews} expected")
    if problems:
        raise AssertionError("; ".join(problems))
    ctx.log(f"  checked: {current} rows settled under v{row.version}, history {upgrade_rows} upgrades and "
            f"{review_rows} reviews = the SQL counts")
    return {"tier_recompute_all_s": round(seconds, 2),
            "tier_recompute_chunks": summary.chunks,
            "tier_recompute_rows_written": summary.changed,
            "tier_recompute_upgrades": summary.upgraded,
            "tier_recompute_reviews": summary.reviews,
            "tier_customers_in_tenant": CUSTOMERS}
