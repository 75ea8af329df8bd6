"""Customer ownership (issue 3): the registration duplicate check and the nightly pool release.

* dup check: `apps.ownership.registration.registration_check(staff, phone=, id_number=, name=,
  related_phone=)` as a salesperson of bench-01 (50 000 customers; 1 000 000 in the table),
  each call in its own `tenant_context` transaction as a request runs it, over a fixed mix of
  inputs (see MIX): the salesperson's own customers, other people's, pool customers, new
  phones, ID numbers, a name with a new phone sharing only the last four digits, customers
  with relatives, a new person named as the relative of an existing customer. Every answer is
  checked. Then the same mix through `GET /api/v1/ownership/check/` with Django's test Client
  (the whole stack, as scenario customer_list does): a secondary figure.
* pool release: `apps.ownership.services.pool_release_due(tenant=, today=BENCH_TODAY)` for the
  20 bench tenants one after the other, as the nightly fan-out runs them (each its own
  transaction); exactly 10 % of all customers are due (bench/data.py). Run a second time: it
  must release nothing. Then the release is undone set-based (`bench.data.release_undo`):
  owners back, the run's history, notification and audit rows deleted, the ownership columns
  as the load left them, and the tables vacuumed, so the scenario can run again and other
  scenarios see the same data.

BENCH_OWNERSHIP=check|release runs only one half (both by default).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.core.identity import make_resident_id
from apps.customers.models import Customer, CustomerRelation
from apps.ownership.registration import (
    KIND_ID_NUMBER,
    KIND_NAME_LAST4,
    KIND_PHONE,
    KIND_RELATED_CUSTOMER,
    KIND_RELATIVE,
    VERDICT_COLLISION,
    VERDICT_EXPIRED,
    VERDICT_MINE,
    VERDICT_NEW,
    VERDICT_POOL,
    registration_check,
)
from apps.ownership.services import pool_release_due
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff
from bench import data
from bench.util import BenchContext, DatabaseTimer, ms, percentile

NAME = "ownership"
DESCRIPTION = ("registration duplicate check (service + API) and the nightly pool release "
               "over all bench tenants")
TARGETS = {"dup_check_p95_ms": ("<=", 20.0), "pool_release_s": ("<=", 30.0)}
WARMUP = 50
CALLS = 600
API_CALLS = 300
API_URL = "/api/v1/ownership/check/"
# Prefixes absent from the bench data (bench.data.PHONE_PREFIXES): numbers nobody has.
NEW_PREFIXES = ("134", "176", "178", "195")

# kind -> share of the calls
MIX = {
    "own_phone": 10,          # the caller's own customer: mine
    "other_phone": 20,        # someone else's (protected or expired): collision / expired
    "pool_phone": 8,          # in the public pool
    "new_phone": 20,          # nobody: new
    "id_only": 7,             # an existing resident ID, typed alone
    "new_phone_existing_id": 5,  # a new phone with an existing ID
    "new_phone_new_id": 5,    # both new: new
    "name_last4": 12,         # an existing name + a new phone with the same last four digits
    "relative_phone": 8,      # a customer with a recorded relative: + the relatives query
    "related_phone": 5,       # new phone, named as relative of an existing customer
}



def _new_phone(rng: random.Random, taken: set[str], last4: str = "") -> str:
    while True:
        body = f"{rng.randrange(10**4):04d}" + (last4 or f"{rng.randrange(10**4):04d}")
        phone = rng.choice(NEW_PREFIXES) + body
        if phone not in taken:
            taken.add(phone)
            return phone


def _inputs(bt, staff: Staff, rng: random.Random) -> list[tuple[str, dict]]:
    """CALLS + WARMUP (kind, kwargs) in a fixed random order."""
    with tenant_context(bt.tenant):
        def sample(qs, k):
            rows = list(qs.order_by("id").values_list("phone", "name", "id_number")[:5000])
            return rng.sample(rows, min(k, len(rows)))

        own = sample(Customer.objects.filter(owner_id=staff.pk), 200)
        other = sample(Customer.objects.exclude(owner_id=staff.pk).filter(owner__isnull=False), 300)
        pool = sample(Customer.objects.filter(owner__isnull=True), 200)
        with_id = sample(Customer.objects.exclude(id_number=""), 200)
        related_ids = set(CustomerRelation.objects.filter(kind__in=("spouse", "parent", "child",
                                                                    "relative"))
                          .values_list("customer_id", flat=True)[:2000])
        relatives = sample(Customer.objects.filter(pk__in=related_ids), 200)
        any_customer = sample(Customer.objects.all(), 300)
    taken: set[str] = set()
    total = CALLS + WARMUP
    kinds = [k for k, share in MIX.items() for _ in range(round(share * total / 100))]
    rng.shuffle(kinds)
    out = []
    for i, kind in enumerate(kinds):
        if kind == "own_phone":
            kwargs = {"phone": own[i % len(own)][0]}
        elif kind == "other_phone":
            kwargs = {"phone": other[i % len(other)][0]}
        elif kind == "pool_phone":
            kwargs = {"phone": pool[i % len(pool)][0]}
        elif kind == "new_phone":
            kwargs = {"phone": _new_phone(rng, taken), "name": any_customer[i % 300][1][:1] + "先生"}
        elif kind == "id_only":
            kwargs = {"id_number": with_id[i % len(with_id)][2]}
        elif kind == "new_phone_existing_id":
            kwargs = {"phone": _new_phone(rng, taken), "id_number": with_id[-1 - i % len(with_id)][2]}
        elif kind == "new_phone_new_id":
            birth = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(15_000))
            kwargs = {"phone": _new_phone(rng, taken),
                      "id_number": make_resident_id(rng.choice(data.ID_REGIONS), birth,
                                                    500 + rng.randrange(400))}
        elif kind == "name_last4":
            phone, name, _id = any_customer[i % len(any_customer)]
            kwargs = {"phone": _new_phone(rng, taken, last4=phone[-4:]), "name": name}
        elif kind == "relative_phone":
            kwargs = {"phone": relatives[i % len(relatives)][0]}
        else:  # related_phone
            kwargs = {"phone": _new_phone(rng, taken), "name": "新客户",
                      "related_phone": any_customer[-1 - i % 300][0]}
        out.append((kind, kwargs))
    with tenant_context(bt.tenant):
        if Customer.objects.filter(phone__in=taken).exists():
            raise AssertionError("a generated 'new' phone exists in the bench data")
    return out


def _check(kind: str, kwargs: dict, result, staff: Staff) -> None:
    """The answer a user would expect for this kind of input."""
    primary = result.primary
    ok = {
        "own_phone": lambda: result.verdict == VERDICT_MINE and primary.kind == KIND_PHONE,
        "other_phone": lambda: (result.verdict in (VERDICT_COLLISION, VERDICT_EXPIRED)
                                and primary.kind == KIND_PHONE and not primary.is_mine
                                and primary.customer_id is None and "*" in primary.name),
        "pool_phone": lambda: result.verdict == VERDICT_POOL and primary.kind == KIND_PHONE,
        "new_phone": lambda: result.verdict == VERDICT_NEW and not result.matches,
        "id_only": lambda: primary is not None and primary.kind == KIND_ID_NUMBER,
        "new_phone_existing_id": lambda: primary is not None and primary.kind == KIND_ID_NUMBER,
        "new_phone_new_id": lambda: result.verdict == VERDICT_NEW and not result.matches,
        "name_last4": lambda: primary is not None and primary.kind == KIND_NAME_LAST4,
        "relative_phone": lambda: (primary is not None and primary.kind == KIND_PHONE
                                   and any(m.kind == KIND_RELATIVE for m in result.matches)),
        "related_phone": lambda: (result.verdict == VERDICT_NEW
                                  and any(m.kind == KIND_RELATED_CUSTOMER for m in result.matches)),
    }[kind]
    if not result.searched or not ok():
        raise AssertionError(f"registration_check {kind} {kwargs}: verdict {result.verdict}, "
                             f"primary {primary}, {len(result.matches)} match(es)")


def _dup_check(ctx: BenchContext) -> dict[str, float]:
    bt = ctx.tenants[0]
    rng = random.Random(31)
    # As the middleware has it: the staff member with the tenant (and team, user) loaded.
    with tenant_context(bt.tenant):
        staff = Staff.objects.select_related("tenant", "team", "user").get(pk=bt.sales[0].pk)
    inputs = _inputs(bt, staff, rng)
    ctx.log(f"  caller {staff.user.username} ({bt.tenant.slug}); {len(inputs)} inputs: "
            + ", ".join(f"{k} {sum(1 for kind, _ in inputs if kind == k)}" for k in MIX))

    def call(kind: str, kwargs: dict) -> float:
        t0 = time.perf_counter()
        with tenant_context(bt.tenant):  # a transaction with app.tenant_id set, as a request
            result = registration_check(staff, **kwargs)
        elapsed = time.perf_counter() - t0
        _check(kind, kwargs, result, staff)
        return elapsed

    for kind, kwargs in inputs[:WARMUP]:
        call(kind, kwargs)
    times: list[float] = []
    by_kind: dict[str, list[float]] = {}
    db = DatabaseTimer()
    with connection.execute_wrapper(db):
        for kind, kwargs in inputs[WARMUP:]:
            elapsed = call(kind, kwargs)
            times.append(elapsed)
            by_kind.setdefault(kind, []).append(elapsed)

    # Queries per call, per kind (outside the timed loop: capturing forces the debug cursor).
    queries: dict[str, int] = {}
    for kind in MIX:
        kwargs = next(kw for k, kw in inputs if k == kind)
        with CaptureQueriesContext(connection) as captured:
            with tenant_context(bt.tenant):
                registration_check(staff, **kwargs)
        queries[kind] = len(captured)
        if kind in ("other_phone", "relative_phone"):
            for q in captured.captured_queries:
                ctx.log(f"    {kind:<15} {q['time']}s  {q['sql'][:200]}")
    ctx.log("  queries per call (incl. BEGIN/set_config/COMMIT of the transaction): "
            + ", ".join(f"{k} {n}" for k, n in queries.items()))

    # The same inputs through the API (GET, query string), the whole stack.
    client = Client(raise_request_exception=True)
    client.force_login(staff.user)
    api_times: list[float] = []
    api_inputs = inputs[WARMUP:WARMUP + API_CALLS]
    for kind, kwargs in inputs[:20] + api_inputs:
        t0 = time.perf_counter()
        response = client.get(API_URL, kwargs)
        elapsed = time.perf_counter() - t0
        if response.status_code != 200:
            raise AssertionError(f"GET {API_URL} {kwargs}: {response.status_code} "
                                 f"{response.content[:300]!r}")
        body = response.json()
        if (body["verdict"] == VERDICT_NEW) != (kind in ("new_phone", "new_phone_new_id",
                                                         "related_phone")):
            raise AssertionError(f"GET {API_URL} {kind} {kwargs}: verdict {body['verdict']}")
        api_times.append(elapsed)
    api_times = api_times[20:]
    with CaptureQueriesContext(connection) as captured:
        client.get(API_URL, inputs[0][1])
    return {
        "dup_check_calls": len(times),
        "dup_check_p50_ms": ms(percentile(times, 50)),
        "dup_check_p95_ms": ms(percentile(times, 95)),
        "dup_check_max_ms": ms(max(times)),
        "dup_check_db_mean_ms": ms(db.total / len(times)),
        "dup_check_queries_max": max(queries.values()),
        **{f"dup_check_{k}_p95_ms": ms(percentile(v, 95)) for k, v in by_kind.items()},
        "dup_check_api_requests": len(api_times),
        "dup_check_api_p50_ms": ms(percentile(api_times, 50)),
        "dup_check_api_p95_ms": ms(percentile(api_times, 95)),
        "dup_check_api_queries": len(captured),
    }


def _pool_release(ctx: BenchContext) -> dict[str, float]:
    n = ctx.tenants[0].customers
    before = {bt.tenant.pk: data.ownership_state(bt) for bt in ctx.tenants}
    expected = sum(s["due"] for s in before.values())
    if expected != data.due_count(n) * len(ctx.tenants):
        raise AssertionError(f"bench data: {expected} customers due, expected "
                             f"{data.due_count(n) * len(ctx.tenants)} (see bench/data.py)")
    ctx.log(f"  {expected} of {n * len(ctx.tenants)} customers due on {data.BENCH_TODAY} "
            f"({len(ctx.tenants)} tenants)")
    started = timezone.now()
    out: dict[str, float] = {}
    try:
        per_tenant, released = [], 0
        t0 = time.perf_counter()
        for bt in ctx.tenants:
            t1 = time.perf_counter()
            released += pool_release_due(tenant=bt.tenant, today=data.BENCH_TODAY)
            per_tenant.append(time.perf_counter() - t1)
        total = time.perf_counter() - t0
        ctx.log(f"  first run: {released} released in {total:.2f}s "
                f"(per tenant {min(per_tenant):.2f}–{max(per_tenant):.2f}s)")
        t0 = time.perf_counter()
        again = sum(pool_release_due(tenant=bt.tenant, today=data.BENCH_TODAY)
                    for bt in ctx.tenants)
        second = time.perf_counter() - t0
        ctx.log(f"  second run: {again} released in {second:.2f}s")
        out = {
            "pool_release_s": round(total, 2),
            "pool_release_released": released,
            "pool_release_due": expected,
            "pool_release_tenant_max_s": round(max(per_tenant), 2),
            "pool_release_second_run_released": again,
            "pool_release_second_run_s": round(second, 2),
        }
        if released != expected or again != 0:
            raise AssertionError(f"released {released} (expected {expected}), second run {again} "
                                 f"(expected 0)")
    finally:
        t0 = time.perf_counter()
        restored = sum(data.release_undo(bt, n, since=started) for bt in ctx.tenants)
        t1 = time.perf_counter()
        data.vacuum(tables=("customers_customer", "customers_ownershipchange",
                            "notifications_notification", "core_auditentry"))
        after = {bt.tenant.pk: data.ownership_state(bt) for bt in ctx.tenants}
        ctx.log(f"  restored {restored} customers: set-based undo {t1 - t0:.1f}s, "
                f"vacuum (analyze) {time.perf_counter() - t1:.1f}s")
        if after != before:
            raise AssertionError(f"the data was not restored: {before} != {after}")
    return out


def run(ctx: BenchContext) -> dict[str, float]:
    part = os.environ.get("BENCH_OWNERSHIP", "")
    metrics: dict[str, float] = {}
    if part in ("", "check"):
        metrics.update(_dup_check(ctx))
    if part in ("", "release"):
        metrics.update(_pool_release(ctx))
    return metrics
