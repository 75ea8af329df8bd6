"""Amount bands shared by the rule engines (referrer rewards in apps.referrals.rewards, staff
commissions in apps.commissions.rules): a band's bounds, which amounts it holds, its label for
people, and the check that a table of bands has no overlaps (and, where asked, no holes).

Band edges. A table says how its edges read, because the seed tables read them differently:

* ``"lower"`` (the default): the lower bound is inclusive, the upper exclusive — a band is
  [min, max). 5 000 exactly is in 5 000–10 000, not in 1 000–5 000.
* ``"upper"``: the lower bound is exclusive, the upper inclusive — a band is (min, max], as
  in "1万元(含)以下, 1万(不含)至5万(含)". 10 000 exactly is in "up to 10 000".

A missing ``min`` means from 0 (0 included), a missing ``max`` means no upper bound. Only the
first band of a table may leave out ``min`` and only the last one ``max``; bands are listed from
the lowest amount up, each starting at or after the end of the previous one (``check_bands``).
Messages are English msgids, translated when raised (zh-hans in the site).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

from django.conf import settings
from django.utils.translation import gettext as _django_gettext
from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["MONEY", "PERCENT", "Edges", "Band", "check_bands", "find_band", "plain_number"]

#: Field constraints of a money amount (≥ 0, 2 decimals) and of a percentage (0–100, 4 decimals).
MONEY = {"ge": 0, "le": Decimal("1000000000"), "decimal_places": 2, "allow_inf_nan": False}
PERCENT = {"ge": 0, "le": 100, "decimal_places": 4, "allow_inf_nan": False}

Edges = Literal["lower", "upper"]


def _(message: str) -> str:
    """gettext that also works where Django settings are not configured (a bare benchmark)."""
    return _django_gettext(message) if settings.configured else message


def plain_number(value: Decimal) -> str:
    """A number for people: no trailing zeros (5 000.00 → 5000, 2.50 → 2.5)."""
    return format(Decimal(value).normalize(), "f")


class Band(BaseModel):
    """The bounds of one band; subclasses add what the band gives (a percent, a gift, …)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min: Decimal | None = Field(None, **MONEY)
    max: Decimal | None = Field(None, **MONEY)

    @model_validator(mode="after")
    def _order(self):
        if self.min is not None and self.max is not None and self.max <= self.min:
            raise ValueError(_("The upper bound (max) must be more than the lower bound (min)."))
        return self

    @property
    def low(self) -> Decimal:
        return self.min if self.min is not None else Decimal(0)

    def contains(self, amount: Decimal, edges: str) -> bool:
        if edges == "upper":
            above = amount > self.min if self.min is not None else amount >= 0
            below = self.max is None or amount <= self.max
        else:
            above = amount >= self.low
            below = self.max is None or amount < self.max
        return above and below

    def label(self, edges: str) -> str:
        fmt = plain_number
        if self.max is None:
            if edges == "upper":
                return _("over %(min)s") % {"min": fmt(self.low)}
            return _("%(min)s and over") % {"min": fmt(self.low)}
        if self.min is None:
            if edges == "upper":
                return _("up to %(max)s (included)") % {"max": fmt(self.max)}
            return _("under %(max)s") % {"max": fmt(self.max)}
        if edges == "upper":
            return _("over %(min)s up to %(max)s (included)") % {
                "min": fmt(self.min), "max": fmt(self.max)}
        return _("%(min)s (included) to under %(max)s") % {
            "min": fmt(self.min), "max": fmt(self.max)}


def check_bands(bands: Sequence[Band], *, holes_allowed: bool) -> None:
    """Raise ValueError (a translated message) when the bands are out of order, overlap, leave
    out a bound other than the first min / the last max, or — unless `holes_allowed` — leave a
    hole between two bands."""
    for i, band in enumerate(bands):
        if i > 0 and band.min is None:
            raise ValueError(_("Band %(n)s: only the first band may leave out its lower bound "
                               "(min).") % {"n": i + 1})
        if i < len(bands) - 1 and band.max is None:
            raise ValueError(_("Band %(n)s: only the last band may leave out its upper bound "
                               "(max).") % {"n": i + 1})
    for i in range(1, len(bands)):
        prev, band = bands[i - 1], bands[i]
        if band.low < prev.max:
            raise ValueError(_("Band %(n)s overlaps band %(p)s: list the bands from the lowest "
                               "amount up, each starting at or after the end of the previous "
                               "one.") % {"n": i + 1, "p": i})
        if band.low > prev.max and not holes_allowed:
            raise ValueError(_("There is a hole between band %(p)s (up to %(max)s) and band "
                               "%(n)s (from %(min)s): each band must start where the previous "
                               "one ends.") % {"p": i, "n": i + 1, "max": plain_number(prev.max),
                                               "min": plain_number(band.low)})


def find_band(bands: Sequence[Band], amount: Decimal, edges: str) -> Band | None:
    """The band holding `amount`, or None (below the first band, in a hole, above the last)."""
    return next((b for b in bands if b.contains(amount, edges)), None)
