"""A month's commission "so far": what the month's calculation would give each person now.

The sales dashboard shows it while the month is still open or only calculated (a submitted,
approved, closed or paid month has fixed figures: its statement). It is the engine run on the
month's facts as they stand — the same `month_inputs` and `engine.calculate` as
`settlements.settlement_calculate`, so it equals what a calculation at that moment stores —
but nothing is written: no settlement, no lines, no audit entry.

One run covers the whole tenant (the engine needs every person's facts: pools, caps, ranking),
so the per-person totals are kept in the cache (Redis) under `cache_key(tenant, month)` for
`settings.COMMISSION_SO_FAR_SECONDS` (default 300; 0 computes on every view) and shown with
the time they were computed: a deal entered a minute ago may not be in the figure yet, and the
page says as of when it is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff, Tenant

from . import engine
from .facts import month_inputs, month_start
from .models import Settlement
from .rulesets import rule_book_for

#: The parts of a person's total shown under the figure (PersonSummary attributes).
PARTS = ("commissions", "bonuses", "penalties", "adjustments", "cap", "total")


@dataclass(frozen=True)
class SoFar:
    month: dt.date
    computed_at: dt.datetime
    #: The person's parts (PARTS); all zero when the month gives them nothing yet.
    parts: dict[str, Decimal]

    @property
    def total(self) -> Decimal:
        return self.parts["total"]


def cache_key(tenant: Tenant, month: dt.date) -> str:
    return f"commissions:so-far:{tenant.pk}:{month:%Y-%m}"


def _compute(tenant: Tenant, first: dt.date) -> dict:
    with tenant_context(tenant):
        result = engine.calculate(month_inputs(tenant, first).inputs, rule_book_for(tenant))
    return {"at": timezone.now().isoformat(),
            "people": {str(p.staff_id): {part: str(getattr(p, part)) for part in PARTS}
                       for p in result.people}}


_LOOK_UP = object()


def commission_so_far(tenant: Tenant, person: Staff, month: dt.date,
                      settlement: Settlement | None = _LOOK_UP) -> SoFar | None:
    """`person`'s figures of `month` (any day of it) as the month stands; None when the month
    is past "calculated" (its statement is final). `settlement`: the month's settlement (or
    None) when the caller has already read it, else it is looked up."""
    first = month_start(month)
    if settlement is _LOOK_UP:
        with tenant_context(tenant):
            settlement = Settlement.objects.filter(month=first).only("status").first()
    status = settlement.status if settlement is not None else None
    if status not in (None, Settlement.Status.OPEN, Settlement.Status.CALCULATED):
        return None
    key = cache_key(tenant, first)
    found = cache.get(key)
    if found is None:
        found = _compute(tenant, first)
        if settings.COMMISSION_SO_FAR_SECONDS > 0:
            cache.set(key, found, settings.COMMISSION_SO_FAR_SECONDS)
    mine = found["people"].get(str(person.pk), {})
    return SoFar(month=first, computed_at=dt.datetime.fromisoformat(found["at"]),
                 parts={part: Decimal(mine.get(part, "0.00")) for part in PARTS})
