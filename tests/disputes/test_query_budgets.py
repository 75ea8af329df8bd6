"""Query budget of the disputes queue page (the API's is in test_api.py): measured as the admin
(who sees every dispute of the tenant) on a warm session, with N and 2N disputes of several
owners, claimants and teams in every status: the count is the same and within the budget."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.disputes import services
from apps.tenancy.roles import Role
from tests.customers.factories import CustomerFactory
from tests.query_budgets import assert_flat

from .conftest import make_in_status

STATUSES = ["open", "proposed", "approved", "decided", "escalated", "withdrawn"]
LIST = reverse("disputes:list")


@pytest.fixture
def sales4(world_a):
    """A second salesperson of team2."""
    return world_a.make_staff("sales4", [Role.SALES], world_a.team2)


def add_disputes(world, sales4, n: int) -> None:
    """`n` disputes: half of team1 (sales's customers claimed by sales2) brought to every
    status in turn, a quarter of team2 (sales3's claimed by sales4) escalated, a quarter of
    the manager's customers claimed by sales, open."""
    w, t = world, world.tenant
    for i in range(n):
        if i % 4 in (0, 1):
            owner, claimant = w.sales, w.sales2
        elif i % 4 == 2:
            owner, claimant = w.sales_other_team, sales4
        else:
            owner, claimant = w.manager, w.sales
        customer = CustomerFactory(tenant=t, actor=owner, owner=owner)
        dispute = services.dispute_open(tenant=t, actor=claimant, customer=customer,
                                        claimant=claimant, claim="客户说先联系的我")
        if owner is w.sales:
            make_in_status(w, dispute, STATUSES[i % len(STATUSES)])
        elif owner is w.sales_other_team:
            services.dispute_escalate(tenant=t, actor=claimant, dispute=dispute, reason="协商不成")


def test_queue_page_query_budget(world_a, sales4, client_for, django_assert_max_num_queries):
    w = world_a
    client = client_for(w.admin)
    params = {"status": ""}  # every status (the admin's default is what waits for them)
    response = assert_flat(client, LIST, lambda n: add_disputes(w, sales4, n), n=12,
                           params=params)
    assert len(response.context["disputes"]) == 24
    add_disputes(w, sales4, 6)  # 30: a full page and a second one
    # 7 of plumbing (savepoint, user, app.user_id, membership, app.tenant_id set and reset,
    # release; the session is cached) + count, the page (customer, owner, claimant and team
    # joined) + the unread badge.
    with django_assert_max_num_queries(10):
        response = client.get(LIST, params)
    assert len(response.context["disputes"]) == 25
    html = response.content.decode()
    assert sales4.name in html and w.team2.name in html
