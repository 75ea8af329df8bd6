"""Referrals (issue 5): the honour board's monthly ranking over 1 000 000 referrals, and the
public referral page's submission through the whole stack.

* Data (its own tenant, slug TENANT_SLUG, independent of the base bench data: the scenario
  only needs `bench.data`'s tenants to exist as the driver loads them). Loaded once, set-based
  with INSERT ... SELECT generate_series in one transaction of the tenant (as the restricted
  application role, `app.tenant_id` set: the RLS policy checks every row), then VACUUM
  (ANALYZE); a second run finds REFERRALS rows and reuses them. REFERRERS referrers, of whom
  STAFF_REFERRERS are staff members (created through `staff_create`), the others customers;
  REFERRALS referrals of which SUCCESS_SHARE are successful (converted / reward_pending /
  approved / paid, cycled), each with its own referred customer and a minimal deal (the check
  constraint wants deal, customer and converted_at), converted over the MONTHS months before
  BENCH_NOW; the rest registered, verified or rejected (expired). Who referred is skewed (a few
  referrers bring many, most bring one or two): referrer index floor(N * u^3), permuted so
  staff are spread through the ranking.
* leaderboard: `apps.referrals.board.leaderboard(tenant, period="month", audience="all")` for
  each of the last 12 months in turn, each call in its own `tenant_context` transaction as a
  request runs it; LEADERBOARD_CALLS timed calls after a warm-up. **leaderboard_month_ms is the
  p95** of those calls (the median is reported too), with the quarter and the staff tab as
  diagnostics. The first call's ranking is checked against a plain SQL count.
* public submit: `POST /r/<slug>/<code>/` with Django's test Client (CSRF token from a GET,
  TenantMiddleware, the view, the form, rate-limit counters in Redis, the service with its
  self/relative/existing-customer checks, the INSERT), SUBMITS timed requests over CARDS real
  cards of customer referrers, each request from its own address (REMOTE_ADDR) and the
  per-code counters cleared first, so the limiter never stops the run; each answer is
  checked (200, the thank-you page). The referrals the run made (phones with SUBMIT_PREFIX)
  are deleted afterwards (also first, for an interrupted run).
"""

from __future__ import annotations

import datetime as dt
import re
import time

from django.core.cache import cache
from django.db import connection, connections, transaction
from django.test import Client

from apps.customers.models import Customer
from apps.deals.models import Deal
from apps.referrals import board
from apps.referrals import referrers as referrer_services
from apps.referrals.models import Referral, ReferralCard, Referrer
from apps.referrals.public import RATE_PER_CODE
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff, Tenant
from apps.tenancy.roles import Role
from apps.tenancy.services import staff_create, tenant_create
from bench.util import BenchContext, median, ms, percentile

NAME = "referrals"
DESCRIPTION = ("honour board month ranking over 1 000 000 referrals; public referral page "
               "POST through the whole stack")
TARGETS = {"leaderboard_month_ms": ("<=", 200.0), "referral_public_submit_p95_ms": ("<=", 50.0)}

TENANT_SLUG = "bench-referrals"
REFERRALS = 1_000_000
REFERRERS = 20_000
STAFF_REFERRERS = 200
SUCCESS_SHARE = 0.30
MONTHS = 24
BENCH_NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
LEADERBOARD_WARMUP = 6
LEADERBOARD_CALLS = 36
SUBMIT_WARMUP = 20
SUBMITS = 300
CARDS = 20
SUBMIT_PREFIX = "134"  # phones of the run's submissions (absent from the loaded data)

SUCCESSES = round(REFERRALS * SUCCESS_SHARE)
CUSTOMER_REFERRERS = REFERRERS - STAFF_REFERRERS


def _u(expr: str, salt: str) -> str:
    """SQL: a uniform number in [0, 1) derived from `expr` (md5, no randomness)."""
    return f"(('x' || substr(md5(({expr})::text || '{salt}'), 1, 8))::bit(32)::bigint / 4294967296.0)"


# --------------------------------------------------------------------------- loading


def _insert_sql(model, exprs: dict[str, str], source: str) -> tuple[str, list]:
    """INSERT INTO <model table> (every concrete column but id) SELECT <exprs[column] or the
    field's default> <source>: the defaults Django would write, as parameters."""
    cols, values, params = [], [], []
    for f in model._meta.concrete_fields:
        if f.primary_key or getattr(f, "generated", False):
            continue
        cols.append(f.column)
        if f.column in exprs:
            values.append(exprs[f.column])
        elif f.has_default() or f.empty_strings_allowed and not f.null:
            values.append("%s")
            params.append(f.get_db_prep_save(f.get_default(), connection))
        elif f.null:
            values.append("NULL")
        else:
            raise ValueError(f"{model.__name__}.{f.name}: no value")
    return (f"INSERT INTO {model._meta.db_table} ({', '.join(cols)}) "
            f"SELECT {', '.join(values)} {source}"), params


def _exec(cur, model, exprs: dict[str, str], source: str, args: dict) -> int:
    sql, params = _insert_sql(model, exprs, source)
    # The defaults are positional (%s), the scenario's own values named: inline the named
    # ones (so no other % may appear in the SQL: modulo is written mod()).
    for key, value in args.items():
        sql = sql.replace(f"%({key})s", str(int(value)) if isinstance(value, int)
                          else f"'{value}'")
    cur.execute(sql, params)
    return cur.rowcount


def _ensure_tenant(log) -> Tenant:
    tenant = Tenant.objects.filter(slug=TENANT_SLUG).first()
    if tenant is None:
        with transaction.atomic():
            tenant = tenant_create(name="压测转介绍", slug=TENANT_SLUG,
                                   industry=Tenant.Industry.HOME_FURNISHING)
            staff_create(tenant=tenant, actor=None, username=f"{TENANT_SLUG}-admin",
                         password=None, name="管理员", roles=[Role.ADMIN])
    with tenant_context(tenant):
        have = Staff.objects.filter(roles__contains=[Role.SALES]).count()
    if have < STAFF_REFERRERS:
        t0 = time.perf_counter()
        with transaction.atomic():
            for s in range(have + 1, STAFF_REFERRERS + 1):
                staff_create(tenant=tenant, actor=None, username=f"{TENANT_SLUG}-s{s:03d}",
                             password=None, name=f"销售{s:03d}", roles=[Role.SALES])
        log(f"  {TENANT_SLUG}: {STAFF_REFERRERS - have} staff created in "
            f"{time.perf_counter() - t0:.1f}s")
    return tenant


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚华建国志文博浩然子涵欣怡梓萱宇轩思远雨桐佳"


def _name(i: str) -> str:
    return (f"substr('{SURNAMES}', 1 + mod({i}, {len(SURNAMES)}), 1) || "
            f"substr('{GIVEN}', 1 + mod({i} / 7, {len(GIVEN)}), 1) || "
            f"substr('{GIVEN}', 1 + mod({i} / 13, {len(GIVEN)}), 1)")


def _load(tenant: Tenant, staff_ids: list[int], log) -> None:
    now = f"'{BENCH_NOW.isoformat()}'::timestamptz"
    t0 = time.perf_counter()
    with tenant_context(tenant), connection.cursor() as cur:
        # Only this tenant's rows are visible (RLS): start from nothing.
        cur.execute("DELETE FROM referrals_referral")
        cur.execute("DELETE FROM referrals_referralcard")
        cur.execute("DELETE FROM referrals_honouraward")
        cur.execute("DELETE FROM referrals_referrer")
        cur.execute("DELETE FROM followups_followuptask")  # (they protect deals, customers)
        cur.execute("DELETE FROM deals_deal")
        cur.execute("DELETE FROM customers_customer")
        tid = tenant.pk
        # Customers: 1..CUSTOMER_REFERRERS are referrers, the next SUCCESSES were referred.
        n = _exec(cur, Customer, {
            "tenant_id": "%(t)s", "name": _name("i"),
            "phone": "'139' || lpad(i::text, 8, '0')", "phone_last4": "right(lpad(i::text, 8, '0'), 4)",
            "source": "'referral'", "created_at": f"{now} - interval '800 days'",
            "updated_at": f"{now} - interval '800 days'",
        }, f"FROM generate_series(1, {CUSTOMER_REFERRERS + SUCCESSES}) i",
            {"t": tid})
        log(f"  {n} customers ({time.perf_counter() - t0:.1f}s)")
        cur.execute("CREATE TEMP TABLE br_customer ON COMMIT DROP AS "
                    "SELECT substr(phone, 4)::int AS i, id FROM customers_customer")
        cur.execute("CREATE UNIQUE INDEX ON br_customer (i)")
        # Referrers: customers, then staff; `idx` 0..REFERRERS-1 in id order.
        _exec(cur, Referrer, {"tenant_id": "%(t)s", "kind": "'customer'", "customer_id": "c.id",
                              "registered_at": f"{now} - interval '790 days'"},
              f"FROM br_customer c WHERE c.i <= {CUSTOMER_REFERRERS} ORDER BY c.i", {"t": tid})
        _exec(cur, Referrer, {"tenant_id": "%(t)s", "kind": "'staff'", "staff_id": "s.id",
                              "registered_at": f"{now} - interval '790 days'"},
              "FROM unnest(%(ids)s::bigint[]) WITH ORDINALITY s(id, o) ORDER BY s.o",
              {"t": tid, "ids": "{" + ",".join(map(str, staff_ids)) + "}"})
        cur.execute("CREATE TEMP TABLE br_referrer ON COMMIT DROP AS "
                    "SELECT (row_number() OVER (ORDER BY kind, id) - 1)::int AS idx, id "
                    "FROM referrals_referrer")
        cur.execute("CREATE UNIQUE INDEX ON br_referrer (idx)")
        log(f"  {REFERRERS} referrers ({time.perf_counter() - t0:.1f}s)")
        # Successful referral j (1..SUCCESSES): referred customer CUSTOMER_REFERRERS + j, a
        # deal signed on the conversion day, converted u * MONTHS months before BENCH_NOW.
        span = f"interval '{MONTHS * 30.44:.2f} days'"
        cur.execute(f"""CREATE TEMP TABLE br_success ON COMMIT DROP AS
            SELECT j, c.id AS customer_id,
                   {now} - {_u('j', ':conv')} * {span} AS converted_at,
                   (floor({REFERRERS} * power({_u('j', ':who')}, 3))::int * 7919)
                       % {REFERRERS} AS idx
              FROM generate_series(1, {SUCCESSES}) j
              JOIN br_customer c ON c.i = {CUSTOMER_REFERRERS} + j""")
        _exec(cur, Deal, {"tenant_id": "%(t)s", "customer_id": "s.customer_id", "kind": "'new'",
                          "amount": "(1000 + mod(s.j * 37, 30000))::numeric",
                          "signed_on": "(s.converted_at AT TIME ZONE 'Asia/Shanghai')::date",
                          "contract_number": "'BR-' || s.j",
                          "created_at": "s.converted_at"},
              "FROM br_success s ORDER BY s.j", {"t": tid})
        log(f"  {SUCCESSES} deals ({time.perf_counter() - t0:.1f}s)")
        statuses = "(ARRAY['converted','reward_pending','approved','paid'])[1 + mod(s.j, 4)]"
        _exec(cur, Referral, {
            "tenant_id": "%(t)s", "referrer_id": "r.id", "channel": "'staff'",
            "name": _name("s.j"), "phone": "'139' || lpad((" + str(CUSTOMER_REFERRERS)
            + " + s.j)::text, 8, '0')", "customer_id": "s.customer_id", "deal_id": "d.id",
            "status": statuses, "converted_at": "s.converted_at",
            "created_at": "s.converted_at - interval '20 days'",
            "updated_at": "s.converted_at", "verified_at": "s.converted_at - interval '19 days'",
            "ordinal": "1",
        }, "FROM br_success s JOIN br_referrer r ON r.idx = s.idx "
           "JOIN deals_deal d ON d.contract_number = 'BR-' || s.j ORDER BY s.j", {"t": tid})
        log(f"  {SUCCESSES} successful referrals ({time.perf_counter() - t0:.1f}s)")
        others = REFERRALS - SUCCESSES
        created = f"{now} - {_u('k', ':made')} * {span}"
        _exec(cur, Referral, {
            "tenant_id": "%(t)s", "referrer_id": "r.id", "channel": "'link'",
            "name": _name("k"), "phone": "'138' || lpad(k::text, 8, '0')",
            "status": "(ARRAY['registered','verified','rejected','rejected'])[1 + mod(k, 4)]",
            "rejection_reason": "CASE WHEN mod(k, 4) >= 2 THEN 'expired' ELSE '' END",
            "created_at": created, "updated_at": created,
        }, f"FROM generate_series(1, {others}) k JOIN br_referrer r ON r.idx = "
           f"mod(floor({REFERRERS} * power({_u('k', ':who')}, 2))::int * 7919, {REFERRERS}) "
           "ORDER BY 1", {"t": tid})
        log(f"  {others} other referrals ({time.perf_counter() - t0:.1f}s)")
    t1 = time.perf_counter()
    with connections["owner"].cursor() as cur:
        for table in ("customers_customer", "deals_deal", "referrals_referrer",
                      "referrals_referral"):
            cur.execute(f"VACUUM (ANALYZE) {table}")
    log(f"  loaded in {t1 - t0:.1f}s, vacuumed in {time.perf_counter() - t1:.1f}s")


def _cards(tenant: Tenant) -> list[str]:
    """CARDS active cards of customer referrers (issued through the service once)."""
    with tenant_context(tenant):
        codes = list(ReferralCard.objects.filter(active=True).order_by("id")
                     .values_list("code", flat=True)[:CARDS])
        if len(codes) < CARDS:
            admin = Staff.objects.filter(roles__contains=[Role.ADMIN]).first()
            for referrer in (Referrer.objects.filter(kind="customer").order_by("id")
                             [len(codes):CARDS]):
                codes.append(referrer_services.card_issue(tenant=tenant, actor=admin,
                                                          referrer=referrer).code)
    return codes


def ensure(log) -> Tenant:
    tenant = _ensure_tenant(log)
    with tenant_context(tenant):
        have = Referral.objects.exclude(phone__startswith=SUBMIT_PREFIX).count()
        staff_ids = list(Staff.objects.filter(roles__contains=[Role.SALES]).order_by("id")
                         .values_list("id", flat=True)[:STAFF_REFERRERS])
    if have != REFERRALS:
        log(f"  {TENANT_SLUG}: {have} -> {REFERRALS} referrals")
        _load(tenant, staff_ids, log)
    else:
        log(f"  {TENANT_SLUG}: reusing {have} referrals")
    return tenant


# --------------------------------------------------------------------------- measuring


def _month_starts(tenant: Tenant) -> list[dt.date]:
    today = (BENCH_NOW - dt.timedelta(days=1)).date()
    first = board.period_bounds(tenant, board.MONTH, today).first
    months = [first]
    for _ in range(11):
        months.append(board.period_bounds(tenant, board.MONTH,
                                          months[-1] - dt.timedelta(days=1)).first)
    return months


def _check_ranking(tenant: Tenant, month: dt.date) -> None:
    rows = board.leaderboard(tenant, period="month", start=month, limit=20)
    bounds = board.period_bounds(tenant, "month", month)
    with tenant_context(tenant), connection.cursor() as cur:
        cur.execute("""SELECT r.referrer_id, count(*) FROM referrals_referral r
                         JOIN referrals_referrer f ON f.id = r.referrer_id
                        WHERE r.status IN ('converted','reward_pending','approved','paid')
                          AND r.converted_at >= %s AND r.converted_at < %s
                          AND f.kind IN ('customer', 'staff')
                        GROUP BY 1 ORDER BY 2 DESC, max(r.converted_at), 1 LIMIT 20""",
                    [bounds.since, bounds.until])
        expected = cur.fetchall()
    got = [(r.referrer_id, r.successes) for r in rows]
    if got != expected:
        raise AssertionError(f"ranking of {month}: {got} != {expected}")


def _time_board(tenant: Tenant, months: list[dt.date], calls: int, **kw) -> list[float]:
    samples = []
    for i in range(calls):
        start = months[i % len(months)]
        t0 = time.perf_counter()
        with tenant_context(tenant):
            board.leaderboard(tenant, start=start, **kw)
        samples.append(time.perf_counter() - t0)
    return samples


def _explain(tenant: Tenant, month: dt.date) -> str:
    bounds = board.period_bounds(tenant, "month", month)
    with tenant_context(tenant):
        sql = board.successes_query(bounds, board.ALL)[:20].explain(analyze=True)
    return sql


CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _submit(tenant: Tenant, codes: list[str], ctx: BenchContext) -> dict[str, float]:
    client = Client(enforce_csrf_checks=True)
    url = f"/r/{TENANT_SLUG}/{codes[0]}/"
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    token = CSRF_RE.search(page.content.decode()).group(1)
    cache.delete_many([f"referral:public:code:{tenant.pk}:{c}" for c in codes])
    per_code = (SUBMIT_WARMUP + SUBMITS) // len(codes) + 1
    assert per_code <= RATE_PER_CODE[0], "more cards needed: the code limit would stop the run"
    samples = []
    for i in range(SUBMIT_WARMUP + SUBMITS):
        code = codes[i % len(codes)]
        data = {"name": "赵六", "phone": f"{SUBMIT_PREFIX}{i:08d}", "id_number": "",
                "note": "", "csrfmiddlewaretoken": token}
        t0 = time.perf_counter()
        response = client.post(f"/r/{TENANT_SLUG}/{code}/", data,
                               REMOTE_ADDR=f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}")
        elapsed = time.perf_counter() - t0
        if response.status_code != 200 or "谢谢" not in response.content.decode():
            raise AssertionError(f"POST {code}: {response.status_code} "
                                 f"{response.content.decode()[:300]}")
        if i >= SUBMIT_WARMUP:
            samples.append(elapsed)
    ctx.log(f"  {len(samples)} public submissions over {len(codes)} cards: "
            f"median {ms(median(samples))} ms, p95 {ms(percentile(samples, 95))} ms")
    return {"referral_public_submit_p95_ms": ms(percentile(samples, 95)),
            "referral_public_submit_median_ms": ms(median(samples))}


def _undo_submissions(tenant: Tenant) -> int:
    with tenant_context(tenant), connection.cursor() as cur:
        cur.execute("DELETE FROM referrals_referral WHERE phone LIKE %s", [SUBMIT_PREFIX + "%"])
        return cur.rowcount


def run(ctx: BenchContext) -> dict[str, float]:
    t0 = time.perf_counter()
    tenant = ensure(ctx.log)
    ctx.log(f"  data ready in {time.perf_counter() - t0:.1f}s")
    left = _undo_submissions(tenant)
    if left:
        ctx.log(f"  removed {left} submissions left by an interrupted run")
    months = _month_starts(tenant)
    _check_ranking(tenant, months[1])
    with tenant_context(tenant):
        month_successes = Referral.objects.filter(
            status__in=Referral.SUCCESS_STATUSES,
            converted_at__gte=board.period_bounds(tenant, "month", months[1]).since,
            converted_at__lt=board.period_bounds(tenant, "month", months[1]).until).count()
    ctx.log(f"  ranking of {months[1]} checked ({month_successes} successes in that month)")
    ctx.log("  plan:\n    " + _explain(tenant, months[1]).replace("\n", "\n    "))
    _time_board(tenant, months, LEADERBOARD_WARMUP)
    month = _time_board(tenant, months, LEADERBOARD_CALLS)
    quarter = _time_board(tenant, months[::3], 12, period="quarter")
    staff = _time_board(tenant, months, 12, audience="staff")
    ctx.log(f"  leaderboard month: median {ms(median(month))} ms, p95 "
            f"{ms(percentile(month, 95))} ms; quarter p95 {ms(percentile(quarter, 95))} ms; "
            f"staff tab p95 {ms(percentile(staff, 95))} ms")
    out = {"leaderboard_month_ms": ms(percentile(month, 95)),
           "leaderboard_month_median_ms": ms(median(month)),
           "leaderboard_quarter_p95_ms": ms(percentile(quarter, 95)),
           "leaderboard_month_staff_p95_ms": ms(percentile(staff, 95)),
           "referrals_in_tenant": REFERRALS}
    try:
        out.update(_submit(tenant, _cards(tenant), ctx))
    finally:
        removed = _undo_submissions(tenant)
        ctx.log(f"  removed the run's {removed} submissions")
    return out
