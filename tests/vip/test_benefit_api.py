"""The VIP benefits API (/api/v1/vip/...): the tier summary and setting it by hand, closing a
review, the history, the review queue, vouchers, gifts and the care frequencies — roles,
refusals in the project's error format, another tenant (404, nothing changed), query budgets."""

# ruff: noqa: F811 - the imported `edu` fixture is an argument of the tests

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.tenancy.roles import Role
from apps.vip import services
from apps.vip.models import GiftGiven, VoucherUse
from tests.customers.factories import CustomerFactory
from tests.deals.conftest import edu, make_deal  # noqa: F401 - the fixture
from tests.referrals.lifecycle_helpers import converted, zh

from .test_benefits import buyer_referrer, changes, gift, gold_customer, redeem, refund, tier_row

pytestmark = pytest.mark.django_db
D = Decimal
API = "/api/v1/vip"


def tier_url(customer) -> str:
    return f"{API}/customers/{customer.pk}/tier/"


# --------------------------------------------------------------------------- tier


def test_tier_summary(edu, api_client_for):
    w = edu.world
    _customer, deal = gold_customer(edu, customer=edu.customer)
    redeem(w, deal, "150")
    response = api_client_for(w.sales).get(tier_url(edu.customer))
    assert response.status_code == 200
    data = response.json()
    assert (data["tier"], data["tier_name"], data["grade"], data["order"]) == (
        "gold", "金卡", "B", 2)
    assert data["voucher"] == {"allowance": "500.00", "period": "year",
                               "period_start": f"{edu.today.year}-01-01", "used": "150.00",
                               "left": "350.00"}
    assert data["next_tier"] == {"tier": "diamond", "name": "钻石卡",
                                 "missing_total": "40000.00", "missing_referrals": 2}
    assert data["care"]["phone_every_months"] == 6 and data["actions"] == []
    assert [h["kind"] for h in data["history"]] == ["initial"]
    data = api_client_for(w.manager).get(tier_url(edu.customer)).json()
    assert data["actions"] == ["set", "gift"]
    # No tier yet.
    data = api_client_for(w.admin).get(tier_url(edu.other_customer)).json()
    assert (data["tier"], data["voucher"], data["history"], data["actions"]) == (
        None, None, [], [])


def test_set_by_hand_and_keep(edu, api_client_for):
    w = edu.world
    deal = make_deal(edu, amount="60000.00")
    client = api_client_for(w.manager)
    response = client.post(tier_url(edu.customer), {"tier": "diamond"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["fields"]) == ("invalid", {
        "reason": [zh("Give the reason: it is kept in the tier history.")]})
    assert tier_row(w, edu.customer).tier == "gold"
    response = client.post(tier_url(edu.customer), {"tier": "diamond", "reason": "大客户"},
                           format="json")
    assert response.status_code == 200 and response.json()["tier"] == "diamond"
    assert response.json()["manual"] is True
    assert changes(w, edu.customer)[-1] == ("manual", "gold", "diamond")
    # Keep: nothing to review → 400; after a refund below Diamond → 200.
    keep_url = f"{API}/customers/{edu.customer.pk}/tier/keep/"
    assert client.post(keep_url, {"reason": "x"}, format="json").status_code == 400
    client.post(tier_url(edu.customer), {"tier": "gold", "reason": "恢复"}, format="json")
    refund(w, deal, "20000.00")
    assert tier_row(w, edu.customer).review
    response = client.post(keep_url, {"reason": "将续费"}, format="json")
    assert response.status_code == 200 and response.json()["review"] is False
    history = client.get(f"{API}/customers/{edu.customer.pk}/tier-changes/").json()
    assert [r["kind"] for r in history["results"]][:2] == ["review_cleared", "review"]
    assert history["results"][0]["actor"]["id"] == w.manager.pk


def test_set_refused_for_roles_and_other_tenants(edu, world_b, api_client_for):
    w = edu.world
    make_deal(edu, amount="1000.00")
    manager2 = w.make_staff("manager2", [Role.MANAGER], w.team2)
    body = {"tier": "gold", "reason": "x"}
    for staff in (w.sales, w.cs, w.finance):
        response = api_client_for(staff).post(tier_url(edu.customer), body, format="json")
        assert response.status_code == 403, staff
        assert response.json()["error"]["status"] == 403
    # Another team's manager does not see the customer: 404.
    assert api_client_for(manager2).post(tier_url(edu.customer), body,
                                         format="json").status_code == 404
    for staff in (world_b.admin, world_b.manager, world_b.sales):
        client = api_client_for(staff)
        for url in (tier_url(edu.customer), f"{API}/customers/{edu.customer.pk}/tier/keep/",
                    f"{API}/customers/{edu.customer.pk}/tier-changes/"):
            assert client.get(url).status_code in (404,), url
            assert client.post(url, body, format="json").status_code == 404, url
    assert (tier_row(w, edu.customer).tier, len(changes(w, edu.customer))) == ("silver", 1)


def test_review_queue(edu, api_client_for, django_assert_max_num_queries):
    w = edu.world
    for customer in (edu.customer, edu.other_customer):
        deal = make_deal(edu, customer=customer, amount="60000.00")
        refund(w, deal, "20000.00")
    rows = api_client_for(w.manager).get(f"{API}/reviews/").json()["results"]
    assert [r["customer"]["id"] for r in rows] == [edu.customer.pk]
    assert rows[0]["tier_name"] == "金卡" and rows[0]["computed_name"] == "银卡"
    client = api_client_for(w.admin)
    client.get(f"{API}/reviews/")
    with django_assert_max_num_queries(10):  # 7 of plumbing + scheme, rows (+ a count)
        rows = client.get(f"{API}/reviews/").json()["results"]
    assert {r["customer"]["id"] for r in rows} == {edu.customer.pk, edu.other_customer.pk}
    for staff in (w.sales, w.cs, w.finance):
        assert api_client_for(staff).get(f"{API}/reviews/").status_code == 403


# --------------------------------------------------------------------------- vouchers


def test_voucher_redeem_list_and_detail(edu, api_client_for, django_assert_max_num_queries):
    w = edu.world
    customer, deal = gold_customer(edu)
    client = api_client_for(w.sales)
    response = client.post(f"{API}/vouchers/", {"deal": deal.pk, "amount": "500.01"},
                           format="json")
    assert response.status_code == 400
    assert "500.00" in response.json()["error"]["fields"]["amount"][0]
    response = client.post(f"{API}/vouchers/", {"deal": deal.pk, "amount": "500", "note": "抵"},
                           format="json")
    assert response.status_code == 201
    data = response.json()
    assert (data["amount"], data["tier"], data["deal"], data["customer"]["id"],
            data["created_by"]["id"]) == ("500.00", "gold", deal.pk, customer.pk, w.sales.pk)
    assert client.get(f"{API}/vouchers/{data['id']}/").json()["note"] == "抵"
    # Filters, and a flat query count.
    for _ in range(3):
        other, other_deal = gold_customer(edu)
        redeem(w, other_deal, "10")
    admin = api_client_for(w.admin)
    admin.get(f"{API}/vouchers/")
    with django_assert_max_num_queries(9):  # 7 of plumbing + the rows (+ a count when full)
        rows = admin.get(f"{API}/vouchers/").json()["results"]
    assert len(rows) == 4
    rows = admin.get(f"{API}/vouchers/", {"customer": customer.pk}).json()["results"]
    assert [r["id"] for r in rows] == [data["id"]]
    rows = admin.get(f"{API}/vouchers/", {"deal": deal.pk}).json()["results"]
    assert [r["id"] for r in rows] == [data["id"]]
    assert admin.get(f"{API}/vouchers/", {"deal": "x"}).status_code == 400


def test_voucher_refusals(edu, world_b, api_client_for):
    w = edu.world
    customer, deal = gold_customer(edu)
    other, _other_deal = gold_customer(edu)
    body = {"deal": deal.pk, "amount": "10"}
    for staff in (w.cs, w.finance):
        assert api_client_for(staff).post(f"{API}/vouchers/", body,
                                          format="json").status_code == 403
    response = api_client_for(w.admin).post(f"{API}/vouchers/", {**body, "customer": other.pk},
                                            format="json")
    assert response.status_code == 400 and list(response.json()["error"]["fields"]) == ["deal"]
    use = redeem(w, deal, "10")
    response = api_client_for(w.admin).post(f"{API}/vouchers/", body, format="json")
    assert response.json()["error"]["fields"]["deal"] == [
        zh("A voucher was already redeemed against this deal (one per deal).")]
    # Another tenant: the deal is unknown, the voucher 404, nothing changes.
    b_client = api_client_for(world_b.admin)
    response = b_client.post(f"{API}/vouchers/", body, format="json")
    assert response.status_code == 400 and response.json()["error"]["fields"]["deal"] == [
        zh("Unknown deal.")]
    assert b_client.get(f"{API}/vouchers/{use.pk}/").status_code == 404
    assert b_client.get(f"{API}/vouchers/").json()["results"] == []
    with w.context():
        assert VoucherUse.objects.count() == 1
    # sales3 sees neither the customer nor the voucher.
    assert api_client_for(w.sales_other_team).get(f"{API}/vouchers/{use.pk}/").status_code == 404


# --------------------------------------------------------------------------- gifts, care


def test_gifts(world_a, world_b, api_client_for):
    w = world_a
    referrer = buyer_referrer(w)
    first, _ = converted(w, referrer, "3000")
    client = api_client_for(w.cs)
    response = client.post(f"{API}/gifts/", {"customer": referrer.customer.pk,
                                             "referral": first.pk}, format="json")
    assert response.status_code == 201
    data = response.json()
    assert (data["description"], data["value"], data["referral"], data["tier"]) == (
        "380元百货礼品一份", "380.00", first.pk, "gold")
    response = client.post(f"{API}/gifts/", {"customer": referrer.customer.pk,
                                             "referral": first.pk}, format="json")
    assert response.status_code == 400 and list(response.json()["error"]["fields"]) == [
        "referral"]
    assert api_client_for(w.sales).post(f"{API}/gifts/", {"customer": referrer.customer.pk},
                                        format="json").status_code == 403
    assert client.get(f"{API}/gifts/{data['id']}/").json()["id"] == data["id"]
    rows = client.get(f"{API}/gifts/", {"customer": referrer.customer.pk}).json()["results"]
    assert [r["id"] for r in rows] == [data["id"]]
    b_client = api_client_for(world_b.cs)
    assert b_client.get(f"{API}/gifts/{data['id']}/").status_code == 404
    response = b_client.post(f"{API}/gifts/", {"customer": referrer.customer.pk},
                             format="json")
    assert response.status_code == 400 and "customer" in response.json()["error"]["fields"]
    with w.context():
        assert GiftGiven.objects.count() == 1
    # The summary counts it.
    summary = client.get(tier_url(referrer.customer)).json()
    assert (summary["gifts_given"], summary["gifts_due"]) == (1, 0)
    gift(w, referrer.customer, description="台历")
    assert client.get(tier_url(referrer.customer)).json()["gifts_given"] == 2


def test_care_frequencies(world_a, api_client_for):
    client = api_client_for(world_a.cs)
    rows = client.get(f"{API}/care/").json()
    assert [(r["tier"], r["sms_every_months"], r["phone_every_months"], r["birthday_greeting"])
            for r in rows] == [("silver", 0, 0, False), ("gold", 1, 6, True),
                               ("diamond", 1, 3, True)]
    assert client.get(f"{API}/care/", {"tier": "gold"}).json()[0]["name"] == "金卡"
    response = client.get(f"{API}/care/", {"tier": "platinum"})
    assert response.status_code == 400 and "tier" in response.json()["error"]["fields"]


def test_history_list_query_budget(edu, api_client_for, django_assert_max_num_queries):
    w = edu.world
    make_deal(edu, amount="1000.00")
    client = api_client_for(w.admin)
    url = f"{API}/customers/{edu.customer.pk}/tier-changes/"
    for i in range(12):
        services.tier_set(tenant=w.tenant, actor=w.admin, customer=edu.customer,
                          tier="gold" if i % 2 == 0 else "diamond", reason=f"第{i}次")
    client.get(url)
    with django_assert_max_num_queries(10):  # 7 of plumbing + the customer, scheme, rows
        data = client.get(url).json()
    assert data["count"] == 13 and data["results"][0]["reason"] == "第11次"
    customer = CustomerFactory(tenant=w.tenant, actor=w.sales)
    assert client.get(f"{API}/customers/{customer.pk}/tier-changes/").json()["results"] == []
