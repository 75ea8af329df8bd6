"""The customer list API through the whole stack, as a manager and as a salesperson.

Django's test Client calls the WSGI handler in-process: every middleware (sessions from Redis,
authentication, TenantMiddleware opening the transaction and setting app.tenant_id), DRF
(authentication, permission, throttling against Redis, the filter backend, pagination with its
COUNT, serialisation) and JSON rendering -- only the network and gunicorn are left out.

* list:   GET /api/v1/customers/?team=<own team>&source=referral&ordering=-created_at&page=1..5
* search: GET /api/v1/customers/?search=<an 11-digit mobile of a visible customer>, and one
          request in three with its last four digits (?search=1234).
"""

from __future__ import annotations

import random
import time

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.customers.models import Customer
from apps.tenancy.context import tenant_context
from bench.util import BenchContext, ms, percentile

NAME = "customer_list"
DESCRIPTION = "GET /api/v1/customers/ (filtered page, phone search) through middleware + DRF"
TARGETS = {"customer_list_p95_ms": ("<=", 50.0), "customer_search_p95_ms": ("<=", 30.0)}
WARMUP = 20
REQUESTS_PER_USER = 160  # x 2 users = 320 list and 320 search requests
URL = "/api/v1/customers/"


class DatabaseTimer:
    """connection.execute_wrapper: adds up the time of every query into the current bucket."""

    def __init__(self):
        self.bucket = ""
        self.total: dict[str, float] = {"list": 0.0, "search": 0.0}

    def __call__(self, execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.total[self.bucket] = self.total.get(self.bucket, 0.0) + time.perf_counter() - t0


class Caller:
    def __init__(self, label: str, staff, rng: random.Random):
        self.label, self.staff = label, staff
        self.client = Client(raise_request_exception=True)
        self.client.force_login(staff.user)
        with tenant_context(staff.tenant_id):
            visible = Customer.objects.filter(team_id=staff.team_id)
            if label == "sales":
                visible = visible.filter(owner_id=staff.pk)
            phones = list(visible.order_by("id").values_list("phone", flat=True))
        self.phones = rng.sample(phones, min(200, len(phones)))
        self.pages = 1

    def get(self, params: dict):
        t0 = time.perf_counter()
        response = self.client.get(URL, params)
        elapsed = time.perf_counter() - t0
        if response.status_code != 200:
            raise AssertionError(f"{self.label} GET {URL} {params}: {response.status_code} "
                                 f"{response.content[:300]!r}")
        return elapsed, response.json()

    def list_params(self, page: int) -> dict:
        return {"team": self.staff.team_id, "source": "referral", "ordering": "-created_at",
                "page": page}


def _check_list(caller: Caller, params: dict, body: dict) -> None:
    if not body.get("results"):
        raise AssertionError(f"{caller.label}: empty page for {params}")


def _check_search(caller: Caller, term: str, body: dict) -> None:
    results = body.get("results") or []
    if not results:
        raise AssertionError(f"{caller.label}: no result for search={term}")
    if len(term) == 11 and results[0]["phone"] != term:
        raise AssertionError(f"{caller.label}: search={term} returned {results[0]['phone']}")
    if len(term) == 4 and not all(r["phone"].endswith(term) for r in results):
        raise AssertionError(f"{caller.label}: search={term} returned other numbers")


def run(ctx: BenchContext) -> dict[str, float]:
    bt = ctx.tenants[0]
    rng = random.Random(11)
    manager = bt.managers[0]
    sales = next(s for s in bt.sales if s.team_id == manager.team_id)
    callers = [Caller("manager", manager, rng), Caller("sales", sales, rng)]

    for caller in callers:  # warm-up, and how many pages of 25 each caller can page through
        _, body = caller.get(caller.list_params(1))
        caller.pages = max(1, min(5, body["count"] // 25))
        for i in range(WARMUP):
            caller.get(caller.list_params(1 + i % caller.pages) if i % 2 else {"search": caller.phones[i]})
        ctx.log(f"  {caller.label} {caller.staff.user.username}: {caller.pages} page(s) of "
                f"referral customers in team {caller.staff.team_id}, {len(caller.phones)} phones")

    list_times, search_times = [], []
    by_kind: dict[str, list[float]] = {}  # breakdown by caller and search kind, for diagnosis
    db = DatabaseTimer()
    with connection.execute_wrapper(db):
        for i in range(REQUESTS_PER_USER):
            for caller in callers:
                params = caller.list_params(1 + i % caller.pages)
                db.bucket = "list"
                elapsed, body = caller.get(params)
                _check_list(caller, params, body)
                list_times.append(elapsed)
                by_kind.setdefault(f"customer_list_{caller.label}", []).append(elapsed)

                phone = caller.phones[i % len(caller.phones)]
                term = phone[-4:] if i % 3 == 2 else phone
                db.bucket = "search"
                elapsed, body = caller.get({"search": term})
                _check_search(caller, term, body)
                search_times.append(elapsed)
                kind = "last4" if len(term) == 4 else "phone"
                by_kind.setdefault(f"customer_search_{kind}", []).append(elapsed)

    # Queries per request (outside the timed loop: capturing forces the debug cursor).
    caller = callers[0]
    with CaptureQueriesContext(connection) as list_q:
        caller.get(caller.list_params(1))
    with CaptureQueriesContext(connection) as search_q:
        caller.get({"search": caller.phones[0]})
    ctx.log(f"  queries per list request: {len(list_q)}; per search request: {len(search_q)}")
    for q in list_q.captured_queries:
        ctx.log(f"    list   {q['time']}s  {q['sql'][:160]}")
    for q in search_q.captured_queries:
        ctx.log(f"    search {q['time']}s  {q['sql'][:160]}")

    return {
        "customer_list_requests": len(list_times),
        "customer_list_p50_ms": ms(percentile(list_times, 50)),
        "customer_list_p95_ms": ms(percentile(list_times, 95)),
        "customer_list_queries": len(list_q),
        "customer_search_requests": len(search_times),
        "customer_search_p50_ms": ms(percentile(search_times, 50)),
        "customer_search_p95_ms": ms(percentile(search_times, 95)),
        "customer_search_queries": len(search_q),
        # Mean time spent in the database (query round trips) per request; the rest is Python.
        "customer_list_db_mean_ms": ms(db.total["list"] / len(list_times)),
        "customer_search_db_mean_ms": ms(db.total["search"] / len(search_times)),
        **{f"{key}_p50_ms": ms(percentile(v, 50)) for key, v in sorted(by_kind.items())},
        **{f"{key}_p95_ms": ms(percentile(v, 95)) for key, v in sorted(by_kind.items())},
    }
