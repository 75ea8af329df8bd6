"""The dispute state machine, who may take each step, the split checks and the default rules.

Pure: no ORM, no request. The services ask these questions about a dispute they locked; the
pages and the API ask the same ones to show only the actions a viewer may take.

Parties are named by their *side*: "owner" (the salesperson who held the customer when the
dispute was opened) and "claimant" (the one who met the customer inside the protection window).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext_lazy as _

from apps.core.i18n import lazy_format

# Statuses (the values of apps.disputes.models.Dispute.Status, repeated here to stay pure).
OPEN, PROPOSED, APPROVED, DECIDED, ESCALATED, WITHDRAWN = (
    "open", "proposed", "approved", "decided", "escalated", "withdrawn")
ACTIVE = (OPEN, PROPOSED, ESCALATED)
CLOSED = (APPROVED, DECIDED, WITHDRAWN)

# Outcomes (Dispute.Outcome values).
AWARD_OWNER, AWARD_CLAIMANT, SPLIT, CONFISCATE = "award_owner", "award_claimant", "split", "confiscate"
OUTCOMES = (AWARD_OWNER, AWARD_CLAIMANT, SPLIT, CONFISCATE)

# Sides and the viewer's relations to a dispute.
OWNER, CLAIMANT = "owner", "claimant"
SIDES = (OWNER, CLAIMANT)
#: The relations a staff member can have to a dispute (see `may`).
#: "proposer": the party who proposed the pending split; "manager": a manager of the dispute's
#: team who is not a party; "admin": a tenant administrator who is not a party.
PROPOSER, MANAGER, ADMIN = "proposer", "manager", "admin"

# Actions.
PROPOSE, REJECT, APPROVE, DECIDE, ESCALATE, WITHDRAW, EVIDENCE = (
    "propose", "reject", "approve", "decide", "escalate", "withdraw", "evidence")

#: action -> {from status: to status}. Anything not listed is refused.
TRANSITIONS: dict[str, dict[str, str]] = {
    PROPOSE: {OPEN: PROPOSED},
    REJECT: {PROPOSED: OPEN},
    APPROVE: {PROPOSED: APPROVED},
    DECIDE: {OPEN: DECIDED, PROPOSED: DECIDED, ESCALATED: DECIDED},
    ESCALATE: {OPEN: ESCALATED, PROPOSED: ESCALATED},
    WITHDRAW: {OPEN: WITHDRAWN, PROPOSED: WITHDRAWN},
}

#: action -> {from status: the relations that may take it}. "other_party" = a party who is not
#: the proposer. Administrators judge everything; managers all but what went to the company.
ACTORS: dict[str, dict[str, frozenset[str]]] = {
    PROPOSE: {OPEN: frozenset({OWNER, CLAIMANT})},
    REJECT: {PROPOSED: frozenset({"other_party"})},
    APPROVE: {PROPOSED: frozenset({MANAGER, ADMIN})},
    DECIDE: {OPEN: frozenset({MANAGER, ADMIN}), PROPOSED: frozenset({MANAGER, ADMIN}),
             ESCALATED: frozenset({ADMIN})},
    ESCALATE: {OPEN: frozenset({OWNER, CLAIMANT, MANAGER}),
               PROPOSED: frozenset({OWNER, CLAIMANT, MANAGER})},
    WITHDRAW: {OPEN: frozenset({CLAIMANT}), PROPOSED: frozenset({CLAIMANT})},
    # Not a transition: attaching evidence while the dispute is alive.
    EVIDENCE: {status: frozenset({OWNER, CLAIMANT, MANAGER, ADMIN}) for status in ACTIVE},
}

STATUS_LABELS = {
    OPEN: _("Open"), PROPOSED: _("Split proposed"), APPROVED: _("Approved"),
    DECIDED: _("Decided"), ESCALATED: _("Escalated"), WITHDRAWN: _("Withdrawn"),
}

#: What a step is refused with when the dispute is already closed, per action.
CLOSED_MESSAGES = {
    PROPOSE: _("This dispute is already closed (%(status)s): no split can be proposed any more."),
    REJECT: _("This dispute is already closed (%(status)s): there is no proposal to reject."),
    APPROVE: _("This dispute is already closed (%(status)s) and cannot be approved again."),
    DECIDE: _("This dispute has already been dealt with (%(status)s) and cannot be decided again."),
    ESCALATE: _("This dispute is already closed (%(status)s) and cannot be escalated."),
    WITHDRAW: _("This dispute is already closed (%(status)s) and cannot be withdrawn."),
    EVIDENCE: _("This dispute is already closed (%(status)s): no more evidence can be added."),
}

#: (action, status) -> the refusal of a step the state machine does not allow from an active status.
STATE_MESSAGES = {
    (PROPOSE, PROPOSED): _("A split has already been proposed: the other party must reject it "
                           "before a new one can be proposed."),
    (PROPOSE, ESCALATED): _("This dispute has been escalated to the company: only an "
                            "administrator can decide it now."),
    (REJECT, OPEN): _("There is no proposed split to reject."),
    (REJECT, ESCALATED): _("There is no proposed split to reject."),
    (APPROVE, OPEN): _("There is no agreed split to approve: the parties have not proposed one."),
    (APPROVE, ESCALATED): _("This dispute has been escalated to the company: only an "
                            "administrator can decide it now."),
    (ESCALATE, ESCALATED): _("This dispute has already been escalated to the company."),
    (WITHDRAW, ESCALATED): _("An escalated dispute can no longer be withdrawn."),
}

#: The refusal of a step by someone whose relation to the dispute does not allow it.
ROLE_MESSAGES = {
    PROPOSE: _("Only the two parties can propose a split."),
    REJECT: _("Only the other party can reject the proposed split."),
    APPROVE: _("Only a manager of the dispute's team or an administrator can approve a split."),
    DECIDE: _("Only a manager of the dispute's team or an administrator can decide a dispute."),
    ESCALATE: _("Only a party or the team's manager can escalate a dispute."),
    WITHDRAW: _("Only the claimant can withdraw a dispute."),
    EVIDENCE: _("Only the parties, the team's manager or an administrator can add evidence."),
}
ESCALATED_DECIDE_MESSAGE = _("This dispute has been escalated to the company: only an "
                             "administrator can decide it.")


def transition_error(action: str, status: str):
    """The message refusing `action` from `status`, or None when the state machine allows it."""
    if action == EVIDENCE:
        allowed = status in ACTIVE
    else:
        allowed = status in TRANSITIONS[action]
    if allowed:
        return None
    if status in CLOSED:
        return lazy_format(CLOSED_MESSAGES[action], {"status": STATUS_LABELS[status]})
    return STATE_MESSAGES.get((action, status),
                              _("This step is not possible in the dispute's current state."))


def may(action: str, status: str, relations: frozenset[str] | set[str]) -> bool:
    """Whether someone with `relations` to a dispute in `status` may take `action`
    (only who: whether the state machine allows it is `transition_error`)."""
    allowed = ACTORS.get(action, {}).get(status, frozenset())
    if "other_party" in allowed:
        party = bool(relations & {OWNER, CLAIMANT})
        if party and PROPOSER not in relations:
            return True
    return bool(allowed & set(relations))


def role_error(action: str, status: str, relations: frozenset[str] | set[str]):
    """The message refusing `action` to someone with `relations`, or None if they may."""
    if may(action, status, relations):
        return None
    if action == DECIDE and status == ESCALATED and MANAGER in relations:
        return ESCALATED_DECIDE_MESSAGE
    return ROLE_MESSAGES[action]


def next_status(action: str, status: str) -> str:
    return TRANSITIONS[action][status]


# --------------------------------------------------------------------------- splits

HUNDRED = Decimal("100")
CENT = Decimal("0.01")


def parse_percent(value) -> Decimal | None:
    """A percentage as Decimal (two decimals at most), or None if it is not a number."""
    if isinstance(value, float):
        value = repr(value)
    try:
        d = Decimal(str(value).strip().rstrip("%"))
    except (InvalidOperation, ValueError, TypeError):
        return None
    if not d.is_finite() or d != d.quantize(CENT):
        return None
    return d


def split_errors(shares: Mapping[str, object]) -> list:
    """What is wrong with a split given per side ({"owner": 50, "claimant": 50}), [] if nothing.

    Every percentage a number with at most two decimals, none negative, none above 100, only the
    two sides, and together exactly 100."""
    errors = []
    unknown = [k for k in shares if k not in SIDES]
    if unknown:
        errors.append(_("Only the two parties can share the credit."))
    values = {}
    for side, raw in shares.items():
        d = parse_percent(raw)
        if d is None:
            errors.append(_("Each share must be a percentage with at most two decimals."))
            return errors
        values[side] = d
    if any(v < 0 for v in values.values()):
        errors.append(_("A share cannot be negative."))
    elif any(v > HUNDRED for v in values.values()):
        errors.append(_("A share cannot be more than 100%."))
    if not values:
        errors.append(_("Enter the share of each party."))
    elif sum(values.values(), Decimal("0")) != HUNDRED:
        errors.append(lazy_format(
            _("The shares must add up to exactly 100%% (they add up to %(total)s%%)."),
            {"total": _fmt(sum(values.values(), Decimal("0")))}))
    return errors


def _fmt(d: Decimal) -> str:
    return format(d.quantize(CENT).normalize(), "f")


def outcome_for_split(shares: Mapping[str, Decimal]) -> str:
    """An agreed split as an outcome: 100 % to one side is an award, anything else a split."""
    if shares.get(OWNER, 0) == HUNDRED:
        return AWARD_OWNER
    if shares.get(CLAIMANT, 0) == HUNDRED:
        return AWARD_CLAIMANT
    return SPLIT


def shares_for(outcome: str, split: Mapping[str, Decimal] | None = None) -> dict[str, Decimal]:
    """The credit per side an outcome gives ({} for confiscation: nobody earns it)."""
    if outcome == AWARD_OWNER:
        return {OWNER: HUNDRED, CLAIMANT: Decimal("0")}
    if outcome == AWARD_CLAIMANT:
        return {OWNER: Decimal("0"), CLAIMANT: HUNDRED}
    if outcome == SPLIT:
        return {side: Decimal(str(split[side])) for side in SIDES if side in (split or {})}
    return {}


def record_owner_side(outcome: str, decided_owner: str | None) -> str | None:
    """Who keeps the customer record: the winner of an award, else `decided_owner`; None: the
    record stays where it is (with the customer's current owner)."""
    if outcome == AWARD_OWNER:
        return OWNER
    if outcome == AWARD_CLAIMANT:
        return CLAIMANT
    return decided_owner or None


# --------------------------------------------------------------------------- default rules

#: Rule parameters and what they hold.
WINNER = "winner"      # "owner" | "claimant": the side the manager picks
REVISIT = "revisit"    # "within" | "after": the second visit came within / after 30 days
UNITS = "units"        # int: units bought by the enterprise
REVISIT_WITHIN, REVISIT_AFTER = "within", "after"
GROUP_MIN_UNITS = 5


@dataclass(frozen=True)
class DefaultRule:
    """A rule of 客户确认规范 a manager can apply: it fixes the decision (outcome, split, who
    keeps the record) from at most one parameter the manager enters."""

    code: str
    label: object            # Chinese label (lazy)
    help: object             # what it means, shown under the picker
    outcome: str | None      # None: depends on the parameter
    split: dict = field(default_factory=dict)      # side -> percent, for SPLIT
    record_owner: str = OWNER
    param: str | None = None  # WINNER / REVISIT / UNITS
    requires_evidence: bool = False


DEFAULT_RULES: dict[str, DefaultRule] = {r.code: r for r in [
    DefaultRule(
        "relatives_first_visit", _("Relatives registered separately: first visit wins"),
        _("A spouse, parent or child registered separately by another salesperson: the first "
          "visit decides, the customer and the credit go to whoever registered first (the owner)."),
        AWARD_OWNER),
    DefaultRule(
        "relatives_after_deal", _("Relatives found only after the deal: 50/50"),
        _("The relationship was found only after the deal: the credit goes to the original "
          "owner, the bonus is shared 50/50; the owner keeps the customer."),
        SPLIT, {OWNER: Decimal("50"), CLAIMANT: Decimal("50")}),
    DefaultRule(
        "contact_evidence", _("Contacted by A, closed by B: 50/50 with evidence"),
        _("A family member or friend contacted by the owner was closed by the claimant: credit "
          "to the owner, bonus 50/50. The owner's contact evidence must be attached."),
        SPLIT, {OWNER: Decimal("50"), CLAIMANT: Decimal("50")}, requires_evidence=True),
    DefaultRule(
        "complaint_reassigned", _("Complaint and reassignment: 20/80, original/closer"),
        _("The customer complained and was reassigned: 20% to the original salesperson (the "
          "owner), 80% to the one who closed (the claimant)."),
        SPLIT, {OWNER: Decimal("20"), CLAIMANT: Decimal("80")}),
    DefaultRule(
        "group_purchase", _("Group purchase (5 units or more): shared equally"),
        _("An enterprise buying 5 or more units: the salespeople share the credit equally. "
          "Enter the number of units."),
        SPLIT, {OWNER: Decimal("50"), CLAIMANT: Decimal("50")}, param=UNITS),
    DefaultRule(
        "earlier_old_customer_deal", _("Two old customers bring one: the earlier deal wins"),
        _("Old customers of different salespeople brought the same new customer: the "
          "salesperson whose old customer's own deal is earlier wins. Pick that salesperson."),
        None, param=WINNER),
    DefaultRule(
        "named_salesperson", _("The old customer named the salesperson"),
        _("An old customer brought the new one and named a salesperson: the customer belongs "
          "to the one named, present or not. Pick that salesperson."),
        None, param=WINNER),
    DefaultRule(
        "revisit_30_days", _("Second visit, nobody recognised: 30-day rule"),
        _("Neither the salesperson nor the customer recognised each other: a second visit "
          "within 30 days of the first belongs to the first receptionist (the owner), after 30 "
          "days to the one on duty (the claimant). Pick which applies."),
        None, param=REVISIT),
]}

PARAM_LABELS = {
    WINNER: _("Side the rule favours"),
    REVISIT: _("When was the second visit?"),
    UNITS: _("Units bought"),
}
REVISIT_LABELS = {REVISIT_WITHIN: _("Within 30 days of the first visit"),
                  REVISIT_AFTER: _("More than 30 days after the first visit")}


@dataclass(frozen=True)
class RuleDecision:
    outcome: str
    shares: dict[str, Decimal]   # per side ({} for confiscation)
    record_owner: str | None     # side; None: the record stays where it is
    params: dict                 # what the manager entered, to record


def rule_decision(code: str, params: Mapping[str, object] | None = None, *,
                  evidence_count: int = 0) -> tuple[RuleDecision | None, dict[str, list]]:
    """The decision the default rule `code` prescribes, or (None, {field: [messages]})."""
    params = dict(params or {})
    rule = DEFAULT_RULES.get(code)
    if rule is None:
        return None, {"rule": [_("Unknown rule.")]}
    errors: dict[str, list] = {}
    recorded: dict = {}
    outcome, split, record_owner = rule.outcome, dict(rule.split), rule.record_owner
    if rule.param == UNITS:
        units = params.get(UNITS)
        try:
            units = int(units) if units not in (None, "") else None
        except (TypeError, ValueError):
            units = None
        if units is None:
            errors[UNITS] = [_("Enter the number of units bought.")]
        elif units < GROUP_MIN_UNITS:
            errors[UNITS] = [lazy_format(
                _("A group purchase needs at least %(min)s units (%(units)s entered)."),
                {"min": GROUP_MIN_UNITS, "units": units})]
        else:
            recorded[UNITS] = units
    elif rule.param == WINNER:
        winner = params.get(WINNER)
        if winner not in SIDES:
            errors[WINNER] = [_("Pick the salesperson the rule favours.")]
        else:
            recorded[WINNER] = winner
            outcome = AWARD_OWNER if winner == OWNER else AWARD_CLAIMANT
    elif rule.param == REVISIT:
        revisit = params.get(REVISIT)
        if revisit not in (REVISIT_WITHIN, REVISIT_AFTER):
            errors[REVISIT] = [_("Say whether the second visit came within 30 days.")]
        else:
            recorded[REVISIT] = revisit
            outcome = AWARD_OWNER if revisit == REVISIT_WITHIN else AWARD_CLAIMANT
    if rule.requires_evidence and evidence_count < 1:
        errors["rule"] = [_("This rule needs the owner's contact evidence: attach it to the "
                            "dispute first.")]
    if errors:
        return None, errors
    assert outcome is not None
    return RuleDecision(outcome=outcome, shares=shares_for(outcome, split),
                        record_owner=record_owner_side(outcome, record_owner),
                        params=recorded), {}


def rule_choices() -> list[tuple[str, object]]:
    return [(r.code, r.label) for r in DEFAULT_RULES.values()]


OUTCOME_LABELS = {
    AWARD_OWNER: _("Award to the current owner"),
    AWARD_CLAIMANT: _("Award to the claimant"),
    SPLIT: _("Split by percentage"),
    CONFISCATE: _("Confiscate (nobody earns credit)"),
}
