"""Deals (issue 4): entering a deal through the API, and the pure credit split engine.

* deal create: `POST /api/v1/deals/` with four participants, through the whole stack with
  Django's test Client (as scenario customer_list: sessions, TenantMiddleware, DRF, the
  service `apps.deals.services.deal_create` with its credit split, contract, contact record
  and audit, JSON rendering), as salesperson `bench-01-s11` on customers they own (50 000
  customers in the tenant, 1 000 000 in the table). Each request has a fresh contract number
  (prefix CONTRACT_PREFIX). A fixed mix (MIX): new deals that open a term (a Contract), some
  signed up to 90 days ago; renewals of a contract opened earlier in the run (same customer:
  the contract is locked, `days_since_contract_start` recorded, `renewed_by` set);
  referrals, some not raised by the teacher; expansions. Every response is checked (201,
  four participants, credit lines summing to the amount). Afterwards everything the run
  wrote is deleted set-based in the tenant's transaction (`deals_undo`): deals,
  participants, credits, contracts, their audit rows, and the customers' ownership columns
  (a deal is an effective contact: `last_contact_at` moved) recomputed as the bench load
  left them; then VACUUM (ANALYZE). The run fails unless no deal is left and an md5 over those
  customers' ownership/contact columns is what it was before. The same clean-up runs first,
  for an interrupted run.
* credit split: `apps.deals.engine.split(facts, rules)` with the education preset
  (`apps.deals.rules.PRESETS["education"]`, parsed once) over ENGINE_POOL pre-built
  DealFacts of a realistic mix of kinds, four participants each (several teachers sharing,
  referrals not raised by the teacher, amounts to the cent), in a loop for ENGINE_SECONDS:
  deals per second. Every result of the pool is checked first (lines sum to the amount and
  to 100 %). Diagnostic: the same without the engine's per-shape cache (uncached_per_s).

BENCH_DEALS=api|engine runs only one half (both by default).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from decimal import Decimal

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.customers.models import Customer
from apps.deals import engine
from apps.deals.models import Deal
from apps.deals.rules import PRESETS
from apps.ownership.selectors import tenant_today
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff
from bench import data
from bench.util import BenchContext, DatabaseTimer, ms, percentile

NAME = "deals"
DESCRIPTION = "POST /api/v1/deals/ (4 participants) through the whole stack; the pure credit split"
TARGETS = {"deal_create_p95_ms": ("<=", 40.0), "credit_split_per_s": (">=", 20_000.0)}

URL = "/api/v1/deals/"
WARMUP = 30
REQUESTS = 320  # timed
#: Every contract number the scenario writes starts with this (and nothing else's does).
CONTRACT_PREFIX = "BENCH-D-"

ENGINE_POOL = 10_000
ENGINE_ROUNDS = 3
ENGINE_SECONDS = 1.5  # per round
ENGINE_BATCH = 500  # calls between two looks at the clock
ENGINE_COLD_CALLS = 2_000

# kind -> share of the API requests (renewals renew a contract opened earlier in the run)
MIX = {"new": 40, "renewal": 25, "referral": 20, "expansion": 15}

# Four participants per deal, by kind: deal role codes (apps.deals.rules.DEFAULT_ROLES) with the
# share of the deals of that kind. Several teachers = several subjects.
SHAPES = {
    "new": [
        (("number_obtainer", "teacher", "consultant", "advisor"), 35),  # 50/50, consultant 0
        (("number_obtainer", "consultant", "closer", "advisor"), 30),   # 50, consultant the rest
        (("consultant", "closer", "lead", "assistant"), 20),            # consultant all
        (("number_obtainer", "teacher", "closer", "lead"), 15),
    ],
    "renewal": [
        (("consultant", "teacher", "teacher", "advisor"), 35),          # 50, 25, 25
        (("consultant", "teacher", "teacher", "teacher"), 25),          # 50, 3 x 16.67 (cents)
        (("teacher", "teacher", "advisor", "closer"), 25),              # 50, 50
        (("advisor", "consultant", "closer", "lead"), 15),              # fallback: consultant
    ],
    "referral": [
        (("consultant", "teacher", "advisor", "closer"), 45),
        (("teacher", "teacher", "advisor", "lead"), 30),
        (("consultant", "teacher", "teacher", "advisor"), 25),
    ],
}
SHAPES["expansion"] = SHAPES["referral"]
SUBJECTS = ("数学", "英语", "物理", "语文")
NOT_RAISED_SHARE = 0.25  # referrals and expansions the teacher did not raise


def _weighted(rng: random.Random, pairs, k: int) -> list:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights, k=k)


def _kinds(rng: random.Random, n: int) -> list[str]:
    kinds = [k for k, share in MIX.items() for _ in range(round(share * n / 100))]
    kinds = (kinds + ["new"] * n)[:n]
    rng.shuffle(kinds)
    return kinds


def _amount(rng: random.Random, kind: str) -> Decimal:
    """To the cent: new deals and renewals 3 000 – 60 000, referrals/expansions 1 000 – 30 000."""
    low, high = (300_000, 6_000_000) if kind in ("new", "renewal") else (100_000, 3_000_000)
    return Decimal(rng.randrange(low, high)).scaleb(-2)


def _participants(rng: random.Random, roles: tuple[str, ...], staff: list[int]) -> list:
    """(staff id, role, subject) for each role: four different people."""
    people = rng.sample(staff, len(roles))
    subjects = iter(rng.sample(SUBJECTS, len(SUBJECTS)))
    return [(pid, role, next(subjects) if role == "teacher" else "")
            for pid, role in zip(people, roles, strict=True)]


# --------------------------------------------------------------------------- engine


def _facts_pool(rng: random.Random) -> list[engine.DealFacts]:
    staff = list(range(1001, 1061))  # 60 staff ids
    pool = []
    for kind in _kinds(rng, ENGINE_POOL):
        roles = _weighted(rng, SHAPES[kind], 1)[0]
        raised = kind not in ("referral", "expansion") or rng.random() >= NOT_RAISED_SHARE
        pool.append(engine.DealFacts(
            kind=kind, amount=_amount(rng, kind), teacher_raised=raised,
            participants=tuple(engine.Participant(pid, role, subject)
                               for pid, role, subject in _participants(rng, roles, staff))))
    return pool


def _check_lines(facts: engine.DealFacts, lines) -> None:
    if (not lines or sum(line.amount for line in lines) != facts.amount
            or sum(line.percent for line in lines) != 100):
        raise AssertionError(f"split {facts}: {lines}")


def _engine(ctx: BenchContext) -> dict[str, float]:
    t0 = time.perf_counter()
    rules = engine.parse_rules(PRESETS["education"])
    parse_ms = ms(time.perf_counter() - t0)
    pool = _facts_pool(random.Random(41))
    split = engine.split
    for facts in pool:  # checks every result, and warms the shape cache
        _check_lines(facts, split(facts, rules))
    shapes = {(f.kind, f.teacher_raised, tuple(p.role for p in f.participants)) for f in pool}
    ctx.log(f"  education preset parsed in {parse_ms} ms; {len(pool)} deals "
            + ", ".join(f"{k} {sum(1 for f in pool if f.kind == k)}" for k in MIX)
            + f"; {len(shapes)} kind/role combinations; every split checked")

    rates, total_calls, total_time = [], 0, 0.0
    n = len(pool)
    for _round in range(ENGINE_ROUNDS):
        calls, i = 0, 0
        start = time.perf_counter()
        deadline = start + ENGINE_SECONDS
        while True:
            for facts in pool[i:i + ENGINE_BATCH]:
                split(facts, rules)
            calls += min(ENGINE_BATCH, n - i)
            i = (i + ENGINE_BATCH) % n
            if time.perf_counter() >= deadline:
                break
        elapsed = time.perf_counter() - start
        rates.append(calls / elapsed)
        total_calls += calls
        total_time += elapsed
    ctx.log(f"  {total_calls} splits in {total_time:.2f}s; per round "
            + ", ".join(f"{r:,.0f}/s" for r in rates))

    # Diagnostic: without the engine's per-shape cache (every call works out its split from
    # the rules, as the first deal of each kind/role combination does). Private attributes:
    # skipped if the engine no longer has them.
    compiled = getattr(rules, "_compiled", None)
    cold = {}
    if isinstance(compiled, dict) and all(hasattr(c, "shapes") for c in compiled.values()):
        caches = [c.shapes for c in compiled.values()]
        sample = pool[:ENGINE_COLD_CALLS]
        start = time.perf_counter()
        for facts in sample:
            for cache in caches:
                cache.clear()
            split(facts, rules)
        cold = {"credit_split_uncached_per_s":
                round(len(sample) / (time.perf_counter() - start))}
        ctx.log(f"  without the shape cache: {cold['credit_split_uncached_per_s']:,}/s")
    return {
        "credit_split_per_s": round(total_calls / total_time),
        "credit_split_best_round_per_s": round(max(rates)),
        "credit_split_us_per_deal": round(1e6 * total_time / total_calls, 2),
        **cold,
    }


# --------------------------------------------------------------------------- API

DEALS_UNDO_SQL = """
WITH d AS (SELECT id, customer_id, contract_id FROM deals_deal
            WHERE contract_number LIKE %(prefix)s)
SELECT array(SELECT id FROM d), array(SELECT DISTINCT customer_id FROM d),
       array(SELECT id FROM deals_contract WHERE number LIKE %(prefix)s
             UNION SELECT contract_id FROM d WHERE contract_id IS NOT NULL)
"""


def deals_undo(bt: data.BenchTenant, n: int) -> dict[str, int]:
    """Delete, set-based in the tenant's transaction, every deal the scenario wrote (contract
    number starting with CONTRACT_PREFIX) with its participants, credits, refunds, after-sale
    follow-ups, contracts, the tiers it gave and their audit rows; recompute the touched
    customers' ownership columns as the bench load left them (`bench.data._fill_ownership`).
    Returns the counts deleted."""
    prefix = CONTRACT_PREFIX.replace("_", r"\_").replace("%", r"\%") + "%"
    with tenant_context(bt.tenant), connection.cursor() as cur:
        cur.execute(DEALS_UNDO_SQL, {"prefix": prefix})
        deal_ids, customer_ids, contract_ids = cur.fetchone()
        if not deal_ids and not contract_ids:
            return {"deals": 0}
        out = {"deals": len(deal_ids), "contracts": len(contract_ids),
               "customers": len(customer_ids)}
        ids = {"deals": deal_ids, "contracts": contract_ids}
        # Contracts point at each other (renewed_by) and deals at contracts: unlink first.
        cur.execute("UPDATE deals_contract SET renewed_by_id = NULL "
                    "WHERE renewed_by_id = ANY(%(contracts)s)", ids)
        cur.execute("DELETE FROM deals_dealcredit WHERE deal_id = ANY(%(deals)s)", ids)
        out["credits"] = cur.rowcount
        cur.execute("DELETE FROM deals_dealparticipant WHERE deal_id = ANY(%(deals)s)", ids)
        out["participants"] = cur.rowcount
        cur.execute("DELETE FROM deals_refund WHERE deal_id = ANY(%(deals)s)", ids)
        # The follow-up hook's after-sale visits (apps.followups.services.followups_after_deal;
        # FollowUpTask.deal protects the deal).
        cur.execute("DELETE FROM followups_followuptask WHERE deal_id = ANY(%(deals)s)", ids)
        out["followups"] = cur.rowcount
        cur.execute("DELETE FROM deals_deal WHERE id = ANY(%(deals)s)", ids)
        cur.execute("DELETE FROM deals_contract WHERE id = ANY(%(contracts)s)", ids)
        cur.execute("""DELETE FROM core_auditentry
                        WHERE (target_type = 'deals.deal' AND target_id = ANY(%(deals)s))
                           OR (target_type = 'deals.contract' AND target_id = ANY(%(contracts)s))""",
                    ids)
        out["audit"] = cur.rowcount
        if customer_ids:
            # The VIP hook's rows (apps.vip.services.tier_evaluate): the bench data has no
            # tiers, so every tier row of these customers came from the scenario's deals.
            cur.execute("DELETE FROM vip_tierchange WHERE customer_id = ANY(%s)", [customer_ids])
            cur.execute("DELETE FROM vip_customertier WHERE customer_id = ANY(%s)",
                        [customer_ids])
            out["tiers"] = cur.rowcount
            data._fill_ownership(cur, bt, n, only=customer_ids)
    return out


def customers_checksum(bt: data.BenchTenant, ids: list[int]) -> str:
    """md5 over every column of these customers that a deal could touch (ownership, contact)."""
    with tenant_context(bt.tenant), connection.cursor() as cur:
        cur.execute("""SELECT md5(string_agg(concat_ws('|', id, owner_id, team_id, last_contact_at,
                                                       last_visit_at, owned_since, released_at,
                                                       previous_owner_id, updated_at), ',' ORDER BY id))
                         FROM customers_customer WHERE id = ANY(%s)""", [ids])
        return cur.fetchone()[0]



def _requests(bt: data.BenchTenant, seller: Staff, rng: random.Random, today: dt.date) -> list:
    """WARMUP + REQUESTS (kind, payload) in order. Renewals renew the term opened by an earlier
    new deal of the run, on its customer (payload "renews" = that deal's contract number, replaced
    by the id of the contract it opened when sent); every other deal is on a customer of its own."""
    n = WARMUP + REQUESTS + 1  # (the last one: counting its queries)
    with tenant_context(bt.tenant):
        owned = list(Customer.objects.filter(owner_id=seller.pk).order_by("id")
                     .values_list("id", flat=True))
        colleagues = list(Staff.objects.filter(active=True).exclude(pk=seller.pk)
                          .order_by("id").values_list("id", flat=True))
    if len(owned) < n:
        raise AssertionError(f"{seller} owns {len(owned)} customers, {n} needed")
    customers = iter(rng.sample(owned, n))
    opened: list[int] = []  # indexes of the new deals whose term is not renewed yet
    out = []
    for i, kind in enumerate(_kinds(rng, n)):
        if kind == "renewal" and not opened:
            kind = "new"  # (the first deals: nothing to renew yet)
        roles = _weighted(rng, SHAPES[kind], 1)[0]
        # The seller takes part in every deal; three colleagues in the other roles.
        people = [seller.pk, *rng.sample(colleagues, 3)]
        rng.shuffle(people)
        subjects = iter(rng.sample(SUBJECTS, len(SUBJECTS)))
        payload = {
            "kind": kind, "amount": str(_amount(rng, kind)),
            "contract_number": f"{CONTRACT_PREFIX}{i + 1:05d}",
            "participants": [{"staff": pid, "role": role,
                              "subject": next(subjects) if role == "teacher" else ""}
                             for pid, role in zip(people, roles, strict=True)],
        }
        if kind == "new":
            signed = today - dt.timedelta(days=rng.randrange(0, 91))
            payload.update(customer=next(customers), signed_on=signed.isoformat(),
                           term_start=signed.isoformat(),
                           term_end=(signed + dt.timedelta(days=364)).isoformat(),
                           hours_bought="48.0" if rng.random() < 0.5 else None)
            opened.append(i)
        elif kind == "renewal":
            new = out[opened.pop(rng.randrange(len(opened)))][1]
            start = dt.date.fromisoformat(new["term_end"]) + dt.timedelta(days=1)
            payload.update(customer=new["customer"], signed_on=today.isoformat(),
                           renews=new["contract_number"], term_start=start.isoformat(),
                           term_end=(start + dt.timedelta(days=364)).isoformat())
        else:
            payload.update(customer=next(customers), signed_on=today.isoformat(),
                           teacher_raised=rng.random() >= NOT_RAISED_SHARE)
        out.append((kind, {k: v for k, v in payload.items() if v is not None}))
    return out


def _check_created(kind: str, payload: dict, body: dict) -> None:
    credits = body.get("credits") or []
    if (body.get("contract_number") != payload["contract_number"]
            or len(body.get("participants") or []) != 4 or not credits
            or sum(Decimal(str(c["amount"])) for c in credits) != Decimal(payload["amount"])):
        raise AssertionError(f"POST {URL} {kind} {payload}: unexpected body {body}")
    if kind == "renewal" and body.get("days_since_contract_start") is None:
        raise AssertionError(f"POST {URL} renewal {payload}: no days_since_contract_start: {body}")


def _api(ctx: BenchContext) -> dict[str, float]:
    bt = ctx.tenants[0]
    n = bt.customers
    left = deals_undo(bt, n)
    if left["deals"]:
        ctx.log(f"  removed what an interrupted run left: {left}")
    rng = random.Random(43)
    with tenant_context(bt.tenant):
        seller = Staff.objects.select_related("tenant", "team", "user").get(pk=bt.sales[0].pk)
    today = tenant_today(bt.tenant)
    requests = _requests(bt, seller, rng, today)
    ctx.log(f"  caller {seller.user.username} ({bt.tenant.slug}), signing up to {today}; "
            f"{len(requests)} requests: "
            + ", ".join(f"{k} {sum(1 for kind, _ in requests if kind == k)}" for k in MIX))

    customer_ids = sorted({payload["customer"] for _kind, payload in requests})
    checksum = customers_checksum(bt, customer_ids)
    client = Client(raise_request_exception=True)
    client.force_login(seller.user)
    contracts: dict[str, int] = {}  # contract number -> contract id (for renewals)

    def post(kind: str, payload: dict) -> float:
        if kind == "renewal":
            payload = {**payload, "renews": contracts[payload["renews"]]}
        t0 = time.perf_counter()
        response = client.post(URL, payload, content_type="application/json")
        elapsed = time.perf_counter() - t0
        if response.status_code != 201:
            raise AssertionError(f"POST {URL} {kind} {payload}: {response.status_code} "
                                 f"{response.content[:500]!r}")
        body = response.json()
        _check_created(kind, payload, body)
        if body.get("contract"):
            contracts[payload["contract_number"]] = (body["contract"]["id"]
                                                     if isinstance(body["contract"], dict)
                                                     else body["contract"])
        return elapsed

    out: dict[str, float] = {}
    try:
        for kind, payload in requests[:WARMUP]:
            post(kind, payload)
        times: list[float] = []
        by_kind: dict[str, list[float]] = {}
        db = DatabaseTimer()
        with connection.execute_wrapper(db):
            for kind, payload in requests[WARMUP:-1]:
                elapsed = post(kind, payload)
                times.append(elapsed)
                by_kind.setdefault(kind, []).append(elapsed)
        # Queries of one request (outside the timed loop: capturing forces the debug cursor).
        kind, payload = requests[-1]
        with CaptureQueriesContext(connection) as captured:
            post(kind, payload)
        ctx.log(f"  queries per request ({kind}): {len(captured)}")
        for q in captured.captured_queries:
            ctx.log(f"    {q['time']}s  {q['sql'][:200]}")
        with tenant_context(bt.tenant):
            written = Deal.objects.filter(contract_number__startswith=CONTRACT_PREFIX).count()
        if written != len(requests):
            raise AssertionError(f"{written} deals written, {len(requests)} requests")
        out = {
            "deal_create_requests": len(times),
            "deal_create_p50_ms": ms(percentile(times, 50)),
            "deal_create_p95_ms": ms(percentile(times, 95)),
            "deal_create_max_ms": ms(max(times)),
            "deal_create_db_mean_ms": ms(db.total / len(times)),
            "deal_create_queries": len(captured),
            **{f"deal_create_{k}_p95_ms": ms(percentile(v, 95)) for k, v in by_kind.items()},
        }
    finally:
        t0 = time.perf_counter()
        undone = deals_undo(bt, n)
        t1 = time.perf_counter()
        data.vacuum(tables=("deals_deal", "deals_dealparticipant", "deals_dealcredit",
                            "deals_contract", "core_auditentry", "customers_customer",
                            "followups_followuptask"))
        ctx.log(f"  clean-up: {undone} in {t1 - t0:.2f}s, vacuum (analyze) "
                f"{time.perf_counter() - t1:.1f}s")
        with tenant_context(bt.tenant):
            left = Deal.objects.filter(contract_number__startswith=CONTRACT_PREFIX).count()
        if left or customers_checksum(bt, customer_ids) != checksum:
            raise AssertionError(f"the clean-up left {left} deals or did not restore the "
                                 f"customers' ownership columns")
    return out


def run(ctx: BenchContext) -> dict[str, float]:
    part = os.environ.get("BENCH_DEALS", "")
    metrics: dict[str, float] = {}
    if part in ("", "engine"):
        metrics.update(_engine(ctx))
    if part in ("", "api"):
        metrics.update(_api(ctx))
    return metrics
