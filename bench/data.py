"""Benchmark data: BENCH_TENANTS tenants (default 20) x 50 000 * BENCH_SCALE customers.

Tenants, teams and staff are created through the services (audit rows included); customers
are streamed with psycopg 3 COPY, one transaction per tenant with `app.tenant_id` set, as the
restricted application role (through a temporary staging table: see `_load_customers`), and
the RLS policy checks every row, exactly as in production. Bench tenants have slugs
`bench-NN`; a tenant whose customer count already matches is left alone, so a second run
reuses the data. The data is generated
from a fixed seed: the same rows every time.

Ownership state (issue 3) is relative to a fixed bench day, BENCH_TODAY (2026-11-01 in the
tenants' zone, Asia/Shanghai): exactly DUE_SHARE (10 %) of all customers are owned and last
contacted before `BENCH_TODAY - 30 days` (due for the public pool that night under the default
policy), the other owned ones were contacted inside the window, pool customers have
`released_at`; some changed hands (`previous_owner`), some visited (`last_visit_at`); the
history rows (`OwnershipChange`) that state implies are written too, and RELATION_SHARE of
customer pairs are related (spouse, parent, ...: the duplicate check shows known relatives).
The values are a function of each row (md5 of its phone), filled by one set-based UPDATE
(`_fill_ownership`): on the staging table while loading, or on the loaded table when older
bench data lacks them.
"""

from __future__ import annotations

import datetime as dt
import random
import time
import zoneinfo
from dataclasses import dataclass

from django.db import connection, connections, transaction

from apps.core.identity import make_resident_id
from apps.customers.models import Customer
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff, Team, Tenant
from apps.tenancy.roles import Role
from apps.tenancy.services import staff_create, team_create, tenant_create

BASE_CUSTOMERS_PER_TENANT = 50_000
# The bench "today" for ownership: the data's clock stops at BENCH_NOW (08:00 on BENCH_TODAY in
# Asia/Shanghai); the nightly release run on BENCH_TODAY finds DUE_SHARE of all customers due.
BENCH_TZ = "Asia/Shanghai"
BENCH_TODAY = dt.date(2026, 11, 1)
BENCH_NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
DUE_SHARE = 0.10
RELEASE_AFTER_DAYS = 30  # the default policy (apps.ownership.rules.PolicyRules)
CHANGED_HANDS_SHARE = 0.15  # owned customers whose owner changed once (previous_owner set)
POOL_RELEASED_SHARE = 0.70  # pool customers that were released by someone (others: never owned)
RELATION_SHARE = 0.03  # pairs of customers with a recorded relation (6 % of customers are in one)
# spouse 40 %, parent 20 %, child/relative/colleague/friend 10 % each (cycled, deterministic)
RELATION_KINDS = ("spouse", "parent", "spouse", "child", "spouse", "relative", "parent",
                  "colleague", "spouse", "friend")
# The note of the history rows the data load writes: any other row was written by a scenario.
HISTORY_NOTE = "bench"
TEAMS_PER_TENANT = 4
SALES_PER_TEAM = 5
SLUG_PREFIX = "bench-"
SEED = 20_260_101

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
            "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严")
GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志强文博浩然子涵欣怡梓萱宇轩"
         "思远雨桐佳怡俊杰晓东海燕春梅国华玉兰建华德明淑珍丹丹鑫鹏晨曦一鸣雅婷嘉欣诗涵")
# Mobile prefixes of the three carriers (all valid for libphonenumber).
PHONE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151",
                  "152", "153", "155", "156", "157", "158", "159", "166", "173", "177", "180",
                  "181", "182", "183", "185", "186", "187", "188", "189", "191", "198", "199")
SOURCES = (("referral", 30), ("walk_in", 25), ("online", 20), ("phone", 10), ("channel", 10),
           ("other", 5))
GRADES = (("", 30), ("A", 10), ("B", 25), ("C", 25), ("D", 10))
TAGS = ("意向高", "老客户", "装修中", "价格敏感", "已到店", "待回访", "全款", "分期")
# Region codes valid for every birth year generated (1950-2004); younger codes such as 440305
# (created 1983) would make older birth dates invalid.
ID_REGIONS = ("110105", "110108", "110102", "310104", "310105", "310106", "310110", "110101")

COLUMNS = ("tenant_id", "name", "phone", "id_number", "gender", "birthday", "address", "source",
           "grade", "tags", "notes", "owner_id", "team_id", "created_by_id", "created_at",
           "updated_at")
OWNERSHIP_COLUMNS = ("last_contact_at", "last_visit_at", "owned_since", "released_at",
                     "previous_owner_id")


def _weighted(rng: random.Random, pairs, k: int) -> list:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights, k=k)


@dataclass
class BenchTenant:
    tenant: Tenant
    teams: list[Team]
    managers: list[Staff]
    sales: list[Staff]
    admin: Staff
    customers: int = 0


def customers_per_tenant(scale: float) -> int:
    return max(100, round(BASE_CUSTOMERS_PER_TENANT * scale))


def _slug(i: int) -> str:
    return f"{SLUG_PREFIX}{i:02d}"


def _ensure_org(i: int) -> BenchTenant:
    """Tenant, teams and staff of bench tenant `i` (created once, through the services)."""
    slug = _slug(i)
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        with transaction.atomic():
            tenant = tenant_create(name=f"压测租户{i:02d}", slug=slug,
                                   industry=Tenant.Industry.HOME_FURNISHING)
            admin = staff_create(tenant=tenant, actor=None, username=f"{slug}-admin", password=None,
                                 name="管理员", roles=[Role.ADMIN])
            for t in range(1, TEAMS_PER_TENANT + 1):
                team = team_create(tenant=tenant, actor=admin, name=f"{t}组")
                staff_create(tenant=tenant, actor=admin, username=f"{slug}-m{t}", password=None,
                             name=f"经理{t}", roles=[Role.MANAGER], team=team)
                for s in range(1, SALES_PER_TEAM + 1):
                    staff_create(tenant=tenant, actor=admin, username=f"{slug}-s{t}{s}",
                                 password=None, name=f"销售{t}-{s}", roles=[Role.SALES], team=team)
    with tenant_context(tenant):
        teams = list(Team.objects.order_by("id"))
        staff = list(Staff.objects.select_related("user").order_by("id"))
    return BenchTenant(
        tenant=tenant, teams=teams,
        managers=[s for s in staff if Role.MANAGER in s.roles],
        sales=[s for s in staff if s.roles == [Role.SALES]],
        admin=next(s for s in staff if Role.ADMIN in s.roles))


def ensure_sales_tenant(slug: str, name: str, *, teams: int, sales: int, log,
                        admin_name: str = "管理员", team_name=lambda t: f"{t}组",
                        sales_name=lambda s: f"销售{s:03d}") -> tuple[Tenant, Staff, list[int]]:
    """A scenario's own tenant, made once through the services: an administrator, `teams`
    teams and `sales` salespeople spread evenly over them (`team_name(t)`, `sales_name(s)`,
    numbered from 1). Returns the tenant, its administrator and the salespeople's ids in id
    order."""
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        with transaction.atomic():
            tenant = tenant_create(name=name, slug=slug, industry=Tenant.Industry.HOME_FURNISHING)
            staff_create(tenant=tenant, actor=None, username=f"{slug}-admin", password=None,
                         name=admin_name, roles=[Role.ADMIN])
    with tenant_context(tenant):
        made = list(Team.objects.order_by("id"))
        have = Staff.objects.filter(roles=[Role.SALES]).count()
    if len(made) < teams or have < sales:
        t0 = time.perf_counter()
        with transaction.atomic():
            for t in range(len(made) + 1, teams + 1):
                made.append(team_create(tenant=tenant, actor=None, name=team_name(t)))
            for s in range(have, sales):
                staff_create(tenant=tenant, actor=None, username=f"{slug}-s{s + 1:03d}",
                             password=None, name=sales_name(s + 1), roles=[Role.SALES],
                             team=made[s * teams // sales])
        log(f"  {slug}: {teams} teams, {sales} salespeople in {time.perf_counter() - t0:.1f}s")
    with tenant_context(tenant):
        admin = Staff.objects.select_related("team", "user").get(user__username=f"{slug}-admin")
        ids = list(Staff.objects.filter(roles=[Role.SALES]).order_by("id")
                   .values_list("id", flat=True)[:sales])
    return tenant, admin, ids


def _rows(bt: BenchTenant, n: int, rng: random.Random):
    """n customer rows for one tenant; phones unique within the tenant by construction."""
    tenant_id = bt.tenant.pk
    now = BENCH_NOW
    span = 2 * 365 * 86400
    sources = _weighted(rng, SOURCES, n)
    grades = _weighted(rng, GRADES, n)
    # i -> (i * a + b) mod 10^8 is a bijection when gcd(a, 10^8) = 1: unique 8-digit suffixes.
    mul, off = 54_435_761, rng.randrange(10**8)
    with_id = 0
    for i in range(n):
        owner = None if rng.random() < 0.08 else rng.choice(bt.sales)  # ~8% in the public pool
        team_id = owner.team_id if owner else None
        created = now - dt.timedelta(seconds=rng.randrange(span))
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
        phone = rng.choice(PHONE_PREFIXES) + f"{(i * mul + off) % 10**8:08d}"
        id_number, gender, birthday = "", rng.choice(("", "M", "F")), None
        if rng.random() < 0.15:  # some customers leave their resident ID
            k = with_id
            with_id += 1
            region = ID_REGIONS[k % len(ID_REGIONS)]
            birthday = dt.date(1950, 1, 1) + dt.timedelta(days=(k // len(ID_REGIONS)) % 20_000)
            seq = (k // (len(ID_REGIONS) * 20_000)) % 1000
            id_number = make_resident_id(region, birthday, seq)
            gender = "M" if seq % 2 else "F"
        r = rng.random()
        tags = [] if r < 0.4 else rng.sample(TAGS, 1 if r < 0.8 else 2)
        yield (tenant_id, name, phone, id_number, gender, birthday, "", sources[i], grades[i], tags,
               "", owner.pk if owner else None, team_id, owner.pk if owner else None, created,
               created)


def _load_customers(bt: BenchTenant, n: int) -> None:
    """COPY into a temporary staging table, then INSERT ... SELECT into the real one.

    PostgreSQL refuses `COPY ... FROM` into a table whose row-level security applies to the
    current role ("COPY FROM not supported with row-level security"), and FORCE applies it to
    every role here. A temporary table has no policy, so the rows are streamed there with COPY
    and moved with one INSERT, which the policy's WITH CHECK verifies row by row. The ownership
    columns are filled on the staging table (no second pass over the real one), and the
    history rows written after the INSERT."""
    rng = random.Random(SEED + int(bt.tenant.slug.removeprefix(SLUG_PREFIX)))
    cols = ", ".join(COLUMNS)
    all_cols = ", ".join(COLUMNS + OWNERSHIP_COLUMNS)
    with tenant_context(bt.tenant):  # one transaction, app.tenant_id set
        with connection.cursor() as cur:
            # Only this tenant's rows are visible; the bench writes no other dependent rows
            # (follow-ups: only if the daily job ran on a bench tenant; they protect customers).
            cur.execute("DELETE FROM followups_followuptask")
            cur.execute("DELETE FROM customers_ownershipchange")
            cur.execute("DELETE FROM customers_customerrelation")
            cur.execute("DELETE FROM customers_customer")
            cur.execute(f"CREATE TEMP TABLE bench_customer_stage ON COMMIT DROP AS "
                        f"SELECT {all_cols} FROM customers_customer WITH NO DATA")
            with cur.cursor.copy(f"COPY bench_customer_stage ({cols}) FROM STDIN") as copy:
                for row in _rows(bt, n, rng):
                    copy.write_row(row)
            _fill_ownership(cur, bt, n, table="bench_customer_stage")
            cur.execute(f"INSERT INTO customers_customer ({all_cols}) "
                        f"SELECT {all_cols} FROM bench_customer_stage")
            _write_history(cur)
            _write_relations(cur, bt, n)


def due_count(n: int) -> int:
    """How many of a tenant's `n` customers are due for the pool on BENCH_TODAY."""
    return round(DUE_SHARE * n)


def _local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=zoneinfo.ZoneInfo(BENCH_TZ))


def _uniform(h: str, i: int) -> str:
    """SQL: the i-th (0..3) 32-bit slice of the md5 hex `h` as a float in [0, 1)."""
    return f"(('x' || substr({h}, {8 * i + 1}, 8))::bit(32)::bigint / 4294967296.0)"


# One pass over a tenant's customers (`{table}`: the staging table or customers_customer),
# keyed by phone (unique per tenant). u1..u7 are uniform numbers derived from the phone, so the
# values do not depend on ids or on the order of the rows. Parameters: m60/m30 = local
# midnights of BENCH_TODAY - 60/-30 days (a last contact before m30 is due), pool_before =
# BENCH_NOW - 31 days, due = exact number due, sales = the tenant's salespeople.
FILL_SQL = f"""
WITH r AS (
    SELECT phone, created_at AS c, owner_id,
           {_uniform("h", 0)} AS u1, {_uniform("h", 1)} AS u2, {_uniform("h", 2)} AS u3,
           {_uniform("h", 3)} AS u4, {_uniform("h2", 0)} AS u5, {_uniform("h2", 1)} AS u6,
           {_uniform("h2", 2)} AS u7
      FROM (SELECT phone, created_at, owner_id, md5(phone || ':bench-own-1') AS h,
                   md5(phone || ':bench-own-2') AS h2
              FROM {{table}} OFFSET 0) s  -- (OFFSET 0: two md5 per row, not one per use)
),
due AS (  -- exactly %(due)s owned customers registered before the cut-off
    SELECT phone FROM r WHERE owner_id IS NOT NULL AND c < %(m30)s
     ORDER BY u1, phone LIMIT %(due)s
),
x AS (
    SELECT r.*,
           CASE WHEN d.phone IS NOT NULL
                    THEN greatest(c, %(m60)s) + u2 * (%(m30)s - greatest(c, %(m60)s))
                WHEN owner_id IS NOT NULL
                    THEN greatest(c, %(m30)s) + u2 * (%(now)s - greatest(c, %(m30)s))
                WHEN c < %(pool_before)s AND u3 < {POOL_RELEASED_SHARE}
                    THEN c + u2 * (%(pool_before)s - c)
                ELSE c END AS lc,
           (owner_id IS NOT NULL AND u3 < {CHANGED_HANDS_SHARE}) AS changed_hands,
           (owner_id IS NULL AND c < %(pool_before)s AND u3 < {POOL_RELEASED_SHARE}) AS released,
           floor(u5 * cardinality(%(sales)s::bigint[]))::int AS k
      FROM r LEFT JOIN due d USING (phone)
),
f AS (
    SELECT phone, lc AS last_contact_at,
           CASE WHEN u6 < 0.15 THEN lc WHEN u6 < 0.35 THEN c + u7 * (lc - c) END AS last_visit_at,
           CASE WHEN changed_hands THEN c + u4 * (lc - c)
                WHEN owner_id IS NOT NULL THEN c END AS owned_since,
           -- released by the nightly job at 02:00 on the day after the window ended
           CASE WHEN released THEN (date_trunc('day', lc AT TIME ZONE %(tz)s)
                                    + interval '{RELEASE_AFTER_DAYS + 1} days 2 hours')
                                   AT TIME ZONE %(tz)s
                WHEN owner_id IS NULL THEN c END AS released_at,
           CASE WHEN changed_hands OR released THEN
                CASE WHEN (%(sales)s::bigint[])[1 + k] = owner_id
                     THEN (%(sales)s::bigint[])[1 + (k + 1) %% cardinality(%(sales)s::bigint[])]
                     ELSE (%(sales)s::bigint[])[1 + k] END END AS previous_owner_id
      FROM x
)
UPDATE {{table}} t
   SET last_contact_at = f.last_contact_at, last_visit_at = f.last_visit_at,
       owned_since = f.owned_since, released_at = f.released_at,
       previous_owner_id = f.previous_owner_id
  FROM f
 WHERE t.phone = f.phone {{only}}
"""

# The history the filled state implies, oldest first (ids grow with time as in production).
HISTORY_SQL = f"""
INSERT INTO customers_ownershipchange
       (tenant_id, customer_id, from_owner_id, to_owner_id, reason, note, actor_id, at,
        policy_version, dispute_id)
SELECT * FROM (
    SELECT tenant_id, id, NULL::bigint, coalesce(previous_owner_id, owner_id), 'registration',
           '{HISTORY_NOTE}', coalesce(previous_owner_id, owner_id), created_at, NULL::int,
           NULL::bigint
      FROM customers_customer WHERE owner_id IS NOT NULL OR previous_owner_id IS NOT NULL
    UNION ALL
    SELECT tenant_id, id, previous_owner_id, owner_id, 'reassignment', '{HISTORY_NOTE}', NULL,
           owned_since, NULL, NULL
      FROM customers_customer WHERE owner_id IS NOT NULL AND previous_owner_id IS NOT NULL
    UNION ALL
    SELECT tenant_id, id, previous_owner_id, NULL, 'release', '{HISTORY_NOTE}', NULL, released_at,
           NULL, NULL
      FROM customers_customer WHERE owner_id IS NULL AND previous_owner_id IS NOT NULL
) h ORDER BY 8, 2
"""


def _fill_ownership(cur, bt: BenchTenant, n: int, *, table: str = "customers_customer",
                    only: list[int] | None = None) -> int:
    """Set the ownership columns of the tenant's customers (all, or the ids in `only`, which
    get exactly the values a full fill gives them); inside the tenant's transaction."""
    # (IN (SELECT unnest(...)): a hashed semi-join; `= ANY(array)` would scan the array per row)
    sql = FILL_SQL.format(table=table,
                          only="AND t.id IN (SELECT unnest(%(only)s::bigint[]))" if only else "")
    cur.execute(sql, {
        "m60": _local_midnight(BENCH_TODAY - dt.timedelta(days=2 * RELEASE_AFTER_DAYS)),
        "m30": _local_midnight(BENCH_TODAY - dt.timedelta(days=RELEASE_AFTER_DAYS)),
        "now": BENCH_NOW, "pool_before": BENCH_NOW - dt.timedelta(days=RELEASE_AFTER_DAYS + 1),
        "due": due_count(n), "sales": [s.pk for s in bt.sales], "tz": BENCH_TZ,
        "only": only or []})
    return cur.rowcount


def _write_history(cur) -> int:
    cur.execute(HISTORY_SQL)
    return cur.rowcount


# Customers in a fixed pseudo-random order (md5 of the phone), paired 1-2, 3-4, ...: the first
# %(pairs)s pairs are related.
RELATIONS_SQL = """
WITH r AS (
    SELECT id, created_at, row_number() OVER (ORDER BY md5(phone || ':bench-rel'), phone) AS rn
      FROM customers_customer
)
INSERT INTO customers_customerrelation (tenant_id, customer_id, related_id, kind, created_by_id,
                                        created_at)
SELECT %(tenant)s, a.id, b.id, (%(kinds)s::text[])[1 + (a.rn / 2) %% cardinality(%(kinds)s::text[])],
       NULL, greatest(a.created_at, b.created_at)
  FROM r a JOIN r b ON b.rn = a.rn + 1
 WHERE a.rn %% 2 = 1 AND a.rn < 2 * %(pairs)s
 ORDER BY 6
"""


def relation_count(n: int) -> int:
    return round(RELATION_SHARE * n)


def _write_relations(cur, bt: BenchTenant, n: int) -> int:
    cur.execute(RELATIONS_SQL, {"tenant": bt.tenant.pk, "kinds": list(RELATION_KINDS),
                                "pairs": relation_count(n)})
    return cur.rowcount


def ownership_state(bt: BenchTenant) -> dict[str, int]:
    """What the ownership columns of a tenant look like against the bench day."""
    with tenant_context(bt.tenant), connection.cursor() as cur:
        cur.execute("""
            SELECT count(*) FILTER (WHERE last_contact_at IS NULL),
                   count(*) FILTER (WHERE owner_id IS NOT NULL AND last_contact_at < %s),
                   count(*) FILTER (WHERE owner_id IS NULL),
                   count(*) FILTER (WHERE owner_id IS NULL AND released_at IS NULL),
                   count(*) FILTER (WHERE released_at > %s),
                   (SELECT count(*) FROM customers_ownershipchange),
                   (SELECT count(*) FROM customers_ownershipchange WHERE note <> %s),
                   (SELECT count(*) FROM customers_customerrelation)
              FROM customers_customer""",
                    [_local_midnight(BENCH_TODAY - dt.timedelta(days=RELEASE_AFTER_DAYS)),
                     BENCH_NOW, HISTORY_NOTE])
        keys = ("no_contact", "due", "pool", "pool_unreleased", "released_after_now", "history",
                "history_not_bench", "relations")
        return dict(zip(keys, cur.fetchone(), strict=True))


def release_undo(bt: BenchTenant, n: int, *, since: dt.datetime = BENCH_NOW) -> int:
    """Undo, set-based, what a scenario changed in the bench tenant's ownership data (a pool
    release): every customer named by a history row the load did not write gets back the
    owner that row moved it from (the first such row) and that owner's team; those history
    rows, the notifications and the audit rows about customers or ownership written after
    `since` are deleted; the customers' ownership columns are put back exactly as the fill left
    them. Returns the number of customers restored."""
    with tenant_context(bt.tenant), connection.cursor() as cur:
        cur.execute("""
            WITH first AS (
                SELECT DISTINCT ON (customer_id) customer_id, from_owner_id
                  FROM customers_ownershipchange WHERE note <> %s ORDER BY customer_id, id)
            UPDATE customers_customer c
               SET owner_id = first.from_owner_id, team_id = s.team_id, updated_at = c.created_at
              FROM first LEFT JOIN tenancy_staff s ON s.id = first.from_owner_id
             WHERE c.id = first.customer_id
            RETURNING c.id""", [HISTORY_NOTE])
        restored = [row[0] for row in cur.fetchall()]
        cur.execute("DELETE FROM customers_ownershipchange WHERE note <> %s", [HISTORY_NOTE])
        cur.execute("DELETE FROM notifications_notification WHERE created_at > %s", [since])
        cur.execute("""DELETE FROM core_auditentry WHERE at > %s AND (
                           target_type = 'customers.customer' OR action LIKE 'ownership.%%'
                           OR action LIKE 'pool.%%' OR action LIKE 'customer.owner.%%')""",
                    [since])
        if restored:
            _fill_ownership(cur, bt, n, only=restored)
    return len(restored)


def _ensure_ownership(bt: BenchTenant, n: int, log) -> bool:
    """Bring the ownership columns to the bench layout if they are not; True if anything
    changed. Undoes a pool release left behind by an interrupted run; fills data loaded before
    the ownership columns existed (one UPDATE, history rewritten); writes missing relations."""
    state = ownership_state(bt)
    changed = False
    if state["history_not_bench"] or state["released_after_now"]:
        restored = release_undo(bt, n)
        log(f"  {bt.tenant.slug}: undid a pool release left by an interrupted run "
            f"({restored} customers)")
        state, changed = ownership_state(bt), True
    if (state["no_contact"] or state["due"] != due_count(n) or state["pool_unreleased"]
            or not state["history"]):
        t0 = time.perf_counter()
        with tenant_context(bt.tenant), connection.cursor() as cur:
            _fill_ownership(cur, bt, n)
            cur.execute("DELETE FROM customers_ownershipchange")
            _write_history(cur)
        log(f"  {bt.tenant.slug}: ownership columns filled in {time.perf_counter() - t0:.1f}s "
            f"(was {state})")
        changed = True
    if state["relations"] != relation_count(n):
        with tenant_context(bt.tenant), connection.cursor() as cur:
            cur.execute("DELETE FROM customers_customerrelation")
            written = _write_relations(cur, bt, n)
        log(f"  {bt.tenant.slug}: {written} customer relations written")
        changed = True
    return changed


def tenant_customer_count(tenant: Tenant) -> int:
    with tenant_context(tenant):
        return Customer.objects.count()


def ensure_data(scale: float = 1.0, tenants: int = 20, log=print) -> list[BenchTenant]:
    """Create what is missing; return the bench tenants with their staff."""
    n = customers_per_tenant(scale)
    out, loaded, filled = [], 0, 0
    started = time.perf_counter()
    for i in range(1, tenants + 1):
        bt = _ensure_org(i)
        have = tenant_customer_count(bt.tenant)
        if have != n:
            t0 = time.perf_counter()
            _load_customers(bt, n)
            loaded += 1
            log(f"  {bt.tenant.slug}: {have} -> {n} customers in {time.perf_counter() - t0:.1f}s")
        elif _ensure_ownership(bt, n, log):
            filled += 1
        bt.customers = n
        out.append(bt)
    if loaded or filled:
        vacuum(log=None)
        log(f"data: loaded {loaded} tenant(s), completed the ownership data of {filled}, "
            f"vacuumed and analyzed in {time.perf_counter() - started:.1f}s")
    else:
        log(f"data: reusing {tenants} tenants x {n} customers")
    return out


def vacuum(tables=("customers_customer", "customers_ownershipchange", "customers_customerrelation",
                   "tenancy_staff", "tenancy_team", "tenancy_tenant"), log=None) -> None:
    """As the owner (maintenance is the owner's): fresh statistics, and the visibility map set
    as autovacuum would leave it in steady state (index-only scans need it)."""
    t0 = time.perf_counter()
    with connections["owner"].cursor() as cur:
        for table in tables:
            cur.execute(f"VACUUM (ANALYZE) {table}")
    if log:
        log(f"  vacuum (analyze) {', '.join(tables)}: {time.perf_counter() - t0:.1f}s")
