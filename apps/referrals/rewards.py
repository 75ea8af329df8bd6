"""The referrer reward policy (转介绍奖励) and its calculation: pure, no ORM, table-tested.

A tenant's policy is data (``RewardPolicy.rules``, validated by ``parse_reward_rules``); every
part is optional and the parts add up::

    {
      "percent_bands": {                        # a percentage of the referred deal by amount band
        "edges": "lower",                       #   "lower": a band is [min, max)  (default)
                                                #   "upper": a band is (min, max]
        "bands": [{"min": "1000", "max": "5000", "percent": "5"},
                  {"min": "5000", "max": "10000", "percent": "8"},
                  {"min": "10000", "percent": "10"}]          # no max: open-ended
      },
      "gift_bands": {"edges": "lower",          # a fixed gift by amount band
                     "bands": [{"min": "10000", "max": "30000", "gift": "U盘"}, ...]},
      "ordinal_tiers": [                        # cash by the referrer's n-th successful referral,
        {"from": 1, "cash": "4000", "override_percent": "2"},    # + a percent of the referred
        {"from": 4, "cash": "5000", "override_percent": "2.5"},  #   customer's later purchases
        {"from": 7, "cash": "6000", "override_percent": "3"}],
      "points": 10,                             # points per successful referral
      "count_bonus": {"threshold": 10, "amount": "3000"},        # once, at the 10th success
      "keep_after_refund": false,               # a paid reward is kept after a refund
      "conversion_days": 90,                    # lifecycle: no deal within these days → expired
      "hold_days": 7,                           #   the refund window a reward is held for
      "exclude_relatives": true,                #   the referrer's relatives are refused
      "public_board": false                     #   the honour board has a public page
    }

The last four are the lifecycle settings (apps.referrals.lifecycle, apps.referrals.board);
they have defaults and do not make a policy "non-empty" by themselves.

Band edges. The two band tables of DOMAIN.md §3 read their edges differently, so the table
says which: with ``"edges": "lower"`` (the default) the lower bound is inclusive and the upper
exclusive — 5 000 exactly is in the 5 000–10 000 band (8 %), 10 000 exactly in "over 10 000"
(10 %). With ``"edges": "upper"`` the lower bound is exclusive and the upper inclusive, as the
furniture table says it (1 万元(含)以下 5 %, 1 万(不含)至 5 万(含) 7 %, …): 10 000 exactly is 5 %,
50 000 exactly 7 %. A missing ``min`` means from 0 (0 included), a missing ``max`` means no
upper bound (only the last band). Percentage bands are sorted, must not overlap and must not
leave holes between them (each band starts where the previous one ends); below the first band
(e.g. under 1 000) and, when the last band has a max, above it, no percentage is paid. Gift
bands must not overlap but may leave gaps (amounts in a gap get no gift). The band primitives
(bounds, edges, labels, the overlap/hole check) live in apps.core.bands, shared with the staff
commission rules (apps.commissions.rules).

Ordinal tiers start at 1 and have increasing ``from``; a tier holds until the next one starts,
the last one for ever. Percentages are 0–100 with at most 4 decimals; money is ≥ 0 with at most
2 decimals. Amounts are Decimal and each computed amount is rounded half-up to the cent once,
at the end.

Calls: ``referral_reward(rules, deal_amount=, ordinal=, successful_before=)`` → ``RewardResult``
(the reward of one successful referral with explanation lines and the inputs for the record);
``override_reward(rules, ordinal=, purchase_amount=)`` → the override on a later purchase of a
customer brought by the referrer's ``ordinal``-th referral; ``refund_action(rules, status=)``
→ what a refund does to the reward (void / claw back / keep / nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _django_gettext
from django.utils.translation import gettext_noop
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from apps.core.bands import MONEY, PERCENT, Edges, find_band, plain_number
from apps.core.bands import Band as _Band
from apps.core.bands import check_bands as _check_bands
from apps.core.pydantic_errors import describe

__all__ = [
    "PercentBand", "PercentBands", "GiftBand", "GiftBands", "OrdinalTier", "CountBonus",
    "RewardRules", "RewardResult", "parse_reward_rules", "describe_reward_errors",
    "describe_reward_rules", "referral_reward", "override_reward", "refund_action",
    "ValidationError", "CENT",
]

CENT = Decimal("0.01")
_HUNDRED = Decimal(100)


def _(message: str) -> str:
    return _django_gettext(message) if settings.configured else message


_fmt = plain_number


def _money(value: Decimal) -> str:
    return format(Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP), "f")


# ---------------------------------------------------------------------------------------------
# The policy (validated data)
# ---------------------------------------------------------------------------------------------

class PercentBand(_Band):
    percent: Decimal = Field(**PERCENT)


class GiftBand(_Band):
    gift: str = Field(min_length=1, max_length=100)


class PercentBands(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    edges: Edges = "lower"
    bands: tuple[PercentBand, ...] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _check(self):
        _check_bands(self.bands, holes_allowed=False)
        return self

    def find(self, amount: Decimal) -> PercentBand | None:
        return find_band(self.bands, amount, self.edges)


class GiftBands(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    edges: Edges = "lower"
    bands: tuple[GiftBand, ...] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _check(self):
        _check_bands(self.bands, holes_allowed=True)
        return self

    def find(self, amount: Decimal) -> GiftBand | None:
        return find_band(self.bands, amount, self.edges)


class OrdinalTier(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_ordinal: int = Field(alias="from", ge=1, le=100000)
    cash: Decimal = Field(Decimal(0), **MONEY)
    override_percent: Decimal = Field(Decimal(0), **PERCENT)


class CountBonus(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: int = Field(ge=1, le=100000)
    amount: Decimal = Field(gt=0, le=Decimal("1000000000"), decimal_places=2,
                            allow_inf_nan=False)


class RewardRules(BaseModel):
    """A validated referrer reward policy (the `RewardPolicy.rules` JSON). Immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    percent_bands: PercentBands | None = None
    gift_bands: GiftBands | None = None
    ordinal_tiers: tuple[OrdinalTier, ...] = Field((), max_length=20)
    points: int = Field(0, ge=0, le=1000000)
    count_bonus: CountBonus | None = None
    keep_after_refund: bool = False
    conversion_days: int = Field(90, ge=1, le=3650)
    hold_days: int = Field(7, ge=0, le=365)
    exclude_relatives: bool = True
    public_board: bool = False

    @field_validator("ordinal_tiers")
    @classmethod
    def _check_tiers(cls, tiers):
        if tiers and tiers[0].from_ordinal != 1:
            raise ValueError(_("The first ordinal tier must start at the 1st referral "
                               "(“from”: 1)."))
        for i in range(1, len(tiers)):
            if tiers[i].from_ordinal <= tiers[i - 1].from_ordinal:
                raise ValueError(_("Ordinal tier %(n)s must start after tier %(p)s (“from” "
                                   "must increase).") % {"n": i + 1, "p": i})
        return tiers

    def tier(self, ordinal: int) -> OrdinalTier | None:
        found = None
        for tier in self.ordinal_tiers:
            if tier.from_ordinal <= ordinal:
                found = tier
            else:
                break
        return found

    def tier_range(self, index: int) -> str:
        tier = self.ordinal_tiers[index]
        if index + 1 < len(self.ordinal_tiers):
            last = self.ordinal_tiers[index + 1].from_ordinal - 1
            if last == tier.from_ordinal:
                return _("referral %(n)s") % {"n": tier.from_ordinal}
            return _("referrals %(first)s–%(last)s") % {"first": tier.from_ordinal, "last": last}
        return _("referral %(n)s on") % {"n": tier.from_ordinal}

    def is_empty(self) -> bool:
        return (self.percent_bands is None and self.gift_bands is None and not self.ordinal_tiers
                and not self.points and self.count_bonus is None)

    def as_data(self) -> dict:
        """The JSON to store (defaults left out, numbers as strings)."""
        return self.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def parse_reward_rules(data: Any) -> RewardRules:
    """Validate reward policy data (a dict, e.g. the JSON of a RewardPolicy). Raises
    pydantic.ValidationError; `describe_reward_errors(exc)` turns it into readable messages."""
    if isinstance(data, RewardRules):
        return data
    return RewardRules.model_validate(data)


# ---------------------------------------------------------------------------------------------
# Readable errors and rules
# ---------------------------------------------------------------------------------------------

_PART_NAMES = {
    "percent_bands": gettext_noop("Percentage by amount band"),
    "gift_bands": gettext_noop("Gifts by amount band"),
    "ordinal_tiers": gettext_noop("Cash by referral ordinal"),
    "points": gettext_noop("Points per referral"),
    "count_bonus": gettext_noop("Count bonus"),
    "keep_after_refund": gettext_noop("Keep after a refund"),
    "conversion_days": gettext_noop("Conversion window (days)"),
    "hold_days": gettext_noop("Refund window (days)"),
    "exclude_relatives": gettext_noop("Relatives excluded"),
    "public_board": gettext_noop("Public honour board"),
    "lifecycle": gettext_noop("Referral lifecycle"),
}


def _loc_text(loc: Sequence[Any]) -> str:
    parts: list[str] = []
    items = list(loc)
    i = 0
    while i < len(items):
        item = items[i]
        nxt = items[i + 1] if i + 1 < len(items) else None
        if item in ("bands", "ordinal_tiers") and isinstance(nxt, int):
            if item == "bands":
                parts.append(_("band %(n)s") % {"n": nxt + 1})
            else:
                parts.append(_(_PART_NAMES[item]))
                parts.append(_("tier %(n)s") % {"n": nxt + 1})
            i += 2
            continue
        parts.append(_(_PART_NAMES[item]) if item in _PART_NAMES else str(item))
        i += 1
    return " › ".join(parts)


def describe_reward_errors(exc: ValidationError) -> list[str]:
    """Readable (translated) messages for a policy's validation errors, one per problem, each
    prefixed with where it is (e.g. "按金额比例 › 第 2 档 › percent: 最多 100。")."""
    return describe(exc, loc_text=_loc_text)


def describe_reward_rules(rules: RewardRules) -> list[tuple[str, list[str]]]:
    """The policy as readable sentences, per part: [(part name, [lines])] (for the pages)."""
    out: list[tuple[str, list[str]]] = []
    if rules.percent_bands is not None:
        pb = rules.percent_bands
        out.append((_(_PART_NAMES["percent_bands"]), [
            _("Deal %(band)s: %(percent)s%% of the deal") % {
                "band": b.label(pb.edges), "percent": _fmt(b.percent)} for b in pb.bands]))
    if rules.gift_bands is not None:
        gb = rules.gift_bands
        out.append((_(_PART_NAMES["gift_bands"]), [
            _("Deal %(band)s: %(gift)s") % {"band": b.label(gb.edges), "gift": b.gift}
            for b in gb.bands]))
    if rules.ordinal_tiers:
        out.append((_(_PART_NAMES["ordinal_tiers"]), [
            _("%(range)s: %(cash)s each, plus %(percent)s%% of the referred customer's later "
              "purchases") % {"range": rules.tier_range(i), "cash": _fmt(t.cash),
                              "percent": _fmt(t.override_percent)}
            for i, t in enumerate(rules.ordinal_tiers)]))
    if rules.points:
        out.append((_(_PART_NAMES["points"]), [
            _("%(points)s points per successful referral") % {"points": rules.points}]))
    if rules.count_bonus is not None:
        out.append((_(_PART_NAMES["count_bonus"]), [
            _("%(amount)s once, at the %(n)sth successful referral") % {
                "amount": _fmt(rules.count_bonus.amount), "n": rules.count_bonus.threshold}]))
    out.append((_(_PART_NAMES["keep_after_refund"]), [
        _("After a refund the referrer keeps a reward already paid.") if rules.keep_after_refund
        else _("After a refund a reward already paid is clawed back.")]))
    out.append((_(_PART_NAMES["lifecycle"]), [
        _("A referral without a deal within %(days)s days expires.") % {
            "days": rules.conversion_days},
        _("A reward is held for %(days)s days after the deal (the refund window) before it "
          "can be approved.") % {"days": rules.hold_days},
        _("Relatives of the referrer are not accepted as referrals.") if rules.exclude_relatives
        else _("Relatives of the referrer are accepted as referrals."),
        _("The honour board has a public page.") if rules.public_board
        else _("The honour board is shown to staff only.")]))
    return out


# ---------------------------------------------------------------------------------------------
# The calculation
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RewardResult:
    """The reward of one successful referral. Money rounded half-up to the cent."""

    cash: Decimal                 # by referral ordinal
    percent_amount: Decimal       # the percentage of the deal
    percent: Decimal | None       # the band's percent (None: no band applied)
    count_bonus: Decimal          # the one-off count bonus (0 unless reached now)
    total: Decimal                # cash + percent_amount + count_bonus
    gift: str                     # "" when none
    points: int
    override_percent: Decimal     # the override on the referred customer's later purchases
    explanation: list[str] = field(default_factory=list)
    inputs: dict = field(default_factory=dict)   # JSON-ready: what went in (for the record)


def _decimal(value: Any, what: str) -> Decimal:
    if not isinstance(value, Decimal):
        try:
            value = Decimal(str(value))
        except ArithmeticError:
            raise ValueError(_("%(what)s must be a number.") % {"what": what}) from None
    if not value.is_finite():
        raise ValueError(_("%(what)s must be a number.") % {"what": what})
    return value


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def referral_reward(rules: RewardRules, *, deal_amount: Decimal, ordinal: int,
                    successful_before: int) -> RewardResult:
    """The reward of a successful referral: the referred deal's `deal_amount`, this is the
    referrer's `ordinal`-th successful referral (1 = first; the caller decides what is counted,
    e.g. per year as in seed 002), and the referrer had `successful_before` successful referrals
    before it (the count bonus is due when this one reaches the threshold: successful_before + 1
    == threshold, so exactly once). Raises ValueError for a negative amount or ordinal < 1."""
    amount = _decimal(deal_amount, "deal_amount")
    if amount < 0:
        raise ValueError(_("The deal amount cannot be negative."))
    if int(ordinal) < 1:
        raise ValueError(_("The referral ordinal starts at 1."))
    if int(successful_before) < 0:
        raise ValueError(_("The number of earlier successful referrals cannot be negative."))
    ordinal, successful_before = int(ordinal), int(successful_before)
    lines: list[str] = []
    inputs: dict = {"deal_amount": _money(amount), "ordinal": ordinal,
                    "successful_before": successful_before}

    percent = None
    percent_amount = Decimal("0.00")
    if rules.percent_bands is not None:
        band = rules.percent_bands.find(amount)
        if band is not None:
            percent = band.percent
            percent_amount = _cents(amount * band.percent / _HUNDRED)
            inputs["band"] = band.label(rules.percent_bands.edges)
            lines.append(_("Deal of %(amount)s, band %(band)s: %(percent)s%% = %(value)s") % {
                "amount": _money(amount), "band": band.label(rules.percent_bands.edges),
                "percent": _fmt(band.percent), "value": _money(percent_amount)})
        else:
            lines.append(_("Deal of %(amount)s: in no percentage band, no percentage") % {
                "amount": _money(amount)})

    cash = Decimal("0.00")
    override = Decimal(0)
    tier = rules.tier(ordinal)
    if tier is not None:
        cash = _cents(tier.cash)
        override = tier.override_percent
        index = rules.ordinal_tiers.index(tier)
        inputs["tier"] = index + 1
        lines.append(_("Successful referral no. %(n)s (%(range)s): cash %(cash)s; "
                       "%(percent)s%% of the customer's later purchases") % {
            "n": ordinal, "range": rules.tier_range(index), "cash": _money(cash),
            "percent": _fmt(override)})

    gift = ""
    if rules.gift_bands is not None:
        gband = rules.gift_bands.find(amount)
        if gband is not None:
            gift = gband.gift
            lines.append(_("Gift for a deal %(band)s: %(gift)s") % {
                "band": gband.label(rules.gift_bands.edges), "gift": gift})

    if rules.points:
        lines.append(_("%(points)s points") % {"points": rules.points})

    bonus = Decimal("0.00")
    if rules.count_bonus is not None and successful_before + 1 == rules.count_bonus.threshold:
        bonus = _cents(rules.count_bonus.amount)
        lines.append(_("Count bonus: successful referral no. %(n)s reaches %(threshold)s: "
                       "%(amount)s (once)") % {"n": successful_before + 1,
                                               "threshold": rules.count_bonus.threshold,
                                               "amount": _money(bonus)})

    total = cash + percent_amount + bonus
    if not lines:
        lines.append(_("The policy gives nothing for this referral."))
    return RewardResult(cash=cash, percent_amount=percent_amount, percent=percent,
                        count_bonus=bonus, total=total, gift=gift, points=rules.points,
                        override_percent=override, explanation=lines, inputs=inputs)


def override_reward(rules: RewardRules, *, ordinal: int, purchase_amount: Decimal) -> Decimal:
    """The referrer's override on a later purchase (not the referred deal itself) of a customer
    brought by the referrer's `ordinal`-th successful referral: the tier's override percent of
    `purchase_amount`, rounded half-up to the cent (0.00 without ordinal tiers). A negative
    amount (a refund of a later purchase) gives the negative override."""
    amount = _decimal(purchase_amount, "purchase_amount")
    if int(ordinal) < 1:
        raise ValueError(_("The referral ordinal starts at 1."))
    tier = rules.tier(int(ordinal))
    if tier is None or not tier.override_percent:
        return Decimal("0.00")
    return _cents(amount * tier.override_percent / _HUNDRED)


#: Referral statuses (apps.referrals.models.Referral.Status values) before and after payment.
_BEFORE_PAYMENT = ("registered", "verified", "converted", "reward_pending", "approved")

VOID, CLAWBACK, KEEP, NOTHING = "void", "clawback", "keep", "nothing"


def refund_action(rules: RewardRules, *, status: str) -> str:
    """What a refund of the referred deal does to the reward, by the referral's status:
    not yet paid (up to and including ``approved``) → "void" (the reward is not paid);
    ``paid`` → "clawback" (taken back in the next open month), or "keep" when the policy has
    ``keep_after_refund``; anything else (rejected, reversed) → "nothing"."""
    if status in _BEFORE_PAYMENT:
        return VOID
    if status == "paid":
        return KEEP if rules.keep_after_refund else CLAWBACK
    return NOTHING
