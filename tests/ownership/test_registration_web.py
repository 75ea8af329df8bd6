"""The registration page, its htmx check fragment, and the registration API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import NoReverseMatch, reverse

from apps.customers.models import Customer, OwnershipChange
from apps.disputes.models import Dispute
from apps.ownership.models import OwnershipPolicy
from apps.ownership.selectors import tenant_today
from tests.customers.factories import make_id_number, next_phone

from .test_registration_check import contacted_days_ago, customer_of, fresh, pool_customer

pytestmark = pytest.mark.django_db

REGISTER = "/ownership/register/"
CHECK = "/ownership/register/check/"
API_CHECK = "/api/v1/ownership/check/"
API_REGISTER = "/api/v1/ownership/register/"


def api_claim_url(pk: int) -> str:
    return f"/api/v1/ownership/customers/{pk}/claim/"


def cn_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def snapshot(world):
    with world.context():
        return (sorted(Customer.objects.values_list("id", "owner_id", "last_contact_at")),
                OwnershipChange.objects.count(), Dispute.objects.count())


def form_data(**kw):
    data = {"name": "王小明", "phone": next_phone(), "id_number": "", "gender": "",
            "source": "walk_in", "related_customer_phone": "", "relation_kind": "", "notes": ""}
    data.update(kw)
    return data


def test_urls():
    assert reverse("ownership:register") == REGISTER
    assert reverse("ownership:register_check") == CHECK
    assert reverse("api-ownership-check") == API_CHECK
    assert reverse("api-ownership-register") == API_REGISTER
    assert reverse("api-ownership-claim", args=[7]) == api_claim_url(7)


# --------------------------------------------------------------------------- the page


def test_page_is_phone_friendly_and_checks_as_you_type(world_a, client_for):
    response = client_for(world_a.sales).get(REGISTER)
    assert response.status_code == 200
    html = response.content.decode()
    assert "登记客户" in html and "关联老客户手机号" in html
    assert 'name="viewport"' in html and 'inputmode="tel"' in html
    assert f'hx-get="{CHECK}"' in html
    assert 'hx-trigger="input changed delay:300ms"' in html
    assert 'hx-target="#registration-check"' in html
    assert "输入完整手机号、身份证号，或姓名加手机号后四位，即可查重。" in html


@pytest.mark.parametrize("role", ["cs", "finance"])
def test_customer_service_and_finance_may_not_register(world_a, client_for, role):
    w = world_a
    client = client_for(getattr(w, role))
    before = snapshot(w)
    assert client.get(REGISTER).status_code == 403
    assert client.post(REGISTER, form_data()).status_code == 403
    assert client.get(CHECK, {"phone": next_phone()}).status_code == 403
    assert snapshot(w) == before


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(REGISTER)
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_check_fragment_for_someone_elses_customer(world_a, client_for):
    w = world_a
    id_number = make_id_number(seq="432")
    c = customer_of(w, w.sales2, name="张三丰", id_number=id_number)
    response = client_for(w.sales).get(CHECK, {"phone": c.phone, "name": "", "id_number": ""},
                                       HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html                       # a fragment
    assert "在其他销售的保护期内：登记将发起撞单申诉。" in html
    assert "张**" in html and w.sales2.name in html
    assert f"保护期至 {cn_date(tenant_today(w.tenant) + dt.timedelta(days=30))}" in html
    assert "张三丰" not in html and id_number not in html
    assert f"/customers/{c.pk}/" not in html
    assert "HX-Request" in response["Vary"]


def test_check_fragment_links_for_admin(world_a, client_for):
    c = customer_of(world_a, world_a.sales2, name="张三")
    html = client_for(world_a.admin).get(CHECK, {"phone": c.phone}).content.decode()
    assert f'href="/customers/{c.pk}/"' in html and "张三" in html


def test_check_fragment_states(world_a, client_for):
    w = world_a
    client = client_for(w.sales)
    assert "即可查重" in client.get(CHECK, {"phone": "139"}).content.decode()
    assert "请输入有效的中国大陆手机号。" in client.get(CHECK, {"phone": "23800138000"}).content.decode()
    assert "新客户：登记后归您所有。" in client.get(CHECK, {"phone": next_phone()}).content.decode()
    pool = pool_customer(w)
    html = client.get(CHECK, {"phone": pool.phone}).content.decode()
    assert "在公海中：登记即为您认领。" in html and "孙*" in html
    expired = customer_of(w, w.sales2, name="李四")
    contacted_days_ago(w, expired, 31)
    html = client.get(CHECK, {"phone": expired.phone}).content.decode()
    assert "原负责人的保护期已过：登记即为您认领。" in html
    mine = customer_of(w, w.sales, name="王五")
    html = client.get(CHECK, {"phone": mine.phone}).content.decode()
    assert "已是您的客户。" in html and f'href="/customers/{mine.pk}/"' in html


def test_register_a_new_person(world_a, client_for):
    w = world_a
    client = client_for(w.sales)
    response = client.post(REGISTER, form_data(name="王小明", phone="137 0000 2222"))
    with w.context():
        c = Customer.objects.get(phone="13700002222")
    assert response.status_code == 302 and response.url == f"/customers/{c.pk}/"
    assert c.owner_id == w.sales.pk
    assert "王小明 已登记为您的客户。" in client.get(response.url).content.decode()


def test_register_claims_a_pool_customer(world_a, client_for):
    w = world_a
    c = pool_customer(w, "孙七")
    client = client_for(w.sales)
    response = client.post(REGISTER, form_data(name="孙七", phone=c.phone))
    assert response.status_code == 302 and response.url == f"/customers/{c.pk}/"
    assert fresh(w, c).owner == w.sales
    assert "已认领 孙七，现在是您的客户。" in client.get(response.url).content.decode()


def test_register_own_customer_links_to_it(world_a, client_for):
    c = customer_of(world_a, world_a.sales, name="王五")
    response = client_for(world_a.sales).post(REGISTER, form_data(name="王五", phone=c.phone))
    html = response.content.decode()
    assert response.status_code == 200
    assert "王五 已经是您的客户。" in html and f'href="/customers/{c.pk}/"' in html


def test_bad_input_keeps_what_was_typed(world_a, client_for):
    w = world_a
    before = snapshot(w)
    response = client_for(w.sales).post(REGISTER, form_data(
        name="王小明", phone="12345", notes="周末再来", related_customer_phone="13600007777",
        relation_kind="spouse"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "请输入有效的中国大陆手机号。" in html and "没有客户使用这个手机号。" in html
    assert 'value="王小明"' in html and 'value="12345"' in html and "周末再来" in html
    assert 'value="13600007777"' in html
    assert 'class="form-control is-invalid"' in html
    assert snapshot(w) == before


def test_collision_is_confirmed_before_the_dispute_opens(world_a, client_for):
    w = world_a
    c = customer_of(w, w.sales2, name="张三")
    client = client_for(w.sales)
    before = snapshot(w)
    data = form_data(name="张三", phone=c.phone, notes="第二次来访")
    response = client.post(REGISTER, data)
    html = response.content.decode()
    assert response.status_code == 200
    end = cn_date(tenant_today(w.tenant) + dt.timedelta(days=30))
    assert (f"该客户（张*）在 {w.sales2.name} 的保护期内（至 {end}）。要发起撞单申诉吗？"
            in html)
    assert 'name="confirm" value="1"' in html and 'name="claim_note"' in html
    assert f'type="hidden" name="phone" value="{c.phone}"' in html   # the typed values ride along
    assert snapshot(w) == before                                    # nothing opened yet

    response = client.post(REGISTER, {**data, "confirm": "1", "claim_note": "上周带他看过样板间"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "已发起撞单申诉" in html and w.sales2.name in html and "张*" in html
    with w.context():
        dispute = Dispute.objects.get()
    assert (dispute.customer_id, dispute.claimant_id, dispute.owner_id, dispute.claim) == (
        c.pk, w.sales.pk, w.sales2.pk, "上周带他看过样板间")
    try:
        assert f'href="{reverse("disputes:detail", args=[dispute.pk])}"' in html
    except NoReverseMatch:
        pass
    assert fresh(w, c).owner == w.sales2


def test_refused_claim_shows_on_the_form(world_a, client_for):
    w = world_a
    with w.context():
        OwnershipPolicy.objects.create(tenant=w.tenant, version=1, max_customers_per_owner=1,
                                       effective_from=tenant_today(w.tenant))
    customer_of(w, w.sales, name="已有")
    pool = pool_customer(w, "孙七")
    before = snapshot(w)
    response = client_for(w.sales).post(REGISTER, form_data(name="孙七", phone=pool.phone))
    html = response.content.decode()
    assert response.status_code == 200
    assert "您已拥有1个客户，上限为1个。" in html and f'value="{pool.phone}"' in html
    assert snapshot(w) == before


# --------------------------------------------------------------------------- API


def test_api_check(world_a, api_client_for):
    w = world_a
    id_number = make_id_number(seq="246")
    c = customer_of(w, w.sales2, name="张三丰", id_number=id_number)
    client = api_client_for(w.sales)
    for response in (client.get(API_CHECK, {"phone": c.phone}),
                     client.post(API_CHECK, {"phone": c.phone}, format="json")):
        assert response.status_code == 200
        data = response.json()
        assert data["verdict"] == "collision" and data["claimable"] is False
        assert data["verdict_label"] == "在其他销售的保护期内：登记将发起撞单申诉。"
        (m,) = data["matches"]
        assert (m["kind"], m["name"], m["masked_name"], m["owner_name"], m["customer_id"]) == (
            "phone", "张**", "张**", w.sales2.name, None)
        assert m["protected_until"] == str(tenant_today(w.tenant) + dt.timedelta(days=30))
        body = response.content.decode()
        assert "张三丰" not in body and id_number not in body and body.count(c.phone) == 0
    admin = api_client_for(w.admin).get(API_CHECK, {"phone": c.phone}).json()
    assert admin["matches"][0]["customer_id"] == c.pk and admin["matches"][0]["name"] == "张三丰"


def test_api_register_outcomes(world_a, api_client_for):
    w = world_a
    client = api_client_for(w.sales)
    response = client.post(API_REGISTER, {"name": "王小明", "phone": "13700003333"}, format="json")
    assert response.status_code == 201
    data = response.json()
    with w.context():
        new = Customer.objects.get(phone="13700003333")
    assert (data["outcome"], data["customer_id"], data["dispute_id"]) == ("registered", new.pk, None)
    assert data["message"] == "王小明 已登记为您的客户。"

    response = client.post(API_REGISTER, {"name": "王小明", "phone": "13700003333"}, format="json")
    assert response.status_code == 200 and response.json()["outcome"] == "already_yours"

    pool = pool_customer(w, "孙七")
    response = client.post(API_REGISTER, {"name": "孙七", "phone": pool.phone}, format="json")
    assert response.status_code == 200
    assert (response.json()["outcome"], response.json()["customer_id"]) == ("claimed", pool.pk)


def test_api_collision_answers_409(world_a, api_client_for):
    w = world_a
    c = customer_of(w, w.sales2, name="张三")
    client = api_client_for(w.sales)
    before = snapshot(w)
    response = client.post(API_REGISTER, {"name": "张三", "phone": c.phone}, format="json")
    assert response.status_code == 409
    data = response.json()
    end = tenant_today(w.tenant) + dt.timedelta(days=30)
    assert (data["outcome"], data["customer_id"], data["dispute_id"]) == ("collision", None, None)
    assert data["message"] == (f"张* 在 {w.sales2.name} 的保护期内（至 {cn_date(end)}）。"
                               "确认后将发起撞单申诉。")
    assert data["match"]["owner_name"] == w.sales2.name
    assert c.phone not in response.content.decode()
    assert snapshot(w) == before
    response = client.post(API_REGISTER, {"name": "张三", "phone": c.phone, "confirm_collision": True,
                                          "claim_note": "先接待的"}, format="json")
    assert response.status_code == 409
    with w.context():
        dispute = Dispute.objects.get()
    assert response.json()["dispute_id"] == dispute.pk and dispute.claim == "先接待的"


def test_api_bad_input(world_a, api_client_for):
    w = world_a
    before = snapshot(w)
    response = api_client_for(w.sales).post(
        API_REGISTER, {"name": "", "phone": "138OO138000", "gender": "X"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and error["message"] == "请修正以下错误。"
    assert set(error["fields"]) == {"gender"}          # the serializer's own check first
    response = api_client_for(w.sales).post(API_REGISTER, {"name": "", "phone": "138OO138000"},
                                            format="json")
    assert response.json()["error"]["fields"] == {
        "name": ["请输入客户姓名。"], "phone": ["手机号只能包含数字，例如 138 0013 8000。"]}
    assert snapshot(w) == before


@pytest.mark.parametrize("role", ["cs", "finance"])
def test_api_roles(world_a, api_client_for, role):
    w = world_a
    pool = pool_customer(w)
    client = api_client_for(getattr(w, role))
    before = snapshot(w)
    assert client.get(API_CHECK, {"phone": pool.phone}).status_code == 403
    assert client.post(API_REGISTER, {"name": "甲", "phone": next_phone()},
                       format="json").status_code == 403
    assert client.post(api_claim_url(pool.pk), {}, format="json").status_code == 403
    assert snapshot(w) == before


def test_api_claim(world_a, api_client_for):
    w = world_a
    pool = pool_customer(w, "孙七")
    response = api_client_for(w.sales).post(api_claim_url(pool.pk), {"note": "电话约访"},
                                            format="json")
    assert response.status_code == 200
    assert response.json()["owner"] == {"id": w.sales.pk, "name": w.sales.name}
    with w.context():
        assert OwnershipChange.objects.get(customer=pool).note == "电话约访"
    # Too late for the second salesperson: a clear refusal, nothing changes.
    before = snapshot(w)
    response = api_client_for(w.sales2).post(api_claim_url(pool.pk), {}, format="json")
    assert response.status_code == 400
    end = cn_date(tenant_today(w.tenant) + dt.timedelta(days=30))
    assert response.json()["error"]["fields"] == {"non_field_errors": [
        f"该客户在{w.sales.name}的保护期内（至{end}）；如有异议，请通过报备登记发起撞单申诉。"]}
    assert snapshot(w) == before
    assert api_client_for(w.sales).get(api_claim_url(pool.pk)).status_code == 405


def test_api_claim_of_another_tenants_customer_is_404(world_a, world_b, api_client_for):
    pool_b = pool_customer(world_b, "孙七")
    before = snapshot(world_b)
    for role in ("sales", "admin", "cs"):
        client = api_client_for(getattr(world_a, role))
        for method in ("get", "post", "put", "delete"):
            response = getattr(client, method)(api_claim_url(pool_b.pk), {}, format="json")
            assert response.status_code == 404, (role, method)
            assert "孙七" not in response.content.decode()
    assert snapshot(world_b) == before
    assert fresh(world_b, pool_b).owner is None


def test_schema_lists_the_endpoints(world_a, api_client_for):
    response = api_client_for(world_a.sales).get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/v1/ownership/check/", "/api/v1/ownership/register/",
            "/api/v1/ownership/customers/{id}/claim/"} <= set(paths)
