"""The routing rules of walk-ins (rules.py), as tables: who the customer counts for, who receives
them, courtesy reception, whether the rotation turn is consumed."""

import datetime as dt

import pytest
from django.utils import translation

from apps.ownership.rules import PolicyRules
from apps.rotation.rules import (
    AWAY,
    PRESENT,
    SIGNED_OUT,
    NobodyOnDuty,
    OnDuty,
    RouteCode,
    WalkInFacts,
    next_in_turn,
    route_walk_in,
)

TODAY = dt.date(2026, 3, 31)
T = dt.datetime(2026, 3, 31, 9, 0, tzinfo=dt.UTC)


def at(minutes: int) -> dt.datetime:
    return T + dt.timedelta(minutes=minutes)


def duty(*rows):
    """rows: (staff, status, last_served minutes or None); positions in order."""
    return [OnDuty(staff=s, position=i, status=st,
                   last_served_at=None if m is None else at(m))
            for i, (s, st, m) in enumerate(rows, start=1)]


ABC = duty(("A", PRESENT, None), ("B", PRESENT, None), ("C", PRESENT, None))


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


# (id, sign-ins, facts, expected: code, attributed, received, courtesy, consumes, take)
CASES = [
    ("new: first in order, never served", ABC, WalkInFacts(today=TODAY),
     (RouteCode.ROTATION, "A", "A", False, True, True)),
    ("new: never served before served", duty(("A", PRESENT, 0), ("B", PRESENT, None),
                                             ("C", PRESENT, None)),
     WalkInFacts(today=TODAY), (RouteCode.ROTATION, "B", "B", False, True, True)),
    ("new: oldest last served", duty(("A", PRESENT, 10), ("B", PRESENT, 5), ("C", PRESENT, 20)),
     WalkInFacts(today=TODAY), (RouteCode.ROTATION, "B", "B", False, True, True)),
    ("new: tie by position", duty(("A", PRESENT, 5), ("B", PRESENT, 5), ("C", PRESENT, 5)),
     WalkInFacts(today=TODAY), (RouteCode.ROTATION, "A", "A", False, True, True)),
    ("away is skipped", duty(("A", AWAY, None), ("B", PRESENT, None), ("C", PRESENT, None)),
     WalkInFacts(today=TODAY), (RouteCode.ROTATION, "B", "B", False, True, True)),
    ("away kept the turn: back, served first", duty(("A", PRESENT, None), ("B", PRESENT, 5),
                                                    ("C", PRESENT, 6)),
     WalkInFacts(today=TODAY), (RouteCode.ROTATION, "A", "A", False, True, True)),
    ("signed out is skipped", duty(("A", SIGNED_OUT, None), ("B", AWAY, None),
                                   ("C", PRESENT, 30)),
     WalkInFacts(today=TODAY), (RouteCode.ROTATION, "C", "C", False, True, True)),
    ("pool customer: next in turn, takes it", ABC, WalkInFacts(today=TODAY, registered=True),
     (RouteCode.ROTATION_POOL, "A", "A", False, True, True)),
    ("named present", ABC, WalkInFacts(today=TODAY, named="C"),
     (RouteCode.NAMED, "C", "C", False, False, True)),
    ("named away: courtesy by next, turn kept",
     duty(("A", PRESENT, None), ("B", PRESENT, None), ("C", AWAY, None)),
     WalkInFacts(today=TODAY, named="C"), (RouteCode.NAMED_COURTESY, "C", "A", True, False, True)),
    ("named not signed in: courtesy by next", ABC, WalkInFacts(today=TODAY, named="X"),
     (RouteCode.NAMED_COURTESY, "X", "A", True, False, True)),
    ("old brings new, salesperson present", ABC, WalkInFacts(today=TODAY, brought_by_owner="B"),
     (RouteCode.REFERRAL, "B", "B", False, False, True)),
    ("old brings new, salesperson absent: courtesy", ABC,
     WalkInFacts(today=TODAY, brought_by_owner="X"),
     (RouteCode.REFERRAL_COURTESY, "X", "A", True, False, True)),
    ("old brings new beats the name", ABC,
     WalkInFacts(today=TODAY, brought_by_owner="C", named="B"),
     (RouteCode.REFERRAL, "C", "C", False, False, True)),
    ("revisit day 29: owner present", ABC,
     WalkInFacts(today=TODAY, registered=True, owner="B", last_visit_on=days_ago(29)),
     (RouteCode.REVISIT_OWNER, "B", "B", False, False, False)),
    ("revisit day 30: owner absent, courtesy", ABC,
     WalkInFacts(today=TODAY, registered=True, owner="X", last_visit_on=days_ago(30)),
     (RouteCode.REVISIT_OWNER_COURTESY, "X", "A", True, False, False)),
    ("revisit day 31: natural customer, next in turn takes it", ABC,
     WalkInFacts(today=TODAY, registered=True, owner="X", last_visit_on=days_ago(31)),
     (RouteCode.NATURAL, "A", "A", False, True, True)),
    ("never visited, owned for 10 days: owner keeps", ABC,
     WalkInFacts(today=TODAY, registered=True, owner="X", owned_since_on=days_ago(10)),
     (RouteCode.REVISIT_OWNER_COURTESY, "X", "A", True, False, False)),
    ("old visit but owned since recently: window from the later day", ABC,
     WalkInFacts(today=TODAY, registered=True, owner="C", last_visit_on=days_ago(90),
                 owned_since_on=days_ago(3)),
     (RouteCode.REVISIT_OWNER, "C", "C", False, False, False)),
    ("within window, asks for someone else: the owner keeps", ABC,
     WalkInFacts(today=TODAY, registered=True, owner="C", last_visit_on=days_ago(5), named="B"),
     (RouteCode.REVISIT_OWNER, "C", "C", False, False, False)),
    ("within window, brought by another's old customer: the owner keeps", ABC,
     WalkInFacts(today=TODAY, registered=True, owner="C", last_visit_on=days_ago(5),
                 brought_by_owner="B"),
     (RouteCode.REVISIT_OWNER, "C", "C", False, False, False)),
    ("past window, asks for the owner: stays", ABC,
     WalkInFacts(today=TODAY, registered=True, owner="C", last_visit_on=days_ago(40), named="C"),
     (RouteCode.NAMED, "C", "C", False, False, False)),
    ("past window, asks for another: moves to them", ABC,
     WalkInFacts(today=TODAY, registered=True, owner="C", last_visit_on=days_ago(40), named="B"),
     (RouteCode.NAMED, "B", "B", False, False, True)),
    ("past window, brought by an old customer: their salesperson", ABC,
     WalkInFacts(today=TODAY, registered=True, owner="C", last_visit_on=days_ago(40),
                 brought_by_owner="X"),
     (RouteCode.REFERRAL_COURTESY, "X", "A", True, False, True)),
    ("natural customer whose owner is next in turn: stays, turn consumed",
     duty(("A", PRESENT, 5), ("B", PRESENT, None)),
     WalkInFacts(today=TODAY, registered=True, owner="B", last_visit_on=days_ago(45)),
     (RouteCode.NATURAL, "B", "B", False, True, False)),
]


@pytest.mark.parametrize(("sign_ins", "facts", "expected"),
                         [pytest.param(s, f, e, id=i) for i, s, f, e in CASES])
def test_route(sign_ins, facts, expected):
    route = route_walk_in(sign_ins, facts)
    got = (route.code, route.attributed_to, route.received_by, route.courtesy,
           route.consumes_turn, route.take_ownership)
    assert got == expected


@pytest.mark.parametrize(("days", "within"), [(6, True), (7, True), (8, False)])
def test_revisit_window_follows_the_policy(days, within):
    policy = PolicyRules(revisit_window_days=7, release_after_days=30)
    facts = WalkInFacts(today=TODAY, registered=True, owner="C", last_visit_on=days_ago(days))
    route = route_walk_in(ABC, facts, policy)
    assert route.code == (RouteCode.REVISIT_OWNER if within else RouteCode.NATURAL)
    assert route.attributed_to == ("C" if within else "A")


NOBODY = [
    ("nobody signed in", [], WalkInFacts(today=TODAY)),
    ("everyone away or signed out", duty(("A", AWAY, None), ("B", SIGNED_OUT, None)),
     WalkInFacts(today=TODAY)),
    ("named absent and nobody to receive", duty(("A", AWAY, None)),
     WalkInFacts(today=TODAY, named="X")),
    ("old brings new, nobody to receive", [], WalkInFacts(today=TODAY, brought_by_owner="X")),
    ("revisit, owner absent, nobody to receive", duty(("A", AWAY, None)),
     WalkInFacts(today=TODAY, registered=True, owner="X", last_visit_on=days_ago(1))),
]


@pytest.mark.parametrize(("sign_ins", "facts"), [pytest.param(s, f, id=i) for i, s, f in NOBODY])
def test_nobody_present_is_refused(sign_ins, facts):
    with translation.override("zh-hans"), pytest.raises(NobodyOnDuty) as exc:
        route_walk_in(sign_ins, facts)
    assert "无人在岗" in str(exc.value)


def test_named_salesperson_present_needs_nobody_else():
    route = route_walk_in(duty(("A", PRESENT, None)), WalkInFacts(today=TODAY, named="A"))
    assert (route.code, route.received_by, route.consumes_turn) == (RouteCode.NAMED, "A", False)


def test_away_keeps_the_turn_through_a_day():
    """A is away while B and C take two walk-ins; when A is back, A is next (A's last_served_at
    never moved), then the order continues B, C."""
    people = {"A": [1, AWAY, None], "B": [2, PRESENT, None], "C": [3, PRESENT, None]}

    def walk_in(minute):
        sign_ins = [OnDuty(staff=k, position=p, status=s, last_served_at=m)
                    for k, (p, s, m) in people.items()]
        route = route_walk_in(sign_ins, WalkInFacts(today=TODAY))
        if route.consumes_turn:
            people[route.received_by][2] = at(minute)
        return route.received_by

    assert [walk_in(1), walk_in(2)] == ["B", "C"]
    people["A"][1] = PRESENT
    assert [walk_in(3), walk_in(4), walk_in(5), walk_in(6)] == ["A", "B", "C", "A"]


def test_courtesy_reception_does_not_consume_the_turn():
    people = {"A": [1, PRESENT, None], "B": [2, PRESENT, None]}
    sign_ins = [OnDuty(staff=k, position=p, status=s, last_served_at=m)
                for k, (p, s, m) in people.items()]
    courtesy = route_walk_in(sign_ins, WalkInFacts(today=TODAY, named="X"))
    assert courtesy.received_by == "A" and not courtesy.consumes_turn
    # A received X's customer, but A is still next for the rotation.
    assert next_in_turn(sign_ins).staff == "A"


def test_explanation_in_chinese_names_the_people():
    sign_ins = duty(("A", PRESENT, None), ("C", AWAY, None))
    with translation.override("zh-hans"):
        route = route_walk_in(sign_ins, WalkInFacts(today=TODAY, named="C"),
                              names={"A": "张三", "C": "李四"})
    assert route.explanation == "客户指定 李四（不在场），由 张三 代为接待。"
    with translation.override("en"):
        route = route_walk_in(ABC, WalkInFacts(today=TODAY), names={"A": "Zhang"})
    assert route.explanation == "A new customer, received in turn by Zhang."
