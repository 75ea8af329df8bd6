"""The public referral page /r/<slug>/<code>/: no login, the tenant entered by slug, the card
looked up inside it; refusals; the same thank-you page for existing customers; rate limits."""

import pytest
from django.test import Client

from apps.customers.models import CustomerRelation
from apps.customers.services import relation_add
from apps.referrals import referrers as svc
from apps.referrals.models import Referral

from .cards_helpers import card_for, customer_referrer, make_customer, resident_id

pytestmark = pytest.mark.django_db

FRIEND = {"name": "钱七", "phone": "13700137000", "id_number": "", "note": "想了解一下"}


def url(slug, code):
    return f"/r/{slug}/{code}/"


@pytest.fixture
def card(world_a):
    return card_for(world_a, customer_referrer(world_a, name="王小五"))


def referrals(world):
    with world.context():
        return list(Referral.objects.all())


def test_page_branded_masked_and_chinese(world_a, card):
    response = Client().get(url("tenant-a", card.code))
    body = response.content.decode()
    assert response.status_code == 200
    assert "甲家居" in body and "王**" in body and "王小五" not in body
    assert "13800138001" not in body and "csrfmiddlewaretoken" in body
    assert 'lang="zh-hans"' in body and "提交" in body


def test_submit_creates_registered_referral(world_a, world_b, card):
    response = Client(REMOTE_ADDR="10.1.2.3").post(url("tenant-a", card.code.lower()), FRIEND)
    assert response.status_code == 200 and 'id="public-thanks"' in response.content.decode()
    [referral] = referrals(world_a)
    assert (referral.status, referral.channel, referral.card_id, referral.referrer_id) == (
        "registered", "link", card.pk, card.referrer_id)
    assert (referral.name, referral.phone, referral.submitted_ip, referral.flagged) == (
        "钱七", "13700137000", "10.1.2.3", False)
    assert referral.note == "想了解一下"
    assert referrals(world_b) == []


def test_csrf_required(world_a, card):
    response = Client(enforce_csrf_checks=True).post(url("tenant-a", card.code), FRIEND)
    assert response.status_code == 403
    assert referrals(world_a) == []


@pytest.mark.parametrize("slug,code", [("nope", None), ("tenant-a", "ZZZZZZZZ"),
                                       ("tenant-a", "abc<>"), ("tenant-b", None)])
def test_unknown_slug_or_code_404_same_page(world_a, world_b, card, slug, code):
    client = Client()
    for method in (client.get, client.post):
        response = method(url(slug, code or card.code), FRIEND) if method == client.post \
            else method(url(slug, code or card.code))
        assert response.status_code == 404
        assert 'id="public-404"' in response.content.decode()
        assert "甲家居" not in response.content.decode()
    assert referrals(world_a) == [] and referrals(world_b) == []


def test_inactive_card_or_referrer_404(world_a, card):
    w = world_a
    svc.referrer_deactivate(tenant=w.tenant, actor=w.manager, referrer=card.referrer)
    assert Client().get(url("tenant-a", card.code)).status_code == 404
    svc.referrer_reactivate(tenant=w.tenant, actor=w.manager, referrer=card.referrer)
    assert Client().get(url("tenant-a", card.code)).status_code == 200
    svc.card_deactivate(tenant=w.tenant, actor=w.manager, card=card)
    assert Client().post(url("tenant-a", card.code), FRIEND).status_code == 404
    assert referrals(w) == []


def test_code_of_a_never_touches_b(world_a, world_b, card):
    """Both tenants hold the same code: each slug reaches its own card only."""
    rb = customer_referrer(world_b, name="孙八")
    with world_b.context():
        from apps.referrals.models import ReferralCard
        card_b = ReferralCard.objects.create(tenant=world_b.tenant, referrer=rb, code=card.code)
    assert "孙*" in Client().get(url("tenant-b", card.code)).content.decode()
    Client().post(url("tenant-a", card.code), FRIEND)
    [ra] = referrals(world_a)
    assert ra.card_id == card.pk and referrals(world_b) == []
    Client().post(url("tenant-b", card.code), {**FRIEND, "phone": "13700137009"})
    [rb_ref] = referrals(world_b)
    assert rb_ref.card_id == card_b.pk and len(referrals(world_a)) == 1


def test_own_phone_and_own_id_refused(world_a, card):
    response = Client().post(url("tenant-a", card.code), {**FRIEND, "phone": "138 0013 8001"})
    assert response.status_code == 200 and "不能推荐自己" in response.content.decode()
    response = Client().post(url("tenant-a", card.code), {**FRIEND, "id_number": resident_id()})
    assert "不能推荐自己" in response.content.decode()
    assert 'value="钱七"' in response.content.decode()  # what was typed is kept
    assert referrals(world_a) == []


@pytest.mark.parametrize("kind,refused", [("spouse", True), ("child", True), ("parent", True),
                                          ("relative", True), ("friend", False)])
def test_relatives_refused(world_a, card, kind, refused):
    w = world_a
    relative = make_customer(w, name="王妻", phone="13700137000")
    with w.context():
        referrer_customer = card.referrer.customer
    # Either direction of the relation counts.
    a, b = (relative, referrer_customer) if kind == "child" else (referrer_customer, relative)
    relation_add(tenant=w.tenant, actor=w.manager, customer=a, related=b, kind=kind)
    with w.context():
        assert CustomerRelation.objects.count() == 1
    body = Client().post(url("tenant-a", card.code), FRIEND).content.decode()
    if refused:
        assert "家庭成员" in body and referrals(w) == []
    else:
        assert 'id="public-thanks"' in body and len(referrals(w)) == 1


def test_existing_customer_same_thank_you_page_flagged(world_a, card):
    w = world_a
    fresh = Client().post(url("tenant-a", card.code), FRIEND).content.decode()
    make_customer(w, name="老客户", phone="13700137001")
    known = Client().post(url("tenant-a", card.code),
                          {**FRIEND, "phone": "13700137001"}).content.decode()
    strip = lambda s: s.replace("13700137001", "").replace("13700137000", "")  # noqa: E731
    assert strip(known) == strip(fresh)
    flagged = [r for r in referrals(w) if r.flagged]
    assert [r.phone for r in flagged] == ["13700137001"]
    assert "已是客户" in flagged[0].flag_reason


def test_rate_limit_per_ip(world_a, card):
    client = Client(REMOTE_ADDR="10.9.9.9")
    for i in range(5):
        assert client.post(url("tenant-a", card.code),
                           {**FRIEND, "phone": f"1370013700{i}"}).status_code == 200
    response = client.post(url("tenant-a", card.code), {**FRIEND, "phone": "13700137009"})
    assert response.status_code == 429 and "提交过于频繁" in response.content.decode()
    assert len(referrals(world_a)) == 5
    # Another address is still served.
    assert Client(REMOTE_ADDR="10.9.9.8").post(
        url("tenant-a", card.code), {**FRIEND, "phone": "13700137009"}).status_code == 200


def test_rate_limit_per_code(world_a, card, settings):
    w = world_a
    other = card_for(w, card.referrer)
    for i in range(30):
        response = Client(REMOTE_ADDR=f"10.0.{i}.1").post(
            url("tenant-a", card.code), {**FRIEND, "phone": f"137001370{i:02d}"})
        assert response.status_code == 200
    response = Client(REMOTE_ADDR="10.1.0.1").post(url("tenant-a", card.code),
                                                   {**FRIEND, "phone": "13700137099"})
    assert response.status_code == 429
    assert len(referrals(w)) == 30
    # Another code of the same referrer has its own counter.
    assert Client(REMOTE_ADDR="10.1.0.1").post(
        url("tenant-a", other.code), {**FRIEND, "phone": "13700137099"}).status_code == 200


def test_logged_in_staff_of_another_tenant_stays_in_the_link_tenant(world_a, world_b, card,
                                                                     client_for):
    response = client_for(world_b.admin).post(url("tenant-a", card.code), FRIEND)
    assert 'id="public-thanks"' in response.content.decode()
    assert len(referrals(world_a)) == 1 and referrals(world_b) == []


def test_public_get_query_budget(world_a, card, django_assert_max_num_queries):
    client = Client()
    client.get(url("tenant-a", card.code))
    # 2 savepoints (the request transaction, tenant_context) and their releases, the tenant by
    # slug, set tenant, the card with referrer and customer (one JOIN), reset tenant.
    with django_assert_max_num_queries(8):
        assert client.get(url("tenant-a", card.code)).status_code == 200
