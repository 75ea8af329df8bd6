"""The tenant's VIP tier scheme (会员等级) and the tier a customer's facts give: pure, no ORM.

A scheme is data (``TierScheme.rules``, validated by ``parse_tier_rules``)::

    {
      "tiers": [                                 # in order, lowest first (order = position)
        {"code": "silver", "name": "银卡", "grade": "C"},          # the entry tier: no thresholds
        {"code": "gold", "name": "金卡", "grade": "B",
         "min_total": "50000", "min_referrals": 1,                 # either one suffices
         "benefits": {"voucher": "500", "referral_gift": "380元百货礼品一份",
                      "referral_gift_value": "380", "sms_every_months": 1,
                      "birthday_greeting": true, "phone_every_months": 6,
                      "notes": "部分可获年货或参加公司年夜饭"}},
        {"code": "diamond", "name": "钻石卡", "grade": "A",
         "min_total": "100000", "min_referrals": 2, "benefits": {...}}
      ],
      "voucher_period": "year"                   # month | quarter | year | lifetime
    }

Thresholds are inclusive lower bounds (DOMAIN.md §7: Gold 50 000–100 000, Diamond over 100 000:
exactly 50 000 is Gold, exactly 100 000 Diamond). A customer's facts are their cumulative
contract total (deals net of refunds) and their successful referrals; the tier is the highest
whose total threshold OR referral threshold is reached, the entry tier otherwise — for buyers
only (someone who never bought has no tier). Validation: 1–10 tiers, codes and names unique,
the entry tier without thresholds, every later tier with at least one, and each threshold
strictly above the same threshold of every lower tier that has one (no overlaps, no ties).
Money ≥ 0 with at most 2 decimals; frequencies in months (0 = none).

Care frequencies (``care_of(tier)``) are what the follow-up module schedules visits from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from django.utils.translation import gettext_noop
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from apps.core.bands import MONEY, plain_number
from apps.core.pydantic_errors import _, describe

VoucherPeriod = Literal["month", "quarter", "year", "lifetime"]
CODE_PATTERN = r"^[a-z][a-z0-9_]{0,19}$"
MAX_TIERS = 10


class Benefits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    voucher: Decimal = Field(Decimal("0"), **MONEY)
    referral_gift: str = Field("", max_length=100)
    referral_gift_value: Decimal = Field(Decimal("0"), **MONEY)
    sms_every_months: int = Field(0, ge=0, le=24)
    birthday_greeting: bool = False
    phone_every_months: int = Field(0, ge=0, le=24)
    notes: str = Field("", max_length=300)


class Tier(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=CODE_PATTERN)
    name: str = Field(min_length=1, max_length=30)
    grade: str = Field("", max_length=5)
    min_total: Decimal | None = Field(None, **MONEY)
    min_referrals: int | None = Field(None, ge=1, le=100000)
    benefits: Benefits = Benefits()

    @property
    def has_threshold(self) -> bool:
        return self.min_total is not None or self.min_referrals is not None

    def reached(self, total: Decimal, referrals: int) -> bool:
        return ((self.min_total is not None and total >= self.min_total)
                or (self.min_referrals is not None and referrals >= self.min_referrals))


class TierRules(BaseModel):
    """A validated tier scheme (the `TierScheme.rules` JSON). Immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tiers: tuple[Tier, ...] = Field(min_length=1, max_length=MAX_TIERS)
    voucher_period: VoucherPeriod = "year"

    @field_validator("tiers")
    @classmethod
    def _check_tiers(cls, tiers: tuple[Tier, ...]) -> tuple[Tier, ...]:
        problems: list[str] = []
        seen_codes: set[str] = set()
        seen_names: set[str] = set()
        for i, tier in enumerate(tiers):
            n = {"n": i + 1, "code": tier.code, "name": tier.name}
            if tier.code in seen_codes:
                problems.append(_("Tier %(n)s: the code “%(code)s” is used twice.") % n)
            if tier.name in seen_names:
                problems.append(_("Tier %(n)s: the name “%(name)s” is used twice.") % n)
            seen_codes.add(tier.code)
            seen_names.add(tier.name)
            if i == 0 and tier.has_threshold:
                problems.append(_("Tier 1 is the entry tier every buyer starts at: it has no "
                                  "thresholds."))
            if i > 0 and not tier.has_threshold:
                problems.append(_("Tier %(n)s needs a contract total or a number of referrals "
                                  "to reach it.") % n)
        for attr, label in (("min_total", _("contract total")),
                            ("min_referrals", _("successful referrals"))):
            highest: tuple[int, Any] | None = None
            for i, tier in enumerate(tiers):
                value = getattr(tier, attr)
                if value is None:
                    continue
                if highest is not None and value <= highest[1]:
                    problems.append(_("Tier %(n)s: its %(what)s threshold (%(value)s) must be "
                                      "above tier %(p)s's (%(prev)s): thresholds increase with "
                                      "the tier order.") % {
                        "n": i + 1, "what": label, "value": _num(value), "p": highest[0] + 1,
                        "prev": _num(highest[1])})
                highest = (i, value)
        if problems:
            raise ValueError(" ".join(problems))
        return tiers

    # ---- reading

    @property
    def entry(self) -> Tier:
        return self.tiers[0]

    def order_of(self, code: str) -> int | None:
        """1-based order of the tier `code` (None: not in this scheme)."""
        for i, tier in enumerate(self.tiers):
            if tier.code == code:
                return i + 1
        return None

    def by_code(self, code: str) -> Tier | None:
        order = self.order_of(code)
        return None if order is None else self.tiers[order - 1]

    def stored(self, code: str, order: int) -> Tier:
        """The tier a stored row names: by its code, or by its order when the code left the
        scheme."""
        return self.by_code(code) or self.by_order(order)

    def names(self) -> dict[str, str]:
        """{tier code: name}, lowest tier first."""
        return {tier.code: tier.name for tier in self.tiers}

    def name_of(self, code: str) -> str:
        """The name of the tier `code` (a code no longer in the scheme shows as itself)."""
        tier = self.by_code(code)
        return tier.name if tier is not None else code

    def by_order(self, order: int) -> Tier:
        """The tier at `order` (clamped into the scheme: a stored order above the last tier of
        a smaller scheme reads as the last)."""
        return self.tiers[max(1, min(order, len(self.tiers))) - 1]

    def as_data(self) -> dict:
        return self.model_dump(mode="json", exclude_defaults=True)


def parse_tier_rules(data: Any) -> TierRules:
    """Validate tier scheme data (a dict). Raises pydantic.ValidationError;
    `describe_tier_errors(exc)` turns it into readable messages."""
    if isinstance(data, TierRules):
        return data
    return TierRules.model_validate(data)


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------

def tier_order_for(rules: TierRules, *, bought: bool, total: Decimal, referrals: int) -> int:
    """The order (1-based) of the tier the facts reach; 0 for someone who never bought."""
    if not bought:
        return 0
    order = 1
    for i, tier in enumerate(rules.tiers[1:], start=2):
        if tier.reached(total, referrals):
            order = i
    return order


@dataclass(frozen=True)
class Decision:
    """What an evaluation does to a stored tier (`current` 0: none yet)."""

    #: "none" | "initial" | "upgrade" | "review" (the facts dropped below the tier)
    action: str
    tier_order: int
    computed_order: int


def decide(*, current: int, previous_computed: int, computed: int) -> Decision:
    """Tiers go up automatically and never down: a computed order above the current tier is an
    upgrade (or the first tier); below it — when it was not below before (a refund, not a
    tier set by hand above the thresholds) — the customer is flagged for review."""
    if computed > current:
        return Decision("initial" if current == 0 else "upgrade", computed, computed)
    if computed < current and previous_computed >= current:
        return Decision("review", current, computed)
    return Decision("none", current, computed)


def voucher_period_start(period: str, day: dt.date) -> dt.date:
    """The first day of the voucher period holding `day` (date.min for "lifetime")."""
    if period == "month":
        return day.replace(day=1)
    if period == "quarter":
        return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if period == "year":
        return dt.date(day.year, 1, 1)
    return dt.date.min


@dataclass(frozen=True)
class Care:
    """How often customer service cares for a tier (the follow-up module schedules from it)."""

    tier: str
    sms_every_months: int
    phone_every_months: int
    birthday_greeting: bool


def care_of(tier: Tier) -> Care:
    b = tier.benefits
    return Care(tier=tier.code, sms_every_months=b.sms_every_months,
                phone_every_months=b.phone_every_months, birthday_greeting=b.birthday_greeting)


# ---------------------------------------------------------------------------------------------
# Presets, readable errors and rules
# ---------------------------------------------------------------------------------------------

PRESETS: dict[str, dict] = {
    # DOMAIN.md §7 and the seed's 金会员 table.
    "default": {
        "tiers": [
            {"code": "silver", "name": "银卡", "grade": "C",
             "benefits": {"notes": "首次购买即为银卡会员"}},
            {"code": "gold", "name": "金卡", "grade": "B", "min_total": "50000",
             "min_referrals": 1,
             "benefits": {"voucher": "500", "referral_gift": "380元百货礼品一份",
                          "referral_gift_value": "380", "sms_every_months": 1,
                          "birthday_greeting": True, "phone_every_months": 6,
                          "notes": "部分可获年货或参加公司年夜饭，赠送新年台历（赠完为止）"}},
            {"code": "diamond", "name": "钻石卡", "grade": "A", "min_total": "100000",
             "min_referrals": 2,
             "benefits": {"voucher": "800", "referral_gift": "480元百货礼品一份",
                          "referral_gift_value": "480", "sms_every_months": 1,
                          "birthday_greeting": True, "phone_every_months": 3,
                          "notes": "5年后售服免收上门费；部分可获年货或参加公司年夜饭，赠送新年台历"
                                   "（赠完为止）"}},
        ],
        "voucher_period": "year",
    },
}
PRESET_NAMES = {"default": gettext_noop("Silver, Gold, Diamond (the 金会员 table)")}

_PART_NAMES = {
    "tiers": gettext_noop("Tiers"),
    "voucher_period": gettext_noop("Voucher period"),
    "benefits": gettext_noop("Benefits"),
    "min_total": gettext_noop("Contract total from"),
    "min_referrals": gettext_noop("Successful referrals from"),
    "voucher": gettext_noop("Voucher"),
    "referral_gift": gettext_noop("Gift for a further referral"),
    "referral_gift_value": gettext_noop("Gift value"),
    "sms_every_months": gettext_noop("SMS care every (months)"),
    "phone_every_months": gettext_noop("Phone visit every (months)"),
    "birthday_greeting": gettext_noop("Birthday greeting"),
    "notes": gettext_noop("Other benefits"),
    "code": gettext_noop("Code"),
    "name": gettext_noop("Name"),
    "grade": gettext_noop("Grade"),
}
PERIOD_NAMES = {
    "month": gettext_noop("per calendar month"),
    "quarter": gettext_noop("per quarter"),
    "year": gettext_noop("per calendar year"),
    "lifetime": gettext_noop("once"),
}


def _num(value) -> str:
    return plain_number(Decimal(value)) if value is not None else ""


def _loc_text(loc: Sequence[Any]) -> str:
    parts: list[str] = []
    items = list(loc)
    i = 0
    while i < len(items):
        item, nxt = items[i], items[i + 1] if i + 1 < len(items) else None
        if item == "tiers" and isinstance(nxt, int):
            parts.append(_("tier %(n)s") % {"n": nxt + 1})
            i += 2
            continue
        parts.append(_(_PART_NAMES[item]) if item in _PART_NAMES else str(item))
        i += 1
    return " › ".join(parts)


def describe_tier_errors(exc: ValidationError) -> list[str]:
    """Readable (translated) messages, one per problem, prefixed with where it is."""
    return describe(exc, loc_text=_loc_text, extra={
        "string_pattern_mismatch": _("Use lower-case letters, digits and _ (starting with a "
                                     "letter), at most 20.")})


def threshold_text(tier: Tier) -> str:
    parts = []
    if tier.min_total is not None:
        parts.append(_("contract total %(amount)s or more") % {"amount": _num(tier.min_total)})
    if tier.min_referrals is not None:
        parts.append(_("%(n)s successful referrals or more") % {"n": tier.min_referrals})
    return _(" or ").join(parts) if parts else _("every buyer")


def benefit_lines(tier: Tier) -> list[str]:
    b = tier.benefits
    lines = []
    if b.voucher:
        lines.append(_("Voucher %(amount)s") % {"amount": _num(b.voucher)})
    if b.referral_gift:
        lines.append(_("For a further referral: %(gift)s") % {"gift": b.referral_gift})
    if b.sms_every_months:
        lines.append(_("SMS care every %(n)s months") % {"n": b.sms_every_months})
    if b.birthday_greeting:
        lines.append(_("Birthday greeting"))
    if b.phone_every_months:
        lines.append(_("Phone visit every %(n)s months") % {"n": b.phone_every_months})
    if b.notes:
        lines.append(b.notes)
    return lines


def describe_tier_rules(rules: TierRules) -> list[tuple[str, list[str]]]:
    """The scheme as readable sentences, per tier: [(heading, [lines])] (for the pages)."""
    out = []
    for i, tier in enumerate(rules.tiers, start=1):
        heading = _("%(n)s. %(name)s (%(code)s)") % {"n": i, "name": tier.name, "code": tier.code}
        out.append((heading, [threshold_text(tier), *benefit_lines(tier)]))
    out.append((_(_PART_NAMES["voucher_period"]),
                [_("Vouchers: the tier's amount %(period)s") % {
                    "period": _(PERIOD_NAMES[rules.voucher_period])}]))
    return out
