"""Query budgets of the ownership lists, page and API: the public pool, the "about to be
released" list and the policy versions. Each is measured as the admin (who sees every row, in
full) on a warm session, with N and with 2N rows (the same count: no query per row), then
within its budget on a full page (30 rows).

Plumbing, 7 queries on every request: savepoint, user, app.user_id, membership,
app.tenant_id set and reset, release (the session is cached once warm). Every HTML page adds
the header's unread-notification badge. The API's paginator skips the COUNT while page 1 is
not full, so on a full page it counts once more (apps.core.pagination)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.ownership.models import OwnershipPolicy
from apps.ownership.selectors import tenant_today
from apps.ownership.services import customer_return_to_pool, policy_create
from apps.tenancy.roles import Role
from tests.query_budgets import assert_flat

from .test_pool_helpers import at, days, make_customer

POOL_API = "/api/v1/ownership/pool/"
EXPIRING_API = "/api/v1/ownership/expiring/"
POLICY_API = "/api/v1/ownership/policies/"


def owners(world) -> list:
    """Salespeople of both teams, and the manager of team1 (who owns customers too)."""
    return [world.sales, world.sales2, world.sales_other_team, world.manager]


# --------------------------------------------------------------------------- public pool


def add_pool_customers(world, n: int) -> None:
    """`n` customers in the pool: most given back by their owners of both teams (a team and a
    previous owner each), every fifth registered unowned by customer service (neither)."""
    people = owners(world)
    for i in range(n):
        if i % 5 == 4:
            make_customer(world, None)
            continue
        customer = make_customer(world, people[i % len(people)])
        customer_return_to_pool(tenant=world.tenant, actor=world.admin, customer=customer,
                                reason="客户暂无需求")


def test_pool_page_query_budget(world_a, client_for, django_assert_max_num_queries):
    w = world_a
    client = client_for(w.admin)
    url = reverse("ownership:pool")
    response = assert_flat(client, url, lambda n: add_pool_customers(w, n), n=12)
    assert len(response.context["customers"]) == 24
    add_pool_customers(w, 6)  # 30: a full page and a second one
    # 7 of plumbing + count, the page (team and previous owner joined), which of its customers
    # the viewer may see in full, the team filter's options + the unread badge.
    with django_assert_max_num_queries(12):
        response = client.get(url)
    rows = response.context["customers"]
    assert len(rows) == 25 and all(c.visible for c in rows)
    assert w.sales_other_team.name in response.content.decode()  # a previous owner


def test_pool_api_query_budget(world_a, api_client_for, django_assert_max_num_queries):
    w = world_a
    client = api_client_for(w.admin)
    response = assert_flat(client, POOL_API, lambda n: add_pool_customers(w, n), n=12)
    assert response.json()["count"] == 24
    add_pool_customers(w, 6)
    # 7 of plumbing + the page (team and previous owner joined), count, which of its customers
    # the caller may see in full.
    with django_assert_max_num_queries(10):
        body = client.get(POOL_API).json()
    assert body["count"] == 30 and len(body["results"]) == 25
    assert any(r["previous_owner"] and r["team"] for r in body["results"])
    assert not any(r["masked"] for r in body["results"])


# --------------------------------------------------------------------------- about to be released


def add_expiring_customers(world, n: int) -> None:
    """`n` customers of salespeople of both teams last contacted 27 to 31 days ago: their
    protection ends within the 3 days of warning (or ended: released tonight)."""
    people = owners(world)
    today = tenant_today(world.tenant)
    for i in range(n):
        make_customer(world, people[i % len(people)], contacted=at(today - days(27 + i % 5)))


def test_expiring_page_query_budget(world_a, client_for, django_assert_max_num_queries):
    w = world_a
    client = client_for(w.admin)
    url = reverse("ownership:expiring")
    response = assert_flat(client, url, lambda n: add_expiring_customers(w, n), n=12)
    assert len(response.context["customers"]) == 24
    add_expiring_customers(w, 6)
    # 7 of plumbing + count, the page (owner and team joined, protection end and days left
    # computed by the database; the policy versions are cached), the owner filter's options
    # + the unread badge.
    with django_assert_max_num_queries(11):
        response = client.get(url)
    assert len(response.context["customers"]) == 25
    assert w.sales_other_team.name in response.content.decode()


def test_expiring_api_query_budget(world_a, api_client_for, django_assert_max_num_queries):
    w = world_a
    client = api_client_for(w.admin)
    response = assert_flat(client, EXPIRING_API, lambda n: add_expiring_customers(w, n), n=12)
    assert response.json()["count"] == 24
    add_expiring_customers(w, 6)
    # 7 of plumbing + the page (owner and team joined, protection computed; the policy
    # versions are cached), count.
    with django_assert_max_num_queries(9):
        body = client.get(EXPIRING_API).json()
    assert body["count"] == 30 and len(body["results"]) == 25
    assert all(r["owner"]["name"] and r["team"]["name"] for r in body["results"])


# --------------------------------------------------------------------------- policy


@pytest.fixture
def admins(world_a):
    """Two administrators: the versions are saved by either."""
    return [world_a.admin, world_a.make_staff("admin2", [Role.ADMIN], None)]


def add_policy_versions(world, admins, n: int) -> None:
    """`n` more versions, one a day from today on, saved by each administrator in turn."""
    today = tenant_today(world.tenant)
    with world.context():
        start = OwnershipPolicy.objects.count()
    for i in range(start, start + n):
        policy_create(tenant=world.tenant, actor=admins[i % len(admins)],
                      effective_from=today + days(i), release_after_days=30 + i % 5,
                      revisit_window_days=30, warn_before_days=3, reclaim_after_days=7,
                      note=f"第{i + 1}版")


def test_policy_page_query_budget(world_a, admins, client_for, django_assert_max_num_queries):
    w = world_a
    client = client_for(w.admin)
    url = reverse("ownership:policy")
    response = assert_flat(client, url, lambda n: add_policy_versions(w, admins, n), n=12)
    assert len(response.context["history"]) == 24
    add_policy_versions(w, admins, 6)
    # 7 of plumbing + the versions (who saved them joined), read once for the page and the new
    # version's prefilled form + the unread badge.
    with django_assert_max_num_queries(9):
        response = client.get(url)
    assert len(response.context["history"]) == 30 and len(response.context["scheduled"]) == 29
    assert admins[1].name in response.content.decode()


def test_policy_api_query_budget(world_a, admins, api_client_for, django_assert_max_num_queries):
    w = world_a
    client = api_client_for(w.admin)
    response = assert_flat(client, POLICY_API, lambda n: add_policy_versions(w, admins, n), n=12)
    assert response.json()["count"] == 24
    add_policy_versions(w, admins, 6)
    # 7 of plumbing + the page of versions (who saved them joined), count.
    with django_assert_max_num_queries(9):
        body = client.get(POLICY_API).json()
    assert body["count"] == 30 and len(body["results"]) == 25
    assert {r["created_by"]["id"] for r in body["results"]} == {a.pk for a in admins}
