"""The commission engine (提成计算): pure functions, no ORM, table-tested, deterministic.

``calculate(MonthInputs, RuleBook | CommissionRules) -> Calculation`` turns one tenant-month of
facts (plain frozen dataclasses) into result lines and a per-person summary. Money in the lines
is integer cents (``cents``, ``base_cents``, ``fixed_cents``) with Decimal views (``result``,
``base``, ``fixed``); every line is rounded half-up to the cent once, and the summary totals are
sums of lines, so they equal the lines to the cent.

Which rules apply. A RuleBook holds the tenant's effective-dated versions (``RuleVersion``:
valid from a day, a version number, the rules). Events use the version in force on their own
day (a credit event its signing day, a staff referral its signing day, a retention event its
purchase day, a penalty its day); the month-level rules (cap, count bonus, ranking) use the
version in force on the month's last day. An event on a day no version covers earns nothing and
adds a warning.

Credit events (``CreditEvent``: one person's credit line of a deal) go through the deal rules
of their version in rule order; every rule that matches (its ``deal_kinds``, its ``roles`` for
``rate``, a band/role/window that holds for ``fixed`` and ``pool``) makes one line:

* ``rate``, basis "deal": the band is picked by the deal amount; "flat" pays the person's
  credited amount × the band's rate; "marginal" computes the whole deal's commission tier by
  tier (each band's rate on the part of the deal inside it) and pays the person their credited
  part of it (commission × credited / deal amount). A deal in no band earns no line.
* ``rate``, basis "month": the person's matching credit of the month under the same version and
  rule is added up (confiscated credit not counted). "flat": the total picks the band and every
  event pays its credit × that rate. "marginal": the events, in signing order (then deal id,
  ref), climb the tiers; each line is the rounded commission of the running total after it
  minus the rounded commission before it, so the lines add up to the rounded commission of the
  month total exactly.
* ``fixed``: the amount of the deal's band for the person's role; the amount is per role and
  deal, so people holding the same role on a deal share it equally (to the cent; the spare
  cents go to the lower staff ids first). The credited amount does not matter.
* ``pool``: deal amount × percent, split by the role shares of the window holding the event's
  ``days_since_start`` (a window holds up to and including its ``until_day``; the start day is
  day 0): the role's part is rounded once, then shared equally by the people holding the role
  on the deal (spare cents to lower staff ids). 100 000 renewed on day 45 → 1 500: consultant
  1 050.00, advisor 450.00; on day 46 → consultant 450.00, advisor 1 050.00. A role the window
  does not name earns nothing; an event without ``days_since_start`` under a pool with several
  windows gets a zero line saying so. The credited amount does not matter (participants without
  credit, e.g. the advisor, are passed as events with credit 0).
* Confiscated credit (``confiscated``: 业绩充公) earns nothing: each rule that would have paid
  makes a zero line saying why (so the statement shows it). Events with no staff (a whole deal
  confiscated) make no lines.

Staff referrals (``StaffReferralEvent``) pay ``staff_referral`` rules: the percent of the
referred deal (or the band's percent of its amount). Retention events pay ``retention`` rules
when the purchase is at least ``after_months`` calendar months after the first purchase (same
day of the month, or the month's last day): the percent of the first purchase; once per rule,
person and customer in a run (the caller sends each referred customer once). Penalties
(``PenaltyEvent``) deduct the event's amount or the rule's default for their code; a code no
rule names deducts nothing and adds a warning.

Count bonus: a person whose ``referral_counts`` reach a rule's threshold gets its amount.
Ranking (quarter rules in March, June, September and December only; month rules every month):
people (``ranking_people``) or teams (``ranking_teams``) with a metric above 0 are ranked by the
metric, highest first. Tied entries occupy consecutive ranks and share the prizes of the ranks
they occupy equally (to the cent; spare cents to the lower id first); the next entry takes the
rank after them. A team's prize is shared equally by its members (``people`` with that team;
spare cents to the lower staff ids); a team without members gets nothing and adds a warning.

Refunds (``RefundEvent``: a deal's refund) reverse every commission line of the deal (rate,
fixed, pool and staff referral lines of this run and the ``prior`` lines of earlier months) in
proportion to what the deal still holds: a line reverses round(what it still holds × refund /
deal amount still held), so a single refund reverses line × refunded/deal amount, successive
refunds that add up to the deal bring every line back to exactly zero, and a refund never takes
back more than the line holds (a refund larger than what is left reverses what is left and adds
a warning). A reversal line keeps the original's kind, rule and version, references the deal
and the refund and is an adjustment (``adjusts`` = the refund's ref). Bonuses (count, ranking,
retention) and penalties are not reversed by refunds.

The monthly cap (at most one ``cap`` rule): a person's net total of the capped kinds this month
(their lines, reversals included) above ``percent_of_base`` % of the base salary is cut by a
"cap" line of the excess (negative). People without a base salary (no ``PersonFacts``) are not
capped; that adds a warning when they have capped lines.

Output order (the same input gives the same lines in the same order): credit-event lines in the
order the events are given (per event, in rule order), month-basis lines (per rule, person,
signing order), staff referrals, retention, count bonuses, ranking, penalties, reversals, caps.
Give events in a stable order (e.g. by signing day and id). Explanations are written in the site
language (settings.LANGUAGE_CODE); a line's ``rule_index`` is the rule's position (0-based) in
its version and ``rule_name`` its name.

Speed: a RuleBook compiles each version once (bands as integer cents, rates as integer
millionths, explanation templates per band); an event costs a dict lookup of its (deal kind,
role) rules and integer arithmetic, with no pydantic objects and no Decimal arithmetic.
"""

from __future__ import annotations

import bisect
import calendar
import gc
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _django_gettext

from apps.core.bands import plain_number

from .rules import (
    CommissionRules,
    deal_kind_name,
    parse_commission_rules,
    role_name,
    rule_name,
)

__all__ = [
    "CreditEvent", "StaffReferralEvent", "RetentionEvent", "PenaltyEvent", "RefundEvent",
    "PersonFacts", "PriorLine", "PriorDeal", "MonthInputs", "RuleVersion", "RuleBook", "Line",
    "PersonSummary", "Calculation", "calculate", "summarize", "money", "COMMISSION_KINDS",
    "BONUS_KINDS",
]

COMMISSION_KINDS: tuple[str, ...] = ("rate", "fixed", "pool", "staff_referral")
BONUS_KINDS: tuple[str, ...] = ("count_bonus", "ranking", "retention")
_REVERSIBLE = frozenset(COMMISSION_KINDS)

_UNIT = 10 ** 6                     # rates in millionths: 100 % = 1 000 000
_HUNDRED = Decimal(100)
_ZERO_SHARE = Decimal(0)
_INF = 10 ** 30


def _(message: str) -> str:
    return _django_gettext(message) if settings.configured else message


def _site_language():
    if settings.configured:
        return translation.override(settings.LANGUAGE_CODE)
    return nullcontext()


# ---------------------------------------------------------------------------------------------
# Facts in
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CreditEvent:
    """One person's credit line of a deal (业绩)."""

    ref: str                        # the event's reference (e.g. "credit:123"), shown on lines
    staff_id: int | None            # None: a whole deal confiscated (no lines)
    team_id: int | None
    role: str                       # the person's deal role code
    deal_id: int
    deal_kind: str                  # new / renewal / referral / expansion
    deal_amount: Decimal
    credited: Decimal               # the person's credited amount (≥ 0)
    percent: Decimal                # the person's credit percent of the deal (for the record)
    signed_on: date
    days_since_start: int | None = None     # renewals: days since the contract start (day 0)
    confiscated: bool = False


@dataclass(frozen=True, slots=True)
class StaffReferralEvent:
    """A staff member's successful referral: the referred deal."""

    ref: str
    staff_id: int
    team_id: int | None
    deal_id: int | None
    amount: Decimal                 # the referred deal's amount
    signed_on: date


@dataclass(frozen=True, slots=True)
class RetentionEvent:
    """A customer the staff member referred bought again."""

    ref: str
    staff_id: int
    team_id: int | None
    customer_id: int
    first_purchase_amount: Decimal
    first_purchase_on: date
    purchase_on: date


@dataclass(frozen=True, slots=True)
class PenaltyEvent:
    ref: str
    staff_id: int
    team_id: int | None
    code: str
    on: date
    amount: Decimal | None = None   # the deduction (> 0); None: the rule's amount
    note: str = ""


@dataclass(frozen=True, slots=True)
class RefundEvent:
    """A refund of a deal (full or partial): reverses the deal's commission lines."""

    ref: str
    deal_id: int
    amount: Decimal                 # refunded (> 0)
    on: date


@dataclass(frozen=True, slots=True)
class PersonFacts:
    staff_id: int
    team_id: int | None
    base_salary: Decimal


@dataclass(frozen=True, slots=True)
class PriorLine:
    """A commission line of an earlier month, with what it still holds after earlier refunds."""

    staff_id: int
    team_id: int | None
    kind: str
    rule_index: int
    rule_name: str
    version: int
    held: Decimal


@dataclass(frozen=True, slots=True)
class PriorDeal:
    """A deal commissioned in earlier months: its amount still held and its lines."""

    deal_id: int
    amount_held: Decimal
    lines: tuple[PriorLine, ...]


@dataclass(frozen=True, slots=True)
class MonthInputs:
    month: date                                         # any day of the month
    credits: Sequence[CreditEvent] = ()
    staff_referrals: Sequence[StaffReferralEvent] = ()
    referral_counts: Mapping[int, int] = field(default_factory=dict)    # staff → successes
    retention: Sequence[RetentionEvent] = ()
    penalties: Sequence[PenaltyEvent] = ()
    refunds: Sequence[RefundEvent] = ()
    people: Sequence[PersonFacts] = ()
    ranking_people: Mapping[int, Decimal] = field(default_factory=dict)  # staff → metric
    ranking_teams: Mapping[int, Decimal] = field(default_factory=dict)   # team → metric
    prior: Mapping[int, PriorDeal] = field(default_factory=dict)         # deal id → prior


# ---------------------------------------------------------------------------------------------
# Lines out
# ---------------------------------------------------------------------------------------------

def money(cents: int) -> str:
    """Integer cents as text with two decimals ("-12.05")."""
    if cents < 0:
        return "-" + money(-cents)
    return f"{cents // 100}.{cents % 100:02d}"


def _dec(cents: int | None) -> Decimal | None:
    return None if cents is None else Decimal(cents).scaleb(-2)


class Line(NamedTuple):
    staff_id: int
    team_id: int | None
    kind: str                   # the rule kind (rules.LINE_KINDS)
    rule_index: int             # position of the rule in its version (-1: none)
    rule_name: str
    version: int
    base_cents: int | None      # what the rate/share applies to (None: no money base)
    rate: Decimal | None        # percent
    fixed_cents: int | None     # a fixed amount / prize / cap the line is about
    share: Decimal              # percent of the rule's amount this line takes
    cents: int                  # the result
    ref: str                    # the event's reference
    deal_id: int | None
    adjusts: str                # "" or the reference of what this line adjusts (a refund)
    explanation: str

    @property
    def result(self) -> Decimal:
        return Decimal(self.cents).scaleb(-2)

    @property
    def base(self) -> Decimal | None:
        return _dec(self.base_cents)

    @property
    def fixed(self) -> Decimal | None:
        return _dec(self.fixed_cents)


@dataclass(frozen=True, slots=True)
class PersonSummary:
    staff_id: int
    team_id: int | None
    base_salary: Decimal | None
    by_kind: dict[str, Decimal]     # per line kind, adjustments left out
    commissions: Decimal            # rate + fixed + pool + staff_referral
    bonuses: Decimal                # count_bonus + ranking + retention
    penalties: Decimal              # ≤ 0
    adjustments: Decimal            # lines that adjust something (refund reversals)
    cap: Decimal                    # ≤ 0
    total: Decimal
    lines: int


@dataclass(frozen=True)
class Calculation:
    lines: list[Line]
    people: list[PersonSummary]
    warnings: list[str]


# ---------------------------------------------------------------------------------------------
# Arithmetic
# ---------------------------------------------------------------------------------------------

def _cents(value: Any) -> int:
    """A Decimal (or int / str) amount as integer cents, half-up beyond two decimals."""
    if type(value) is not Decimal:
        value = Decimal(str(value))
    q = value.scaleb(2)
    i = int(q)
    if i != q:
        i = int(q.to_integral_value(rounding=ROUND_HALF_UP))
    return i


def _half_up(num: int, den: int) -> int:
    """num / den rounded half-up (away from zero on a half); den > 0."""
    if num >= 0:
        return (2 * num + den) // (2 * den)
    return -((-2 * num + den) // (2 * den))


def _units(percent: Decimal) -> int:
    """A percent (≤ 4 decimals) in millionths of the whole: 1.5 % → 15 000."""
    return int(percent.scaleb(4))


def _esc(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _equal_part(total: int, count: int, pos: int) -> int:
    """Position `pos`'s part of `total` cents shared equally by `count` (largest remainder:
    the spare cents go to the first positions)."""
    if count == 1:
        return total
    q, r = divmod(total, count)
    return q + (1 if pos < r else 0)


def _share(count: int, base: Decimal = _HUNDRED) -> Decimal:
    if count == 1:
        return base
    return (base / count).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def _add_months(day: date, months: int) -> date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# ---------------------------------------------------------------------------------------------
# Compiled rules
# ---------------------------------------------------------------------------------------------

class _Bands:
    """Bands as integer cents: `find(cents)` → index or -1."""

    __slots__ = ("bounds", "upper", "los", "his")

    def __init__(self, bands, edges: str):
        self.upper = edges == "upper"
        self.bounds = []
        for b in bands:
            if b.min is None:
                lo = -1 if self.upper else 0
            else:
                lo = _cents(b.min)
            hi = _INF if b.max is None else _cents(b.max)
            self.bounds.append((lo, hi))
        self.los = [lo for lo, _hi in self.bounds]
        self.his = [hi for _lo, hi in self.bounds]

    def find(self, amount: int) -> int:
        bounds = self.bounds
        if self.upper:
            i = bisect.bisect_left(self.his, amount)
            return i if i < len(bounds) and amount > bounds[i][0] else -1
        i = bisect.bisect_right(self.los, amount) - 1
        return i if i >= 0 and amount < bounds[i][1] else -1


class _Compiled:
    __slots__ = ("index", "name", "version", "kind", "rule")

    def __init__(self, index: int, rule, version: int):
        self.index = index
        self.rule = rule
        self.kind = rule.kind
        self.name = rule_name(rule)
        self.version = version

    def zero(self, ev: CreditEvent, bc: int, text: str) -> Line:
        return Line(ev.staff_id, ev.team_id, self.kind, self.index, self.name, self.version,
                    bc, None, None, _ZERO_SHARE, 0, ev.ref, ev.deal_id, "", text)


class _Rate(_Compiled):
    __slots__ = ("bands", "rates", "units", "deal_kinds", "roles", "basis", "marginal",
                 "labels", "tpl", "tiers")

    def __init__(self, index, rule, version):
        super().__init__(index, rule, version)
        self.deal_kinds = frozenset(rule.deal_kinds)
        self.roles = frozenset(rule.roles)
        self.basis = rule.basis
        self.marginal = rule.method == "marginal"
        self.bands = _Bands(rule.bands, rule.edges)
        self.rates = [b.percent for b in rule.bands]
        self.units = [_units(b.percent) for b in rule.bands]
        self.labels = [b.label(rule.edges) for b in rule.bands]
        # marginal tiers: (lower cents, upper cents, units)
        self.tiers = [(lo if lo > 0 else 0, hi, u)
                      for (lo, hi), u in zip(self.bands.bounds, self.units, strict=True)]
        msg = _esc(_("%(kind)s deal %(deal)s, band %(band)s: credit %(base)s × %(rate)s%% = "
                     "%(result)s"))
        self.tpl = {
            kind: [msg % {"kind": _esc(deal_kind_name(kind)), "deal": "{0}", "band": _esc(label),
                          "base": "{1}", "rate": plain_number(rate), "result": "{2}"}
                   for label, rate in zip(self.labels, self.rates, strict=True)]
            for kind in rule.deal_kinds}

    def matches(self, deal_kind: str, role: str) -> bool:
        return deal_kind in self.deal_kinds and (not self.roles or role in self.roles)

    def commission_units(self, amount: int) -> int:
        """The marginal commission of `amount` cents, in cents × 1 000 000 (exact)."""
        total = 0
        for lo, hi, u in self.tiers:
            if amount <= lo:
                break
            total += (min(amount, hi) - lo) * u
        return total

    def tier_text(self, low: int, high: int) -> str:
        parts = []
        for (lo, hi, _u), rate in zip(self.tiers, self.rates, strict=True):
            part = min(high, hi) - max(low, lo)
            if part > 0:
                parts.append(f"{money(part)} × {plain_number(rate)}%")
        return " + ".join(parts)

    def apply(self, ev: CreditEvent, dc: int, bc: int, run: _Run) -> None:
        if self.basis == "month":
            run.month_basis.setdefault((id(self), ev.staff_id), (self, []))[1].append(
                (ev.signed_on, ev.deal_id, ev.ref, bc, ev))
            return
        if self.marginal:
            units = self.commission_units(dc)
            cents = _half_up(units * bc, dc * _UNIT) if dc else 0
            text = _("%(kind)s deal %(deal)s in marginal tiers (%(tiers)s) = %(pool)s; credit "
                     "%(base)s of it: %(result)s") % {
                "kind": deal_kind_name(ev.deal_kind), "deal": money(dc),
                "tiers": self.tier_text(0, dc), "pool": money(_half_up(units, _UNIT)),
                "base": money(bc), "result": money(cents)}
            run.lines.append(Line(ev.staff_id, ev.team_id, "rate", self.index, self.name,
                                  self.version, bc, None, None, _HUNDRED, cents, ev.ref,
                                  ev.deal_id, "", text))
            return
        b = self.bands.find(dc)
        if b < 0:
            return
        cents = (2 * bc * self.units[b] + _UNIT) // (2 * _UNIT)
        run.lines.append(Line(ev.staff_id, ev.team_id, "rate", self.index, self.name,
                              self.version, bc, self.rates[b], None, _HUNDRED, cents, ev.ref,
                              ev.deal_id, "", self.tpl[ev.deal_kind][b].format(
                                  money(dc), money(bc), money(cents))))

    def month_lines(self, items: list, run: _Run) -> None:
        items.sort(key=lambda it: (it[0], it[1], it[2]))
        total = sum(it[3] for it in items)
        if not self.marginal:
            b = self.bands.find(total)
            if b < 0:
                return
            u, rate = self.units[b], self.rates[b]
            for _day, _deal, ref, bc, ev in items:
                cents = _half_up(bc * u, _UNIT)
                run.lines.append(Line(
                    ev.staff_id, ev.team_id, "rate", self.index, self.name, self.version, bc,
                    rate, None, _HUNDRED, cents, ref, ev.deal_id, "",
                    _("Month credit %(total)s, band %(band)s: credit %(base)s × %(rate)s%% = "
                      "%(result)s") % {"total": money(total), "band": self.labels[b],
                                       "base": money(bc), "rate": plain_number(rate),
                                       "result": money(cents)}))
            return
        running = 0
        paid = 0
        for _day, _deal, ref, bc, ev in items:
            after = running + bc
            upto = _half_up(self.commission_units(after), _UNIT)
            cents = upto - paid
            run.lines.append(Line(
                ev.staff_id, ev.team_id, "rate", self.index, self.name, self.version, bc, None,
                None, _HUNDRED, cents, ref, ev.deal_id, "",
                _("Month credit %(from)s → %(to)s in marginal tiers (%(tiers)s): %(result)s")
                % {"from": money(running), "to": money(after),
                   "tiers": self.tier_text(running, after) or "0", "result": money(cents)}))
            running, paid = after, upto


class _Fixed(_Compiled):
    __slots__ = ("bands", "amounts", "labels", "deal_kinds", "tpl")

    def __init__(self, index, rule, version):
        super().__init__(index, rule, version)
        self.deal_kinds = frozenset(rule.deal_kinds)
        self.bands = _Bands(rule.bands, rule.edges)
        self.amounts = [{role: _cents(v) for role, v in b.amounts.items()} for b in rule.bands]
        self.labels = [b.label(rule.edges) for b in rule.bands]
        msg = _esc(_("%(kind)s deal %(deal)s, band %(band)s: %(role)s %(amount)s"))
        self.tpl = {(kind, b, role): msg % {
            "kind": _esc(deal_kind_name(kind)), "deal": "{0}", "band": _esc(self.labels[b]),
            "role": _esc(role_name(role)), "amount": money(amt)}
            for kind in rule.deal_kinds for b, amounts in enumerate(self.amounts)
            for role, amt in amounts.items()}

    def matches(self, deal_kind: str, role: str) -> bool:
        return deal_kind in self.deal_kinds and any(role in a for a in self.amounts)

    def apply(self, ev: CreditEvent, dc: int, bc: int, run: _Run) -> None:
        b = self.bands.find(dc)
        if b < 0:
            return
        amount = self.amounts[b].get(ev.role)
        if amount is None:
            return
        count, pos = run.holder(ev)
        text = self.tpl[(ev.deal_kind, b, ev.role)].format(money(dc))
        if count == 1:
            cents = amount
        else:
            cents = _equal_part(amount, count, pos)
            text += _(", shared equally by %(count)s: %(result)s") % {
                "count": count, "result": money(cents)}
        run.lines.append(Line(ev.staff_id, ev.team_id, "fixed", self.index, self.name,
                              self.version, dc, None, amount, _share(count), cents, ev.ref,
                              ev.deal_id, "", text))


class _Pool(_Compiled):
    __slots__ = ("deal_kinds", "units", "percent", "windows", "roles")

    def __init__(self, index, rule, version):
        super().__init__(index, rule, version)
        self.deal_kinds = frozenset(rule.deal_kinds)
        self.percent = rule.percent
        self.units = _units(rule.percent)
        self.windows = []       # (until_day or None, {role: (units, share)}, label)
        start = 0
        for w in rule.windows:
            if w.until_day is None:
                label = (_("from day %(day)s") % {"day": start}) if start else _("any day")
            else:
                label = _("day %(first)s to %(last)s") % {"first": start, "last": w.until_day}
                start = w.until_day + 1
            self.windows.append((w.until_day, {role: (_units(s), s) for role, s in
                                               w.shares.items()}, label))
        self.roles = frozenset(r for w in rule.windows for r in w.shares)

    def matches(self, deal_kind: str, role: str) -> bool:
        return deal_kind in self.deal_kinds and role in self.roles

    def apply(self, ev: CreditEvent, dc: int, bc: int, run: _Run) -> None:
        day = ev.days_since_start
        if day is None:
            if len(self.windows) > 1:
                run.lines.append(self.zero(ev, dc, _(
                    "%(kind)s deal: the days since the contract start are not known, no "
                    "commission") % {"kind": deal_kind_name(ev.deal_kind)}))
                return
            window = self.windows[0]
        else:
            if day < 0:
                raise ValueError(_("%(ref)s: the days since the contract start cannot be "
                                   "negative.") % {"ref": ev.ref})
            window = next(w for w in self.windows if w[0] is None or day <= w[0])
        got = window[1].get(ev.role)
        if got is None:
            return
        share_units, share = got
        role_cents = _half_up(dc * self.units * share_units, _UNIT * _UNIT)
        count, pos = run.holder(ev)
        cents = _equal_part(role_cents, count, pos)
        params = {"kind": deal_kind_name(ev.deal_kind), "deal": money(dc),
                  "percent": plain_number(self.percent),
                  "pool": money(_half_up(dc * self.units, _UNIT)),
                  "day": day if day is not None else "-", "window": window[2],
                  "role": role_name(ev.role), "share": plain_number(share),
                  "part": money(role_cents), "count": count, "result": money(cents)}
        if count == 1:
            text = _("%(kind)s %(deal)s × %(percent)s%% = %(pool)s; day %(day)s since the "
                     "contract start (%(window)s): %(role)s %(share)s%% = %(result)s") % params
        else:
            text = _("%(kind)s %(deal)s × %(percent)s%% = %(pool)s; day %(day)s since the "
                     "contract start (%(window)s): %(role)s %(share)s%% = %(part)s, shared "
                     "equally by %(count)s: %(result)s") % params
        run.lines.append(Line(ev.staff_id, ev.team_id, "pool", self.index, self.name,
                              self.version, dc, self.percent, None, _share(count, share), cents,
                              ev.ref, ev.deal_id, "", text))


class _StaffReferral(_Compiled):
    __slots__ = ("bands", "rates", "units", "labels")

    def __init__(self, index, rule, version):
        super().__init__(index, rule, version)
        if rule.percent is not None:
            self.bands = None
            self.rates, self.units, self.labels = [rule.percent], [_units(rule.percent)], [""]
        else:
            self.bands = _Bands(rule.bands, rule.edges)
            self.rates = [b.percent for b in rule.bands]
            self.units = [_units(b.percent) for b in rule.bands]
            self.labels = [b.label(rule.edges) for b in rule.bands]

    def apply(self, ev: StaffReferralEvent, amount: int, run: _Run) -> None:
        b = 0 if self.bands is None else self.bands.find(amount)
        if b < 0:
            return
        cents = _half_up(amount * self.units[b], _UNIT)
        params = {"amount": money(amount), "band": self.labels[b],
                  "rate": plain_number(self.rates[b]), "result": money(cents)}
        text = (_("Referred deal %(amount)s, band %(band)s: %(rate)s%% = %(result)s") % params
                if self.labels[b] else
                _("Referred deal %(amount)s × %(rate)s%% = %(result)s") % params)
        run.lines.append(Line(ev.staff_id, ev.team_id, "staff_referral", self.index, self.name,
                              self.version, amount, self.rates[b], None, _HUNDRED, cents,
                              ev.ref, ev.deal_id, "", text))


class _Version:
    """One compiled rule-set version."""

    __slots__ = ("valid_from", "version", "rules", "deal", "cache", "staff_referral",
                 "retention", "penalties", "count_bonus", "ranking", "cap", "holder_kinds")

    def __init__(self, valid_from: date, version: int, rules: CommissionRules):
        self.valid_from = valid_from
        self.version = version
        self.rules = rules
        self.deal: list = []
        self.staff_referral: list = []
        self.retention: list = []
        self.penalties: dict = {}
        self.count_bonus: list = []
        self.ranking: list = []
        self.cap = None
        self.holder_kinds: set[str] = set()
        with _site_language():
            for i, r in enumerate(rules.rules):
                if r.kind == "rate":
                    self.deal.append(_Rate(i, r, version))
                elif r.kind == "fixed":
                    self.deal.append(_Fixed(i, r, version))
                    self.holder_kinds.update(r.deal_kinds)
                elif r.kind == "pool":
                    self.deal.append(_Pool(i, r, version))
                    self.holder_kinds.update(r.deal_kinds)
                else:
                    c = _Compiled(i, r, version)
                    if r.kind == "staff_referral":
                        self.staff_referral.append(_StaffReferral(i, r, version))
                    elif r.kind == "retention":
                        self.retention.append(c)
                    elif r.kind == "penalty":
                        self.penalties[r.code] = c
                    elif r.kind == "count_bonus":
                        self.count_bonus.append(c)
                    elif r.kind == "ranking":
                        self.ranking.append(c)
                    elif r.kind == "cap":
                        self.cap = c
        self.cache: dict[tuple[str, str], tuple] = {}

    def deal_rules(self, deal_kind: str, role: str) -> tuple:
        key = (deal_kind, role)
        found = self.cache.get(key)
        if found is None:
            found = tuple(r for r in self.deal if r.matches(deal_kind, role))
            self.cache[key] = found
        return found


@dataclass(frozen=True, slots=True)
class RuleVersion:
    valid_from: date
    version: int
    rules: CommissionRules | dict


class RuleBook:
    """A tenant's rule-set versions, compiled once; `at(day)` is the version in force."""

    def __init__(self, versions: Sequence[RuleVersion]):
        ordered = sorted(versions, key=lambda v: v.valid_from)
        self._days = [v.valid_from for v in ordered]
        self._versions = [_Version(v.valid_from, v.version, parse_commission_rules(v.rules))
                          for v in ordered]

    @classmethod
    def single(cls, rules: CommissionRules | dict, version: int = 1) -> RuleBook:
        """One version in force on every day."""
        return cls([RuleVersion(date.min, version, rules)])

    def at(self, day: date) -> _Version | None:
        i = bisect.bisect_right(self._days, day) - 1
        return self._versions[i] if i >= 0 else None


# ---------------------------------------------------------------------------------------------
# The calculation
# ---------------------------------------------------------------------------------------------

class _Run:
    """The state of one calculation."""

    __slots__ = ("lines", "month_basis", "multi", "warnings")

    def __init__(self):
        self.lines: list[Line] = []
        self.month_basis: dict = {}
        self.multi: dict[tuple[int, str], list[int]] = {}
        self.warnings: list[str] = []

    def holder(self, ev: CreditEvent) -> tuple[int, int]:
        """(how many people hold the event's role on its deal, the person's position by id)."""
        held = self.multi.get((ev.deal_id, ev.role))
        if held is None:
            return 1, 0
        return len(held), held.index(ev.staff_id)


def _period_refs(month: date) -> tuple[date, date, str, str]:
    first = month.replace(day=1)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    return first, last, f"{first.year}-{first.month:02d}", \
        f"{first.year}-Q{(first.month - 1) // 3 + 1}"


def calculate(inputs: MonthInputs, book: RuleBook | CommissionRules | dict) -> Calculation:
    """The lines and per-person summary of one tenant-month (see the module docstring).
    Raises ValueError for impossible facts (a negative credited or deal amount, negative days
    since the contract start, a refund or penalty that is not more than zero)."""
    if not isinstance(book, RuleBook):
        book = RuleBook.single(book)
    collecting = gc.isenabled()
    if collecting:      # a million lines are a million tuples: the cycle collector would
        gc.disable()    # walk them again and again (about a third of the time); none are cyclic
    try:
        return _calculate(inputs, book)
    finally:
        if collecting:
            gc.enable()


def _calculate(inputs: MonthInputs, book: RuleBook) -> Calculation:
    with _site_language():
        run = _Run()
        _credit_lines(inputs, book, run)
        first, last, month_ref, quarter_ref = _period_refs(inputs.month)
        facts = {p.staff_id: p for p in inputs.people}
        period = book.at(last)
        _other_event_lines(inputs, book, run)
        if period is not None:
            _count_bonus_lines(inputs, period, facts, month_ref, run)
            _ranking_lines(inputs, period, facts, first, month_ref, quarter_ref, run)
        _penalty_lines(inputs, book, run)
        _reversal_lines(inputs, run)
        if period is not None and period.cap is not None:
            _cap_lines(period.cap, facts, month_ref, run)
        return Calculation(run.lines, summarize(run.lines, inputs.people), run.warnings)


def _no_rules(run: _Run, day: date, ref: str, missing: set) -> None:
    if day not in missing:
        missing.add(day)
        run.warnings.append(_("No commission rules are in force on %(day)s (%(ref)s): it earns "
                              "nothing.") % {"day": day.isoformat(), "ref": ref})


def _credit_lines(inputs: MonthInputs, book: RuleBook, run: _Run) -> None:
    holder_kinds = set()
    for v in book._versions:
        holder_kinds |= v.holder_kinds
    if holder_kinds:
        first: dict[tuple[int, str], int] = {}
        multi: dict[tuple[int, str], set[int]] = {}
        for ev in inputs.credits:
            sid = ev.staff_id
            if sid is None or ev.deal_kind not in holder_kinds:
                continue
            key = (ev.deal_id, ev.role)
            held = first.setdefault(key, sid)
            if held != sid:
                multi.setdefault(key, {held}).add(sid)
        run.multi = {key: sorted(ids) for key, ids in multi.items()}

    confiscated = _("Credit confiscated: no commission")
    by_day: dict[date, _Version | None] = {}
    missing: set[date] = set()
    lines = run.lines
    for ev in inputs.credits:
        if ev.staff_id is None:
            continue
        day = ev.signed_on
        version = by_day.get(day)
        if version is None:
            if day in by_day:
                _no_rules(run, day, ev.ref, missing)
                continue
            version = by_day[day] = book.at(day)
            if version is None:
                _no_rules(run, day, ev.ref, missing)
                continue
        rules = version.cache.get((ev.deal_kind, ev.role))
        if rules is None:
            rules = version.deal_rules(ev.deal_kind, ev.role)
        if not rules:
            continue
        dc = _cents(ev.deal_amount)
        bc = _cents(ev.credited)
        if dc < 0 or bc < 0:
            raise ValueError(_("%(ref)s: amounts cannot be negative (a refund is a "
                               "RefundEvent).") % {"ref": ev.ref})
        if ev.confiscated:
            for rule in rules:
                lines.append(rule.zero(ev, bc, confiscated))
            continue
        for rule in rules:
            rule.apply(ev, dc, bc, run)

    for _key, (rule, items) in sorted(run.month_basis.items(), key=lambda kv: (
            kv[1][0].version, kv[1][0].index, kv[0][1])):
        rule.month_lines(items, run)


def _other_event_lines(inputs: MonthInputs, book: RuleBook, run: _Run) -> None:
    missing: set[date] = set()
    for ev in inputs.staff_referrals:
        version = book.at(ev.signed_on)
        if version is None:
            _no_rules(run, ev.signed_on, ev.ref, missing)
            continue
        amount = _cents(ev.amount)
        if amount < 0:
            raise ValueError(_("%(ref)s: amounts cannot be negative (a refund is a "
                               "RefundEvent).") % {"ref": ev.ref})
        for rule in version.staff_referral:
            rule.apply(ev, amount, run)

    seen: set[tuple] = set()
    for ev in inputs.retention:
        version = book.at(ev.purchase_on)
        if version is None:
            _no_rules(run, ev.purchase_on, ev.ref, missing)
            continue
        for c in version.retention:
            rule = c.rule
            if ev.purchase_on < _add_months(ev.first_purchase_on, rule.after_months):
                continue
            key = (c.version, c.index, ev.staff_id, ev.customer_id)
            if key in seen:
                continue
            seen.add(key)
            base = _cents(ev.first_purchase_amount)
            cents = _half_up(base * _units(rule.percent), _UNIT)
            text = _("The referred customer still buys on %(on)s, at least %(months)s months "
                     "after the first purchase of %(first)s on %(first_on)s: %(rate)s%% = "
                     "%(result)s") % {
                "on": ev.purchase_on.isoformat(), "months": rule.after_months,
                "first": money(base), "first_on": ev.first_purchase_on.isoformat(),
                "rate": plain_number(rule.percent), "result": money(cents)}
            run.lines.append(Line(ev.staff_id, ev.team_id, "retention", c.index, c.name,
                                  c.version, base, rule.percent, None, _HUNDRED, cents, ev.ref,
                                  None, "", text))


def _team_of(facts: Mapping[int, PersonFacts], staff_id: int) -> int | None:
    person = facts.get(staff_id)
    return person.team_id if person is not None else None


def _count_bonus_lines(inputs, period: _Version, facts, month_ref: str, run: _Run) -> None:
    for staff_id in sorted(inputs.referral_counts):
        count = int(inputs.referral_counts[staff_id])
        for c in period.count_bonus:
            if count < c.rule.threshold:
                continue
            cents = _cents(c.rule.amount)
            text = _("%(count)s successful referrals this month (%(threshold)s or more): "
                     "%(amount)s") % {"count": count, "threshold": c.rule.threshold,
                                      "amount": money(cents)}
            run.lines.append(Line(staff_id, _team_of(facts, staff_id), "count_bonus", c.index,
                                  c.name, c.version, None, None, cents, _HUNDRED, cents,
                                  f"referrals:{month_ref}", None, "", text))


def _ranking_lines(inputs, period: _Version, facts, first: date, month_ref: str,
                   quarter_ref: str, run: _Run) -> None:
    members: dict[int, list[int]] = {}
    for p in sorted(facts.values(), key=lambda p: p.staff_id):
        if p.team_id is not None:
            members.setdefault(p.team_id, []).append(p.staff_id)
    for c in period.ranking:
        rule = c.rule
        if rule.period == "quarter" and first.month % 3:
            continue
        label = quarter_ref if rule.period == "quarter" else month_ref
        metrics = inputs.ranking_people if rule.scope == "person" else inputs.ranking_teams
        entries = sorted(((Decimal(str(m)) if type(m) is not Decimal else m, ident)
                          for ident, m in metrics.items()), key=lambda e: (-e[0], e[1]))
        entries = [e for e in entries if e[0] > 0]
        prizes = [_cents(p) for p in rule.prizes]
        rank, i = 0, 0
        while i < len(entries) and rank < len(prizes):
            j = i
            while j < len(entries) and entries[j][0] == entries[i][0]:
                j += 1
            group = entries[i:j]
            k = len(group)
            pot = sum(prizes[rank:rank + k])
            ranks = str(rank + 1) if k == 1 else f"{rank + 1}–{rank + k}"
            for pos, (metric, ident) in enumerate(group):
                part = _equal_part(pot, k, pos)
                params = {"period": label, "ranks": ranks, "metric": plain_number(metric),
                          "prize": money(pot), "count": k, "part": money(part)}
                if rule.scope == "person":
                    text = (_("Ranking %(period)s: rank %(ranks)s with %(metric)s: %(part)s")
                            if k == 1 else
                            _("Ranking %(period)s: %(count)s tied at ranks %(ranks)s with "
                              "%(metric)s share %(prize)s: %(part)s")) % params
                    run.lines.append(Line(ident, _team_of(facts, ident), "ranking", c.index,
                                          c.name, c.version, None, None, pot, _share(k), part,
                                          f"ranking:{label}", None, "", text))
                    continue
                team = members.get(ident)
                if not team:
                    run.warnings.append(_("Team %(team)s won a ranking prize of %(amount)s but "
                                          "has no members this month: it is not paid.")
                                        % {"team": ident, "amount": money(part)})
                    continue
                for mpos, staff_id in enumerate(team):
                    cents = _equal_part(part, len(team), mpos)
                    params.update(members=len(team), result=money(cents))
                    text = (_("Team ranking %(period)s: the team is at rank %(ranks)s with "
                              "%(metric)s, prize %(part)s shared by %(members)s members: "
                              "%(result)s") % params)
                    run.lines.append(Line(staff_id, ident, "ranking", c.index, c.name,
                                          c.version, None, None, part, _share(len(team)),
                                          cents, f"ranking:{label}", None, "", text))
            rank += k
            i = j


def _penalty_lines(inputs: MonthInputs, book: RuleBook, run: _Run) -> None:
    for ev in inputs.penalties:
        version = book.at(ev.on)
        c = version.penalties.get(ev.code) if version is not None else None
        if c is None:
            run.warnings.append(_("%(ref)s: no penalty rule has the code “%(code)s”: nothing "
                                  "is deducted.") % {"ref": ev.ref, "code": ev.code})
            continue
        amount = _cents(ev.amount if ev.amount is not None else c.rule.amount)
        if amount <= 0:
            raise ValueError(_("%(ref)s: a penalty must be more than zero.") % {"ref": ev.ref})
        text = _("Penalty “%(name)s”: -%(amount)s") % {"name": c.name, "amount": money(amount)}
        if ev.note:
            text += f" ({ev.note})"
        run.lines.append(Line(ev.staff_id, ev.team_id, "penalty", c.index, c.name, c.version,
                              None, None, amount, _HUNDRED, -amount, ev.ref, None, "", text))


def _reversal_lines(inputs: MonthInputs, run: _Run) -> None:
    if not inputs.refunds:
        return
    deals = {ev.deal_id for ev in inputs.refunds}
    amounts: dict[int, int] = {}
    for ev in inputs.credits:
        if ev.deal_id in deals and ev.deal_id not in amounts:
            amounts[ev.deal_id] = _cents(ev.deal_amount)
    for ev in inputs.staff_referrals:
        if ev.deal_id in deals and ev.deal_id not in amounts:
            amounts[ev.deal_id] = _cents(ev.amount)
    held_lines: dict[int, list[list]] = {d: [] for d in deals}
    for deal_id in deals:
        prior = inputs.prior.get(deal_id)
        if prior is not None:
            amounts[deal_id] = _cents(prior.amount_held)
            held_lines[deal_id].extend(
                [pl.staff_id, pl.team_id, pl.kind, pl.rule_index, pl.rule_name, pl.version,
                 _cents(pl.held)] for pl in prior.lines)
    for line in run.lines:
        if line.deal_id in deals and line.kind in _REVERSIBLE and not line.adjusts:
            held_lines[line.deal_id].append(
                [line.staff_id, line.team_id, line.kind, line.rule_index, line.rule_name,
                 line.version, line.cents])
    for ev in inputs.refunds:
        refund = _cents(ev.amount)
        if refund <= 0:
            raise ValueError(_("%(ref)s: a refund must be more than zero.") % {"ref": ev.ref})
        held = amounts.get(ev.deal_id)
        if held is None:
            run.warnings.append(_("%(ref)s: deal %(deal)s has no commission lines to reverse.")
                                % {"ref": ev.ref, "deal": ev.deal_id})
            continue
        if refund > held:
            run.warnings.append(_("%(ref)s: the refund %(refund)s is more than deal %(deal)s "
                                  "still holds (%(held)s): all that is left is reversed.")
                                % {"ref": ev.ref, "refund": money(refund), "deal": ev.deal_id,
                                   "held": money(held)})
            refund = held
        if held <= 0:
            continue
        share = (Decimal(refund) * 100 / Decimal(held)).quantize(Decimal("0.0001"),
                                                                 rounding=ROUND_HALF_UP)
        for entry in held_lines[ev.deal_id]:
            line_held = entry[6]
            if not line_held:
                continue
            back = _half_up(line_held * refund, held)
            entry[6] = line_held - back
            text = _("Refund %(refund)s of deal %(deal)s (it still held %(held)s): %(share)s%% "
                     "of this line's %(line)s reversed = %(result)s") % {
                "refund": money(refund), "deal": ev.deal_id, "held": money(held),
                "share": plain_number(share), "line": money(line_held),
                "result": money(-back)}
            run.lines.append(Line(entry[0], entry[1], entry[2], entry[3], entry[4], entry[5],
                                  line_held, None, None, share, -back, ev.ref, ev.deal_id,
                                  ev.ref, text))
        amounts[ev.deal_id] = held - refund


def _cap_lines(c: _Compiled, facts: Mapping[int, PersonFacts], month_ref: str,
               run: _Run) -> None:
    rule = c.rule
    capped = frozenset(rule.applies_to)
    totals: dict[int, int] = {}
    for line in run.lines:
        if line.kind in capped:
            totals[line.staff_id] = totals.get(line.staff_id, 0) + line.cents
    units = _units(rule.percent_of_base)
    for staff_id in sorted(totals):
        total = totals[staff_id]
        person = facts.get(staff_id)
        if person is None:
            if total > 0:
                run.warnings.append(_("Staff %(staff)s has no base salary: the monthly cap is "
                                      "not applied.") % {"staff": staff_id})
            continue
        salary = _cents(person.base_salary)
        cap = _half_up(salary * units, _UNIT)
        over = total - cap
        if over <= 0:
            continue
        text = _("Monthly cap: %(percent)s%% of the base salary %(salary)s = %(cap)s; capped "
                 "kinds total %(total)s: %(result)s") % {
            "percent": plain_number(rule.percent_of_base), "salary": money(salary),
            "cap": money(cap), "total": money(total), "result": money(-over)}
        run.lines.append(Line(staff_id, person.team_id, "cap", c.index, c.name, c.version,
                              total, rule.percent_of_base, cap, _HUNDRED, -over,
                              f"cap:{month_ref}", None, "", text))


def summarize(lines: Sequence[Line], people: Sequence[PersonFacts] = ()) -> list[PersonSummary]:
    """Per-person totals of `lines` (every person with lines or facts, by staff id): per kind
    (adjustments left out), commissions, bonuses, penalties, adjustments, cap and total — all
    sums of lines, so they equal the lines to the cent."""
    facts = {p.staff_id: p for p in people}
    acc: dict[int, list] = {}
    for line in lines:
        entry = acc.get(line.staff_id)
        if entry is None:
            entry = acc[line.staff_id] = [{}, 0, 0, line.team_id]
        if line.adjusts:
            entry[1] += line.cents
        else:
            kinds = entry[0]
            kinds[line.kind] = kinds.get(line.kind, 0) + line.cents
        entry[2] += 1
    for staff_id, person in facts.items():
        acc.setdefault(staff_id, [{}, 0, 0, person.team_id])
    out: list[PersonSummary] = []
    for staff_id in sorted(acc):
        kinds, adjustments, count, team = acc[staff_id]
        person = facts.get(staff_id)
        commissions = sum(kinds.get(k, 0) for k in COMMISSION_KINDS)
        bonuses = sum(kinds.get(k, 0) for k in BONUS_KINDS)
        penalties = kinds.get("penalty", 0)
        cap = kinds.get("cap", 0)
        total = commissions + bonuses + penalties + cap + adjustments
        out.append(PersonSummary(
            staff_id=staff_id, team_id=person.team_id if person is not None else team,
            base_salary=person.base_salary if person is not None else None,
            by_kind={k: _dec(v) for k, v in sorted(kinds.items())},
            commissions=_dec(commissions), bonuses=_dec(bonuses), penalties=_dec(penalties),
            adjustments=_dec(adjustments), cap=_dec(cap), total=_dec(total), lines=count))
    return out
