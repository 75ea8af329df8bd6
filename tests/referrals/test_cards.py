"""Cards: random unambiguous codes unique per tenant, the cap per referrer, deactivation, QR
PNG/SVG and the printable card page (roles and isolation)."""

import pytest
import segno
from django.core.exceptions import PermissionDenied, ValidationError

from apps.referrals import referrers as svc
from apps.referrals.models import ReferralCard
from apps.tenancy.models import Tenant

from .cards_helpers import card_for, customer_referrer

pytestmark = pytest.mark.django_db


def test_codes_random_unambiguous_and_unique(world_a):
    w = world_a
    r = customer_referrer(w)
    codes = [card_for(w, r).code for _i in range(12)]
    assert len(set(codes)) == 12
    for code in codes:
        assert len(code) == 8 and not set(code) & set("01OI")


def test_collision_retried(world_a, world_b, monkeypatch):
    w = world_a
    r = customer_referrer(w)
    first = card_for(w, r)
    drawn = iter([first.code, first.code, "ABCDEFGH"])
    monkeypatch.setattr(svc, "new_code", lambda: next(drawn))
    assert card_for(w, r).code == "ABCDEFGH"
    # Unique per tenant only: the same code may exist in another tenant.
    rb = customer_referrer(world_b)
    drawn = iter(["ABCDEFGH"])
    assert card_for(world_b, rb).code == "ABCDEFGH"


def test_cap_for_education_tenants(world_a):
    w = world_a
    Tenant.objects.filter(pk=w.tenant.pk).update(industry=Tenant.Industry.EDUCATION)
    w.tenant.refresh_from_db()
    r = customer_referrer(w)
    cards = [card_for(w, r) for _i in range(5)]
    with pytest.raises(ValidationError) as exc:
        card_for(w, r)
    assert exc.value.message_dict["referrer"] == ["每位转介绍人最多持有 5 张有效卡片。"]
    with w.context():
        assert ReferralCard.objects.filter(referrer=r).count() == 5
    svc.card_deactivate(tenant=w.tenant, actor=w.manager, card=cards[0])
    card_for(w, r)  # a deactivated card frees a place


def test_no_cap_elsewhere(world_a):
    r = customer_referrer(world_a)
    for _i in range(7):
        card_for(world_a, r)


def test_card_roles(world_a):
    w = world_a
    r = customer_referrer(w)  # owned by w.sales
    with pytest.raises(PermissionDenied):
        svc.card_issue(tenant=w.tenant, actor=w.sales2, referrer=r)
    with pytest.raises(PermissionDenied):
        svc.card_issue(tenant=w.tenant, actor=w.finance, referrer=r)
    card = svc.card_issue(tenant=w.tenant, actor=w.sales, referrer=r)
    with pytest.raises(PermissionDenied):
        svc.card_deactivate(tenant=w.tenant, actor=w.sales2, card=card)
    svc.card_deactivate(tenant=w.tenant, actor=w.sales, card=card)
    with pytest.raises(ValidationError):
        svc.card_deactivate(tenant=w.tenant, actor=w.sales, card=card)


def test_qr_png_and_svg_encode_the_link(world_a, client_for):
    w = world_a
    card = card_for(w, customer_referrer(w))
    link = f"http://testserver/r/tenant-a/{card.code}/"
    client = client_for(w.sales)
    png = client.get(f"/referrals/cards/{card.pk}/qr.png")
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    svg = client.get(f"/referrals/cards/{card.pk}/qr.svg")
    assert svg["Content-Type"] == "image/svg+xml"
    body = svg.content.decode()
    assert "<svg" in body and "<path" in body
    # segno cannot decode: the same link gives the same symbol, byte for byte.
    assert svc.card_qr(link).matrix == segno.make(link, error="m", micro=False).matrix
    assert png.content == svc.card_qr_png(link) and svg.content == svc.card_qr_svg(link)
    assert svc.card_qr_png(link + "x") != png.content


def test_printable_card_page(world_a, client_for):
    w = world_a
    card = card_for(w, customer_referrer(w, name="王小五"))
    body = client_for(w.sales).get(f"/referrals/cards/{card.pk}/").content.decode()
    assert "甲家居" in body and "王**" in body and card.code in body
    assert "王小五" not in body


@pytest.mark.parametrize("suffix", ["", "qr.png", "qr.svg", "deactivate/"])
def test_card_pages_staff_who_see_the_referrer_only(world_a, world_b, client_for, suffix):
    card = card_for(world_a, customer_referrer(world_a))
    url = f"/referrals/cards/{card.pk}/{suffix}"
    assert client_for(world_b.admin).get(url).status_code == 404
    assert client_for(world_a.sales2).get(url).status_code == 404
    assert client_for(world_a.sales).get(url).status_code == 200
    from django.test import Client
    assert Client().get(url).status_code == 302  # to the login page


def test_issue_and_deactivate_pages(world_a, client_for):
    w = world_a
    r = customer_referrer(w)
    client = client_for(w.sales)
    assert client.post(f"/referrals/referrers/{r.pk}/cards/").status_code == 302
    with w.context():
        card = ReferralCard.objects.get(referrer=r)
    confirm = client.get(f"/referrals/cards/{card.pk}/deactivate/")
    assert "无法撤销" in confirm.content.decode()
    with w.context():
        assert ReferralCard.objects.get(pk=card.pk).active
    client.post(f"/referrals/cards/{card.pk}/deactivate/")
    with w.context():
        assert not ReferralCard.objects.get(pk=card.pk).active
    assert client_for(w.finance).post(f"/referrals/referrers/{r.pk}/cards/").status_code == 403
