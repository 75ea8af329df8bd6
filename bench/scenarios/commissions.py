"""Commissions (issue 6): the monthly settlement of 1 000 000 commission events, against a
per-line ORM loop, and the finance workbook of a 100 000-line month.

* settlement: 500 000 deals of SETTLE_MONTH in the tenant, two participants each with a credit
  line (1 000 000 credit events; kinds cycled: new, renewal with days since the contract start
  on both sides of day 45, referral, expansion; amounts over every band), loaded set-based once
  and reused; a rule set (flat rate by band, the home preset's fixed table, the renewal pool,
  bonuses, ranking, retention, penalty, a cap on every earned kind) in force.
  `settlements.settlement_calculate` runs in a FRESH child process: **settlement_1m_s** is its
  wall time (facts, engine, delete of the previous run's lines, COPY + INSERT … SELECT, commit),
  **settlement_1m_peak_mb** the child's resident-set growth during the call. The stored lines
  are checked against the returned totals and must name every credit event once.
* settlement_vs_orm_ratio: the straightforward way on the first ORM_SLICE credit lines — per
  line fetch the deal, the person and the participant's role, compute in Python, create the line
  — timed per event and divided by the settlement's time per event.
* Data (its own tenant, slug TENANT_SLUG, independent of the base bench data): STAFF sales
  staff in TEAMS teams (created through the services once) and one calculated settlement of
  EXPORT_MONTH with EXPORT_LINES `CommissionLine` rows, loaded set-based with INSERT ...
  SELECT generate_series in one transaction of the tenant (the restricted application role,
  RLS checking every row), kinds cycled (rate, fixed, pool, staff_referral, bonuses, penalties,
  cap, some adjustments), each with a rule name, a source and a Chinese explanation; then
  VACUUM (ANALYZE). A second run finds the lines and reuses them.
* export: `apps.commissions.workbook.workbook_write(settlement, <temporary file>)` — the
  summary's aggregate query and the detail streamed with values_list().iterator() into
  openpyxl write-only sheets, saved — run in a FRESH child process (a new interpreter:
  `python -c`, Django set up, connected, openpyxl imported) so its memory is measured alone.
  **export_100k_s** is the wall time of that call inside the child; **export_100k_peak_mb**
  how far the child's resident set size rose during the call: the kernel's high-water mark
  after it (`resource.getrusage(RUSAGE_SELF).ru_maxrss`) minus the resident size just before
  it (VmRSS of /proc/self/status; Linux). The file is
  read back in the parent (openpyxl read-only) and its totals row checked against the
  database's Sum to the cent.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from django.db import connection, connections, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from apps.commissions.models import CommissionLine, CommissionRuleSet, Settlement
from apps.commissions.presets import PRESETS
from apps.commissions.rulesets import commission_rule_set_create
from apps.customers.models import Customer
from apps.deals.models import Deal, DealCredit, DealParticipant
from apps.deals.rulesets import deal_roles_ensure
from apps.ownership.selectors import tenant_today
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff, Team, Tenant
from apps.tenancy.roles import Role
from apps.tenancy.services import staff_create, team_create, tenant_create
from bench.scenarios.referrals import _exec, _name
from bench.util import BenchContext

NAME = "commissions"
DESCRIPTION = "finance workbook of a 100 000-line month (write-only xlsx, time and peak memory)"
TARGETS = {
    "export_100k_s": ("<=", 25.0),
    "export_100k_peak_mb": ("<=", 200.0),
    "settlement_1m_s": ("<=", 60.0),
    "settlement_1m_peak_mb": ("<=", 1536.0),
    "settlement_vs_orm_ratio": (">=", 20.0),
}

TENANT_SLUG = "bench-commissions"
TEAMS = 10
STAFF = 200
EXPORT_LINES = 100_000
EXPORT_MONTH = "2026-09-01"
ROOT = Path(__file__).resolve().parent.parent.parent

KINDS = ("rate", "fixed", "pool", "rate", "staff_referral", "rate", "fixed", "pool",
         "count_bonus", "ranking", "retention", "penalty", "cap", "rate")


def _ensure_tenant(log) -> Tenant:
    tenant = Tenant.objects.filter(slug=TENANT_SLUG).first()
    if tenant is None:
        with transaction.atomic():
            tenant = tenant_create(name="压测提成", slug=TENANT_SLUG,
                                   industry=Tenant.Industry.EDUCATION)
            staff_create(tenant=tenant, actor=None, username=f"{TENANT_SLUG}-admin",
                         password=None, name="管理员", roles=[Role.ADMIN])
    with tenant_context(tenant):
        have = Staff.objects.filter(roles__contains=[Role.SALES]).count()
        teams = list(Team.objects.order_by("id"))
    if have < STAFF:
        t0 = time.perf_counter()
        with transaction.atomic():
            for t in range(len(teams) + 1, TEAMS + 1):
                teams.append(team_create(tenant=tenant, actor=None, name=f"{t}组"))
            for s in range(have + 1, STAFF + 1):
                staff_create(tenant=tenant, actor=None, username=f"{TENANT_SLUG}-s{s:03d}",
                             password=None, name=f"顾问{s:03d}", roles=[Role.SALES],
                             team=teams[s % TEAMS], base_salary=Decimal(4000 + 50 * (s % 40)))
        log(f"  {TENANT_SLUG}: {STAFF - have} staff created in {time.perf_counter() - t0:.1f}s")
    return tenant


def _export_settlement(tenant: Tenant, log) -> Settlement:
    with tenant_context(tenant):
        settlement, _created = Settlement.objects.get_or_create(
            tenant=tenant, month=EXPORT_MONTH,
            defaults={"status": Settlement.Status.CALCULATED, "runs": 1,
                      "calculated_at": timezone.now()})
        have = CommissionLine.objects.filter(settlement=settlement).count()
        staff_ids = list(Staff.objects.filter(roles__contains=[Role.SALES]).order_by("id")
                         .values_list("id", flat=True)[:STAFF])
    if have == EXPORT_LINES:
        log(f"  {TENANT_SLUG}: reusing {have} lines of {EXPORT_MONTH}")
        return settlement
    t0 = time.perf_counter()
    kinds = "(ARRAY[" + ",".join(f"'{k}'" for k in KINDS) + "])"
    with tenant_context(tenant), connection.cursor() as cur:
        cur.execute("DELETE FROM commissions_commissionline WHERE settlement_id = %s",
                    [settlement.pk])
        cur.execute("CREATE TEMP TABLE bc_staff ON COMMIT DROP AS SELECT s.o::int - 1 AS idx, "
                    "s.id, st.team_id FROM unnest(%s::bigint[]) WITH ORDINALITY s(id, o) "
                    "JOIN tenancy_staff st ON st.id = s.id", [staff_ids])
        kind = f"{kinds}[1 + mod(i, {len(KINDS)})]"
        amount = "(1000 + mod(i * 7919, 99000))::numeric"
        result = (f"(CASE {kind} WHEN 'penalty' THEN -50 WHEN 'cap' THEN -mod(i, 500) - 0.37 "
                  f"ELSE round({amount} * 0.015, 2) END)")
        n = _exec(cur, CommissionLine, {
            "tenant_id": "%(t)s", "settlement_id": "%(s)s", "staff_id": "st.id",
            "team_id": "st.team_id", "kind": kind, "rule_version": "1",
            "rule_index": f"1 + mod(i, {len(KINDS)})",
            "rule_name": "'规则 ' || (1 + mod(i, 14))", "base": amount, "rate": "1.5",
            "share": "CASE WHEN mod(i, 3) = 0 THEN 70 ELSE 100 END",
            "result": f"CASE WHEN mod(i, 97) = 0 THEN -{result} ELSE {result} END",
            "ref": "'deal:' || i", "is_adjustment": "mod(i, 97) = 0",
            "adjusts": "CASE WHEN mod(i, 97) = 0 THEN 'refund:' || i || ' of deal:' || i || "
                       "', closed 2026-08' ELSE '' END",
            "explanation": f"'签单 ' || {amount} || ' 元 × 1.5 %% × 分成，按第 ' || "
                           f"(1 + mod(i, 14)) || ' 条规则计算'",
            "position": "i",
        }, f"FROM generate_series(1, {EXPORT_LINES}) i JOIN bc_staff st ON st.idx = "
           f"mod(i * 31, {len(staff_ids)}) ORDER BY i", {"t": tenant.pk, "s": settlement.pk})
    with connections["owner"].cursor() as cur:
        cur.execute("VACUUM (ANALYZE) commissions_commissionline")
    log(f"  {n} lines of {EXPORT_MONTH} loaded in {time.perf_counter() - t0:.1f}s")
    return settlement


# --------------------------------------------------------------------------- measuring

def _child_env() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}


CHILD = """
import json, os, resource, sys, time
import django
django.setup()
from apps.commissions.models import Settlement
from apps.commissions.workbook import workbook_write
from apps.tenancy.context import tenant_context
tenant_id, settlement_id, target = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
with tenant_context(tenant_id):
    settlement = Settlement.objects.get(pk=settlement_id)
    with open("/proc/self/status") as status:  # the current resident size, in kB
        before = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    t0 = time.perf_counter()
    result = workbook_write(settlement, target)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_kb": max(after - before, 0), "rss_before_kb": before,
                  "lines": result.lines, "total": str(result.total)}))
"""


def _export(tenant: Tenant, settlement: Settlement, ctx: BenchContext) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        target = os.path.join(tmp, "workbook.xlsx")
        done = subprocess.run([sys.executable, "-c", CHILD, str(tenant.pk), str(settlement.pk),
                               target], cwd=ROOT, env=_child_env(), capture_output=True,
                              text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"export child failed: {done.stderr[-2000:]}")
        out = json.loads(done.stdout.strip().splitlines()[-1])
        size_mb = os.path.getsize(target) / 2**20
        with tenant_context(tenant):
            expected = CommissionLine.objects.filter(settlement=settlement).aggregate(
                s=Sum("result"))["s"]
        _check_file(target, expected)
    ctx.log(f"  workbook of {out['lines']} lines: {out['seconds']:.1f}s, peak RSS growth "
            f"{out['peak_kb'] / 1024:.1f} MB (child at {out['rss_before_kb'] / 1024:.0f} MB "
            f"before), file {size_mb:.1f} MB, total {out['total']} = database {expected}")
    if out["lines"] != EXPORT_LINES or Decimal(out["total"]) != expected:
        raise AssertionError(f"workbook {out} != database {expected}")
    return {"export_100k_s": round(out["seconds"], 2),
            "export_100k_peak_mb": round(out["peak_kb"] / 1024, 1),
            "export_100k_file_mb": round(size_mb, 1)}


def _check_file(path: str, expected: Decimal) -> None:
    """The detail sheet's totals row (its last row) equals the database to the cent."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    detail = book.worksheets[1]
    last = None
    for row in detail.iter_rows(values_only=True):
        last = row
    book.close()
    if last is None or Decimal(str(last[8])).quantize(Decimal("0.01")) != expected:
        raise AssertionError(f"totals row {last} != {expected}")



# --------------------------------------------------------------------------- the settlement

SETTLE_MONTH = dt.date(2026, 8, 1)
SETTLE_DEALS = 500_000              # × 2 participants, each with a credit line
SETTLE_EVENTS = 2 * SETTLE_DEALS    # 1 000 000 commission events
SETTLE_CUSTOMERS = 50_000           # each buys 10 times in the month
SETTLE_PREFIX = "BC8-"              # contract numbers of the loaded deals
SETTLE_PHONES = "135"               # phones of the loaded customers
ORM_SLICE = 20_000
ORM_MONTH = dt.date(2026, 7, 1)     # the scratch settlement of the per-line ORM loop
RULES_NAME = "压测规则（费率+固定+分成池+封顶）"
RULES_FROM = dt.date(2026, 7, 1)    # written through SQL: the service wants today or later
DEAL_KINDS = ("new", "renewal", "referral", "expansion")
#: The two participants' roles (credit 60 % / 40 %) per deal kind.
KIND_ROLES = {"new": ("closer", "lead"), "renewal": ("consultant", "advisor"),
              "referral": ("closer", "assistant"), "expansion": ("closer", "teacher")}
RATE_BANDS = ((Decimal("10000"), Decimal("1")), (Decimal("30000"), Decimal("1.5")),
              (Decimal("50000"), Decimal("2")), (None, Decimal("2.5")))
POOL_PERCENT, POOL_UNTIL = Decimal("1.5"), 45
POOL_SHARES = ({"consultant": Decimal(70), "advisor": Decimal(30)},
               {"consultant": Decimal(30), "advisor": Decimal(70)})


def _settlement_rules() -> dict:
    """The "home" preset (its fixed table for referral deals, bonuses, ranking, retention,
    penalty) with its cap on every earned kind, a flat rate by deal band for new deals and
    expansions and the renewal pool (70/30 until day 45, then 30/70)."""
    home = [dict(r) for r in PRESETS["home"]["rules"]]
    for rule in home:
        if rule["kind"] == "cap":
            rule.pop("applies_to")      # default: every earned kind (rate and pool too)
    bands, low = [], None
    for high, percent in RATE_BANDS:
        band = {"percent": str(percent)}
        if low is not None:
            band["min"] = str(low)
        if high is not None:
            band["max"] = str(high)
        bands.append(band)
        low = high
    rate = {"kind": "rate", "name": "新签/扩课提成", "deal_kinds": ["new", "expansion"],
            "basis": "deal", "method": "flat", "edges": "lower", "bands": bands}
    pool = {"kind": "pool", "name": "续费分成", "deal_kinds": ["renewal"],
            "percent": str(POOL_PERCENT),
            "windows": [{"until_day": POOL_UNTIL, "shares": {k: str(v) for k, v in
                                                              POOL_SHARES[0].items()}},
                        {"shares": {k: str(v) for k, v in POOL_SHARES[1].items()}}]}
    return {"rules": [rate, *home[:1], pool, *home[1:]]}


def _settlement_rule_set(tenant: Tenant, log) -> None:
    with tenant_context(tenant):
        if CommissionRuleSet.objects.filter(name=RULES_NAME).exists():
            return
    with transaction.atomic():
        row = commission_rule_set_create(tenant=tenant, actor=None,
                                         effective_from=tenant_today(tenant), name=RULES_NAME,
                                         rules=_settlement_rules())
        with tenant_context(tenant):
            CommissionRuleSet.objects.filter(pk=row.pk).update(effective_from=RULES_FROM)
    log(f"  rule set v{row.version} saved, in force from {RULES_FROM} (set through SQL)")


def _month_credits():
    after = (SETTLE_MONTH + dt.timedelta(days=32)).replace(day=1)
    return DealCredit.objects.filter(deal__signed_on__gte=SETTLE_MONTH,
                                     deal__signed_on__lt=after, refund__isnull=True)


def _settlement_data(tenant: Tenant, log) -> None:
    """SETTLE_DEALS deals of SETTLE_MONTH, two participants each with a credit line (loaded
    once, set-based, as the application role in the tenant); the rule set in force."""
    _settlement_rule_set(tenant, log)
    with tenant_context(tenant):
        have = _month_credits().count()
        staff = list(Staff.objects.filter(roles__contains=[Role.SALES]).order_by("id")
                     .values_list("id", flat=True)[:STAFF])
    if have == SETTLE_EVENTS:
        log(f"  {TENANT_SLUG}: reusing {have} credit lines of {SETTLE_MONTH:%Y-%m}")
        return
    roles = {r.code: r.pk for r in deal_roles_ensure(tenant)}
    t0 = time.perf_counter()
    now = "'2026-09-01T10:00:00+08:00'::timestamptz"
    kinds = "(ARRAY[" + ",".join(f"'{k}'" for k in DEAL_KINDS) + "])"
    role_of = " ".join(f"WHEN d.kind = '{k}' AND p = {p} THEN {roles[r[p]]}"
                       for k, r in KIND_ROLES.items() for p in (0, 1))
    code_of = " ".join(f"WHEN d.kind = '{k}' AND p = {p} THEN '{r[p]}'"
                       for k, r in KIND_ROLES.items() for p in (0, 1))
    with tenant_context(tenant), connection.cursor() as cur:
        # Only this tenant's rows are visible (RLS): start from nothing (the export's lines
        # name no deal).
        months = "SELECT id FROM commissions_settlement WHERE month IN (%s, %s)"
        cur.execute("DELETE FROM commissions_commissionline WHERE deal_id IS NOT NULL "  # noqa: S608
                    f"OR settlement_id IN ({months})", [SETTLE_MONTH, ORM_MONTH])
        cur.execute(f"DELETE FROM commissions_teamapproval WHERE settlement_id IN ({months})",  # noqa: S608
                    [SETTLE_MONTH, ORM_MONTH])
        cur.execute("DELETE FROM commissions_settlement WHERE month IN (%s, %s)",
                    [SETTLE_MONTH, ORM_MONTH])
        for table in ("deals_dealcredit", "deals_dealparticipant", "followups_followuptask",
                      "deals_deal", "customers_customer"):
            cur.execute(f"DELETE FROM {table}")  # noqa: S608 (constant names)
        cur.execute("CREATE TEMP TABLE bs_staff ON COMMIT DROP AS SELECT s.o::int - 1 AS idx, "
                    "s.id, st.team_id FROM unnest(%s::bigint[]) WITH ORDINALITY s(id, o) "
                    "JOIN tenancy_staff st ON st.id = s.id", [staff])
        cur.execute("CREATE UNIQUE INDEX ON bs_staff (idx)")
        n = _exec(cur, Customer, {
            "tenant_id": "%(t)s", "name": _name("i"),
            "phone": f"'{SETTLE_PHONES}' || lpad(i::text, 8, '0')",
            "source": "'referral'", "created_at": f"{now} - interval '400 days'",
            "updated_at": f"{now} - interval '400 days'",
        }, f"FROM generate_series(1, {SETTLE_CUSTOMERS}) i", {"t": tenant.pk})
        cur.execute("CREATE TEMP TABLE bs_customer ON COMMIT DROP AS "
                    "SELECT substr(phone, 4)::int AS ci, id FROM customers_customer")
        cur.execute("CREATE UNIQUE INDEX ON bs_customer (ci)")
        log(f"  {n} customers ({time.perf_counter() - t0:.1f}s)")
        # Deal i: kinds cycled, amounts 1 000–99 999.99 (every band), signed over the month;
        # renewals on day 30–60 since the contract start (the pool's window ends on day 45).
        kind = f"{kinds}[1 + mod(i, {len(DEAL_KINDS)})]"
        n = _exec(cur, Deal, {
            "tenant_id": "%(t)s", "customer_id": "c.id", "kind": kind,
            "amount": "(1000 + mod(i::bigint * 7919, 99000) + mod(i, 100) / 100.0)::numeric(14, 2)",
            "signed_on": f"DATE '{SETTLE_MONTH}' + mod(i * 7, 31)",
            "contract_number": f"'{SETTLE_PREFIX}' || i",
            "days_since_contract_start": f"CASE WHEN {kind} = 'renewal' THEN 30 + "
                                         "mod(i * 13, 31) END",
            "owner_id": "s.id", "team_id": "s.team_id", "created_at": now,
        }, f"FROM generate_series(1, {SETTLE_DEALS}) i "
           f"JOIN bs_customer c ON c.ci = 1 + mod(i, {SETTLE_CUSTOMERS}) "
           f"JOIN bs_staff s ON s.idx = mod(i * 31, {len(staff)}) ORDER BY i",
            {"t": tenant.pk})
        log(f"  {n} deals ({time.perf_counter() - t0:.1f}s)")
        cur.execute("CREATE TEMP TABLE bs_deal ON COMMIT DROP AS SELECT substr(contract_number,"
                    f" {len(SETTLE_PREFIX) + 1})::int AS i, id, kind, amount FROM deals_deal")
        # Participant p (0, 1) of deal i: staff i*31 + 7p, the kind's two roles.
        people = (f"FROM bs_deal d CROSS JOIN generate_series(0, 1) p JOIN bs_staff s ON "
                  f"s.idx = mod(d.i * 31 + 7 * p, {len(staff)}) ORDER BY d.i, p")
        n = _exec(cur, DealParticipant, {
            "tenant_id": "%(t)s", "deal_id": "d.id", "staff_id": "s.id",
            "role_id": f"CASE {role_of} END"}, people, {"t": tenant.pk})
        log(f"  {n} participants ({time.perf_counter() - t0:.1f}s)")
        first = "round(d.amount * 0.6, 2)"
        n = _exec(cur, DealCredit, {
            "tenant_id": "%(t)s", "deal_id": "d.id", "staff_id": "s.id",
            "role_code": f"CASE {code_of} END",
            "percent": "CASE WHEN p = 0 THEN 60 ELSE 40 END",
            "amount": f"CASE WHEN p = 0 THEN {first} ELSE d.amount - {first} END",
            "source": "'rules'", "rule_version": "1", "created_at": now}, people,
            {"t": tenant.pk})
        log(f"  {n} credit lines ({time.perf_counter() - t0:.1f}s)")
    with connections["owner"].cursor() as cur:
        for table in ("customers_customer", "deals_deal", "deals_dealparticipant",
                      "deals_dealcredit"):
            cur.execute(f"VACUUM (ANALYZE) {table}")
    log(f"  settlement data of {SETTLE_MONTH:%Y-%m} loaded in {time.perf_counter() - t0:.1f}s")


SETTLE_CHILD = """
import datetime as dt, json, resource, sys, time
import django
django.setup()
from django.db.models.query import QuerySet
from apps.commissions import engine, settlements
from apps.tenancy.models import Tenant
tenant = Tenant.objects.get(pk=int(sys.argv[1]))
month = dt.date.fromisoformat(sys.argv[2])
split = {}
def timed(name, fn):
    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            split[name] = split.get(name, 0.0) + time.perf_counter() - t0
    return wrapper
settlements.month_inputs = timed("facts", settlements.month_inputs)
engine.calculate = timed("engine", engine.calculate)
settlements._copy_lines = timed("write", settlements._copy_lines)
QuerySet.delete = timed("delete", QuerySet.delete)
with open("/proc/self/status") as status:  # the current resident size, in kB
    before = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
t0 = time.perf_counter()
settlement = settlements.settlement_calculate(tenant=tenant, actor=None, month=month)
seconds = time.perf_counter() - t0
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_kb": max(after - before, 0), "rss_before_kb": before,
                  "split": split, "lines": settlement.line_count, "runs": settlement.runs,
                  "people": settlement.people, "total": str(settlement.total),
                  "id": settlement.pk}))
"""


def _settle(tenant: Tenant, ctx: BenchContext) -> dict:
    """settlement_calculate of SETTLE_MONTH in a fresh child process; checked afterwards."""
    done = subprocess.run([sys.executable, "-c", SETTLE_CHILD, str(tenant.pk),
                           SETTLE_MONTH.isoformat()], cwd=ROOT, env=_child_env(),
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"settlement child failed: {done.stderr[-3000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    with tenant_context(tenant):
        lines = CommissionLine.objects.filter(settlement_id=out["id"])
        agg = lines.aggregate(n=Count("id"), s=Sum("result"))
        events = lines.filter(ref__startswith="credit:").values("ref").distinct().count()
        caps = lines.filter(kind="cap").count()
    split = out["split"]
    other = out["seconds"] - sum(split.values())
    ctx.log(f"  settlement of {SETTLE_MONTH:%Y-%m} (run {out['runs']}): {out['seconds']:.1f}s "
            f"= facts {split.get('facts', 0):.1f} + engine {split.get('engine', 0):.1f} + "
            f"delete {split.get('delete', 0):.1f} + write {split.get('write', 0):.1f} + other "
            f"{other:.1f}; peak RSS growth {out['peak_kb'] / 1024:.0f} MB (child at "
            f"{out['rss_before_kb'] / 1024:.0f} MB before); {out['lines']} lines "
            f"({events} credit events, {caps} caps), {out['people']} people, total "
            f"{out['total']} = database {agg['s']}")
    if (agg["n"] != out["lines"] or agg["s"] != Decimal(out["total"])
            or events != SETTLE_EVENTS):
        raise AssertionError(f"settlement {out} != database {agg}, {events} events")
    return {"settlement_1m_s": round(out["seconds"], 2),
            "settlement_1m_peak_mb": round(out["peak_kb"] / 1024, 1),
            "settlement_1m_facts_s": round(split.get("facts", 0), 2),
            "settlement_1m_engine_s": round(split.get("engine", 0), 2),
            "settlement_1m_delete_s": round(split.get("delete", 0), 2),
            "settlement_1m_write_s": round(split.get("write", 0), 2),
            "settlement_1m_lines": out["lines"]}


def _band(amount: Decimal, bands) -> int:
    for i, (high, _value) in enumerate(bands):
        if high is None or amount < high:
            return i
    return len(bands) - 1


FIXED_BANDS = tuple((None if b.get("max") is None else Decimal(b["max"]),
                     {role: Decimal(v) for role, v in b["amounts"].items()})
                    for b in PRESETS["home"]["rules"][0]["bands"])


def _orm_loop(tenant: Tenant, ctx: BenchContext) -> tuple[float, int]:
    """The straightforward way, on the first ORM_SLICE credit lines of the month by id: per
    line fetch its deal, its person and the participant's role, compute in plain Python (the
    same rate / fixed / pool rules, no cap) and create the line, one row at a time, in a
    scratch settlement of ORM_MONTH that is deleted afterwards."""
    cent = Decimal("0.01")
    with tenant_context(tenant):
        Settlement.objects.filter(month=ORM_MONTH).delete()
        ids = list(_month_credits().order_by("id").values_list("id", flat=True)[:ORM_SLICE])
    t0 = time.perf_counter()
    made = 0
    with tenant_context(tenant):
        scratch = Settlement.objects.create(tenant=tenant, month=ORM_MONTH,
                                            status=Settlement.Status.CALCULATED)
        for position, credit in enumerate(DealCredit.objects.filter(pk__in=ids).order_by("id")):
            deal = credit.deal
            staff = credit.staff
            participant = DealParticipant.objects.select_related("role").get(
                deal=deal, staff=staff, role__code=credit.role_code)
            role = participant.role.code
            base, rate, fixed, kind = credit.amount, None, None, None
            if deal.kind in ("new", "expansion"):
                rate = RATE_BANDS[_band(deal.amount, RATE_BANDS)][1]
                result, kind = (credit.amount * rate / 100).quantize(cent, ROUND_HALF_UP), "rate"
            elif deal.kind == "referral":
                fixed = FIXED_BANDS[_band(deal.amount, FIXED_BANDS)][1].get(role)
                result, kind, base = fixed, "fixed", deal.amount
            elif deal.kind == "renewal":
                shares = POOL_SHARES[0 if deal.days_since_contract_start <= POOL_UNTIL else 1]
                rate, base, kind = POOL_PERCENT, deal.amount, "pool"
                result = (deal.amount * POOL_PERCENT / 100 * shares[role] / 100).quantize(
                    cent, ROUND_HALF_UP)
            if kind is None or result is None:
                continue
            CommissionLine.objects.create(
                tenant=tenant, settlement=scratch, staff=staff, team_id=staff.team_id,
                kind=kind, rule_version=1, rule_name=kind, base=base, rate=rate, fixed=fixed,
                share=Decimal(100), result=result, deal=deal, ref=f"credit:{credit.pk}",
                explanation=f"{deal.kind} {deal.amount}: {result}", position=position)
            made += 1
    seconds = time.perf_counter() - t0
    with tenant_context(tenant):
        CommissionLine.objects.filter(settlement__month=ORM_MONTH).delete()
        Settlement.objects.filter(month=ORM_MONTH).delete()
    ctx.log(f"  per-line ORM loop: {len(ids)} credit lines, {made} lines in {seconds:.1f}s "
            f"({seconds / len(ids) * 1000:.2f} ms per event)")
    return seconds, len(ids)


def run(ctx: BenchContext) -> dict[str, float]:
    t0 = time.perf_counter()
    tenant = _ensure_tenant(ctx.log)
    settlement = _export_settlement(tenant, ctx.log)
    _settlement_data(tenant, ctx.log)
    ctx.log(f"  data ready in {time.perf_counter() - t0:.1f}s")
    out = _export(tenant, settlement, ctx)
    out.update(_settle(tenant, ctx))
    orm_seconds, orm_events = _orm_loop(tenant, ctx)
    real_per_event = out["settlement_1m_s"] / SETTLE_EVENTS
    out["settlement_orm_ms_per_event"] = round(orm_seconds / orm_events * 1000, 3)
    out["settlement_ms_per_event"] = round(real_per_event * 1000, 4)
    out["settlement_vs_orm_ratio"] = round(orm_seconds / orm_events / real_per_event, 1)
    return out
