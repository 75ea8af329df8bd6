"""Walk-in routing (轮接) as a pure function: the day's sign-ins and the facts about the visitor
in, a `Route` out. No ORM, so every rule is table-testable (tests/rotation/test_rules.py).

The rules (客户确认规范 (一)2–5, (一)14, (二)3–4, (二)6–7; DOMAIN.md §2), in the order they
are tried:

1. **Return visit within the revisit window** — a registered customer with an owner, seen (last
   visit, or the day the current owner got them, whichever is later) at most
   `revisit_window_days` ago: the owner keeps them (以第一接访人为确认原则, (二)5–6), whoever they
   ask for or came with. Owner absent: the next on duty receives them as a courtesy reception.
2. **Old customer brings a new one (老带新)** — the customer belongs to the old customer's
   salesperson, present or not ((二)4); absent: courtesy reception by the next on duty.
3. **Named salesperson** — the customer goes to the salesperson they ask for ((一)2, (一)4,
   (二)3); absent: courtesy reception by the next on duty, recorded.
4. **Natural customer (自然客户)** — a registered customer past the revisit window who names
   nobody ((一)14, (二)6): the next in rotation receives them and becomes the owner.
5. **New visitor or public pool** — the next in rotation, who becomes the owner ((一)3, (二)7).

Next in rotation: the *present* sign-in that has waited longest — never served first, then the
oldest `last_served_at`, ties by sign-in position. Someone away (or signed out) is skipped and,
since their `last_served_at` does not move, keeps their turn for when they are back ((一)3).
Only a rotation assignment (rules 4–5) consumes the turn; a courtesy reception does not.
Nobody present: `NobodyOnDuty`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.ownership.rules import DEFAULT_POLICY, PolicyRules, within_revisit_window

PRESENT = "present"
AWAY = "away"
SIGNED_OUT = "signed_out"


class RouteCode:
    """How a walk-in was routed (stored on `Visit.route`, at most 30 characters)."""

    REVISIT_OWNER = "revisit_owner"
    REVISIT_OWNER_COURTESY = "revisit_owner_courtesy"
    REFERRAL = "referral"
    REFERRAL_COURTESY = "referral_courtesy"
    NAMED = "named"
    NAMED_COURTESY = "named_courtesy"
    NATURAL = "natural"
    ROTATION = "rotation"
    ROTATION_POOL = "rotation_pool"


#: Route code -> the explanation shown on the board and stored as the ownership note.
#: Placeholders: %(attributed)s (who the customer counts for), %(receiver)s (who received them).
EXPLANATIONS = {
    RouteCode.REVISIT_OWNER: gettext_lazy(
        "Return visit within the revisit window: the customer stays with %(attributed)s."),
    RouteCode.REVISIT_OWNER_COURTESY: gettext_lazy(
        "Return visit within the revisit window: the customer stays with %(attributed)s, who is "
        "absent; %(receiver)s received them as a courtesy reception."),
    RouteCode.REFERRAL: gettext_lazy(
        "Old customer brings a new one: the customer belongs to the old customer's salesperson "
        "%(attributed)s."),
    RouteCode.REFERRAL_COURTESY: gettext_lazy(
        "Old customer brings a new one: the customer belongs to the old customer's salesperson "
        "%(attributed)s, who is absent; %(receiver)s received them as a courtesy reception."),
    RouteCode.NAMED: gettext_lazy("The customer asked for %(attributed)s."),
    RouteCode.NAMED_COURTESY: gettext_lazy(
        "The customer asked for %(attributed)s, who is absent; %(receiver)s received them as a "
        "courtesy reception."),
    RouteCode.NATURAL: gettext_lazy(
        "Return visit after the revisit window, asking for nobody: a natural customer, received "
        "in turn by %(receiver)s, who now owns them."),
    RouteCode.ROTATION: gettext_lazy("A new customer, received in turn by %(receiver)s."),
    RouteCode.ROTATION_POOL: gettext_lazy(
        "A registered customer without an owner (public pool), received in turn by %(receiver)s, "
        "who now owns them."),
}


def explain(code: str, *, attributed: str = "", receiver: str = "") -> str:
    """The explanation of a route code in the active language ('' for an unknown code)."""
    template = EXPLANATIONS.get(code)
    if template is None:
        return ""
    return str(template) % {"attributed": attributed or "—", "receiver": receiver or "—"}


class NobodyOnDuty(ValueError):
    """Nobody of the team is present to receive the visitor."""

    def __init__(self):
        super().__init__(_("Nobody of this team is present to receive the customer: sign in or "
                           "set someone present first."))


@dataclass(frozen=True)
class OnDuty:
    """One sign-in of the day, as the rules see it (`staff` is any hashable id)."""

    staff: Hashable
    position: int
    status: str = PRESENT
    last_served_at: dt.datetime | None = None


@dataclass(frozen=True)
class WalkInFacts:
    """What is known about the visitor when they walk in.

    * `today`: the day in the tenant's time zone;
    * `registered`: the phone belongs to a registered customer; `owner` is their (active) owner,
      None for a customer in the public pool and for a new visitor;
    * `last_visit_on`, `owned_since_on`: days of the customer's last visit and of the current
      owner getting them; the revisit window runs from the later of the two;
    * `named`: the salesperson the visitor asks for, if any;
    * `brought_by_owner`: the salesperson of the old customer who brought them (老带新), if any.
    """

    today: dt.date
    registered: bool = False
    owner: Hashable | None = None
    last_visit_on: dt.date | None = None
    owned_since_on: dt.date | None = None
    named: Hashable | None = None
    brought_by_owner: Hashable | None = None


@dataclass(frozen=True)
class Route:
    """Where a walk-in goes.

    `attributed_to` counts the customer (the owner after routing); `received_by` actually
    received them (differs for a courtesy reception); `consumes_turn` is true only for a
    rotation assignment (the receiver's `last_served_at` moves); `take_ownership` says the
    customer must be registered to / moved to `attributed_to` (a new visitor, the pool, a natural
    customer, or another salesperson named or bringing them past the window)."""

    code: str
    attributed_to: Hashable
    received_by: Hashable
    courtesy: bool = False
    consumes_turn: bool = False
    take_ownership: bool = False
    explanation: str = field(default="", compare=False)


def next_in_turn(sign_ins: Iterable[OnDuty]) -> OnDuty | None:
    """The present sign-in that has waited longest (never served first, then the oldest
    last_served_at, ties by position); None when nobody is present."""
    present = [s for s in sign_ins if s.status == PRESENT]
    if not present:
        return None
    return min(present, key=lambda s: (s.last_served_at is not None,
                                       s.last_served_at or dt.datetime.min.replace(tzinfo=dt.UTC),
                                       s.position))


def within_window(facts: WalkInFacts, policy: PolicyRules) -> bool:
    """Is the registered customer's return visit within the revisit window? The window runs from
    the later of the last visit and the day the current owner got them (day N within, N+1 not)."""
    days = [d for d in (facts.last_visit_on, facts.owned_since_on) if d is not None]
    return within_revisit_window(max(days) if days else None, facts.today, policy)


def route_walk_in(sign_ins: Iterable[OnDuty], facts: WalkInFacts,
                  policy: PolicyRules = DEFAULT_POLICY,
                  names: Mapping[Hashable, str] | None = None) -> Route:
    """Route one walk-in (see the module docstring for the rules). `names` (staff -> name) only
    fills the explanation. Raises NobodyOnDuty when whoever must receive the visitor is absent
    and nobody else is present."""
    sign_ins = list(sign_ins)
    present = {s.staff for s in sign_ins if s.status == PRESENT}
    turn = next_in_turn(sign_ins)

    def to(code: str, courtesy_code: str, person: Hashable) -> Route:
        take = person != facts.owner
        if person in present:
            return _route(code, person, person, take_ownership=take, names=names)
        if turn is None:
            raise NobodyOnDuty()
        return _route(courtesy_code, person, turn.staff, courtesy=True, take_ownership=take,
                      names=names)

    if facts.registered and facts.owner is not None and within_window(facts, policy):
        return to(RouteCode.REVISIT_OWNER, RouteCode.REVISIT_OWNER_COURTESY, facts.owner)
    if facts.brought_by_owner is not None:
        return to(RouteCode.REFERRAL, RouteCode.REFERRAL_COURTESY, facts.brought_by_owner)
    if facts.named is not None:
        return to(RouteCode.NAMED, RouteCode.NAMED_COURTESY, facts.named)
    if turn is None:
        raise NobodyOnDuty()
    if facts.registered and facts.owner is not None:
        code = RouteCode.NATURAL
    elif facts.registered:
        code = RouteCode.ROTATION_POOL
    else:
        code = RouteCode.ROTATION
    return _route(code, turn.staff, turn.staff, consumes_turn=True,
                  take_ownership=turn.staff != facts.owner or not facts.registered, names=names)


def _route(code: str, attributed: Hashable, receiver: Hashable, *, courtesy: bool = False,
           consumes_turn: bool = False, take_ownership: bool = False,
           names: Mapping[Hashable, str] | None = None) -> Route:
    names = names or {}
    explanation = explain(code, attributed=names.get(attributed, str(attributed)),
                          receiver=names.get(receiver, str(receiver)))
    return Route(code=code, attributed_to=attributed, received_by=receiver, courtesy=courtesy,
                 consumes_turn=consumes_turn, take_ownership=take_ownership,
                 explanation=explanation)
