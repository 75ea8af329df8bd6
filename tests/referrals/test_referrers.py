"""Referrers: registration of customers (valid resident ID), staff and partners; roles; the
list page and API (search, filters, query budget)."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.customers.models import Customer
from apps.referrals import referrers as svc
from apps.referrals.models import Referrer
from tests.query_budgets import assert_flat

from .cards_helpers import card_for, customer_referrer, make_customer, resident_id

pytestmark = pytest.mark.django_db


def test_customer_registered_with_valid_id_which_is_stored(world_a):
    w = world_a
    customer = make_customer(w)
    referrer = svc.referrer_register_customer(tenant=w.tenant, actor=w.sales, customer=customer,
                                              id_number=resident_id())
    with w.context():
        assert referrer.kind == "customer" and referrer.registered_by == w.sales
        assert Customer.objects.get(pk=customer.pk).id_number == resident_id()


@pytest.mark.parametrize("bad", ["", "110105198005170012", "12345"])
def test_invalid_or_missing_id_refused_nothing_saved(world_a, bad):
    w = world_a
    customer = make_customer(w)
    with pytest.raises(ValidationError) as exc:
        svc.referrer_register_customer(tenant=w.tenant, actor=w.sales, customer=customer,
                                       id_number=bad)
    assert "id_number" in exc.value.message_dict
    with w.context():
        assert not Referrer.objects.exists()
        assert Customer.objects.get(pk=customer.pk).id_number == ""


def test_id_must_match_the_one_on_file(world_a):
    w = world_a
    customer = make_customer(w, id_number=resident_id(11))
    with pytest.raises(ValidationError) as exc:
        svc.referrer_register_customer(tenant=w.tenant, actor=w.sales, customer=customer,
                                       id_number=resident_id(13))
    assert exc.value.message_dict["id_number"] == ["该身份证号与客户档案中的不一致。"]
    svc.referrer_register_customer(tenant=w.tenant, actor=w.sales, customer=customer,
                                   id_number=resident_id(11))


def test_customer_registered_once(world_a):
    w = world_a
    referrer = customer_referrer(w)
    with pytest.raises(ValidationError) as exc:
        svc.referrer_register_customer(tenant=w.tenant, actor=w.manager,
                                       customer=referrer.customer, id_number=resident_id())
    assert "customer" in exc.value.message_dict


def test_sales_register_only_their_own_customers(world_a):
    w = world_a
    customer = make_customer(w, owner=w.sales2)
    with pytest.raises(PermissionDenied):
        svc.referrer_register_customer(tenant=w.tenant, actor=w.sales, customer=customer,
                                       id_number=resident_id())
    with pytest.raises(PermissionDenied):
        svc.referrer_register_customer(tenant=w.tenant, actor=w.finance, customer=customer,
                                       id_number=resident_id())
    svc.referrer_register_customer(tenant=w.tenant, actor=w.manager, customer=customer,
                                   id_number=resident_id())


def test_staff_referrer_managers_only(world_a):
    w = world_a
    with pytest.raises(PermissionDenied):
        svc.referrer_register_staff(tenant=w.tenant, actor=w.sales, staff=w.sales)
    referrer = svc.referrer_register_staff(tenant=w.tenant, actor=w.manager, staff=w.sales)
    assert referrer.kind == "staff"
    with pytest.raises(ValidationError):
        svc.referrer_register_staff(tenant=w.tenant, actor=w.admin, staff=w.sales)


@pytest.mark.parametrize("fee_kind,value,field", [
    ("fixed", "0", "fee_value"), ("fixed", "-5", "fee_value"), ("percent", "0", "fee_value"),
    ("percent", "100.01", "fee_value"), ("percent", "abc", "fee_value"), ("", "10", "fee_kind"),
])
def test_partner_fee_validated(world_a, fee_kind, value, field):
    w = world_a
    with pytest.raises(ValidationError) as exc:
        svc.referrer_register_partner(tenant=w.tenant, actor=w.manager, name="李律师",
                                      phone="13900139000", fee_kind=fee_kind, fee_value=value,
                                      payment_due_working_days=5)
    assert field in exc.value.message_dict
    with w.context():
        assert not Referrer.objects.exists()


def test_partner_registered(world_a):
    w = world_a
    r = svc.referrer_register_partner(tenant=w.tenant, actor=w.manager, name="李律师",
                                      phone="139 0013 9000", fee_kind="percent", fee_value="100",
                                      payment_due_working_days=5)
    assert (r.partner_phone, r.fee_value, r.payment_due_working_days) == (
        "13900139000", Decimal("100"), 5)
    with pytest.raises(PermissionDenied):
        svc.referrer_register_partner(tenant=w.tenant, actor=w.sales, name="x",
                                      phone="13900139001", fee_kind="fixed", fee_value="100",
                                      payment_due_working_days=5)


def test_deactivate_and_reactivate(world_a):
    w = world_a
    r = customer_referrer(w)
    with pytest.raises(PermissionDenied):
        svc.referrer_deactivate(tenant=w.tenant, actor=w.sales, referrer=r)
    svc.referrer_deactivate(tenant=w.tenant, actor=w.manager, referrer=r)
    with pytest.raises(ValidationError):
        svc.referrer_deactivate(tenant=w.tenant, actor=w.manager, referrer=r)
    with pytest.raises(ValidationError):
        card_for(w, r)
    svc.referrer_reactivate(tenant=w.tenant, actor=w.manager, referrer=r)
    card_for(w, r)


def test_list_page_search_filter_and_roles(world_a, client_for):
    w = world_a
    r1 = customer_referrer(w, name="王五", phone="13800138001")
    card = card_for(w, r1)
    customer_referrer(w, name="赵六", phone="13800138002", seq=13, owner=w.sales2)
    svc.referrer_register_partner(tenant=w.tenant, actor=w.manager, name="李律师",
                                  phone="13900139000", fee_kind="fixed", fee_value="800",
                                  payment_due_working_days=5)
    manager = client_for(w.manager)
    body = manager.get("/referrals/referrers/").content.decode()
    assert "王五" in body and "赵六" in body and "李律师" in body
    body = manager.get("/referrals/referrers/", {"search": card.code.lower()}).content.decode()
    assert "王五" in body and "赵六" not in body
    body = manager.get("/referrals/referrers/", {"search": "138002"}).content.decode()
    assert "赵六" in body and "王五" not in body
    body = manager.get("/referrals/referrers/", {"kind": "partner"}).content.decode()
    assert "李律师" in body and "王五" not in body
    # A salesperson sees the referrers of their own customers only.
    body = client_for(w.sales).get("/referrals/referrers/").content.decode()
    assert "王五" in body and "赵六" not in body and "李律师" not in body


def test_list_page_query_budget(world_a, client_for):
    w = world_a
    counter = iter(range(10, 99))

    def grow(n):
        for _i in range(n):
            k = next(counter)
            r = customer_referrer(w, name=f"客户{k}", phone=f"138001380{k:02d}", seq=k * 2 + 1)
            card_for(w, r)

    response = assert_flat(client_for(w.manager), "/referrals/referrers/", grow, n=5)
    assert response.content.decode().count("客户") >= 10


def test_register_pages(world_a, client_for):
    w = world_a
    make_customer(w)
    sales = client_for(w.sales)
    response = sales.post("/referrals/referrers/new/customer/",
                          {"phone": "13800138001", "id_number": "110105198005170012"})
    assert response.status_code == 200
    assert "校验位不正确" in response.content.decode()
    assert 'value="110105198005170012"' in response.content.decode()  # kept what was typed
    response = sales.post("/referrals/referrers/new/customer/",
                          {"phone": "13800138001", "id_number": resident_id()})
    assert response.status_code == 302
    assert sales.get("/referrals/referrers/new/staff/").status_code == 403
    assert sales.get("/referrals/referrers/new/partner/").status_code == 403
    manager = client_for(w.manager)
    response = manager.post("/referrals/referrers/new/partner/", {
        "name": "李律师", "phone": "13900139000", "fee_kind": "percent", "fee_value": "150",
        "payment_due_working_days": "5"})
    assert response.status_code == 200 and "100" in response.content.decode()
    response = manager.post("/referrals/referrers/new/staff/", {"staff": w.sales2.pk})
    assert response.status_code == 302
    with w.context():
        assert Referrer.objects.filter(kind="staff", staff=w.sales2).exists()
        assert not Referrer.objects.filter(kind="partner").exists()


def test_detail_page_isolation_and_visibility(world_a, world_b, client_for):
    r = customer_referrer(world_a)
    card_for(world_a, r)
    assert client_for(world_b.admin).get(f"/referrals/referrers/{r.pk}/").status_code == 404
    assert client_for(world_a.sales2).get(f"/referrals/referrers/{r.pk}/").status_code == 404
    body = client_for(world_a.sales).get(f"/referrals/referrers/{r.pk}/").content.decode()
    assert "/r/tenant-a/" in body


def test_api_list_create_detail(world_a, world_b, api_client_for):
    w = world_a
    customer = make_customer(w)
    api = api_client_for(w.sales)
    response = api.post("/api/v1/referrers/", {"kind": "customer", "customer_id": customer.pk,
                                               "id_number": "123"}, format="json")
    assert response.status_code == 400
    assert "id_number" in response.json()["error"]["fields"]
    response = api.post("/api/v1/referrers/", {"kind": "customer", "customer_id": customer.pk,
                                               "id_number": resident_id()}, format="json")
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    response = api.post(f"/api/v1/referrers/{pk}/cards/")
    assert response.status_code == 201 and "/r/tenant-a/" in response.json()["link"]
    detail = api.get(f"/api/v1/referrers/{pk}/").json()
    assert detail["name"] == "王五" and len(detail["cards"]) == 1
    assert api.get("/api/v1/referrers/").json()["results"][0]["active_cards"] == 1
    response = api.post("/api/v1/referrers/", {"kind": "partner", "name": "x", "phone":
                                               "13900139000", "fee_kind": "fixed",
                                               "fee_value": "10"}, format="json")
    assert response.status_code == 403
    assert api_client_for(world_b.admin).get(f"/api/v1/referrers/{pk}/").status_code == 404


def test_api_list_query_budget(world_a, api_client_for):
    w = world_a
    counter = iter(range(10, 99))

    def grow(n):
        for _i in range(n):
            k = next(counter)
            r = customer_referrer(w, name=f"客户{k}", phone=f"138001380{k:02d}", seq=k * 2 + 1)
            card_for(w, r)

    response = assert_flat(api_client_for(w.manager), "/api/v1/referrers/", grow, n=5)
    assert len(response.json()["results"]) == 10


def test_deactivate_page_roles(world_a, world_b, client_for):
    w = world_a
    r = customer_referrer(w)
    assert client_for(w.sales).post(f"/referrals/referrers/{r.pk}/deactivate/").status_code == 403
    assert client_for(world_b.admin).post(
        f"/referrals/referrers/{r.pk}/deactivate/").status_code == 404
    with w.context():
        assert Referrer.objects.get(pk=r.pk).active
    response = client_for(w.manager).post(f"/referrals/referrers/{r.pk}/deactivate/",
                                          follow=True)
    assert "已停用该转介绍人" in response.content.decode()
    with w.context():
        assert not Referrer.objects.get(pk=r.pk).active
