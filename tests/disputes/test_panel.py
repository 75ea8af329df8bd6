"""The home page's dispute panel."""

import pytest
from django.urls import reverse

from apps.disputes import services
from apps.disputes.panels import dispute_queue_panel
from tests.customers.factories import CustomerFactory

from .conftest import make_in_status

pytestmark = pytest.mark.django_db


def panel(world, staff):
    with world.context():
        return dispute_queue_panel(staff)


def test_counts_per_role(world_a, dispute):
    w = world_a
    other_team = services.dispute_open(
        tenant=w.tenant, actor=None,
        customer=CustomerFactory(tenant=w.tenant, actor=w.sales_other_team),
        claimant=w.sales)
    assert panel(w, w.manager)["count"] == 1          # team1 only
    assert panel(w, w.admin)["count"] == 2            # all open
    assert panel(w, w.sales) is None
    assert panel(w, w.cs) is None
    make_in_status(w, dispute, "escalated")
    assert panel(w, w.manager)["count"] == 0          # with the company now
    assert [d.pk for d in panel(w, w.admin)["rows"]] == [dispute.pk, other_team.pk]
    services.dispute_withdraw(tenant=w.tenant, actor=w.sales, dispute=other_team)
    assert panel(w, w.admin)["count"] == 1


def test_home_page_shows_the_panel(world_a, dispute, client_for):
    html = client_for(world_a.manager).get(reverse("home")).content.decode()
    assert "待处理撞单" in html and "张三" in html
    html = client_for(world_a.sales).get(reverse("home")).content.decode()
    assert "待处理撞单" not in html


def test_panel_costs_one_query(world_a, dispute, django_assert_num_queries):
    with world_a.context(), django_assert_num_queries(1):
        result = dispute_queue_panel(world_a.manager)
        assert [d.customer.name for d in result["rows"]] == ["张三"]
