"""Query budgets of the contract and expiring lists, page and API: the same number of queries
with N and 2N rows (no query per row), within a stated budget on a full page.

Plumbing, 7 queries on every request (savepoint, user, app.user_id, membership,
app.tenant_id set and reset, release; the session is cached once warm). Every HTML page adds
the header's unread-notification badge. The lead days are cached (warm after the first GET).
The API's paginator skips the COUNT while page 1 is not full (apps.core.pagination)."""

from __future__ import annotations

from django.urls import reverse

from apps.deals.contracts import contract_create_for_deal
from tests.query_budgets import assert_flat

from .helpers import days, make_contract, make_deal, today

CONTRACTS_API = "/api/v1/renewals/contracts/"
EXPIRING_API = "/api/v1/renewals/expiring/"


def add_contracts(world, n: int, *, renewed_every: int = 3) -> None:
    """`n` contracts ending within 30 days, owners of both teams; every third one renewed
    (its renewal -- ending a year later -- is in the contract list too)."""
    owners = [world.sales, world.sales2, world.sales_other_team, world.manager]
    t = today(world)
    for i in range(n):
        contract = make_contract(world, owners[i % len(owners)], end=t + days(1 + i % 29))
        if i % renewed_every == 0:
            deal = make_deal(world, contract.customer, signed_on=t)
            contract_create_for_deal(tenant=world.tenant, actor=world.admin, deal=deal,
                                     start=contract.end + days(1),
                                     end=contract.end + days(366), renews=contract)


def test_contract_list_page_budget(world_a, client_for, django_assert_max_num_queries):
    w = world_a
    client = client_for(w.admin)
    url = reverse("renewals:contracts")
    response = assert_flat(client, url, lambda n: add_contracts(w, n), n=6)
    assert 12 < len(response.context["contracts"]) < 25
    add_contracts(w, 20)
    # 7 of plumbing + count, the page (customer, owner, team, renewal joined), the team and
    # owner filters' options + the unread badge.
    with django_assert_max_num_queries(12):
        response = client.get(url)
    assert len(response.context["contracts"]) == 25
    assert "已续费" in response.content.decode()


def test_contract_list_api_budget(world_a, api_client_for, django_assert_max_num_queries):
    w = world_a
    client = api_client_for(w.admin)
    response = assert_flat(client, CONTRACTS_API, lambda n: add_contracts(w, n), n=5)
    assert response.json()["count"] > 10
    add_contracts(w, 20)
    # 7 of plumbing + the page (joined) + count.
    with django_assert_max_num_queries(9):
        body = client.get(CONTRACTS_API).json()
    assert len(body["results"]) == 25 and any(r["renewed_by"] for r in body["results"])


def test_expiring_page_budget(world_a, client_for, django_assert_max_num_queries):
    w = world_a
    client = client_for(w.manager)
    url = reverse("renewals:expiring")
    response = assert_flat(client, url, lambda n: add_contracts(w, n), n=8)
    assert len(response.context["contracts"]) > 6
    add_contracts(w, 40)
    # 7 of plumbing + count, the page (customer, owner, team joined), the team and owner
    # filters' options + the unread badge.
    with django_assert_max_num_queries(12):
        response = client.get(url)
    assert len(response.context["contracts"]) == 25


def test_expiring_api_budget(world_a, api_client_for, django_assert_max_num_queries):
    w = world_a
    client = api_client_for(w.admin)
    response = assert_flat(client, EXPIRING_API, lambda n: add_contracts(w, n), n=8)
    assert response.json()["count"] > 8
    add_contracts(w, 30)
    # 7 of plumbing + the page (joined) + count.
    with django_assert_max_num_queries(9):
        body = client.get(EXPIRING_API).json()
    assert len(body["results"]) == 25
