"""Follow-up visits (issue 8): the daily generation over 1 000 000 customers with 10 % due, and
the "my day" page of a salesperson.

* Data (its own tenant, slug TENANT_SLUG, independent of the base bench data). TEAMS teams and
  SALES salespeople (SALES / TEAMS a team) created through the services once; CUSTOMERS
  customers loaded set-based once with INSERT ... SELECT generate_series in one transaction of
  the tenant (the restricted application role, `app.tenant_id` set: the RLS policy checks
  every row) and reused. Every fact is derived from the customer's index i by md5 (no
  randomness): the owner (uniform over the salespeople; the team is the owner's), the grade
  A 70 % / B 22 % / C 5 % / D 3 % (chosen so that, with the VIP care below, about 10 % of the
  customers fall due on a day under the default plan), a birthday for 60 %, and a VIP tier
  row (`CustomerTier`, the default VIP preset as version 0) silver 40 % / gold 20 % /
  diamond 8 % (the rest none). Every customer has one deal (`BF-<i>`, signed 1–150 days
  before the load day, not refunded) whose units give exactly the customer's grade under the
  default plan's thresholds (A ≥ 100, B 50–99, C 10–49, D < 10), so the grade refresh of the
  daily job (`generation.refresh_grades`, one GROUP BY over the tenant's million deals) runs
  at full size and changes nothing. Deals loaded set-based make no after-sale visits (that is
  `deal_create`'s hook); no contracts, so the renewal rule finds nothing. When the oldest deal
  comes within DEAL_MARGIN days of leaving the 365-day window the deals are laid again.
* The plan: a version of the default preset with `"days_ahead": 0` (`plan_create`, in force
  from the day it was first saved), so one run makes exactly one day's tasks. Which customers
  are due on a day (generation.py's docstring): grade A every 10 days, B 15, C 30 (by id);
  gold and diamond an SMS every month and a call every 6 / 3 months on day 1 + id mod 28
  (days 29–31 have none), and a birthday greeting (the VIP preset's tiers with it).
* The day D is the tenant's today when the scenario runs (the page shows the real today: a
  fixed day in the past would leave "my day" empty). BACKLOG_DAYS days before D hold the
  grade visits those days gave (`grade:<id>:<day>` keys, as the job writes them), 90 % done
  (reached) and 10 % still open — the overdue list of "my day". The backlog is laid again
  whenever D moved since it was laid. Before each run every task due on D or later is deleted
  and the table vacuumed (VACUUM (ANALYZE) as the owner). The day is checked again when "my
  day" is read (a run across the tenant's midnight fails rather than measure an empty day).
* **followup_generate_s** is the wall time of `apps.followups.generation.generate(tenant,
  today=D, now=...)` called in-process (advisory lock, plan, grade refresh, one INSERT ...
  SELECT ... ON CONFLICT DO NOTHING per rule, one transaction). The tasks it creates per
  purpose must equal what plain SQL over the loaded facts predicts (written independently of
  generation.py, from the plan's and the VIP preset's frequencies), the table must hold that
  many tasks due on D, and no grade may change. A second call must create nothing:
  `followup_generate_again_s` (no target).
* **my_day_p95_ms**: MYDAY_STAFF salespeople spread over the teams, each logged in with
  Django's test Client (`force_login`), `GET /followups/my-day/` (URL name
  "followups:my_day") through the whole stack: MYDAY_WARMUP requests, then MYDAY_REQUESTS
  timed ones, cycling over the people; each answer must be 200. Each person has ~5 000
  customers, so ~500 tasks today and ~300 overdue: the page lists at most `myday.LIST_LIMIT`
  overdue (and counts them) and the first 2 × LIST_LIMIT of today's (myday.my_day). The
  steps of the generation are timed too (diagnostics). Without that URL (the page not built
  yet) the scenario times
  `apps.followups.myday.my_day(staff, tenant=...)` inside `tenant_context` instead and says
  so (`my_day_via_page` 0).
"""

from __future__ import annotations

import datetime as dt
import time
import zoneinfo
from contextlib import contextmanager

from django.db import connection, connections
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from apps.customers.models import Customer
from apps.deals.models import Deal
from apps.followups import generation, myday
from apps.followups.generation import EPOCH, YEAR_DAYS, generate
from apps.followups.models import FollowUpTask
from apps.followups.plan_versions import plan_create, plan_for
from apps.followups.plans import PRESETS, parse_plan_rules
from apps.ownership.selectors import tenant_today
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff, Tenant
from apps.vip.models import CustomerTier
from apps.vip.selectors import care_plan
from bench.data import ensure_sales_tenant
from bench.scenarios.referrals import _exec, _name, _u
from bench.util import BenchContext, DatabaseTimer, median, ms, percentile

NAME = "followups"
DESCRIPTION = ("daily follow-up generation over 1 000 000 customers (10 % due); "
               "GET /followups/my-day/ through the whole stack")
TARGETS = {"followup_generate_s": ("<=", 60.0), "my_day_p95_ms": ("<=", 80.0)}

TENANT_SLUG = "bench-followups"
CUSTOMERS = 1_000_000
TEAMS = 10
SALES = 200
# Cumulative shares (md5-derived, per customer).
GRADES = (("A", 0.70), ("B", 0.92), ("C", 0.97), ("D", 1.0))
TIERS = (("silver", 1, 0.40), ("gold", 2, 0.60), ("diamond", 3, 0.68))
BIRTHDAY_SHARE = 0.60
# Units of the customer's one deal per grade: (from, span) -> from + floor(u * span).
UNITS = {"A": (100, 200), "B": (50, 50), "C": (10, 40), "D": (1, 9)}
DEAL_DAYS = 150  # signed 1..DEAL_DAYS days before the load day
DEAL_MARGIN = 30  # lay the deals again when the oldest is this close to the 365-day edge
BACKLOG_DAYS = 7
BACKLOG_OPEN = 0.10
PLAN_NAME = "压测：当天生成"
MYDAY_STAFF = 20
MYDAY_WARMUP = 20
MYDAY_REQUESTS = 200
MYDAY_URL_NAME = "followups:my_day"

PLAN = {**PRESETS["default"], "days_ahead": 0}
RULES = parse_plan_rules(PLAN)


def _case(u: str, shares) -> str:
    """SQL: the value of the first (value, cumulative share) whose share exceeds `u`."""
    parts = [f"WHEN {u} < {share} THEN '{value}'" for value, share in shares[:-1]]
    return "CASE " + " ".join(parts) + f" ELSE '{shares[-1][0]}' END"


GRADE_SQL = _case(_u("i", ":grade"), GRADES)


def _index(expr: str = "c.phone") -> str:
    return f"substr({expr}, 4)::int"


# --------------------------------------------------------------------------- loading

def _ensure_org(log) -> tuple[Tenant, list[int]]:
    """The tenant, its teams and salespeople (through the services, once); the salespeople's
    ids in id order."""
    tenant, _admin, sales = ensure_sales_tenant(TENANT_SLUG, "压测回访", teams=TEAMS,
                                                sales=SALES, log=log)
    return tenant, sales


def _load_customers(tenant: Tenant, sales: list[int], log) -> None:
    t0 = time.perf_counter()
    owner = f"(%(sales)s::bigint[])[1 + floor({_u('i', ':owner')} * {len(sales)})::int]"
    with tenant_context(tenant), connection.cursor() as cur:
        # Only this tenant's rows are visible (RLS): start from nothing.
        for table in ("followups_followuptask", "vip_tierchange", "vip_customertier",
                      "deals_deal", "customers_customer"):
            cur.execute(f"DELETE FROM {table}")  # noqa: S608 (constant names)
        cur.execute("CREATE TEMP TABLE bf_staff ON COMMIT DROP AS "
                    "SELECT id, team_id FROM tenancy_staff WHERE id = ANY(%s)", [sales])
        cur.execute("CREATE UNIQUE INDEX ON bf_staff (id)")
        n = _exec(cur, Customer, {
            "tenant_id": "%(t)s", "name": _name("f.i"),
            "phone": "'139' || lpad(f.i::text, 8, '0')", "grade": "f.grade",
            "birthday": (f"CASE WHEN {_u('f.i', ':has-bday')} < {BIRTHDAY_SHARE} THEN "
                         f"date '1950-01-01' + floor({_u('f.i', ':bday')} * 20000)::int END"),
            "owner_id": "f.owner", "team_id": "s.team_id", "created_by_id": "f.owner",
            "source": "'walk_in'", "created_at": "now() - interval '400 days'",
            "updated_at": "now() - interval '400 days'",
            "owned_since": "now() - interval '400 days'",
            "last_contact_at": f"now() - {_u('f.i', ':contact')} * interval '25 days'",
        }, f"FROM (SELECT i, {owner} AS owner, {GRADE_SQL} AS grade "
           f"FROM generate_series(1, {CUSTOMERS}) i) f JOIN bf_staff s ON s.id = f.owner "
           "ORDER BY f.i",
            {"t": tenant.pk, "sales": "{" + ",".join(map(str, sales)) + "}"})
        log(f"  {n} customers ({time.perf_counter() - t0:.1f}s)")
        tiers = _case(_u("c.i", ":tier"), [(code, share) for code, _o, share in TIERS]
                      + [("", 1.0)])
        orders = " ".join(f"WHEN '{code}' THEN {order}" for code, order, _s in TIERS)
        n = _exec(cur, CustomerTier, {
            "tenant_id": "%(t)s", "customer_id": "c.id", "tier": "c.tier",
            "tier_order": f"CASE c.tier {orders} END", "computed_order": f"CASE c.tier {orders} END",
            "contract_total": "(1000 + 1000 * mod(c.i, 150))::numeric",
            "scheme_version": "0", "since": "now() - interval '100 days'",
            "updated_at": "now() - interval '100 days'",
        }, f"FROM (SELECT id, i, {tiers} AS tier FROM (SELECT id, {_index('phone')} AS i "
           "FROM customers_customer) c) c WHERE c.tier <> '' ORDER BY c.id", {"t": tenant.pk})
        log(f"  {n} VIP tier rows ({time.perf_counter() - t0:.1f}s)")
        _lay_deals(cur, tenant, tenant_today(tenant))
        log(f"  {CUSTOMERS} deals ({time.perf_counter() - t0:.1f}s)")
    t1 = time.perf_counter()
    _vacuum("customers_customer", "vip_customertier", "deals_deal", "followups_followuptask")
    log(f"  loaded in {t1 - t0:.1f}s, vacuumed in {time.perf_counter() - t1:.1f}s")


def _lay_deals(cur, tenant: Tenant, day: dt.date) -> int:
    """One deal per customer, signed 1..DEAL_DAYS days before `day`, whose units give the
    customer's grade under the default thresholds (in the tenant's transaction)."""
    cur.execute("DELETE FROM deals_deal")
    units = " ".join(f"WHEN '{g}' THEN {a} + floor({_u('c.i', ':units')} * {span})::int"
                     for g, (a, span) in UNITS.items())
    signed = f"%(day)s::date - (1 + floor({_u('c.i', ':signed')} * {DEAL_DAYS})::int)"
    return _exec(cur, Deal, {
        "tenant_id": "%(t)s", "customer_id": "c.id", "kind": "'new'",
        "amount": "(c.units * 100 + mod(c.i, 100))::numeric", "units": "c.units",
        "signed_on": "c.signed", "contract_number": "'BF-' || c.i",
        "owner_id": "c.owner_id", "team_id": "c.team_id",
        "created_at": "c.signed::timestamp AT TIME ZONE 'Asia/Shanghai' + interval '11 hours'",
    }, f"FROM (SELECT c.*, CASE c.grade {units} END AS units, {signed} AS signed "
       f"FROM (SELECT id, {_index('phone')} AS i, grade, owner_id, team_id "
       "FROM customers_customer) c) c ORDER BY c.id",
        {"t": tenant.pk, "day": day.isoformat()})


def _vacuum(*tables: str) -> None:
    with connections["owner"].cursor() as cur:
        for table in tables:
            cur.execute(f"VACUUM (ANALYZE) {table}")


def _deals_state(tenant: Tenant, day: dt.date) -> tuple[int, dt.date | None, int]:
    """(deals, the oldest signing day, customers whose deal-derived grade is not theirs)."""
    plan = plan_for(tenant, day)[1]
    case = " ".join(f"WHEN d.units >= {g.min_units} THEN '{g.grade}'" for g in plan.grades)
    with tenant_context(tenant), connection.cursor() as cur:
        cur.execute(f"""SELECT count(*), min(d.signed_on),
                               count(*) FILTER (WHERE c.grade <> CASE {case} ELSE 'D' END)
                          FROM deals_deal d JOIN customers_customer c ON c.id = d.customer_id""")  # noqa: S608
        return cur.fetchone()


def ensure(log) -> tuple[Tenant, list[int]]:
    tenant, sales = _ensure_org(log)
    with tenant_context(tenant), connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM customers_customer")
        customers = cur.fetchone()[0]
    if customers != CUSTOMERS:
        log(f"  {TENANT_SLUG}: {customers} -> {CUSTOMERS} customers")
        _load_customers(tenant, sales, log)
    else:
        log(f"  {TENANT_SLUG}: reusing {customers} customers")
    day = tenant_today(tenant)
    deals, oldest, wrong = _deals_state(tenant, day)
    if (deals != CUSTOMERS or wrong
            or oldest <= day - dt.timedelta(days=YEAR_DAYS - DEAL_MARGIN)):
        t0 = time.perf_counter()
        with tenant_context(tenant), connection.cursor() as cur:
            _lay_deals(cur, tenant, day)
        _vacuum("deals_deal")
        log(f"  deals laid again ({deals} deals, oldest {oldest}, {wrong} grades off) in "
            f"{time.perf_counter() - t0:.1f}s")
    return tenant, sales


def _ensure_plan(tenant: Tenant, day: dt.date, log) -> None:
    version, plan = plan_for(tenant, day)
    if version == 0 or plan.as_data() != RULES.as_data():
        row = plan_create(tenant=tenant, actor=None, effective_from=day, name=PLAN_NAME,
                          rules=PLAN)
        log(f"  plan version {row.version} saved (default preset, days_ahead 0)")
    else:
        log(f"  plan version {version} in force (days_ahead 0)")


def _day_start(tenant: Tenant, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, zoneinfo.ZoneInfo(tenant.time_zone))


def _grade_due(days: str) -> str:
    """SQL: the customer `c` has a grade visit (the plan's intervals) on the day `days` days
    after EPOCH."""
    return "(" + " OR ".join(f"(c.grade = '{g}' AND mod(c.id + {days}, {n}) = 0)"
                             for g, n in RULES.every_days().items()) + ")"


def _ensure_backlog(tenant: Tenant, day: dt.date, log) -> int:
    """BACKLOG_DAYS days of grade visits before `day`, BACKLOG_OPEN of them still open, the rest
    done (reached); laid again unless exactly those days are there. Returns the rows."""
    start = _day_start(tenant, day)
    first = day - dt.timedelta(days=BACKLOG_DAYS)
    with tenant_context(tenant), connection.cursor() as cur:
        cur.execute("""SELECT count(*), min((due_at AT TIME ZONE %s)::date),
                              max((due_at AT TIME ZONE %s)::date),
                              count(*) FILTER (WHERE source_key NOT LIKE 'grade:%%')
                         FROM followups_followuptask WHERE due_at < %s""",
                    [tenant.time_zone, tenant.time_zone, start])
        rows, low, high, other = cur.fetchone()
    if rows and (low, high, other) == (first, day - dt.timedelta(days=1), 0):
        log(f"  reusing the backlog: {rows} tasks due {low} – {high}")
        return rows
    t0 = time.perf_counter()
    starts = [a.strftime("%H:%M") for a, _b in RULES.windows]
    done = f"{_u('c.id::text || k', ':done')} >= {BACKLOG_OPEN}"
    due = (f"((%(first)s::date + k) + ((%(starts)s::text[])[1 + c.id %% {len(starts)}])::time) "
           "AT TIME ZONE %(tz)s")
    with tenant_context(tenant), connection.cursor() as cur:
        cur.execute("DELETE FROM followups_followuptask")
        cur.execute(f"""
            INSERT INTO followups_followuptask
                   (tenant_id, customer_id, assignee_id, team_id, channel, purpose, due_at,
                    title, status, source_key, attempt, result, satisfaction, result_notes,
                    next_step, completed_at, completed_by_id, cancel_reason, created_at)
            SELECT %(t)s, c.id, c.owner_id, c.team_id, 'phone', 'periodic', t.due, '',
                   CASE WHEN t.done THEN 'done' ELSE 'open' END,
                   'grade:' || c.id || ':' || (%(first)s::date + k), 1,
                   CASE WHEN t.done THEN 'reached' ELSE '' END,
                   CASE WHEN t.done THEN 3 + c.id %% 3 END, '', '',
                   CASE WHEN t.done THEN t.due + interval '20 minutes' END,
                   CASE WHEN t.done THEN c.owner_id END, '',
                   (%(first)s::date + k)::timestamp AT TIME ZONE %(tz)s
              FROM customers_customer c
             CROSS JOIN generate_series(0, {BACKLOG_DAYS - 1}) k
             CROSS JOIN LATERAL (SELECT {due} AS due, {done} AS done) t
             WHERE {_grade_due("(%(first)s::date + k - %(epoch)s::date)")}
             ORDER BY k, c.id""",  # noqa: S608 (validated integers and constants)
                    {"t": tenant.pk, "first": first, "starts": starts, "tz": tenant.time_zone,
                     "epoch": EPOCH})
        rows = cur.rowcount
    t1 = time.perf_counter()
    _vacuum("followups_followuptask")
    log(f"  backlog laid: {rows} grade visits due {first} – {day - dt.timedelta(days=1)} "
        f"({BACKLOG_OPEN:.0%} open) in {t1 - t0:.1f}s, vacuumed in "
        f"{time.perf_counter() - t1:.1f}s")
    return rows


def _clear_day(tenant: Tenant, day: dt.date) -> int:
    with tenant_context(tenant), connection.cursor() as cur:
        cur.execute("DELETE FROM followups_followuptask WHERE due_at >= %s",
                    [_day_start(tenant, day)])
        removed = cur.rowcount
    _vacuum("followups_followuptask")
    return removed


# --------------------------------------------------------------------------- measuring

def _expected(tenant: Tenant, day: dt.date) -> dict[str, int]:
    """Tasks per purpose the plan makes on `day`, counted with plain SQL over the facts."""
    plan = plan_for(tenant, day)[1]
    care = care_plan(tenant, day)
    days = (day - EPOCH).days
    month_index = 12 * day.year + day.month - 1
    vip_terms = []
    if plan.vip_care and day.day <= 28:
        for tier in care:
            for every in (tier["sms_every_months"], tier["phone_every_months"]):
                if every:
                    vip_terms.append(f"(ct.tier = '{tier['tier']}' AND 1 + mod(c.id, 28) = "
                                     f"{day.day} AND mod({month_index} + c.id, {every}) = 0)::int")
    greeted = [t["tier"] for t in care if t["birthday_greeting"]]
    birthday = "false"
    if plan.birthday != "off" and (plan.birthday == "all" or greeted):
        dates = [f"'{day:%m-%d}'"]
        if day.month == 2 and day.day == 28 and day.year % 4:  # (no 2100 in sight)
            dates.append("'02-29'")
        birthday = f"to_char(c.birthday, 'MM-DD') IN ({', '.join(dates)})"
        if plan.birthday == "vip":
            birthday += " AND ct.tier IN (" + ", ".join(f"'{t}'" for t in greeted) + ")"
    with tenant_context(tenant), connection.cursor() as cur:
        cur.execute(f"""
            SELECT count(*) FILTER (WHERE {_grade_due(str(days))}),
                   coalesce(sum({' + '.join(vip_terms) or '0'}), 0),
                   count(*) FILTER (WHERE {birthday})
              FROM customers_customer c
              JOIN tenancy_staff s ON s.id = c.owner_id AND s.active
              LEFT JOIN vip_customertier ct ON ct.customer_id = c.id""")  # noqa: S608
        periodic, vip, birthdays = cur.fetchone()
        cur.execute("SELECT count(*) FROM deals_contract")
        contracts = cur.fetchone()[0]
    if contracts:
        raise AssertionError(f"{contracts} contracts in {TENANT_SLUG}: renewals not predicted")
    return {"periodic": periodic, "vip_care": int(vip), "birthday": birthdays, "renewal": 0}


def _day_counts(tenant: Tenant, day: dt.date) -> dict[str, int]:
    start = _day_start(tenant, day)
    with tenant_context(tenant):
        return dict(FollowUpTask.objects.filter(due_at__gte=start,
                                                due_at__lt=start + dt.timedelta(days=1))
                    .values_list("purpose").order_by().annotate(n=Count("id")))


STEPS = ("refresh_grades", "generate_grade_visits", "generate_vip_care", "generate_birthdays",
         "generate_renewals")


@contextmanager
def _steps():
    """Time the steps of `generate` (module functions it looks up when called); the rest of
    its time is the lock, the plan and the COMMIT (deferred foreign-key checks)."""
    split: dict[str, float] = {}
    saved = {name: getattr(generation, name) for name in STEPS}

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                split[name] = split.get(name, 0.0) + time.perf_counter() - t0
        return wrapper

    for name, fn in saved.items():
        setattr(generation, name, timed(name, fn))
    try:
        yield split
    finally:
        for name, fn in saved.items():
            setattr(generation, name, fn)


def _split_text(split: dict[str, float], seconds: float) -> str:
    parts = [f"{name.removeprefix('generate_')} {split.get(name, 0):.2f}" for name in STEPS]
    return ", ".join(parts) + f", other (lock, plan, commit) {seconds - sum(split.values()):.2f}"


def _generate(ctx: BenchContext, tenant: Tenant, day: dt.date) -> dict[str, float]:
    expected = _expected(tenant, day)
    total = sum(expected.values())
    ctx.log(f"  day {day}: SQL count {total} tasks due ({total / CUSTOMERS:.2%} of the "
            f"customers): " + ", ".join(f"{k} {v}" for k, v in expected.items()))
    with _steps() as split:
        started = time.perf_counter()
        result = generate(tenant, today=day, now=timezone.now())
        seconds = time.perf_counter() - started
    ctx.log(f"  generate: {seconds:.2f}s, {result.total} created "
            f"({', '.join(f'{k} {v}' for k, v in result.created.items())}), "
            f"{result.grades_changed} grades changed; {_split_text(split, seconds)}")
    with _steps() as split_again:
        started = time.perf_counter()
        again = generate(tenant, today=day, now=timezone.now())
        again_s = time.perf_counter() - started
    ctx.log(f"  generate again: {again_s:.2f}s, {again.total} created; "
            f"{_split_text(split_again, again_s)}")
    stored = _day_counts(tenant, day)
    problems = []
    if result.created != expected:
        problems.append(f"created {result.created} != SQL {expected}")
    if {k: v for k, v in stored.items() if v} != {k: v for k, v in expected.items() if v}:
        problems.append(f"stored for {day}: {stored} != {expected}")
    if result.grades_changed or again.grades_changed:
        problems.append(f"{result.grades_changed} / {again.grades_changed} grades changed")
    if again.total:
        problems.append(f"the second run created {again.total}")
    if problems:
        raise AssertionError("; ".join(problems))
    ctx.log("  checked: created = stored = the SQL count per purpose; the second run made 0")
    return {"followup_generate_s": round(seconds, 2),
            "followup_generate_again_s": round(again_s, 2),
            "followup_refresh_grades_s": round(split.get("refresh_grades", 0), 2),
            "followup_grade_visits_s": round(split.get("generate_grade_visits", 0), 2),
            "followup_generate_created": result.total,
            "followup_customers_in_tenant": CUSTOMERS}



def _people(tenant: Tenant, sales: list[int]) -> list[Staff]:
    step = max(1, len(sales) // MYDAY_STAFF)
    ids = sales[::step][:MYDAY_STAFF]
    with tenant_context(tenant):
        return list(Staff.objects.select_related("tenant", "team", "user").filter(pk__in=ids)
                    .order_by("id"))


def _my_day(ctx: BenchContext, tenant: Tenant, day: dt.date,
            people: list[Staff]) -> dict[str, float]:
    try:
        url = reverse(MYDAY_URL_NAME)
    except NoReverseMatch:
        url = None
    # What each person's day holds (a sample shown in the log).
    shapes = []
    for staff in people:
        with tenant_context(tenant):
            d = myday.my_day(staff, tenant=tenant)
        if d.day != day:
            raise AssertionError(f"my_day shows {d.day}, the run generated {day} (midnight?)")
        shapes.append((len(d.today), d.overdue_count, len(d.overdue), len(d.upcoming)))
    ctx.log(f"  {len(people)} salespeople; today listed {min(s[0] for s in shapes)}–"
            f"{max(s[0] for s in shapes)} (LIST_LIMIT {myday.LIST_LIMIT}), overdue "
            f"{min(s[1] for s in shapes)}–{max(s[1] for s in shapes)} (listed ≤ "
            f"{max(s[2] for s in shapes)}), upcoming {max(s[3] for s in shapes)}")
    with tenant_context(tenant):
        due_today = dict(FollowUpTask.objects.filter(
            assignee__in=people, status="open", due_at__gte=_day_start(tenant, day),
            due_at__lt=_day_start(tenant, day + dt.timedelta(days=1)))
            .values_list("assignee").order_by().annotate(n=Count("id")))
    ctx.log(f"  their tasks due today: {min(due_today.values())}–{max(due_today.values())}")

    if url:
        clients = []
        for staff in people:
            client = Client(raise_request_exception=True)
            client.force_login(staff.user)
            clients.append(client)

        def one(i: int) -> float:
            t0 = time.perf_counter()
            response = clients[i % len(clients)].get(url)
            elapsed = time.perf_counter() - t0
            if response.status_code != 200:
                raise AssertionError(f"GET {url} as {people[i % len(people)]}: "
                                     f"{response.status_code} {response.content[:300]!r}")
            return elapsed
        via = f"GET {url} (whole stack)"
    else:
        def one(i: int) -> float:
            t0 = time.perf_counter()
            with tenant_context(tenant):
                myday.my_day(people[i % len(people)], tenant=tenant)
            return time.perf_counter() - t0
        via = "apps.followups.myday.my_day() in tenant_context (the page does not exist yet)"

    for i in range(MYDAY_WARMUP):
        one(i)
    db = DatabaseTimer()
    samples = []
    with connection.execute_wrapper(db):
        for i in range(MYDAY_REQUESTS):
            samples.append(one(i))
    with CaptureQueriesContext(connection) as captured:
        one(0)
    ctx.log(f"  my day via {via}: {len(samples)} requests, median {ms(median(samples))} ms, "
            f"p95 {ms(percentile(samples, 95))} ms, max {ms(max(samples))} ms; "
            f"{ms(db.total / len(samples))} ms in the database; {len(captured)} queries")
    for q in captured.captured_queries:
        ctx.log(f"    {q['time']}s  {q['sql'][:160]}")
    return {"my_day_p95_ms": ms(percentile(samples, 95)),
            "my_day_p50_ms": ms(percentile(samples, 50)),
            "my_day_max_ms": ms(max(samples)),
            "my_day_db_mean_ms": ms(db.total / len(samples)),
            "my_day_queries": len(captured),
            "my_day_via_page": 1 if url else 0}


def run(ctx: BenchContext) -> dict[str, float]:
    t0 = time.perf_counter()
    tenant, sales = ensure(ctx.log)
    day = tenant_today(tenant)
    _ensure_plan(tenant, day, ctx.log)
    removed = _clear_day(tenant, day)
    if removed:
        ctx.log(f"  removed {removed} tasks due {day} or later (a previous run's)")
    _ensure_backlog(tenant, day, ctx.log)
    ctx.log(f"  data ready in {time.perf_counter() - t0:.1f}s")
    out = _generate(ctx, tenant, day)
    out.update(_my_day(ctx, tenant, day, _people(tenant, sales)))
    return out
