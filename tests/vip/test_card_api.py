"""The membership card API: list with filters, issue (201, field errors in the project format,
nothing saved), detail with the history chain, reissue (a void card refused), void, the
to-issue list, the statistics, roles, another tenant's card (404 whatever the method), query
budgets of the lists."""

# ruff: noqa: F811 - the imported `edu` fixture is an argument of the tests
from __future__ import annotations

import pytest
from django.utils import timezone

from apps.vip.models import CustomerTier
from tests.customers.factories import CustomerFactory
from tests.deals.conftest import edu, make_deal  # noqa: F401 - the edu fixture
from tests.query_budgets import assert_flat
from tests.referrals.lifecycle_helpers import zh
from tests.vip.test_cards import buyer, card_rows, issue

pytestmark = pytest.mark.django_db

API = "/api/v1/vip/"


def test_issue_list_and_detail(edu, api_client_for):
    w = edu.world
    customer = buyer(edu, name="吴六")
    client = api_client_for(w.cs)
    response = client.post(f"{API}vip-cards/", {"customer": customer.pk, "number": " vip000001"},
                           format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["number"], body["tier"], body["tier_name"], body["kind"], body["status"]) == (
        "VIP000001", "silver", "银卡", "first", "active")
    assert body["customer"] == {"id": customer.pk, "name": "吴六"}
    assert body["team"] == {"id": w.team1.pk, "name": "一组"}
    assert body["issued_by"]["id"] == w.cs.pk and body["issued_on"] == edu.today.isoformat()
    assert [c["number"] for c in body["history"]] == ["VIP000001"]

    listed = client.get(f"{API}vip-cards/").json()
    assert [c["number"] for c in listed["results"]] == ["VIP000001"]
    detail = client.get(f"{API}vip-cards/{body['id']}/").json()
    assert detail["number"] == "VIP000001" and detail["replaced_by"] is None


def test_refusals_are_field_errors_and_save_nothing(edu, api_client_for):
    w = edu.world
    first, second = buyer(edu), buyer(edu)
    issue(w, first, "VIP000001")
    client = api_client_for(w.cs)
    before = card_rows(w)
    response = client.post(f"{API}vip-cards/", {"customer": second.pk, "number": "VIP000001"},
                           format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and error["status"] == 400
    assert error["fields"] == {"number": [zh(
        "The card number %(number)s is already used in your company.", number="VIP000001")]}
    response = client.post(f"{API}vip-cards/", {"customer": first.pk, "number": "VIP000002"},
                           format="json")
    assert response.json()["error"]["fields"] == {"customer": [zh(
        "This customer already has the active card %(number)s of this tier.",
        number="VIP000001")]}
    nobody = CustomerFactory(tenant=w.tenant, actor=w.sales)
    response = client.post(f"{API}vip-cards/", {"customer": nobody.pk, "number": "X 1"},
                           format="json")
    assert set(response.json()["error"]["fields"]) == {"customer", "number"}
    response = client.post(f"{API}vip-cards/", {"customer": 999999, "number": "VIP9"},
                           format="json")
    assert response.json()["error"]["fields"] == {"customer": [zh("Unknown customer.")]}
    assert card_rows(w) == before


def test_roles(edu, api_client_for):
    w = edu.world
    customer = buyer(edu)
    other = buyer(edu, owner=w.sales_other_team)
    card = issue(w, customer, "VIP000001")
    issue(w, other, "VIP000002")
    for who in (w.sales, w.manager, w.finance):
        client = api_client_for(who)
        response = client.post(f"{API}vip-cards/", {"customer": other.pk, "number": "VIP9"},
                               format="json")
        assert response.status_code == 403, who
        assert client.post(f"{API}vip-cards/{card.pk}/reissue/", {"number": "VIP9"},
                           format="json").status_code == 403
        assert client.get(f"{API}cards/to-issue/").status_code == 403
    assert api_client_for(w.cs).post(f"{API}vip-cards/{card.pk}/void/", {"note": "x"},
                                     format="json").status_code == 403
    assert api_client_for(w.sales).get(f"{API}cards/stats/").status_code == 403
    # What each reads.
    for who, expected in ((w.admin, ["VIP000001", "VIP000002"]),
                          (w.finance, ["VIP000001", "VIP000002"]),
                          (w.manager, ["VIP000001"]), (w.sales, ["VIP000001"]),
                          (w.sales_other_team, ["VIP000002"]), (w.sales2, [])):
        got = api_client_for(who).get(f"{API}vip-cards/").json()["results"]
        assert sorted(c["number"] for c in got) == expected, who
    assert api_client_for(w.sales2).get(f"{API}vip-cards/{card.pk}/").status_code == 404
    assert card_rows(w)[0][4] == "active"


def test_reissue_void_and_history(edu, api_client_for):
    w = edu.world
    card = issue(w, buyer(edu), "VIP000001")
    client = api_client_for(w.cs)
    response = client.post(f"{API}vip-cards/{card.pk}/reissue/",
                           {"number": "VIP000002", "note": "丢失"}, format="json")
    assert response.status_code == 201
    new = response.json()
    assert (new["kind"], new["replaces"]) == ("reissue", card.pk)
    assert [(c["number"], c["status"], c["void_reason"], c["replaced_by"])
            for c in new["history"]] == [("VIP000001", "void", "lost", new["id"]),
                                         ("VIP000002", "active", "", None)]
    old = client.get(f"{API}vip-cards/{card.pk}/").json()
    assert old["replaced_by"] == new["id"] and old["void_note"] == "丢失"
    before = card_rows(w)
    response = client.post(f"{API}vip-cards/{card.pk}/reissue/", {"number": "VIP000003"},
                           format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"non_field_errors": [zh(
        "The card %(number)s is already void (%(reason)s): only an active card can be "
        "reported lost or voided.", number="VIP000001", reason=zh("lost"))]}
    assert card_rows(w) == before
    admin = api_client_for(w.admin)
    response = admin.post(f"{API}vip-cards/{new['id']}/void/", {"note": ""}, format="json")
    assert response.status_code == 400 and "note" in response.json()["error"]["fields"]
    response = admin.post(f"{API}vip-cards/{new['id']}/void/", {"note": "发错了"},
                          format="json")
    assert response.status_code == 200 and response.json()["void_reason"] == "other"


def test_filters_to_issue_and_stats(edu, api_client_for):
    w = edu.world
    a = buyer(edu, name="郑七")
    b = buyer(edu, name="王八", owner=w.sales_other_team, amount="60000.00")
    card = issue(w, a, "VIP000001")
    client = api_client_for(w.cs)

    def numbers(**params):
        return [c["number"] for c in client.get(f"{API}vip-cards/", params).json()["results"]]

    issue(w, b, "VIP000002")
    assert numbers(tier="gold") == ["VIP000002"]
    assert numbers(team=w.team1.pk) == ["VIP000001"]
    assert numbers(search="郑七") == ["VIP000001"]
    assert numbers(status="void") == []
    response = client.get(f"{API}vip-cards/", {"status": "nope"})
    assert response.status_code == 400 and "status" in response.json()["error"]["fields"]

    make_deal(edu, customer=a, amount="45000.00")             # a: gold, a new card is due
    rows = client.get(f"{API}cards/to-issue/").json()["results"]
    assert [(r["customer"]["id"], r["tier"], r["tier_name"], r["card"]) for r in rows] == [
        (a.pk, "gold", "金卡", {"id": card.pk, "number": "VIP000001", "tier": "silver"})]
    assert client.get(f"{API}cards/to-issue/", {"team": w.team2.pk}).json()["results"] == []

    stats = client.get(f"{API}cards/stats/", {"month": f"{edu.today:%Y-%m}"}).json()
    assert stats["month"] == edu.today.replace(day=1).isoformat()
    assert [(r["team_id"], r["issued"], r["tier_upgrades"]) for r in stats["rows"]] == [
        (w.team1.pk, 1, 1), (w.team2.pk, 1, 0)]
    assert stats["totals"]["cards"] == 2
    assert client.get(f"{API}cards/stats/", {"month": "2026-13"}).status_code == 400
    manager = api_client_for(w.manager).get(f"{API}cards/stats/").json()
    assert [r["team_id"] for r in manager["rows"]] == [w.team1.pk]


def test_another_tenants_card_is_not_found_whatever_the_method(edu, world_b, api_client_for):
    w = edu.world
    card = issue(w, buyer(edu), "VIP000001")
    before = card_rows(w)
    for who in (world_b.admin, world_b.cs, world_b.sales):
        client = api_client_for(who)
        for url in (f"{API}vip-cards/{card.pk}/", f"{API}vip-cards/{card.pk}/reissue/",
                    f"{API}vip-cards/{card.pk}/void/"):
            for method in ("get", "post", "put", "patch", "delete"):
                response = getattr(client, method)(url, {"number": "VIP9", "note": "x"},
                                                   format="json")
                assert response.status_code == 404, (who, url, method)
        response = client.post(f"{API}vip-cards/", {"customer": card.customer_id,
                                                    "number": "VIP9"}, format="json")
        assert response.status_code in (400, 403)
    assert card_rows(w) == before


def _quick_cards(world, n):
    for _ in range(n):
        customer = CustomerFactory(tenant=world.tenant, actor=world.sales)
        with world.context():
            CustomerTier.objects.create(tenant=world.tenant, customer=customer, tier="silver",
                                        tier_order=1, computed_order=1, since=timezone.now())
        issue(world, customer, f"VIP{customer.pk:06d}")


def _quick_buyers(world, n):
    for _ in range(n):
        customer = CustomerFactory(tenant=world.tenant, actor=world.sales)
        with world.context():
            CustomerTier.objects.create(tenant=world.tenant, customer=customer, tier="gold",
                                        tier_order=2, computed_order=2, since=timezone.now())


def test_list_query_budgets(world_a, api_client_for, django_assert_max_num_queries):
    client = api_client_for(world_a.cs)
    assert_flat(client, f"{API}vip-cards/", lambda n: _quick_cards(world_a, n), n=5)
    assert_flat(client, f"{API}cards/to-issue/", lambda n: _quick_buyers(world_a, n), n=5)
    with django_assert_max_num_queries(10):
        client.get(f"{API}vip-cards/")
    with django_assert_max_num_queries(10):
        client.get(f"{API}cards/to-issue/")
    assert_flat(api_client_for(world_a.manager), f"{API}vip-cards/",
                lambda n: _quick_cards(world_a, n), n=3)
