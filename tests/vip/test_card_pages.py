"""Membership card pages: who opens what, issuing from the to-issue list and from the issue page
(a refusal keeps the input, says why and saves nothing), loss and reissue with the history
chain on the detail page, a void card refused, the list's filters and search, another tenant's
ids (404 whatever the method), query budgets of the lists."""

# ruff: noqa: F811 - the imported `edu` fixture is an argument of the tests
from __future__ import annotations

import pytest

from apps.vip import cards as svc
from apps.vip.models import CustomerTier, VipCard
from tests.customers.factories import CustomerFactory
from tests.deals.conftest import edu, make_deal  # noqa: F401 - the edu fixture
from tests.query_budgets import assert_flat
from tests.referrals.lifecycle_helpers import zh
from tests.vip.test_cards import buyer, card_rows, issue, world_b_buyer

pytestmark = pytest.mark.django_db


@pytest.fixture
def cards(edu):
    """(world, a silver card of world.sales's customer (team1), a gold one of sales3's
    (team2))."""
    w = edu.world
    mine = issue(w, buyer(edu, name="赵一"), "VIP000001")
    other = issue(w, buyer(edu, name="钱二", owner=w.sales_other_team, amount="60000.00"),
                  "VIP000002")
    return w, mine, other


def text(response) -> str:
    return response.content.decode()


def test_who_opens_the_pages(cards, client_for):
    world, mine, other = cards
    everyone = (world.admin, world.cs, world.finance, world.manager, world.sales)
    for who in everyone:
        assert client_for(who).get("/vip/vip-cards/").status_code == 200
    for who in (world.admin, world.cs):
        for url in ("/vip/cards/to-issue/", f"/vip/vip-cards/{mine.pk}/reissue/",
                    f"/vip/customers/{mine.customer_id}/card/new/"):
            assert client_for(who).get(url).status_code == 200, (who, url)
    for who in (world.finance, world.manager, world.sales):
        for url in ("/vip/cards/to-issue/", f"/vip/vip-cards/{mine.pk}/reissue/",
                    f"/vip/customers/{mine.customer_id}/card/new/",
                    f"/vip/vip-cards/{mine.pk}/void/"):
            assert client_for(who).get(url).status_code == 403, (who, url)
    assert client_for(world.admin).get(f"/vip/vip-cards/{mine.pk}/void/").status_code == 200
    assert client_for(world.cs).get(f"/vip/vip-cards/{mine.pk}/void/").status_code == 403
    # Details: everyone for the tenant-wide roles; a manager their team's, sales their own.
    for who in (world.admin, world.cs, world.finance):
        for card in (mine, other):
            assert client_for(who).get(f"/vip/vip-cards/{card.pk}/").status_code == 200
    for who in (world.manager, world.sales):
        assert client_for(who).get(f"/vip/vip-cards/{mine.pk}/").status_code == 200
        assert client_for(who).get(f"/vip/vip-cards/{other.pk}/").status_code == 404
    assert client_for(world.sales2).get(f"/vip/vip-cards/{mine.pk}/").status_code == 404
    # Read-only roles see no action button.
    page = text(client_for(world.sales).get(f"/vip/vip-cards/{mine.pk}/"))
    assert 'data-action="reissue"' not in page and 'data-action="void"' not in page
    page = text(client_for(world.cs).get(f"/vip/vip-cards/{mine.pk}/"))
    assert 'data-action="reissue"' in page and 'data-action="void"' not in page
    # The list: a manager sees their team's cards only.
    page = text(client_for(world.manager).get("/vip/vip-cards/"))
    assert "VIP000001" in page and "VIP000002" not in page


def test_issue_from_the_to_issue_list(edu, client_for):
    w = edu.world
    customer = buyer(edu, name="孙三")
    client = client_for(w.cs)
    page = text(client.get("/vip/cards/to-issue/"))
    assert "孙三" in page and 'value="VIP000001"' in page
    # The row's form: number prefilled, back to the list (with its filters) after issuing.
    back = "/vip/cards/to-issue/?search=%E5%AD%99%E4%B8%89"
    response = client.post(f"/vip/customers/{customer.pk}/card/new/",
                           {"number": "vip000001", "next": back})
    assert response.status_code == 302 and response["Location"] == back
    assert card_rows(w) == [("VIP000001", customer.pk, "silver", "first", "active", "", None)]
    page = text(client.get("/vip/cards/to-issue/"))
    assert f'data-customer="{customer.pk}"' not in page
    # An upgrade puts the customer back, with the card to replace.
    make_deal(edu, customer=customer, amount="45000.00")
    page = text(client.get("/vip/cards/to-issue/"))
    assert "孙三" in page and "VIP000001" in page and 'value="VIP000002"' in page


def test_a_refused_issue_keeps_the_input_and_saves_nothing(edu, client_for):
    w = edu.world
    first, second = buyer(edu), buyer(edu, name="李四")
    issue(w, first, "VIP000001")
    client = client_for(w.cs)
    page = text(client.get(f"/vip/customers/{second.pk}/card/new/"))
    assert 'value="VIP000002"' in page          # the suggestion
    response = client.post(f"/vip/customers/{second.pk}/card/new/",
                           {"number": "VIP000001", "note": "柜台领取",
                            "issued_on": edu.today.isoformat()})
    assert response.status_code == 400
    page = text(response)
    assert zh("The card number %(number)s is already used in your company.",
              number="VIP000001") in page
    assert 'value="VIP000001"' in page and 'value="柜台领取"' in page
    assert len(card_rows(w)) == 1
    # A customer without a tier: refused with the reason.
    nobody = CustomerFactory(tenant=w.tenant, actor=w.sales)
    response = client.post(f"/vip/customers/{nobody.pk}/card/new/", {"number": "VIP000009"})
    assert response.status_code == 400
    assert zh("This customer has no tier: cards are for customers who have bought.") in \
        text(response)
    assert len(card_rows(w)) == 1
    # Success: to the new card's page.
    response = client.post(f"/vip/customers/{second.pk}/card/new/", {"number": "VIP000002"})
    with w.context():
        card = VipCard.objects.get(number="VIP000002")
    assert response.status_code == 302 and response["Location"] == f"/vip/vip-cards/{card.pk}/"
    # An outside `next` is ignored.
    third = buyer(edu)
    response = client.post(f"/vip/customers/{third.pk}/card/new/",
                           {"number": "VIP000003", "next": "https://evil.example/"})
    assert response["Location"].startswith("/vip/vip-cards/")


def test_loss_and_reissue_through_the_pages(edu, client_for):
    w = edu.world
    customer = buyer(edu, name="周五")
    old = issue(w, customer, "VIP000001")
    client = client_for(w.cs)
    page = text(client.get(f"/vip/vip-cards/{old.pk}/reissue/"))
    assert 'value="VIP000002"' in page and "VIP000001" in page
    response = client.post(f"/vip/vip-cards/{old.pk}/reissue/",
                           {"number": "VIP000002", "note": "丢失"})
    with w.context():
        new = VipCard.objects.get(number="VIP000002")
    assert response.status_code == 302 and response["Location"] == f"/vip/vip-cards/{new.pk}/"
    page = text(client.get(f"/vip/vip-cards/{new.pk}/"))
    assert 'id="card-replaces"' in page and f'/vip/vip-cards/{old.pk}/' in page
    assert f'data-replaces="{old.pk}"' in page
    page = text(client.get(f"/vip/vip-cards/{old.pk}/"))
    assert 'id="card-replaced-by"' in page and f'data-replaced-by="{new.pk}"' in page
    assert zh("lost") in page and "丢失" in page
    assert 'data-action="reissue"' not in page
    # The void card cannot be reissued again: the page says so, a POST is refused.
    before = card_rows(w)
    page = text(client.get(f"/vip/vip-cards/{old.pk}/reissue/"))
    assert 'id="card-already-void"' in page
    response = client.post(f"/vip/vip-cards/{old.pk}/reissue/", {"number": "VIP000003"})
    assert response.status_code == 400
    assert zh("The card %(number)s is already void (%(reason)s): only an active card can be "
              "reported lost or voided.", number="VIP000001", reason=zh("lost")) in text(response)
    assert card_rows(w) == before


def test_void_through_the_page(edu, client_for):
    w = edu.world
    card = issue(w, buyer(edu), "VIP000001")
    client = client_for(w.admin)
    response = client.post(f"/vip/vip-cards/{card.pk}/void/", {"note": ""})
    assert response.status_code == 400
    assert zh("Say why: it is kept with the card.") in text(response)
    assert card_rows(w)[0][4] == "active"
    response = client.post(f"/vip/vip-cards/{card.pk}/void/", {"note": "发错了"})
    assert response.status_code == 302
    assert card_rows(w)[0][4:6] == ("void", "other")
    page = text(client.get(f"/vip/vip-cards/{card.pk}/"))
    assert 'data-action="issue"' in page   # the customer is due a card again


def test_list_filters_and_search(cards, client_for):
    w, mine, other = cards
    svc.card_reissue(tenant=w.tenant, actor=w.cs, card=mine, number="VIP000003")
    client = client_for(w.cs)

    def numbers(**params):
        page = text(client.get("/vip/vip-cards/", params))
        return sorted(n for n in ("VIP000001", "VIP000002", "VIP000003") if n in page)

    assert numbers() == ["VIP000001", "VIP000002", "VIP000003"]
    assert numbers(status="void") == ["VIP000001"]
    assert numbers(status="active") == ["VIP000002", "VIP000003"]
    assert numbers(kind="reissue") == ["VIP000003"]
    assert numbers(tier="gold") == ["VIP000002"]
    assert numbers(team=w.team2.pk) == ["VIP000002"]
    assert numbers(search="vip000002") == ["VIP000002"]
    assert numbers(search="赵") == ["VIP000001", "VIP000003"]
    assert numbers(search=other.customer.phone) == ["VIP000002"]
    assert numbers(search=other.customer.phone[-4:]) == ["VIP000002"]
    response = client.get("/vip/vip-cards/", {"status": "lost-ish"})
    assert response.status_code == 400 and "VIP000001" not in text(response)


def test_another_tenants_ids_are_not_found_whatever_the_method(cards, world_b, client_for):
    w, mine, _other = cards
    before = card_rows(w)
    urls = [f"/vip/vip-cards/{mine.pk}/", f"/vip/vip-cards/{mine.pk}/reissue/",
            f"/vip/vip-cards/{mine.pk}/void/", f"/vip/customers/{mine.customer_id}/card/new/"]
    for who in (world_b.admin, world_b.cs, world_b.sales):
        client = client_for(who)
        for url in urls:
            for method in ("get", "post", "put", "delete"):
                response = getattr(client, method)(url, {"number": "VIP000009", "note": "x"})
                assert response.status_code == 404, (who, url, method)
    assert card_rows(w) == before
    # And world_b's own buyer is unaffected by world_a's numbers.
    customer_b = world_b_buyer(world_b)
    response = client_for(world_b.cs).post(f"/vip/customers/{customer_b.pk}/card/new/",
                                           {"number": "VIP000001"})
    assert response.status_code == 302


def _quick_cards(world, n):
    """n tiered customers with a card each (made directly: the budget counts the page's
    queries, not how the rows came)."""
    from django.utils import timezone

    for _ in range(n):
        customer = CustomerFactory(tenant=world.tenant, actor=world.sales)
        with world.context():
            CustomerTier.objects.create(tenant=world.tenant, customer=customer, tier="silver",
                                        tier_order=1, computed_order=1, since=timezone.now())
        issue(world, customer, svc.next_card_number(world.tenant))


def _quick_buyers(world, n):
    from django.utils import timezone

    for _ in range(n):
        customer = CustomerFactory(tenant=world.tenant, actor=world.sales)
        with world.context():
            CustomerTier.objects.create(tenant=world.tenant, customer=customer, tier="gold",
                                        tier_order=2, computed_order=2, since=timezone.now())


def test_list_query_budgets(world_a, client_for, django_assert_max_num_queries):
    client = client_for(world_a.cs)
    assert_flat(client, "/vip/vip-cards/", lambda n: _quick_cards(world_a, n), n=5)
    # 8 of plumbing (savepoint, user, staff, three settings, unread notifications, release)
    # + count, page, tier scheme, teams.
    with django_assert_max_num_queries(12):
        client.get("/vip/vip-cards/")
    assert_flat(client, "/vip/cards/to-issue/", lambda n: _quick_buyers(world_a, n), n=5)
    # The same + the suggested number.
    with django_assert_max_num_queries(13):
        client.get("/vip/cards/to-issue/")
    manager = client_for(world_a.manager)
    assert_flat(manager, "/vip/vip-cards/", lambda n: _quick_cards(world_a, n), n=3)
