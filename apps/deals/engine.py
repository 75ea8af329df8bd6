"""The credit split engine (业绩分配): pure functions, no ORM, table-tested.

A deal's kind and participants (staff + deal role) go in, share lines come out:
``split(DealFacts, RuleSet) -> [ShareLine]``. Shares are Decimal; the percents (6 places) sum to
exactly 100 and the amounts to exactly the deal amount, to the cent (largest remainder: every
line first gets its exact share rounded down, the cents left over go to the lines with the
largest remainders, ties to the earlier line). Lines are ordered by role order, then staff id.

Rule set format (the JSON stored in ``CreditRuleSet.rules``; validated by ``parse_rules``)::

    {
      "role_order": ["closer", "lead", ...],          # optional: the order lines are listed in
      "kinds": {                                      # all four kinds are required
        "new":       {"rules": [RULE, ...], "fallback": ["consultant", ...]},
        "renewal":   {...}, "referral": {...}, "expansion": {...}
      }
    }

    RULE = {
      "role": "consultant",                           # a deal role code of the tenant
      "percent": "50",       OR   "rest": true,       # a percent of the deal, or all that is left
      "when": {                                       # optional conditions, all must hold
        "teacher_raised": false,                      #   the deal's "raised by the teacher" flag
        "with": ["teacher"],                          #   these roles take part in the deal
        "without": ["lead"]                           #   these roles do not
      },
      "label": "Consultant took part: half"           # optional, shown as the explanation
    }

How a deal is split (per kind):

1. The rules are applied in order. A rule applies when at least one participant has its role
   and its conditions hold. It hands out its percent of the deal (or, for ``rest``, all that is
   still unassigned), never more than is left; several participants with the role share it
   equally. Later rules only see what earlier rules left.
2. Whatever no rule handed out goes to the first ``fallback`` role that takes part (shared
   equally). If none does, it is spread over the shares already given, in proportion.
3. If nobody earned anything, ``NoCreditRule`` (a ValueError) says which roles could have.

Validation refuses unknown keys, unknown kinds, a rule with both or neither of percent/rest,
percents outside (0, 100] or with more than 6 decimals, and a kind whose percent rules that can
apply together (for the same ``teacher_raised``) add up to more than 100 %.

A staff member with two roles gets one line per role. Participants whose role no rule names
earn nothing. Labels are translated when they are English msgids (the presets in
apps.deals.rules); a hand-written label is shown as written. Explanations are written in the
site language (settings.LANGUAGE_CODE), whoever enters the deal: they are stored on the credit
lines. Error messages (NoCreditRule, describe_errors) use the active language.

Dispute decisions take precedence over the rules: ``split_fixed`` turns decided shares (or a
confiscation, one line with staff None) into lines the same way. ``reverse`` turns a refund
into negative lines proportional to what each line still holds, so successive partial refunds
that add up to the deal amount bring every line back to exactly zero.

Speed: a RuleSet compiles itself once; the outcome for a given kind, teacher_raised and
sequence of roles (a "shape": integer weights, percents and explanations) is cached on it, so a
call only sorts the participants and divides integer cents.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _django_gettext
from django.utils.translation import gettext_noop
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from apps.core.pydantic_errors import describe

from .rules import DEFAULT_ROLE_NAMES

__all__ = [
    "KINDS", "Participant", "DealFacts", "ShareLine", "Condition", "Rule", "KindRules", "Kinds",
    "RuleSet", "NoCreditRule", "parse_rules", "describe_errors", "describe_rules", "split",
    "split_fixed", "reverse", "allocate", "ValidationError",
]

KINDS: tuple[str, ...] = ("new", "renewal", "referral", "expansion")
PERCENT_PLACES = 6
_PERCENT_UNITS = 100 * 10 ** PERCENT_PLACES     # 100 % in millionths of a percent
_HUNDRED = Fraction(100)
_MAX_SHAPES = 4096                              # per kind; cleared when full
_EXPLANATION_MAX = 300                          # DealCredit.explanation max_length
ROLE_CODE_PATTERN = r"^[-a-zA-Z0-9_]{1,30}$"    # what a DealRole.code SlugField accepts


def _(message: str) -> str:
    """gettext that also works where Django settings are not configured (a bare benchmark)."""
    return _django_gettext(message) if settings.configured else message


def _site_language():
    """Explanations are written in the site language (settings.LANGUAGE_CODE), whoever enters
    the deal: they are stored on the credit lines and read by everyone in the tenant (and
    looking up the active language per call would cost more than the split itself)."""
    if settings.configured:
        return translation.override(settings.LANGUAGE_CODE)
    return nullcontext()


_KIND_NAMES = {
    "new": gettext_noop("New deal"), "renewal": gettext_noop("Renewal"),
    "referral": gettext_noop("Referral"), "expansion": gettext_noop("Course expansion"),
}


def _kind_name(kind: str) -> str:
    return _(_KIND_NAMES.get(kind, kind))


def _join(items) -> str:
    return _(", ").join(items)


def _role_name(code: str) -> str:
    name = DEFAULT_ROLE_NAMES.get(code)
    return str(name) if name is not None else code


# ---------------------------------------------------------------------------------------------
# Facts in, lines out
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Participant:
    staff_id: int
    role: str            # a DealRole code
    subject: str = ""


@dataclass(frozen=True, slots=True)
class DealFacts:
    kind: str            # new / renewal / referral / expansion
    amount: Decimal
    participants: tuple[Participant, ...]
    teacher_raised: bool = True


@dataclass(frozen=True, slots=True)
class ShareLine:
    staff_id: int | None     # None only for a confiscated share (业绩充公)
    role: str                # the role code ("" for a dispute share)
    percent: Decimal         # share of the deal, 6 places
    amount: Decimal          # 2 places; negative on a refund's reversal line
    explanation: str
    confiscated: bool = False


class NoCreditRule(ValueError):
    """Nobody taking part in the deal can earn its credit under the rules (or the rule set has
    no rules for the kind). `roles` are the role codes that could have earned it."""

    def __init__(self, message: str, *, kind: str = "", roles: Sequence[str] = ()):
        super().__init__(message)
        self.kind = kind
        self.roles = tuple(roles)


# ---------------------------------------------------------------------------------------------
# The rule set (validated data)
# ---------------------------------------------------------------------------------------------

class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    teacher_raised: bool | None = None
    with_roles: tuple[str, ...] = Field((), alias="with", max_length=20)
    without: tuple[str, ...] = Field((), max_length=20)

    @model_validator(mode="after")
    def _check(self):
        for code in (*self.with_roles, *self.without):
            if not re.match(ROLE_CODE_PATTERN, code):
                raise ValueError(_("“%(code)s” is not a role code (letters, digits, _ or -).")
                                 % {"code": code})
        both = sorted(set(self.with_roles) & set(self.without))
        if both:
            raise ValueError(_("A condition cannot require %(roles)s both present and absent.")
                             % {"roles": ", ".join(both)})
        return self

    def holds(self, present: Mapping[str, int], teacher_raised: bool) -> bool:
        if self.teacher_raised is not None and self.teacher_raised != teacher_raised:
            return False
        if any(not present.get(r) for r in self.with_roles):
            return False
        return not any(present.get(r) for r in self.without)


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: str = Field(pattern=ROLE_CODE_PATTERN)
    percent: Decimal | None = Field(None, gt=0, le=100, decimal_places=PERCENT_PLACES,
                                    allow_inf_nan=False)
    rest: bool = False
    when: Condition | None = None
    label: str = Field("", max_length=120)

    @model_validator(mode="after")
    def _one_share(self):
        if self.percent is not None and self.rest:
            raise ValueError(_("Give either a percent or “rest”: true, not both."))
        if self.percent is None and not self.rest:
            raise ValueError(_("Give a percent of the deal or “rest”: true."))
        return self


class KindRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: tuple[Rule, ...] = Field((), max_length=30)
    fallback: tuple[str, ...] = Field((), max_length=20)

    @model_validator(mode="after")
    def _check(self):
        for code in self.fallback:
            if not re.match(ROLE_CODE_PATTERN, code):
                raise ValueError(_("“%(code)s” is not a role code (letters, digits, _ or -).")
                                 % {"code": code})
        if not self.rules and not self.fallback:
            raise ValueError(_("Give at least one rule or a fallback role."))
        for raised in (True, False):
            total = sum((r.percent for r in self.rules if r.percent is not None
                         and (r.when is None or r.when.teacher_raised in (None, raised))),
                        Decimal(0))
            if total > 100:
                raise ValueError(
                    _("The percents of rules that can apply together add up to %(total)s%%, "
                      "more than 100%%.") % {"total": _fmt_decimal(total)})
        return self

    def role_codes(self) -> list[str]:
        codes: list[str] = []
        for rule in self.rules:
            codes.append(rule.role)
            if rule.when is not None:
                codes.extend(rule.when.with_roles)
                codes.extend(rule.when.without)
        codes.extend(self.fallback)
        return list(dict.fromkeys(codes))

    def earning_roles(self) -> list[str]:
        return list(dict.fromkeys([r.role for r in self.rules] + list(self.fallback)))


class Kinds(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    new: KindRules
    renewal: KindRules
    referral: KindRules
    expansion: KindRules


class RuleSet(BaseModel):
    """A validated credit rule set (the `CreditRuleSet.rules` JSON). Immutable; compiled once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role_order: tuple[str, ...] = Field((), max_length=50)
    kinds: Kinds

    @model_validator(mode="after")
    def _check(self):
        for code in self.role_order:
            if not re.match(ROLE_CODE_PATTERN, code):
                raise ValueError(_("“%(code)s” is not a role code (letters, digits, _ or -).")
                                 % {"code": code})
        if len(set(self.role_order)) != len(self.role_order):
            raise ValueError(_("A role is listed twice in role_order."))
        return self

    def model_post_init(self, context: Any) -> None:
        # A plain instance attribute (not a pydantic private one: those cost a __getattr__
        # call on every split). Not a field: never dumped, never validated.
        object.__setattr__(self, "_compiled", {
            kind: _CompiledKind(kind, getattr(self.kinds, kind), self.role_order)
            for kind in KINDS})

    def kind(self, kind: str) -> KindRules:
        return getattr(self.kinds, kind)

    def role_codes(self) -> list[str]:
        """Every role code the rule set mentions (rules, conditions, fallbacks, role_order)."""
        codes: list[str] = []
        for kind in KINDS:
            codes.extend(self.kind(kind).role_codes())
        codes.extend(self.role_order)
        return list(dict.fromkeys(codes))


def parse_rules(data: Any) -> RuleSet:
    """Validate rule set data (a dict, e.g. the JSON of a CreditRuleSet). Raises
    pydantic.ValidationError; `describe_errors(exc)` turns it into readable messages."""
    if isinstance(data, RuleSet):
        return data
    return RuleSet.model_validate(data)


#: Messages the shared table (apps.core.pydantic_errors.MESSAGES) does not have.
_EXTRA_MESSAGES = {
    "string_pattern_mismatch": gettext_noop("Must be a role code (letters, digits, _ or -)."),
}


def _loc_text(loc: Sequence[Any]) -> str:
    parts: list[str] = []
    items = list(loc)
    i = 0
    while i < len(items):
        item = items[i]
        if item == "kinds" and i + 1 < len(items) and items[i + 1] in KINDS:
            parts.append(_kind_name(items[i + 1]))
            i += 2
            continue
        if item in ("rules", "fallback", "role_order", "with", "without") and i + 1 < len(items) \
                and isinstance(items[i + 1], int):
            if item == "rules":
                parts.append(_("rule %(n)s") % {"n": items[i + 1] + 1})
            else:
                parts.append(f"{item}[{items[i + 1] + 1}]")
            i += 2
            continue
        parts.append(str(item))
        i += 1
    return " › ".join(parts)


def describe_errors(exc: ValidationError) -> list[str]:
    """Readable (translated) messages for a rule set's validation errors, one per problem,
    each prefixed with where it is (e.g. "续费 › 规则 2 › percent: 最多 100。")."""
    return describe(exc, loc_text=_loc_text, extra=_EXTRA_MESSAGES, number=_fmt_decimal)


def describe_rules(rules: RuleSet) -> dict[str, list[str]]:
    """The rules as readable sentences per kind (for the rule set page)."""
    out: dict[str, list[str]] = {}
    for kind in KINDS:
        kr = rules.kind(kind)
        lines: list[str] = []
        for n, rule in enumerate(kr.rules, start=1):
            share = (_("the rest") if rule.rest
                     else _("%(percent)s%% of the deal") % {"percent": _fmt_decimal(rule.percent)})
            text = _("%(n)s. %(role)s: %(share)s") % {"n": n, "role": _role_name(rule.role),
                                                      "share": share}
            conds = []
            if rule.when is not None:
                if rule.when.teacher_raised is True:
                    conds.append(_("the teacher raised it"))
                elif rule.when.teacher_raised is False:
                    conds.append(_("the teacher did not raise it"))
                if rule.when.with_roles:
                    conds.append(_("with %(roles)s") % {
                        "roles": _join(_role_name(r) for r in rule.when.with_roles)})
                if rule.when.without:
                    conds.append(_("without %(roles)s") % {
                        "roles": _join(_role_name(r) for r in rule.when.without)})
            if conds:
                text += _(" (when %(conditions)s)") % {"conditions": "; ".join(conds)}
            if rule.label:
                text += " — " + _(rule.label)
            lines.append(text)
        if kr.fallback:
            lines.append(_("Anything left goes to: %(roles)s") % {
                "roles": " → ".join(_role_name(r) for r in kr.fallback)})
        lines.append(_("Otherwise what is left is spread over the shares in proportion."))
        out[kind] = lines
    return out


# ---------------------------------------------------------------------------------------------
# Arithmetic
# ---------------------------------------------------------------------------------------------

def _fmt_decimal(value: Decimal | Fraction | int) -> str:
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    value = Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP).normalize()
    return format(value, "f")


def _largest_remainder(total: int, weights: Sequence[int], wsum: int) -> list[int]:
    """Split the integer `total` (≥ 0) over integer weights: floors first, then one unit each
    to the largest remainders, ties to the earlier index. Zero weights get nothing."""
    out: list[int] = []
    rems: list[tuple[int, int]] = []
    given = 0
    for i, w in enumerate(weights):
        q, r = divmod(total * w, wsum)
        out.append(q)
        given += q
        if r:
            rems.append((-r, i))
    left = total - given
    if left:
        rems.sort()
        for k in range(left):
            out[rems[k][1]] += 1
    return out


def _units(value: Decimal, places: int, what: str) -> int:
    """`value` as an integer number of 10**-places units, rounded half-up."""
    if type(value) is not Decimal:
        try:
            value = Decimal(str(value))
        except InvalidOperation:
            raise ValueError(_("%(what)s must be a number.") % {"what": what}) from None
    if not value.is_finite():
        raise ValueError(_("%(what)s must be a number.") % {"what": what})
    scaled = value.scaleb(places)
    if scaled != scaled.to_integral_value():
        scaled = scaled.to_integral_value(rounding=ROUND_HALF_UP)
    return int(scaled)


def _int_weights(weights: Sequence[Decimal | Fraction | int]) -> tuple[list[int], int]:
    fr = [w if isinstance(w, Fraction) else Fraction(w) for w in weights]
    if any(w < 0 for w in fr):
        raise ValueError(_("Weights cannot be negative."))
    den = 1
    for w in fr:
        den = den * w.denominator // math.gcd(den, w.denominator)
    ints = [int(w * den) for w in fr]
    total = sum(ints)
    if total <= 0:
        raise ValueError(_("At least one weight must be more than zero."))
    return ints, total


def allocate(total: Decimal, weights: Sequence[Decimal], *, places: int = 2) -> list[Decimal]:
    """Split `total` (rounded half-up to `places` decimals) in proportion to `weights`, exactly:
    the parts sum to the total. Largest remainder; ties go to the earlier weight.
    A negative total gives negative parts."""
    units = _units(total, places, "total")
    ints, wsum = _int_weights(weights)
    sign = -1 if units < 0 else 1
    parts = _largest_remainder(abs(units), ints, wsum)
    return [Decimal(sign * p).scaleb(-places) for p in parts]


# ---------------------------------------------------------------------------------------------
# Compiled rules and shapes
# ---------------------------------------------------------------------------------------------

class _Shape:
    """The split of one kind for one sequence of (sorted) participant roles."""

    __slots__ = ("weights", "wsum", "percents", "explanations", "earning")

    def __init__(self, weights, wsum, percents, explanations, earning):
        self.weights = weights            # int per participant position (0 = earns nothing)
        self.wsum = wsum
        self.percents = percents          # Decimal per position (None where weight 0)
        self.explanations = explanations  # str per position
        self.earning = earning            # positions that get a line


class _CompiledKind:
    __slots__ = ("kind", "rules", "rank", "uses_teacher_raised", "earning_roles", "shapes")

    def __init__(self, kind: str, rules: KindRules, role_order: Sequence[str]):
        self.kind = kind
        self.rules = rules
        order = {code: i for i, code in enumerate(role_order)}
        base = len(order)
        self.rank: dict[str, int] = {}
        for i, code in enumerate(rules.role_codes()):
            self.rank[code] = order.get(code, base + i)
        self.uses_teacher_raised = any(r.when is not None and r.when.teacher_raised is not None
                                       for r in rules.rules)
        self.earning_roles = rules.earning_roles()
        self.shapes: dict[tuple, _Shape] = {}

    def no_credit(self) -> NoCreditRule:
        names = _join(_role_name(r) for r in self.earning_roles)
        return NoCreditRule(
            _("Nobody in this deal can earn the credit of a “%(kind)s” deal: add a participant "
              "with one of these roles: %(roles)s.") % {"kind": _kind_name(self.kind),
                                                         "roles": names},
            kind=self.kind, roles=self.earning_roles)

    def shape(self, roles: tuple[str, ...], teacher_raised: bool) -> _Shape | None:
        """The split for this sequence of roles, or None when nobody can earn it."""
        present: dict[str, int] = {}
        for r in roles:
            present[r] = present.get(r, 0) + 1
        remaining = _HUNDRED
        per_role: dict[str, Fraction] = {}
        notes: dict[str, list[str]] = {}
        for n, rule in enumerate(self.rules.rules, start=1):
            count = present.get(rule.role)
            if not count or remaining <= 0:
                continue
            if rule.when is not None and not rule.when.holds(present, teacher_raised):
                continue
            share = remaining if rule.rest else min(Fraction(rule.percent), remaining)
            remaining -= share
            per_role[rule.role] = per_role.get(rule.role, Fraction(0)) + share
            label = _(rule.label) if rule.label else (
                _("Rule %(n)s (%(role)s)") % {"n": n, "role": _role_name(rule.role)})
            notes.setdefault(rule.role, []).append(_with_share(label, share, count))
        if remaining > 0:
            for role in self.rules.fallback:
                count = present.get(role)
                if count:
                    per_role[role] = per_role.get(role, Fraction(0)) + remaining
                    notes.setdefault(role, []).append(_with_share(
                        _("What no rule gave out goes to the fallback role %(role)s")
                        % {"role": _role_name(role)}, remaining, count))
                    remaining = Fraction(0)
                    break
        if remaining > 0:
            given = _HUNDRED - remaining
            if given <= 0:
                return None
            scale = _HUNDRED / given
            for role in per_role:
                per_role[role] *= scale
                notes[role].append(_("the unassigned %(percent)s%% spread over the shares in "
                                     "proportion") % {"percent": _fmt_decimal(remaining)})
        per_person = {role: share / present[role] for role, share in per_role.items() if share}
        if not per_person:
            return None
        fr = [per_person.get(r, Fraction(0)) for r in roles]
        ints, wsum = _int_weights(fr)
        pct_units = _largest_remainder(_PERCENT_UNITS, ints, wsum)
        explanations = {role: "; ".join(texts)[:_EXPLANATION_MAX] for role, texts in notes.items()}
        percents = [Decimal(u).scaleb(-PERCENT_PLACES) if w else None
                    for u, w in zip(pct_units, ints, strict=True)]
        earning = tuple(i for i, w in enumerate(ints) if w)
        return _Shape(ints, wsum, percents,
                      [explanations.get(r, "") for r in roles], earning)


def _with_share(label: str, share: Fraction, count: int) -> str:
    if count > 1:
        return _("%(label)s (%(percent)s%% of the deal, shared equally by %(count)s)") % {
            "label": label, "percent": _fmt_decimal(share), "count": count}
    return _("%(label)s (%(percent)s%% of the deal)") % {
        "label": label, "percent": _fmt_decimal(share)}


# ---------------------------------------------------------------------------------------------
# The public calls
# ---------------------------------------------------------------------------------------------

def split(facts: DealFacts, rules: RuleSet) -> list[ShareLine]:
    """Who earns how much of a deal under `rules`. Raises NoCreditRule (a ValueError) when no
    participant can earn it, ValueError for an unknown kind or a negative amount."""
    ck = rules._compiled.get(facts.kind)
    if ck is None:
        raise NoCreditRule(_("Unknown deal kind “%(kind)s”.") % {"kind": facts.kind},
                           kind=facts.kind)
    cents = _units(facts.amount, 2, "amount")
    if cents < 0:
        raise ValueError(_("The amount cannot be negative."))
    rank = ck.rank
    items = []
    for p in facts.participants:
        r = rank.get(p.role)
        if r is not None:
            items.append((r, p.staff_id, p.role))
    if not items:
        raise ck.no_credit()
    items.sort()
    if len(items) > 1:
        deduped = [items[0]]
        for it in items[1:]:
            if it != deduped[-1]:
                deduped.append(it)
        items = deduped
    roles = tuple(it[2] for it in items)
    raised = bool(facts.teacher_raised) if ck.uses_teacher_raised else True
    key = (raised, roles)
    shape = ck.shapes.get(key)
    if shape is None:
        with _site_language():
            shape = ck.shape(roles, raised)
        if shape is None:
            raise ck.no_credit()
        if len(ck.shapes) >= _MAX_SHAPES:
            ck.shapes.clear()
        ck.shapes[key] = shape
    amounts = _largest_remainder(cents, shape.weights, shape.wsum)
    percents = shape.percents
    expl = shape.explanations
    return [ShareLine(items[i][1], roles[i], percents[i], Decimal(amounts[i]).scaleb(-2), expl[i])
            for i in shape.earning]


def split_fixed(amount: Decimal, shares: Mapping[int, Decimal], *, confiscated: bool = False,
                explanation: str = "", role: str = "") -> list[ShareLine]:
    """Lines from shares decided in a dispute (they take precedence over the rules).

    `shares` maps staff id → percent (must add up to 100). With `confiscated` the whole deal
    is one confiscated line with staff None (业绩充公) and `shares` is ignored. Lines are
    ordered by staff id; percents are re-spread to 6 places so they sum to exactly 100."""
    cents = _units(amount, 2, "amount")
    if cents < 0:
        raise ValueError(_("The amount cannot be negative."))
    if confiscated:
        return [ShareLine(None, role, Decimal(_PERCENT_UNITS).scaleb(-PERCENT_PLACES),
                          Decimal(cents).scaleb(-2),
                          explanation or _("Credit confiscated by a dispute decision"),
                          confiscated=True)]
    if not shares:
        raise ValueError(_("A dispute split needs at least one share."))
    staff = sorted(shares)
    weights: list[Decimal] = []
    for sid in staff:
        pct = shares[sid]
        pct = pct if isinstance(pct, Decimal) else Decimal(str(pct))
        if not pct.is_finite() or pct <= 0:
            raise ValueError(_("Every share must be more than zero."))
        weights.append(pct)
    total = sum(weights, Decimal(0))
    if abs(total - 100) > Decimal("0.0001"):
        raise ValueError(_("The shares add up to %(total)s%%, not 100%%.")
                         % {"total": _fmt_decimal(total)})
    ints, wsum = _int_weights(weights)
    pct_units = _largest_remainder(_PERCENT_UNITS, ints, wsum)
    amounts = _largest_remainder(cents, ints, wsum)
    text = (explanation or _("Share decided in a dispute"))[:_EXPLANATION_MAX]
    return [ShareLine(sid, role, Decimal(u).scaleb(-PERCENT_PLACES), Decimal(a).scaleb(-2), text)
            for sid, u, a in zip(staff, pct_units, amounts, strict=True)]


def reverse(lines: Sequence[ShareLine], refund_amount: Decimal,
            already_reversed: Mapping[tuple[int | None, str], Decimal] | None = None,
            *, explanation: str = "") -> list[ShareLine]:
    """The negative lines that reverse a refund of `refund_amount` out of the share `lines`.

    `lines` are the deal's share lines (positive amounts, one per (staff_id, role)).
    `already_reversed` maps (staff_id, role) → what earlier refunds already took back from that
    line (the sum of its reversal lines; the sign is ignored). The refund is spread in
    proportion to what each line still holds (largest remainder, to the cent), so refunds adding
    up to the deal amount bring every line back to exactly zero. Lines that lose nothing are
    left out; a reversal line keeps the original line's (positive) percent. Raises ValueError
    when the refund is not positive or is more than what the lines still hold."""
    already_reversed = already_reversed or {}
    refund = _units(refund_amount, 2, "refund")
    if refund <= 0:
        raise ValueError(_("The refund must be more than zero."))
    remaining: list[int] = []
    for line in lines:
        held = _units(line.amount, 2, "amount")
        if held < 0:
            raise ValueError(_("Pass the share lines, not reversal lines."))
        back = abs(_units(already_reversed.get((line.staff_id, line.role), Decimal(0)), 2,
                          "already reversed"))
        if back > held:
            raise ValueError(_("More was reversed from a share than it held."))
        remaining.append(held - back)
    left = sum(remaining)
    if refund > left:
        raise ValueError(_("The refund (%(refund)s) is more than what remains (%(left)s).") % {
            "refund": Decimal(refund).scaleb(-2), "left": Decimal(left).scaleb(-2)})
    parts = _largest_remainder(refund, remaining, left)
    text = (explanation or _("Refund of %(amount)s, reversed in proportion")
            % {"amount": Decimal(refund).scaleb(-2)})[:_EXPLANATION_MAX]
    return [ShareLine(line.staff_id, line.role, line.percent, Decimal(-part).scaleb(-2), text,
                      line.confiscated)
            for line, part in zip(lines, parts, strict=True) if part]
