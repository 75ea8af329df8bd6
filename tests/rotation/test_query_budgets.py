"""Query budgets of the rotation board (page and API): measured as the admin (who sees every
customer's name and may set everybody's status) on a warm session, with N and 2N sign-ins and
walk-ins of the day: the count is the same and within the budget."""

from __future__ import annotations

import itertools

import pytest
from django.urls import reverse

from apps.rotation.models import DutySignIn
from apps.rotation.services import duty_set_status, duty_sign_in, walk_in_receive
from apps.tenancy.roles import Role
from tests.customers.factories import CustomerFactory, next_phone
from tests.query_budgets import assert_flat

pytestmark = pytest.mark.django_db

BOARD = reverse("rotation:board")
API = "/api/v1/rotation/board/"
_suffixes = itertools.count(1)


class Day:
    """Team1's day: who signed in, and walk-ins of every kind (new visitors taken in turn or
    asking for a salesperson, visitors brought by an old customer of team2, customers of team1
    coming back)."""

    def __init__(self, world):
        self.world = world
        self.sign_ins: list[DutySignIn] = []
        self.regulars = []  # team1's customers who may come back
        self.referrer = CustomerFactory(tenant=world.tenant, actor=world.sales_other_team)

    def grow(self, n: int) -> None:
        """`n // 2` more salespeople sign in (every third one then steps away), `n` walk-ins."""
        w = self.world
        for _ in range(n // 2):
            person = w.make_staff(f"duty{next(_suffixes)}", [Role.SALES], w.team1)
            sign_in = duty_sign_in(tenant=w.tenant, actor=w.manager, team=w.team1, staff=person)
            self.sign_ins.append(sign_in)
            if len(self.sign_ins) % 3 == 0:
                duty_set_status(tenant=w.tenant, actor=w.manager, sign_in=sign_in, status="away")
        for i in range(n):
            kwargs = {"name": f"来访{i}", "phone": next_phone()}
            if i % 4 == 1:
                kwargs["named_staff"] = self.sign_ins[i % len(self.sign_ins)].staff
            elif i % 4 == 2:
                kwargs["brought_by"] = self.referrer
            elif i % 4 == 3 and self.regulars:
                kwargs["phone"] = self.regulars.pop().phone
            result = walk_in_receive(tenant=w.tenant, actor=w.manager, team=w.team1, **kwargs)
            if result.created:
                self.regulars.append(result.customer)


def test_board_page_query_budget(world_a, client_for, django_assert_max_num_queries):
    w = world_a
    day = Day(w)
    client = client_for(w.admin)
    params = {"team": w.team1.pk}
    response = assert_flat(client, BOARD, day.grow, n=8, params=params)
    board = response.context["board"]
    assert len(board.sign_ins) == 8 and len(board.walk_ins) == 16
    # 7 of plumbing (savepoint, user, app.user_id, membership, app.tenant_id set and reset,
    # release; the session is cached) + the team, the day's sign-ins (staff and team joined),
    # the members not signed in yet, the day's walk-ins (customer, staff and old customer
    # joined), which of those customers the viewer may see, the team picker + the unread badge
    # + the walk-in form's salesperson choices.
    with django_assert_max_num_queries(15):
        response = client.get(BOARD, params)
    html = response.content.decode()
    assert all(f'id="sign-in-{s.pk}"' in html for s in day.sign_ins)
    assert day.referrer.name in html  # (brought by ...): the admin sees the old customer's name


def test_board_api_query_budget(world_a, api_client_for, django_assert_max_num_queries):
    w = world_a
    day = Day(w)
    client = api_client_for(w.admin)
    params = {"team": w.team1.pk}
    response = assert_flat(client, API, day.grow, n=8, params=params)
    body = response.json()
    assert len(body["sign_ins"]) == 8 and len(body["walk_ins"]) == 16
    # 7 of plumbing + the team, the day's sign-ins (staff and team joined), the members not
    # signed in yet, the day's walk-ins (customer, staff and old customer joined), which of
    # those customers the caller may see.
    with django_assert_max_num_queries(12):
        body = client.get(API, params).json()
    assert all(s["team"]["name"] == w.team1.name for s in body["sign_ins"])
    assert {r["brought_by"] for r in body["walk_ins"]} == {"", day.referrer.name}
