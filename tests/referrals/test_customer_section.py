"""The customer page shows who referred the customer and, for a referral member, how many
people they referred and how many bought — only as far as the viewer may see."""

from django.urls import reverse

from apps.referrals import lifecycle
from tests.referrals.cards_helpers import customer_referrer


def _page(client_for, staff, customer):
    return client_for(staff).get(reverse("customers:detail", args=[customer.pk]))


def test_referred_customer_and_referral_member_sections(world_a, client_for):
    w = world_a
    referrer = customer_referrer(w)  # 王五, owned by sales
    referral = lifecycle.referral_log(tenant=w.tenant, actor=w.sales, referrer=referrer,
                                      name="李四", phone="13900139001").referral

    html = _page(client_for, w.sales, referral.customer).content.decode()
    section = html[html.index('id="referrals"'):]
    assert "推荐人" in section and "王五" in section
    assert reverse("referrals:referral_detail", args=[referral.pk]) in section
    assert "已核实" in section

    html = _page(client_for, w.manager, referrer.customer).content.decode()
    section = html[html.index('id="referrals"'):]
    assert reverse("referrals:referrer_detail", args=[referrer.pk]) in section
    assert "已推荐 1 人" in section and "0 人成交" in section


def test_a_customer_without_referrals_has_no_section(world_a, client_for):
    from tests.referrals.cards_helpers import make_customer

    w = world_a
    plain = make_customer(w, name="钱七", phone="13800138009")
    html = _page(client_for, w.admin, plain).content.decode()
    assert 'id="referrals"' not in html
