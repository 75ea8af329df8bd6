"""Contract pages and API: list and detail per role (renewal chain, reminders sent), entry
without a deal, end/notes change, hours; another tenant's contract is a 404 and stays as it
was. Texts in Chinese."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.urls import reverse

from apps.deals.contracts import contract_create_for_deal
from apps.deals.models import Contract
from apps.renewals.services import renewal_reminders_send

from .helpers import contracts_state, days, fresh, make_contract, make_customer, make_deal, today

CONTRACTS_API = "/api/v1/renewals/contracts/"


def detail_url(contract) -> str:
    return reverse("renewals:contract_detail", args=[contract.pk])


@pytest.fixture
def three(world_a):
    w = world_a
    end = today(w) + days(60)
    return {"sales": make_contract(w, w.sales, end=end),
            "sales2": make_contract(w, w.sales2, end=end),
            "other": make_contract(w, w.sales_other_team, end=end)}


@pytest.mark.parametrize(("role", "expected"), [
    ("sales", {"sales"}), ("sales2", {"sales2"}), ("sales_other_team", {"other"}),
    ("manager", {"sales", "sales2"}), ("admin", {"sales", "sales2", "other"}),
    ("cs", {"sales", "sales2", "other"}), ("finance", {"sales", "sales2", "other"})])
def test_contract_list_and_detail_per_role(world_a, three, client_for, api_client_for, role,
                                           expected):
    staff = getattr(world_a, role)
    response = client_for(staff).get(reverse("renewals:contracts"))
    assert response.status_code == 200
    shown = {c.pk for c in response.context["contracts"]}
    assert shown == {three[k].pk for k in expected}
    api = api_client_for(staff).get(CONTRACTS_API).json()
    assert {r["id"] for r in api["results"]} == shown
    for key, contract in three.items():
        status = client_for(staff).get(detail_url(contract)).status_code
        assert status == (200 if key in expected else 404), key
        api_status = api_client_for(staff).get(f"{CONTRACTS_API}{contract.pk}/").status_code
        assert api_status == (200 if key in expected else 404), key


def test_contract_list_filters(world_a, three, client_for):
    w = world_a
    url = reverse("renewals:contracts")
    client = client_for(w.admin)
    number = three["sales2"].number
    assert [c.pk for c in client.get(url, {"search": number}).context["contracts"]] == [
        three["sales2"].pk]
    customer = three["other"].customer
    assert [c.pk for c in client.get(url, {"search": customer.phone[-4:]}).context["contracts"]
            ] == [three["other"].pk]
    assert {c.pk for c in client.get(url, {"team": w.team1.pk}).context["contracts"]} == {
        three["sales"].pk, three["sales2"].pk}
    assert [c.pk for c in client.get(url, {"status": "ended"}).context["contracts"]] == []
    bad = client.get(url, {"status": "nope"})
    assert bad.status_code == 400
    assert "选择一个有效的选项" in bad.content.decode()


def test_detail_shows_chain_reminders_and_history(world_a, client_for):
    w = world_a
    t = today(w)
    first = make_contract(w, start=t - days(300), end=t + days(30), hours="40")
    deal = make_deal(w, first.customer, signed_on=t - days(255), renews=first,
                     days_since_contract_start=45)
    second = contract_create_for_deal(tenant=w.tenant, actor=w.sales, deal=deal,
                                      start=t + days(31), end=t + days(395), renews=first)
    other = make_contract(w, end=t + days(7))
    renewal_reminders_send(tenant=w.tenant, today=t)
    response = client_for(w.sales).get(detail_url(first))
    html = response.content.decode()
    assert response.status_code == 200
    assert [c.pk for c, _linkable in response.context["chain"]] == [first.pk, second.pk]
    assert "续费链" in html and second.number in html and "已续费" in html
    assert "开始后第 45 天" in html
    assert "尚未发送提醒。" in html  # renewed: no reminder
    assert "已消耗 / 购买课时" in html and "登记消耗课时" in html
    assert "录入合同" in html  # history
    response = client_for(w.sales).get(detail_url(other))
    html = response.content.decode()
    assert "已发送的续费提醒" in html and response.context["reminders"][0].lead_days == 7
    assert "7 天后到期" in html

    api = api_client_for_staff(w.sales).get(f"{CONTRACTS_API}{first.pk}/").json()
    assert [c["id"] for c in api["chain"]] == [first.pk, second.pk]
    assert api["renewed_by"] == {"id": second.pk, "number": second.number}
    assert api_client_for_staff(w.sales).get(
        f"{CONTRACTS_API}{other.pk}/").json()["reminders"][0]["lead_days"] == 7


def api_client_for_staff(staff):
    from tests.conftest import api_login
    return api_login(staff)


# --------------------------------------------------------------------------- entry and changes


def test_manager_enters_a_contract_by_the_customers_mobile(world_a, client_for):
    w = world_a
    customer = make_customer(w, w.sales2)
    url = reverse("renewals:contract_create")
    client = client_for(w.manager)
    assert client.get(url, {"customer": customer.pk}).context["form"].initial == {
        "customer": customer.phone}
    response = client.post(url, {"customer": customer.phone, "number": "OLD-7",
                                 "start": "2025-09-01", "end": "2026-08-31", "amount": "12800",
                                 "hours_bought": "96", "notes": ""})
    with w.context():
        contract = Contract.objects.get(number="OLD-7")
    assert response.status_code == 302 and response["Location"] == detail_url(contract)
    assert (contract.owner_id, contract.team_id, contract.amount, contract.hours_bought) == (
        w.sales2.pk, w.team1.pk, Decimal("12800.00"), Decimal("96.0"))
    follow = client.get(detail_url(contract))
    assert "合同 OLD-7 已保存。" in follow.content.decode()


def test_entry_errors_keep_what_was_typed(world_a, client_for):
    w = world_a
    make_contract(w, number="OLD-1")
    other_team = make_customer(w, w.sales_other_team)
    before = contracts_state(w)
    client = client_for(w.manager)
    url = reverse("renewals:contract_create")
    response = client.post(url, {"customer": other_team.phone, "number": "OLD-2",
                                 "start": "2025-09-01", "end": "2025-08-31", "amount": "100"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "你可见的客户中没有使用这个手机号的。" in html and 'value="OLD-2"' in html
    response = client.post(url, {"customer": make_customer(w, w.sales).phone, "number": "OLD-1",
                                 "start": "2025-09-01", "end": "2025-08-31", "amount": "0"})
    html = response.content.decode()
    assert response.status_code == 400
    for message in ("合同编号 OLD-1 已被使用。", "合同结束日期不能早于开始日期。", "金额必须大于零。"):
        assert message in html
    assert contracts_state(w) == before
    assert client_for(w.sales).get(url).status_code == 403
    assert client_for(w.sales).post(url, {"number": "X"}).status_code == 403
    assert contracts_state(w) == before


def test_edit_page_roles_and_errors(world_a, client_for):
    w = world_a
    t = today(w)
    contract = make_contract(w, start=t - days(100), end=t + days(10))
    url = reverse("renewals:contract_edit", args=[contract.pk])
    assert client_for(w.sales).get(url).status_code == 403  # sees it, may not change it
    assert client_for(w.sales_other_team).get(url).status_code == 404
    before = contracts_state(w)
    response = client_for(w.manager).post(url, {"end": (t - days(101)).isoformat(), "notes": "x"})
    assert response.status_code == 400
    assert "合同结束日期不能早于开始日期。" in response.content.decode()
    assert contracts_state(w) == before
    response = client_for(w.manager).post(url, {"end": (t + days(100)).isoformat(),
                                                "notes": "续约前延期"})
    assert response.status_code == 302
    assert (fresh(w, contract).end, fresh(w, contract).notes) == (t + days(100), "续约前延期")


def test_hours_form(world_a, client_for):
    w = world_a
    contract = make_contract(w, hours="10")
    url = reverse("renewals:contract_hours", args=[contract.pk])
    response = client_for(w.sales).post(url, {"hours": "2.5"})
    assert response.status_code == 302
    assert fresh(w, contract).hours_consumed == Decimal("2.5")
    response = client_for(w.sales).post(url, {"hours": "9"})
    assert response.status_code == 400
    assert "购买的 10.0 课时只剩 7.5 课时。" in response.content.decode()
    assert client_for(w.finance).post(url, {"hours": "1"}).status_code == 403
    assert client_for(w.sales2).post(url, {"hours": "1"}).status_code == 404
    assert client_for(w.sales).get(url).status_code == 405
    assert fresh(w, contract).hours_consumed == Decimal("2.5")


# --------------------------------------------------------------------------- API writes


def test_api_create_update_and_hours(world_a, api_client_for):
    w = world_a
    customer = make_customer(w, w.sales)
    client = api_client_for(w.manager)
    payload = {"customer": customer.pk, "number": "API-1", "start": "2026-01-01",
               "end": "2026-12-31", "amount": "8800.00", "hours_bought": "60"}
    response = client.post(CONTRACTS_API, payload, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["number"], body["owner"]["id"], body["amount"]) == ("API-1", w.sales.pk,
                                                                      "8800.00")
    pk = body["id"]
    again = client.post(CONTRACTS_API, {**payload, "end": "2025-01-01", "amount": "-1"},
                        format="json")
    assert again.status_code == 400
    assert again.json()["error"]["fields"] == {"number": ["合同编号 API-1 已被使用。"],
                                               "end": ["合同结束日期不能早于开始日期。"],
                                               "amount": ["金额必须大于零。"]}
    assert api_client_for(w.sales).post(CONTRACTS_API, payload, format="json").status_code == 403

    patched = client.patch(f"{CONTRACTS_API}{pk}/", {"end": "2027-03-31"}, format="json")
    assert patched.status_code == 200 and patched.json()["end"] == "2027-03-31"
    assert api_client_for(w.sales).patch(f"{CONTRACTS_API}{pk}/", {"notes": "x"},
                                         format="json").status_code == 403
    hours = api_client_for(w.sales).post(f"{CONTRACTS_API}{pk}/hours/", {"hours": "61"},
                                         format="json")
    assert hours.status_code == 400
    assert hours.json()["error"]["fields"] == {"hours": ["购买的 60.0 课时只剩 60.0 课时。"]}
    ok = api_client_for(w.sales).post(f"{CONTRACTS_API}{pk}/hours/", {"hours": "1.5"},
                                      format="json")
    assert ok.status_code == 200 and ok.json()["hours_consumed"] == "1.5"


def test_api_create_for_a_customer_of_another_tenant_is_unknown(world_a, world_b,
                                                                api_client_for):
    b_customer = make_customer(world_b, world_b.sales)
    response = api_client_for(world_a.admin).post(CONTRACTS_API, {
        "customer": b_customer.pk, "number": "X-1", "start": "2026-01-01", "end": "2026-02-01",
        "amount": "1"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"customer": ["找不到该客户。"]}


# --------------------------------------------------------------------------- isolation


def test_another_tenants_contract_is_404_everywhere_and_unchanged(world_a, world_b, client_for,
                                                                   api_client_for):
    a = make_contract(world_a, hours="10")
    before = contracts_state(world_a)
    for role in ("admin", "manager", "sales", "cs", "finance"):
        staff = getattr(world_b, role)
        web, api = client_for(staff), api_client_for(staff)
        assert web.get(detail_url(a)).status_code == 404
        assert web.get(reverse("renewals:contract_edit", args=[a.pk])).status_code == 404
        assert web.post(reverse("renewals:contract_edit", args=[a.pk]),
                        {"end": "2030-01-01"}).status_code == 404
        assert web.post(reverse("renewals:contract_hours", args=[a.pk]),
                        {"hours": "1"}).status_code == 404
        assert api.get(f"{CONTRACTS_API}{a.pk}/").status_code == 404
        assert api.patch(f"{CONTRACTS_API}{a.pk}/", json.dumps({"end": "2030-01-01"}),
                         content_type="application/json").status_code == 404
        assert api.post(f"{CONTRACTS_API}{a.pk}/hours/", {"hours": "1"},
                        format="json").status_code == 404
        listing = web.get(reverse("renewals:contracts")).content.decode()
        assert a.number not in listing
        assert a.number not in api.get(CONTRACTS_API).content.decode()
    assert contracts_state(world_a) == before
