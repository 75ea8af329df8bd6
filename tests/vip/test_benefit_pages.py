"""The VIP benefit pages: the customer page's VIP section per role, the deal page's voucher
section, redeeming a voucher (form → confirmation → done), recording a gift, the review queue,
the tier history; refusals, another tenant's objects (404) and query budgets."""
# ruff: noqa: F811 - the imported `edu` fixture is an argument of the tests

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.tenancy.roles import Role
from apps.vip.models import GiftGiven, VoucherUse
from apps.vip.selectors import customer_vip_summary
from tests.customers.factories import CustomerFactory
from tests.deals.conftest import edu, make_deal  # noqa: F401 - the fixture
from tests.query_budgets import assert_flat
from tests.referrals.lifecycle_helpers import converted, zh

from .test_benefits import buyer_referrer, gift, gold_customer, redeem, refund, tier_row
from .test_tier_set import set_tier

pytestmark = pytest.mark.django_db
D = Decimal


def vip_section(response) -> str:
    html = response.content.decode()
    if 'id="vip"' not in html:
        return ""
    start = html.index('id="vip"')
    return html[start:html.index("</section>", start)]


# --------------------------------------------------------------------------- customer page


def test_customer_page_shows_the_section_per_role(edu, client_for):
    w = edu.world
    deal = make_deal(edu, amount="60000.00")
    redeem(w, deal, "200")
    url = reverse("customers:detail", args=[edu.customer.pk])
    set_url = reverse("vip:tier_set", args=[edu.customer.pk])
    gift_url = reverse("vip:gift_create", args=[edu.customer.pk])
    history_url = reverse("vip:tier_history", args=[edu.customer.pk])
    expected = {  # role: (may set, may record a gift)
        "admin": (True, True), "manager": (True, True), "sales": (False, False),
        "cs": (False, True), "finance": (False, False)}
    for role, (can_set, can_gift) in expected.items():
        section = vip_section(client_for(getattr(w, role)).get(url))
        assert section, role
        assert "金卡" in section and "500" in section, role
        assert "200.00" in section and "300.00" in section, role    # used, left
        assert history_url in section, role
        assert (set_url in section, gift_url in section) == (can_set, can_gift), role


def test_customer_page_without_a_tier_and_with_a_review(edu, client_for):
    w = edu.world
    url = reverse("customers:detail", args=[edu.customer.pk])
    section = vip_section(client_for(w.admin).get(url))
    assert zh("No tier yet: every buyer starts at the entry tier with their first deal.") in \
        section
    deal = make_deal(edu, amount="60000.00")
    refund(w, deal, "20000.00")
    section = vip_section(client_for(w.manager).get(url))
    assert reverse("vip:tier_keep", args=[edu.customer.pk]) in section
    assert "40000.00" in section                                   # the review reason
    section = vip_section(client_for(w.sales).get(url))
    assert reverse("vip:tier_keep", args=[edu.customer.pk]) not in section


def test_summary_query_count_is_fixed(world_a, django_assert_num_queries):
    w = world_a
    referrer = buyer_referrer(w)
    customer = referrer.customer
    with w.context():
        with CaptureQueriesContext(connection) as small:
            customer_vip_summary(customer, w.admin)
    for _ in range(3):
        referral, _deal = converted(w, referrer, "3000")
        gift(w, customer, referral=referral, description="礼品")
    set_tier(w, customer, "silver", actor=w.admin, reason="测试")
    with w.context():
        with django_assert_num_queries(4):      # tier row with its counts, scheme, gifts, history
            summary = customer_vip_summary(customer, w.admin)
    assert len(small.captured_queries) <= 4
    assert summary["gifts_given"] == 3 and len(summary["history"]) == 4
    nobody = CustomerFactory(tenant=w.tenant, actor=w.sales)
    with w.context():
        with django_assert_num_queries(1):      # no tier: the tier row only
            customer_vip_summary(nobody, w.admin)


# --------------------------------------------------------------------------- deal page, voucher


def test_deal_page_offers_the_voucher_then_shows_it(edu, client_for):
    w = edu.world
    _customer, deal = gold_customer(edu)
    url = reverse("deals:detail", args=[deal.pk])
    redeem_url = reverse("vip:voucher_redeem", args=[deal.pk])
    assert redeem_url in client_for(w.admin).get(url).content.decode()
    assert redeem_url in client_for(w.manager).get(url).content.decode()
    assert redeem_url not in client_for(w.finance).get(url).content.decode()
    redeem(w, deal, "321")
    html = client_for(w.finance).get(url).content.decode()
    assert 'id="vip-voucher-use"' in html and "321.00" in html and redeem_url not in html


def test_voucher_page_form_confirmation_and_done(edu, client_for):
    w = edu.world
    customer, deal = gold_customer(edu)
    earlier = make_deal(edu, customer=customer, amount="1000.00")
    redeem(w, earlier, "100")
    client = client_for(w.sales)
    url = reverse("vip:voucher_redeem", args=[deal.pk])
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="voucher-allowance">500.00' in html and 'id="voucher-used">100.00' in html
    assert 'id="voucher-left">400.00' in html
    # One cent too much: refused with what is left, input kept.
    response = client.post(url, {"amount": "400.01", "note": "签约"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "400.00" in html and 'value="400.01"' in html and 'value="签约"' in html
    response = client.post(url, {"amount": "400", "note": "签约"})
    assert response.templates[0].name == "vip/voucher_confirm.html"
    with w.context():
        assert VoucherUse.objects.filter(deal_id=deal.pk).count() == 0
    response = client.post(url, {"amount": "400", "note": "签约", "confirmed": "1"})
    assert response.status_code == 302
    with w.context():
        use = VoucherUse.objects.get(deal_id=deal.pk)
    assert (use.amount, use.note, use.created_by_id) == (D("400.00"), "签约", w.sales.pk)
    # Now the deal has its voucher: the page says so and offers no form; a POST is refused.
    html = client.get(url).content.decode()
    message = zh("A voucher was already redeemed against this deal (one per deal).")
    assert message in html and 'name="amount"' not in html
    response = client.post(url, {"amount": "1", "confirmed": "1"})
    assert response.status_code == 400 and message in response.content.decode()
    with w.context():
        assert VoucherUse.objects.filter(customer_id=customer.pk).count() == 2


def test_voucher_page_without_voucher_explains(edu, client_for):
    deal = make_deal(edu, amount="1000.00")                     # Silver: no voucher
    html = client_for(edu.world.admin).get(
        reverse("vip:voucher_redeem", args=[deal.pk])).content.decode()
    assert zh("The tier “%(tier)s” has no voucher.", tier="银卡") in html
    assert 'name="amount"' not in html


def test_voucher_page_refusals(edu, world_b, client_for):
    w = edu.world
    _customer, deal = gold_customer(edu)
    url = reverse("vip:voucher_redeem", args=[deal.pk])
    for staff in (w.cs, w.finance):
        assert client_for(staff).get(url).status_code == 403
    assert client_for(w.sales_other_team).get(url).status_code == 404   # cannot see the deal
    for staff in (world_b.admin, world_b.manager, world_b.sales):
        assert client_for(staff).post(url, {"amount": "1", "confirmed": "1"}).status_code == 404
    with w.context():
        assert VoucherUse.objects.count() == 0


# --------------------------------------------------------------------------- gifts


def test_gift_page_records_a_gift_for_a_referral_due(world_a, client_for):
    w = world_a
    referrer = buyer_referrer(w)
    first, _ = converted(w, referrer, "3000")
    client = client_for(w.cs)
    url = reverse("vip:gift_create", args=[referrer.customer.pk])
    html = client.get(url).content.decode()
    assert "380元百货礼品一份" in html and f'value="{first.pk}"' in html
    response = client.post(url, {"referral": first.pk, "description": "", "value": "",
                                 "given_on": "2999-01-01"})
    assert response.status_code == 400
    response = client.post(url, {"referral": first.pk, "description": "", "value": "",
                                 "given_on": first.converted_at.date().isoformat()})
    assert response.status_code == 302
    with w.context():
        gift_row = GiftGiven.objects.get()
    assert (gift_row.referral_id, gift_row.description, gift_row.value) == (
        first.pk, "380元百货礼品一份", D("380.00"))
    # The referral is no longer among the choices.
    response = client.post(url, {"referral": first.pk, "description": "x",
                                 "given_on": first.converted_at.date().isoformat()})
    assert response.status_code == 400
    assert zh("Choose one of the referrals still waiting for a gift.") in \
        response.content.decode()
    assert client_for(w.sales).get(url).status_code == 403
    assert client_for(w.finance).get(url).status_code == 403


# --------------------------------------------------------------------------- reviews, history


def test_review_list_per_role(edu, client_for):
    w = edu.world
    mine = make_deal(edu, amount="60000.00")
    refund(w, mine, "20000.00")
    theirs = make_deal(edu, customer=edu.other_customer, amount="60000.00")
    refund(w, theirs, "20000.00")
    url = reverse("vip:review_list")
    html = client_for(w.manager).get(url).content.decode()
    assert edu.customer.name in html and edu.other_customer.name not in html
    assert reverse("vip:tier_keep", args=[edu.customer.pk]) in html
    html = client_for(w.admin).get(url).content.decode()
    assert edu.customer.name in html and edu.other_customer.name in html
    for staff in (w.sales, w.cs, w.finance):
        assert client_for(staff).get(url).status_code == 403
    lonely = w.make_staff("manager0", [Role.MANAGER], None)
    assert client_for(lonely).get(url).status_code == 403


def test_review_list_query_budget(edu, client_for, django_assert_max_num_queries):
    w = edu.world

    def grow(n):
        for _ in range(n):
            customer = CustomerFactory(tenant=w.tenant, actor=w.sales)
            deal = make_deal(edu, customer=customer, amount="60000.00")
            refund(w, deal, "20000.00")

    client = client_for(w.admin)
    url = reverse("vip:review_list")
    response = assert_flat(client, url, grow, n=4)
    assert response.content.decode().count("/tier/keep/") == 8
    with django_assert_max_num_queries(11):  # 7 of plumbing + scheme, rows, unread badge
        client.get(url)


def test_tier_history_page_is_paginated_and_flat(edu, client_for):
    w = edu.world
    make_deal(edu, amount="1000.00")
    tiers = iter(["gold", "diamond"] * 30)

    def grow(n):
        for _ in range(n):
            set_tier(w, edu.customer, next(tiers), actor=w.admin, reason="测试分页")

    client = client_for(w.sales)
    url = reverse("vip:tier_history", args=[edu.customer.pk])
    response = assert_flat(client, url, grow, n=5)
    assert response.content.decode().count("测试分页") == 10
    grow(20)
    html = client.get(url, {"page": 2}).content.decode()
    assert html.count("<tr>") - 1 == 6           # 31 rows: 25 on page 1, 6 on page 2
    assert client_for(w.sales_other_team).get(url).status_code == 404
    assert tier_row(w, edu.customer).tier in ("gold", "diamond")
