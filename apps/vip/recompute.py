"""Re-evaluating every customer's tier under a scheme version, set-based (重新评定会员等级).

`tiers_recompute_all(tenant, scheme_version=None, progress=None)` applies the same rule as
apps.vip.tiers (`tier_order_for` then `decide`) to every CustomerTier row of the tenant in SQL,
with no Python loop over customers. It runs as the restricted application role inside
`tenant_context` (row-level security applies to every statement) and works in steps:

1. Backfill (one statement): customers who have deals but no tier row get one — their facts
   aggregated from their deals (amount − refunded_amount) and their successful referrals as a
   customer referrer, the first tier from the thresholds — with a `TierChange` of kind
   "initial" each (a data-modifying CTE: INSERT … RETURNING feeds the history INSERT).
2. Chunks of CHUNK rows by id range (the bounds found in one index pass), each chunk ONE
   statement in its own transaction, WORKERS chunks at a time (threads with their own
   connections; one after the other inside a caller's transaction): the order the stored facts
   reach is a CASE over the tiers (highest first: min_total OR min_referrals, else 1), then
   `decide`: above the stored tier → upgrade (tier, tier_order, since = now, manual and the
   review flag cleared); below it when the previous computed order was not → the review flag
   with a Chinese reason; `computed_order` and `scheme_version` stored with it; a stored code the
   scheme renamed is mapped to the scheme's code at its order (clamped to the number of tiers).
   Only rows whose decision changes are written (the others keep the version of their last
   change; `recomputed_at` says every row was evaluated), and the UPDATE … RETURNING feeds
   the `TierChange` INSERT (kind upgrade / review, cause "recompute:v<N>", the customer's
   team) in the same statement.
   The UPDATE writes a row only if what the decision was made on is still there (a deal entered
   meanwhile re-evaluated it: that write stands, nothing is decided on stale facts). A
   finished chunk stays done if the worker dies; running again finds nothing to change there
   (idempotent).
3. `TierScheme.recomputed_at` is set when every chunk is done.

`progress(current, total)` is called after the backfill and after each chunk (rows evaluated
so far, rows of the tenant). A per-tenant session advisory lock (LOCK_TIER_RECOMPUTE) keeps two
runs of one tenant apart: the second returns at once with `busy=True`.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from decimal import Decimal

from django.db import OperationalError, connection
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.customers.models import Customer
from apps.deals.models import Deal
from apps.referrals.models import Referral, Referrer
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Tenant

from .models import CustomerTier, TierChange, TierScheme
from .schemes import tier_preset_rules, tier_scheme_by_version, tier_scheme_parsed
from .services import scheme_for
from .tiers import TierRules

logger = logging.getLogger(__name__)

#: pg_try_advisory_lock(job, tenant) key: one re-evaluation per tenant at a time (session lock,
#: released at the end, or by PostgreSQL when a killed worker's connection goes).
LOCK_TIER_RECOMPUTE = 7002
#: Rows per chunk (each chunk one statement in its own transaction).
CHUNK = 100_000
#: Chunks run at once (threads, each with its own connection) outside a transaction.
WORKERS = 2
#: A chunk that hits a deadlock (a deal entered at that moment locking rows in another order)
#: is retried this many times.
CHUNK_ATTEMPTS = 3
_NO_END = 2**62

TIERS = CustomerTier._meta.db_table
CHANGES = TierChange._meta.db_table
CUSTOMERS = Customer._meta.db_table
DEALS = Deal._meta.db_table
REFERRALS = Referral._meta.db_table
REFERRERS = Referrer._meta.db_table


@dataclass
class RecomputeSummary:
    """What a run did."""

    version: int            # the scheme version applied (0: the default preset)
    customers: int = 0      # tier rows evaluated
    chunks: int = 0
    changed: int = 0        # tier rows written (decisions, remapped codes, the stored version)
    upgraded: int = 0       # TierChange rows of kind upgrade
    reviews: int = 0        # TierChange rows of kind review
    backfilled: int = 0     # tier rows created for buyers who had none
    seconds: float = 0.0
    busy: bool = False      # another run of the tenant holds the lock: nothing was done

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


# --------------------------------------------------------------------------- SQL pieces

def _literal(value) -> str:
    """A validated threshold as an SQL literal (Decimal money or int count, never text)."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise TypeError(f"threshold {value!r}")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"threshold {value!r}")
        return f"{value:f}::numeric"
    return str(int(value))


def computed_order_sql(rules: TierRules, total: str, referrals: str) -> str:
    """SQL for apps.vip.tiers.tier_order_for of a buyer: the highest tier whose min_total or
    min_referrals the columns `total` / `referrals` reach, else 1."""
    whens = []
    for order in range(len(rules.tiers), 1, -1):
        tier = rules.tiers[order - 1]
        conds = []
        if tier.min_total is not None:
            conds.append(f"{total} >= {_literal(tier.min_total)}")
        if tier.min_referrals is not None:
            conds.append(f"{referrals} >= {_literal(tier.min_referrals)}")
        if conds:
            whens.append(f"WHEN {' OR '.join(conds)} THEN {order}")
    return f"(CASE {' '.join(whens)} ELSE 1 END)" if whens else "1"


def review_reason_format() -> str:
    """apps.vip.services' review reason (translated) as a PostgreSQL format() string taking the
    total, the referrals, the computed tier's name and the stored tier's name."""
    template = _("The facts (contract total %(total)s, %(n)s successful referrals) now give "
                 "“%(computed)s”, below the tier “%(tier)s”; tiers never go down by themselves.")
    fmt = template.replace("%", "%%")
    for i, key in enumerate(("total", "n", "computed", "tier"), start=1):
        fmt = fmt.replace(f"%%({key})s", f"%{i}$s")
    return fmt


def _chunk_sql(rules: TierRules) -> str:
    computed = computed_order_sql(rules, "ct.contract_total", "ct.successful_referrals")
    upgrade = "a.computed > a.cur"
    return f"""
WITH cur AS (
    SELECT ct.id, ct.customer_id, ct.tier AS old_tier, ct.tier_order, ct.computed_order AS prev,
           ct.contract_total, ct.successful_referrals, ct.review AS flagged,
           LEAST(ct.tier_order, %(n)s) AS cur, {computed} AS computed
      FROM {TIERS} ct
     WHERE ct.tenant_id = %(tenant)s AND ct.id >= %(lo)s AND ct.id < %(hi)s
), act AS (
    SELECT c.*,
           CASE WHEN c.computed > c.cur THEN (CASE WHEN c.cur = 0 THEN 'initial' ELSE 'upgrade' END)
                WHEN c.computed < c.cur AND c.prev >= c.cur THEN 'review'
                ELSE '' END AS action,
           (%(codes)s::text[])[GREATEST(c.cur, 1)] AS cur_code
      FROM cur c
), upd AS (
    UPDATE {TIERS} ct
       SET tier = CASE WHEN {upgrade} THEN (%(codes)s::text[])[a.computed] ELSE a.cur_code END,
           tier_order = CASE WHEN {upgrade} THEN a.computed ELSE a.cur END,
           computed_order = a.computed,
           scheme_version = %(version)s,
           since = CASE WHEN {upgrade} THEN %(now)s ELSE ct.since END,
           manual = CASE WHEN {upgrade} THEN false ELSE ct.manual END,
           review = CASE WHEN {upgrade} THEN false WHEN a.action = 'review' THEN true
                         ELSE ct.review END,
           review_reason = CASE
               WHEN {upgrade} THEN ''
               WHEN a.action = 'review' THEN left(format(%(reason)s, a.contract_total::text,
                   a.successful_referrals::text, (%(names)s::text[])[GREATEST(a.computed, 1)],
                   (%(names)s::text[])[GREATEST(a.cur, 1)]), 300)
               ELSE ct.review_reason END,
           updated_at = %(now)s
      FROM act a
     WHERE ct.id = a.id AND ct.tenant_id = %(tenant)s AND ct.id >= %(lo)s AND ct.id < %(hi)s
       -- Decided on what was read: a row changed since (a deal entered meanwhile, re-read
       -- here once it committed) is left as that change wrote it.
       AND ct.tier = a.old_tier AND ct.tier_order = a.tier_order AND ct.computed_order = a.prev
       AND ct.contract_total = a.contract_total
       AND ct.successful_referrals = a.successful_referrals AND ct.review = a.flagged
       -- Only rows whose decision changes are written: a row the new version leaves as it
       -- is keeps the version of its last change (recomputed_at on the scheme says every
       -- row was evaluated), which spares rewriting a million rows for a few changed ones.
       AND (a.action <> '' OR a.prev <> a.computed
            OR a.tier_order <> a.cur OR a.old_tier <> a.cur_code)
 RETURNING ct.customer_id, a.action, a.old_tier, ct.tier, ct.review_reason,
           ct.contract_total, ct.successful_referrals
), hist AS (
    INSERT INTO {CHANGES} (tenant_id, customer_id, team_id, kind, from_tier, to_tier, reason,
                           cause, contract_total, successful_referrals, scheme_version,
                           actor_id, created_at)
    SELECT %(tenant)s, u.customer_id,
           (SELECT cu.team_id FROM {CUSTOMERS} cu WHERE cu.id = u.customer_id),
           u.action, u.old_tier, u.tier, CASE WHEN u.action = 'review' THEN u.review_reason ELSE '' END,
           %(cause)s, u.contract_total, u.successful_referrals, %(version)s, NULL, %(now)s
      FROM upd u
     WHERE u.action <> ''
 RETURNING kind
)
SELECT (SELECT count(*) FROM cur), (SELECT count(*) FROM upd),
       (SELECT count(*) FROM hist WHERE kind IN ('upgrade', 'initial')),
       (SELECT count(*) FROM hist WHERE kind = 'review')
"""  # noqa: S608 - table names and validated numbers only; values are parameters


def _backfill_sql(rules: TierRules) -> str:
    computed = computed_order_sql(rules, "f.total", "f.refs")
    return f"""
WITH buyers AS (
    SELECT d.customer_id, sum(d.amount - d.refunded_amount) AS total
      FROM {DEALS} d
     WHERE d.tenant_id = %(tenant)s
       AND NOT EXISTS (SELECT 1 FROM {TIERS} ct
                        WHERE ct.tenant_id = %(tenant)s AND ct.customer_id = d.customer_id)
     GROUP BY d.customer_id
), facts AS (
    SELECT b.customer_id, b.total,
           (SELECT count(*) FROM {REFERRALS} r JOIN {REFERRERS} f ON f.id = r.referrer_id
             WHERE f.kind = 'customer' AND f.customer_id = b.customer_id
               AND r.status = ANY(%(success)s::text[]))::int AS refs
      FROM buyers b
), ins AS (
    INSERT INTO {TIERS} (tenant_id, customer_id, tier, tier_order, computed_order,
                         contract_total, successful_referrals, manual, review, review_reason,
                         scheme_version, since, updated_at)
    SELECT %(tenant)s, f.customer_id, (%(codes)s::text[])[o.o], o.o, o.o, f.total, f.refs,
           false, false, '', %(version)s, %(now)s, %(now)s
      FROM facts f CROSS JOIN LATERAL (SELECT {computed} AS o) o
        ON CONFLICT (tenant_id, customer_id) DO NOTHING
 RETURNING customer_id, tier, contract_total, successful_referrals
)
INSERT INTO {CHANGES} (tenant_id, customer_id, team_id, kind, from_tier, to_tier, reason, cause,
                       contract_total, successful_referrals, scheme_version, actor_id,
                       created_at)
SELECT %(tenant)s, i.customer_id, cu.team_id, 'initial', '', i.tier, '', %(cause)s,
       i.contract_total, i.successful_referrals, %(version)s, NULL, %(now)s
  FROM ins i JOIN {CUSTOMERS} cu ON cu.id = i.customer_id
"""  # noqa: S608 - table names and validated numbers only; values are parameters


# --------------------------------------------------------------------------- the run

def _scheme(tenant: Tenant, scheme_version) -> tuple[int, TierRules, TierScheme | None]:
    if isinstance(scheme_version, TierScheme):
        row = scheme_version
    elif scheme_version is None:
        version, rules = scheme_for(tenant)
        if version == 0:
            return 0, rules, None
        row = tier_scheme_by_version(tenant, version)
    elif scheme_version == 0:
        return 0, tier_preset_rules("default"), None
    else:
        row = tier_scheme_by_version(tenant, int(scheme_version))
        if row is None:
            raise ValueError(f"tenant {tenant.pk} has no tier scheme version {scheme_version}")
    rules = tier_scheme_parsed(row)
    if rules is None:
        raise ValueError(f"tier scheme {row.pk} holds rules that are not valid")
    return row.version, rules, row


def _try_lock(tenant: Tenant) -> bool:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_TIER_RECOMPUTE, int(tenant.pk)])
        return bool(cur.fetchone()[0])


def _unlock(tenant: Tenant) -> None:
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_TIER_RECOMPUTE, int(tenant.pk)])
    except Exception:  # noqa: BLE001 - a broken connection released it already
        logger.warning("could not release the tier re-evaluation lock of tenant %s", tenant.pk)


def _is_retryable(exc: OperationalError) -> bool:
    return getattr(exc.__cause__, "sqlstate", "") in ("40P01", "40001")


def _boundaries(tenant: Tenant) -> list[tuple[int, int]]:
    """The chunks as [lo, hi) id ranges of CHUNK rows each (the last one open-ended: rows
    added meanwhile are in it), in one index-only pass."""
    with tenant_context(tenant), connection.cursor() as cur:
        cur.execute(f"SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS rn "  # noqa: S608
                    f"FROM {TIERS} WHERE tenant_id = %s) t WHERE mod(rn, %s) = 0 ORDER BY id",
                    [tenant.pk, CHUNK])
        starts = [r[0] for r in cur.fetchall()]
    if not starts:
        return []
    return list(zip(starts, [*starts[1:], _NO_END], strict=True))


def _run_chunk(tenant: Tenant, sql: str, params: dict, lo: int,
               hi: int) -> tuple[int, int, int, int]:
    """One chunk [lo, hi) in its own transaction: (rows, changed, upgrades, reviews)."""
    for attempt in range(1, CHUNK_ATTEMPTS + 1):
        try:
            with tenant_context(tenant), connection.cursor() as cur:
                # One statement, planned once: compiling it (JIT) costs more than it saves.
                cur.execute("SET LOCAL jit = off")
                cur.execute(sql, {**params, "lo": lo, "hi": hi, "now": timezone.now()})
                return cur.fetchone()
        except OperationalError as exc:
            if attempt == CHUNK_ATTEMPTS or not _is_retryable(exc) or connection.in_atomic_block:
                raise
            logger.warning("tier re-evaluation of tenant %s: chunk from id %s retried (%s)",
                           tenant.pk, lo, exc)
    raise AssertionError("unreachable")


def _run_chunk_in_thread(tenant: Tenant, sql: str, params: dict, lo: int, hi: int):
    try:
        return _run_chunk(tenant, sql, params, lo, hi)
    finally:
        connection.close()   # the thread's own connection


def _chunks_done(tenant: Tenant, sql: str, params: dict, chunks: list[tuple[int, int]]):
    """Yield each chunk's counts as it finishes: WORKERS chunks at a time, each in a thread
    with its own connection, when the caller is not inside a transaction (a transaction's
    rows are invisible to other connections: then one after the other)."""
    if WORKERS <= 1 or len(chunks) <= 1 or connection.in_atomic_block:
        for lo, hi in chunks:
            yield _run_chunk(tenant, sql, params, lo, hi)
        return
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="vip-recompute") as pool:
        futures = [pool.submit(_run_chunk_in_thread, tenant, sql, params, lo, hi)
                   for lo, hi in chunks]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:   # a failed chunk: the ones not started are not run
                future.cancel()


def tiers_recompute_all(tenant: Tenant, scheme_version: int | TierScheme | None = None,
                        progress: Callable[[int, int], None] | None = None) -> RecomputeSummary:
    """Re-evaluate every customer of `tenant` under `scheme_version` (a version number or row;
    default the version in force today, 0 = the default preset). See the module docstring.
    Returns what was done; `busy=True` (nothing done) when another run of the tenant holds
    the lock."""
    started = time.perf_counter()
    version, rules, row = _scheme(tenant, scheme_version)
    summary = RecomputeSummary(version=version)
    if not _try_lock(tenant):
        summary.busy = True
        return summary
    try:
        base = {"tenant": tenant.pk, "version": version, "cause": f"recompute:v{version}",
                "codes": [t.code for t in rules.tiers], "names": [t.name for t in rules.tiers],
                "n": len(rules.tiers)}
        with tenant_context(tenant), connection.cursor() as cur:
            cur.execute(_backfill_sql(rules), {**base, "now": timezone.now(),
                                               "success": list(Referral.SUCCESS_STATUSES)})
            summary.backfilled = max(cur.rowcount, 0)
            cur.execute(f"SELECT count(*) FROM {TIERS} WHERE tenant_id = %s",  # noqa: S608
                        [tenant.pk])
            total = cur.fetchone()[0]
        if progress is not None:
            progress(0, total)
        chunks = _boundaries(tenant)
        params = {**base, "reason": review_reason_format()}
        for rows, changed, upgrades, reviews in _chunks_done(tenant, _chunk_sql(rules), params,
                                                             chunks):
            summary.chunks += 1
            summary.customers += rows
            summary.changed += changed
            summary.upgraded += upgrades
            summary.reviews += reviews
            if progress is not None:
                progress(summary.customers, max(total, summary.customers))
        if row is not None:
            with tenant_context(tenant):
                TierScheme.objects.filter(pk=row.pk).update(recomputed_at=timezone.now())
    finally:
        _unlock(tenant)
    summary.seconds = round(time.perf_counter() - started, 3)
    logger.info("tier re-evaluation of tenant %s under v%s: %s", tenant.pk, version,
                summary.as_dict())
    return summary


def recompute_due_version(tenant: Tenant, today: dt.date) -> TierScheme | None:
    """The version in force on `today` if it has not been re-evaluated yet, else None."""
    with tenant_context(tenant):
        row = (TierScheme.objects.filter(effective_from__lte=today)
               .order_by("-effective_from", "-version").first())
    return row if row is not None and row.recomputed_at is None else None
