"""Commission rule sets (提成规则): validated tenant data, pure, no ORM.

A rule set is a list of rules; every rule that matches an event pays its own line and the
lines add up (the engine, apps.commissions.engine, says exactly how). The JSON::

    {"rules": [RULE, ...]}                               # 0–100 rules, in the order they apply

Every RULE has a ``kind`` and an optional ``name`` (shown on the lines; a default name per kind
otherwise). Money is ≥ 0 with at most 2 decimals, percentages 0–100 with at most 4 decimals.
Deal kinds are new / renewal / referral / expansion; role codes are the tenant's deal roles
(closer, lead, assistant, consultant, teacher, advisor, …).

``rate`` — a percentage of the person's credited amount (业绩) by amount band::

    {"kind": "rate", "deal_kinds": ["new"], "roles": ["closer"],   # filters (default: all)
     "basis": "deal",      # "deal": the band is picked by the deal amount (签单金额);
                           # "month": by the person's month total of matching credit
     "method": "flat",     # "flat": the whole base at the band's rate;
                           # "marginal": each band's rate on the part of the amount inside it
     "edges": "lower",     # how band edges read (apps.core.bands): lower = [min, max)
     "bands": [{"max": "10000", "percent": "1"}, {"min": "10000", "percent": "2"}]}

``fixed`` — a fixed amount per role by band of the deal amount (the 100/200/300/400 table)::

    {"kind": "fixed", "deal_kinds": ["referral"], "edges": "lower",
     "bands": [{"max": "10000", "amounts": {"closer": "100", "lead": "100", "assistant": "50"}},
               ...]}

``pool`` — a percentage of the deal split by role and by days since the contract start::

    {"kind": "pool", "deal_kinds": ["renewal"], "percent": "1.5",
     "windows": [{"until_day": 45, "shares": {"consultant": "70", "advisor": "30"}},
                 {"shares": {"consultant": "30", "advisor": "70"}}]}

  A window holds up to and including ``until_day`` (the start day is day 0) and starts the day
  after the previous one ends; only the last window leaves ``until_day`` out (every later day).
  The shares of a window add up to exactly 100.

``staff_referral`` — a percentage of a deal a staff member referred: ``{"percent": "1.5"}`` or
by band of the referred amount (``"edges"``, ``"bands"`` as for ``rate``, flat).

``cap`` — at most one: ``{"percent_of_base": "50", "applies_to": ["fixed", ...]}``: a person's
month total of the line kinds in ``applies_to`` (default: every kind earned in the month — rate,
fixed, pool, staff_referral, count_bonus, retention; not the ranking prizes, never penalties)
is cut to this percentage of the base salary.

``count_bonus`` — ``{"threshold": 10, "amount": "3000"}``: this many successful referrals in
the month or more → the amount (each count_bonus rule fires on its own).

``ranking`` — ``{"scope": "person" | "team", "period": "quarter" | "month",
"prizes": ["5000", "3000", "1000"]}``: prizes by rank (first to last; a lower rank never pays
more). At most one ranking rule per scope and period.

``retention`` — ``{"percent": "2", "after_months": 3}``: a referred customer who still buys at
least ``after_months`` months after the first purchase earns the staff member this percentage of
the first purchase.

``penalty`` — ``{"code": "missed_follow_up", "amount": "50"}``: a deduction other modules
report by code (an event may carry its own amount; otherwise this one). Codes are unique.

Bands: a ``rate`` / ``fixed`` / ``staff_referral`` table must not overlap nor leave holes
(apps.core.bands.check_bands); marginal tiers start at 0. Validation errors read in the site
language through `describe_commission_errors` (apps.core.pydantic_errors.describe), each
prefixed with where it is ("规则 2 › 第 1 档 › percent：至少 0。").
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.conf import settings
from django.utils.translation import gettext as _django_gettext
from django.utils.translation import gettext_noop
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from apps.core.bands import MONEY, PERCENT, Band, Edges, check_bands, plain_number
from apps.core.pydantic_errors import describe
from apps.deals.engine import ROLE_CODE_PATTERN
from apps.deals.rules import DEFAULT_ROLE_NAMES

__all__ = [
    "DEAL_KINDS", "LINE_KINDS", "CAPPABLE_KINDS", "RateBand", "RateRule", "FixedBand",
    "FixedRule", "Window", "PoolRule", "StaffReferralRule", "CapRule", "CountBonusRule",
    "RankingRule", "RetentionRule", "PenaltyRule", "CommissionRules", "parse_commission_rules",
    "describe_commission_errors", "describe_commission_rules", "rule_name", "kind_name",
    "deal_kind_name", "role_name", "ValidationError",
]

DEAL_KINDS: tuple[str, ...] = ("new", "renewal", "referral", "expansion")
#: What a result line can be (the rule kind that made it).
LINE_KINDS: tuple[str, ...] = ("rate", "fixed", "pool", "staff_referral", "count_bonus",
                               "ranking", "retention", "penalty", "cap")
CAPPABLE_KINDS: tuple[str, ...] = ("rate", "fixed", "pool", "staff_referral", "count_bonus",
                                   "ranking", "retention")
DEFAULT_CAPPED: tuple[str, ...] = ("rate", "fixed", "pool", "staff_referral", "count_bonus",
                                   "retention")

DealKind = Literal["new", "renewal", "referral", "expansion"]
Code = Annotated[str, StringConstraints(pattern=ROLE_CODE_PATTERN)]
Money = Annotated[Decimal, Field(**MONEY)]
Percent = Annotated[Decimal, Field(**PERCENT)]
_POSITIVE_MONEY = {**MONEY, "gt": 0}
_POSITIVE_MONEY.pop("ge")


def _(message: str) -> str:
    return _django_gettext(message) if settings.configured else message


_KIND_NAMES = {
    "rate": gettext_noop("Rate by amount band"),
    "fixed": gettext_noop("Fixed amount by band and role"),
    "pool": gettext_noop("Split by role and days since the contract start"),
    "staff_referral": gettext_noop("Staff referral commission"),
    "cap": gettext_noop("Monthly cap"),
    "count_bonus": gettext_noop("Count bonus"),
    "ranking": gettext_noop("Ranking bonus"),
    "retention": gettext_noop("Retention bonus"),
    "penalty": gettext_noop("Penalty"),
}
_DEAL_KIND_NAMES = {
    "new": gettext_noop("New deal"), "renewal": gettext_noop("Renewal"),
    "referral": gettext_noop("Referral"), "expansion": gettext_noop("Course expansion"),
}


def kind_name(kind: str) -> str:
    """The readable name of a rule / line kind."""
    return _(_KIND_NAMES[kind]) if kind in _KIND_NAMES else kind


def deal_kind_name(kind: str) -> str:
    return _(_DEAL_KIND_NAMES[kind]) if kind in _DEAL_KIND_NAMES else kind


def role_name(code: str) -> str:
    name = DEFAULT_ROLE_NAMES.get(code) if settings.configured else None
    return str(name) if name is not None else code


def _unique(values: Sequence[str], message: str) -> None:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            raise ValueError(_(message) % {"value": v})
        seen.add(v)


# ---------------------------------------------------------------------------------------------
# The rules
# ---------------------------------------------------------------------------------------------

class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field("", max_length=60)


class _DealRule(_Rule):
    deal_kinds: tuple[DealKind, ...] = Field(DEAL_KINDS, min_length=1, max_length=4)

    @model_validator(mode="after")
    def _kinds_once(self):
        _unique(self.deal_kinds, gettext_noop("The deal kind “%(value)s” is listed twice."))
        return self


class RateBand(Band):
    percent: Decimal = Field(**PERCENT)


class RateRule(_DealRule):
    kind: Literal["rate"]
    roles: tuple[Code, ...] = Field((), max_length=20)
    basis: Literal["deal", "month"] = "deal"
    method: Literal["flat", "marginal"] = "flat"
    edges: Edges = "lower"
    bands: tuple[RateBand, ...] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _check(self):
        _unique(self.roles, gettext_noop("The role “%(value)s” is listed twice."))
        check_bands(self.bands, holes_allowed=False)
        if self.method == "marginal" and self.bands[0].low != 0:
            raise ValueError(_("Marginal tiers start at 0: leave out the first band's lower "
                               "bound (min)."))
        return self


class FixedBand(Band):
    amounts: dict[Code, Money] = Field(min_length=1, max_length=20)


class FixedRule(_DealRule):
    kind: Literal["fixed"]
    edges: Edges = "lower"
    bands: tuple[FixedBand, ...] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _check(self):
        check_bands(self.bands, holes_allowed=False)
        return self


class Window(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    until_day: int | None = Field(None, ge=0, le=36500)
    shares: dict[Code, Annotated[Decimal, Field(gt=0, le=100, decimal_places=4,
                                                allow_inf_nan=False)]] = Field(
        min_length=1, max_length=20)

    @model_validator(mode="after")
    def _check(self):
        total = sum(self.shares.values(), Decimal(0))
        if total != 100:
            raise ValueError(_("The shares add up to %(total)s%%, not 100%%.")
                             % {"total": plain_number(total)})
        return self


class PoolRule(_DealRule):
    kind: Literal["pool"]
    deal_kinds: tuple[DealKind, ...] = Field(("renewal",), min_length=1, max_length=4)
    percent: Decimal = Field(**PERCENT)
    windows: tuple[Window, ...] = Field(min_length=1, max_length=10)

    @model_validator(mode="after")
    def _check(self):
        last = len(self.windows) - 1
        for i, w in enumerate(self.windows):
            if i < last and w.until_day is None:
                raise ValueError(_("Window %(n)s: only the last window may leave out "
                                   "until_day.") % {"n": i + 1})
            if i == last and w.until_day is not None:
                raise ValueError(_("The last window must leave out until_day: it holds for "
                                   "every later day."))
            if i > 0 and w.until_day is not None \
                    and w.until_day <= self.windows[i - 1].until_day:
                raise ValueError(_("Window %(n)s must end after window %(p)s (until_day must "
                                   "increase).") % {"n": i + 1, "p": i})
        return self


class StaffReferralRule(_Rule):
    kind: Literal["staff_referral"]
    percent: Decimal | None = Field(None, **PERCENT)
    edges: Edges = "lower"
    bands: tuple[RateBand, ...] = Field((), max_length=20)

    @model_validator(mode="after")
    def _check(self):
        if (self.percent is None) == (not self.bands):
            raise ValueError(_("Give either a percent or bands, not both."))
        if self.bands:
            check_bands(self.bands, holes_allowed=False)
        return self


class CapRule(_Rule):
    kind: Literal["cap"]
    percent_of_base: Decimal = Field(ge=0, le=1000, decimal_places=4, allow_inf_nan=False)
    applies_to: tuple[Literal["rate", "fixed", "pool", "staff_referral", "count_bonus",
                              "ranking", "retention"], ...] = Field(DEFAULT_CAPPED, min_length=1)

    @model_validator(mode="after")
    def _check(self):
        _unique(self.applies_to, gettext_noop("The kind “%(value)s” is listed twice."))
        return self


class CountBonusRule(_Rule):
    kind: Literal["count_bonus"]
    threshold: int = Field(ge=1, le=100000)
    amount: Decimal = Field(**_POSITIVE_MONEY)


class RankingRule(_Rule):
    kind: Literal["ranking"]
    scope: Literal["person", "team"] = "person"
    period: Literal["quarter", "month"] = "quarter"
    prizes: tuple[Money, ...] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _check(self):
        for i in range(1, len(self.prizes)):
            if self.prizes[i] > self.prizes[i - 1]:
                raise ValueError(_("Rank %(n)s pays more than rank %(p)s: list the prizes from "
                                   "the first rank down.") % {"n": i + 1, "p": i})
        return self


class RetentionRule(_Rule):
    kind: Literal["retention"]
    percent: Decimal = Field(**PERCENT)
    after_months: int = Field(3, ge=1, le=120)


class PenaltyRule(_Rule):
    kind: Literal["penalty"]
    code: Code
    amount: Decimal = Field(**_POSITIVE_MONEY)


AnyRule = Annotated[RateRule | FixedRule | PoolRule | StaffReferralRule | CapRule
                    | CountBonusRule | RankingRule | RetentionRule | PenaltyRule,
                    Field(discriminator="kind")]


class CommissionRules(BaseModel):
    """A validated commission rule set (the JSON of a versioned rule set). Immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: tuple[AnyRule, ...] = Field((), max_length=100)

    @model_validator(mode="after")
    def _check(self):
        if sum(1 for r in self.rules if r.kind == "cap") > 1:
            raise ValueError(_("Give at most one monthly cap."))
        _unique([r.code for r in self.rules if r.kind == "penalty"],
                gettext_noop("Two penalties have the code “%(value)s”."))
        seen: set[tuple[str, str]] = set()
        for r in self.rules:
            if r.kind == "ranking":
                if (r.scope, r.period) in seen:
                    raise ValueError(_("Give at most one ranking rule per scope and period."))
                seen.add((r.scope, r.period))
        return self

    def as_data(self) -> dict:
        """The JSON to store (numbers as strings)."""
        return self.model_dump(mode="json", exclude_defaults=False)


def parse_commission_rules(data: Any) -> CommissionRules:
    """Validate rule set data (a dict). Raises pydantic.ValidationError;
    `describe_commission_errors(exc)` turns it into readable messages."""
    if isinstance(data, CommissionRules):
        return data
    return CommissionRules.model_validate(data)


def rule_name(rule: _Rule) -> str:
    """The rule's name (translated when it is an English msgid, as in the presets), or the
    readable name of its kind."""
    return _(rule.name) if rule.name else kind_name(rule.kind)


# ---------------------------------------------------------------------------------------------
# Readable errors and rules
# ---------------------------------------------------------------------------------------------

_FIELD_NAMES = {
    "deal_kinds": gettext_noop("deal kinds"), "roles": gettext_noop("roles"),
    "basis": gettext_noop("basis"), "method": gettext_noop("method"),
    "edges": gettext_noop("band edges"), "percent": gettext_noop("percent"),
    "amounts": gettext_noop("amounts"), "shares": gettext_noop("shares"),
    "until_day": gettext_noop("until day"), "percent_of_base": gettext_noop("percent of base salary"),
    "applies_to": gettext_noop("applies to"), "threshold": gettext_noop("threshold"),
    "amount": gettext_noop("amount"), "scope": gettext_noop("scope"),
    "period": gettext_noop("period"), "after_months": gettext_noop("after months"),
    "code": gettext_noop("code"), "name": gettext_noop("rule name"),
}

_EXTRA_MESSAGES = {
    "union_tag_invalid": gettext_noop("Unknown rule kind “%(tag)s”."),
    "union_tag_not_found": gettext_noop("Say which kind of rule this is (“kind”)."),
    "string_pattern_mismatch": gettext_noop("Must be a role code (letters, digits, _ or -)."),
}


_ITEM_NAMES = {"bands": gettext_noop("band %(n)s"), "windows": gettext_noop("window %(n)s"),
               "prizes": gettext_noop("prize %(n)s")}


def _loc_text(loc: Sequence[Any]) -> str:
    parts: list[str] = []
    items = list(loc)
    i = 0
    while i < len(items):
        item = items[i]
        nxt = items[i + 1] if i + 1 < len(items) else None
        if item == "rules" and isinstance(nxt, int):
            parts.append(_("rule %(n)s") % {"n": nxt + 1})
            i += 2
            if i < len(items) and items[i] in _KIND_NAMES:   # the discriminator's tag
                i += 1
            continue
        if item in ("bands", "windows", "prizes") and isinstance(nxt, int):
            parts.append(_(_ITEM_NAMES[item]) % {"n": nxt + 1})
            i += 2
            continue
        parts.append(_(_FIELD_NAMES[item]) if item in _FIELD_NAMES else str(item))
        i += 1
    return " › ".join(parts)


def describe_commission_errors(exc: ValidationError) -> list[str]:
    """Readable (translated) messages for a rule set's validation errors, one per problem."""
    return describe(exc, loc_text=_loc_text, extra=_EXTRA_MESSAGES)


def _window_text(windows: Sequence[Window], i: int) -> str:
    w = windows[i]
    start = windows[i - 1].until_day + 1 if i > 0 else 0
    if w.until_day is None:
        return _("from day %(day)s") % {"day": start} if start else _("any day")
    return _("day %(first)s to %(last)s") % {"first": start, "last": w.until_day}


def describe_commission_rules(rules: CommissionRules) -> list[str]:
    """The rule set as readable sentences, one per rule (for the pages and the preview)."""
    out: list[str] = []
    for n, r in enumerate(rules.rules, start=1):
        head = _("%(n)s. %(name)s") % {"n": n, "name": rule_name(r)}
        if r.kind == "rate":
            parts = [_("%(band)s: %(percent)s%%") % {"band": b.label(r.edges),
                                                    "percent": plain_number(b.percent)}
                     for b in r.bands]
            body = "; ".join(parts)
        elif r.kind == "fixed":
            body = "; ".join(
                _("%(band)s: %(amounts)s") % {"band": b.label(r.edges), "amounts": ", ".join(
                    f"{role_name(k)} {plain_number(v)}" for k, v in b.amounts.items())}
                for b in r.bands)
        elif r.kind == "pool":
            body = _("%(percent)s%% of the deal") % {"percent": plain_number(r.percent)} + "; " + \
                "; ".join(_("%(window)s: %(shares)s") % {
                    "window": _window_text(r.windows, i), "shares": ", ".join(
                        f"{role_name(k)} {plain_number(v)}%" for k, v in w.shares.items())}
                    for i, w in enumerate(r.windows))
        elif r.kind == "staff_referral":
            body = (_("%(percent)s%% of the referred deal") % {"percent": plain_number(r.percent)}
                    if r.percent is not None else "; ".join(
                        _("%(band)s: %(percent)s%%") % {"band": b.label(r.edges),
                                                       "percent": plain_number(b.percent)}
                        for b in r.bands))
        elif r.kind == "cap":
            body = _("at most %(percent)s%% of the base salary a month (%(kinds)s)") % {
                "percent": plain_number(r.percent_of_base),
                "kinds": ", ".join(kind_name(k) for k in r.applies_to)}
        elif r.kind == "count_bonus":
            body = _("%(threshold)s or more successful referrals in a month: %(amount)s") % {
                "threshold": r.threshold, "amount": plain_number(r.amount)}
        elif r.kind == "ranking":
            what = (_("top teams of the quarter") if r.scope == "team" else _("top people of the quarter")) \
                if r.period == "quarter" else (_("top teams of the month") if r.scope == "team"
                                               else _("top people of the month"))
            body = f"{what}: " + " / ".join(plain_number(p) for p in r.prizes)
        elif r.kind == "retention":
            body = _("%(percent)s%% of the first purchase when the customer still buys "
                     "%(months)s months later") % {"percent": plain_number(r.percent),
                                                   "months": r.after_months}
        else:
            body = f"{r.code}: -{plain_number(r.amount)}"
        out.append(f"{head}: {body}")
    return out
