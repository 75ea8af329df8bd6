"""The rotation board page and its actions; the rotation API."""

import re

import pytest
from django.urls import reverse

from apps.customers.models import Customer
from apps.ownership.models import Visit
from apps.rotation.models import DutySignIn
from apps.rotation.services import duty_set_status, duty_sign_in, walk_in_receive
from tests.customers.factories import CustomerFactory

from .conftest import sign_in_team

pytestmark = pytest.mark.django_db

BOARD = reverse("rotation:board")
API = "/api/v1/rotation/"


def state(world):
    with world.context():
        return (list(DutySignIn.objects.order_by("pk").values()),
                Customer.objects.count(), Visit.objects.count())


# --------------------------------------------------------------------------- page


def test_board_in_chinese_with_next_highlighted(on_duty, client_for):
    w = on_duty.world
    walk_in_receive(tenant=w.tenant, actor=w.manager, team=w.team1, name="张三丰",
                    phone="13800138000")
    res = client_for(w.sales2).get(BOARD)
    html = res.content.decode()
    assert res.status_code == 200
    assert "<h1 class=\"h3 mb-0\">轮接" in html and "今日轮接顺序" in html and "登记来访客户" in html
    # sales received the first walk-in; sales2 (second in order) is next.
    item = re.search(rf'<li class="list-group-item list-group-item-success" id="sign-in-'
                     rf'{on_duty.second.pk}">', html)
    assert item and "下一位" in html
    # Today's walk-ins: the explanation, the customer's name masked for sales2 (not theirs).
    assert f"新客户，按轮接顺序由 {w.sales.name} 接待。" in html
    assert "张**" in html and "张三丰" not in html
    assert "Walk-in rotation" not in html
    # sales2 may toggle only their own status.
    assert f'action="/rotation/sign-ins/{on_duty.second.pk}/status/"' in html
    assert f'action="/rotation/sign-ins/{on_duty.first.pk}/status/"' not in html


def test_manager_sees_every_toggle_and_can_sign_in_members(world_a, client_for):
    w = world_a
    s = duty_sign_in(tenant=w.tenant, actor=w.sales, team=w.team1)
    html = client_for(w.manager).get(BOARD).content.decode()
    assert f'action="/rotation/sign-ins/{s.pk}/status/"' in html
    assert f'<option value="{w.sales2.pk}">{w.sales2.name}</option>' in html  # not signed in yet
    res = client_for(w.manager).post(reverse("rotation:sign_in"),
                                     {"team": w.team1.pk, "staff": w.sales2.pk}, follow=True)
    assert f"{w.sales2.name} 已签到，今日轮接第 2 位。" in res.content.decode()


def test_salesperson_signs_in_from_the_board(world_a, client_for):
    w = world_a
    client = client_for(w.sales)
    assert "今日签到" in client.get(BOARD).content.decode()
    res = client.post(reverse("rotation:sign_in"), {"team": w.team1.pk})
    assert res.status_code == 302 and res["Location"] == f"{BOARD}?team={w.team1.pk}"
    html = client.get(res["Location"]).content.decode()
    assert "今日签到" not in html and "已签到" in html
    res = client.post(reverse("rotation:sign_in"), {"team": w.team1.pk}, follow=True)
    assert f"{w.sales.name} 今天已签到。" in res.content.decode()
    with w.context():
        assert DutySignIn.objects.count() == 1


def test_walk_in_from_the_page(on_duty, client_for):
    w = on_duty.world
    old = CustomerFactory(tenant=w.tenant, actor=w.sales2, name="老客户")
    client = client_for(w.sales)
    res = client.post(reverse("rotation:walk_in"), {
        "team": w.team1.pk, "name": "新客户", "phone": "138 0013 8000",
        "brought_by_phone": old.phone, "named_staff": "", "id_number": "", "notes": "周末来"},
        follow=True)
    html = res.content.decode()
    assert res.status_code == 200
    assert f"老带新：客户归老客户的置业顾问 {w.sales2.name}。" in html
    with w.context():
        c = Customer.objects.get(phone="13800138000")
        v = Visit.objects.get()
    assert c.owner_id == w.sales2.pk and v.brought_by_id == old.pk and v.notes == "周末来"


def test_walk_in_form_keeps_input_after_errors(on_duty, client_for):
    w = on_duty.world
    before = state(w)
    res = client_for(w.sales).post(reverse("rotation:walk_in"), {
        "team": w.team1.pk, "name": "王小明", "phone": "12345", "brought_by_phone": "13912345678",
        "named_staff": w.sales2.pk, "notes": "带孩子来"})
    html = res.content.decode()
    assert res.status_code == 200
    errors = res.context["form"].errors
    assert errors["brought_by_phone"] == ["没有客户使用这个手机号。"]
    assert 'value="王小明"' in html and 'value="12345"' in html and "带孩子来" in html
    assert f'<option value="{w.sales2.pk}" selected>' in html
    assert "没有客户使用这个手机号。" in html
    assert state(w) == before
    # A wrong phone (with a valid brought-by) is a phone error.
    res = client_for(w.sales).post(reverse("rotation:walk_in"), {
        "team": w.team1.pk, "name": "王小明", "phone": "12345"})
    assert list(res.context["form"].errors) == ["phone"]


def test_nobody_present_message_on_the_page(on_duty, client_for):
    w = on_duty.world
    for s in (on_duty.first, on_duty.second, on_duty.third):
        duty_set_status(tenant=w.tenant, actor=w.manager, sign_in=s, status="away")
    res = client_for(w.manager).post(reverse("rotation:walk_in"), {
        "team": w.team1.pk, "name": "王小明", "phone": "13800138000"})
    assert "本组当前无人在岗接待" in res.content.decode()
    assert res.context["form"].non_field_errors()


def test_status_toggle_from_the_page(on_duty, client_for):
    w = on_duty.world
    url = reverse("rotation:status", args=[on_duty.first.pk])
    res = client_for(w.sales).post(url, {"status": "away"}, follow=True)
    assert f"{w.sales.name} 现为“离开”。" in res.content.decode()
    on_duty.refresh()
    assert on_duty.first.status == "away"


@pytest.mark.parametrize("who", ["sales2", "sales_other_team", "cs", "finance"])
def test_others_cannot_toggle_a_salespersons_status(on_duty, client_for, who):
    w = on_duty.world
    before = state(w)
    res = client_for(getattr(w, who)).post(reverse("rotation:status", args=[on_duty.first.pk]),
                                           {"status": "away"})
    assert res.status_code == 403
    assert state(w) == before


@pytest.mark.parametrize("who", ["cs", "finance"])
def test_customer_service_and_finance_cannot_record_walk_ins(on_duty, client_for, who):
    w = on_duty.world
    before = state(w)
    client = client_for(getattr(w, who))
    assert client.get(BOARD).status_code == 403
    res = client.post(reverse("rotation:walk_in"), {"team": w.team1.pk, "name": "x",
                                                    "phone": "13800138000"})
    assert res.status_code == 403
    assert state(w) == before


def test_other_team_board_is_refused_and_other_tenant_team_is_404(world_a, world_b, client_for):
    client = client_for(world_a.sales)
    assert client.get(BOARD, {"team": world_a.team2.pk}).status_code == 403
    assert client.get(BOARD, {"team": world_b.team1.pk}).status_code == 404
    admin = client_for(world_a.admin)
    html = admin.get(BOARD, {"team": world_a.team2.pk}).content.decode()
    assert 'id="team-picker"' in html and world_a.team2.name in html


def test_another_tenants_sign_in_is_404_and_unchanged(world_a, world_b, client_for):
    theirs = sign_in_team(world_b)
    before = state(world_b)
    for who in ("admin", "manager", "sales"):
        client = client_for(getattr(world_a, who))
        url = reverse("rotation:status", args=[theirs.first.pk])
        assert client.post(url, {"status": "away"}).status_code == 404
        assert client.get(url).status_code == 404
    assert state(world_b) == before


def test_salesperson_without_a_team(world_a, client_for):
    loner = world_a.make_staff("loner", ["sales"], None)
    res = client_for(loner).get(BOARD)
    assert res.status_code == 200 and "你不属于任何团队" in res.content.decode()


# --------------------------------------------------------------------------- API


def test_api_board(on_duty, api_client_for):
    w = on_duty.world
    walk_in_receive(tenant=w.tenant, actor=w.manager, team=w.team1, name="张三丰",
                    phone="13800138000")
    res = api_client_for(w.sales2).get(f"{API}board/")
    assert res.status_code == 200, res.json()
    body = res.json()
    assert body["team"] == {"id": w.team1.pk, "name": w.team1.name}
    assert body["next_sign_in_id"] == on_duty.second.pk
    assert [s["staff"]["id"] for s in body["sign_ins"]] == [w.sales.pk, w.sales2.pk,
                                                           on_duty.sales4.pk]
    assert [s["is_next"] for s in body["sign_ins"]] == [False, True, False]
    walk = body["walk_ins"][0]
    assert walk["customer"]["name"] == "张**" and walk["route"] == "rotation"
    assert walk["received_by"]["id"] == w.sales.pk and walk["courtesy"] is False


def test_api_sign_in_status_and_walk_in(world_a, api_client_for):
    w = world_a
    api = api_client_for(w.sales)
    res = api.post(f"{API}sign-ins/", {}, format="json")
    assert res.status_code == 201, res.json()
    sign_in_id = res.json()["id"]
    assert res.json()["position"] == 1
    res = api.post(f"{API}sign-ins/", {}, format="json")
    assert res.status_code == 400 and res.json()["error"]["fields"]["staff_id"] == [
        f"{w.sales.name} 今天已签到。"]
    res = api_client_for(w.manager).post(f"{API}sign-ins/", {"staff_id": w.sales2.pk},
                                         format="json")
    assert res.status_code == 201 and res.json()["position"] == 2

    res = api.post(f"{API}walk-ins/", {"name": "李雷", "phone": "+86 138 0013 8000"},
                   format="json")
    assert res.status_code == 201, res.json()
    body = res.json()
    assert body["created"] is True and body["customer"]["name"] == "李雷"
    assert body["route"]["code"] == "rotation" and body["route"]["consumes_turn"] is True
    assert body["route"]["received_by"]["id"] == w.sales.pk

    res = api.post(f"{API}sign-ins/{sign_in_id}/status/", {"status": "away"}, format="json")
    assert res.status_code == 200 and res.json()["status"] == "away"
    res = api.post(f"{API}sign-ins/{sign_in_id}/status/", {"status": "nope"}, format="json")
    assert res.status_code == 400 and "status" in res.json()["error"]["fields"]

    res = api.post(f"{API}walk-ins/", {"name": "韩梅梅", "phone": "13800138001",
                                       "named_staff_id": w.sales.pk}, format="json")
    assert res.status_code == 201
    route = res.json()["route"]
    assert (route["code"], route["courtesy"], route["received_by"]["id"]) == (
        "named_courtesy", True, w.sales2.pk)
    assert route["explanation"] == (f"客户指定 {w.sales.name}（不在场），由 {w.sales2.name} "
                                    "代为接待。")


def test_api_walk_in_errors(on_duty, api_client_for):
    w = on_duty.world
    before = state(w)
    api = api_client_for(w.sales)
    res = api.post(f"{API}walk-ins/", {"name": "x", "phone": "123",
                                       "brought_by_phone": "13912345678"}, format="json")
    assert res.status_code == 400
    assert set(res.json()["error"]["fields"]) == {"brought_by_phone"}
    res = api.post(f"{API}walk-ins/", {"name": "x", "phone": "123",
                                       "named_staff_id": w.cs.pk}, format="json")
    assert set(res.json()["error"]["fields"]) == {"phone", "named_staff_id"}
    res = api.post(f"{API}walk-ins/", {"name": "x", "phone": "13800138000",
                                       "team_id": 999999}, format="json")
    assert res.status_code == 400 and list(res.json()["error"]["fields"]) == ["team_id"]
    assert state(w) == before


@pytest.mark.parametrize("who", ["cs", "finance"])
def test_api_customer_service_and_finance_cannot_record_walk_ins(on_duty, api_client_for, who):
    w = on_duty.world
    before = state(w)
    res = api_client_for(getattr(w, who)).post(f"{API}walk-ins/", {
        "team_id": w.team1.pk, "name": "x", "phone": "13800138000"}, format="json")
    assert res.status_code == 403
    assert state(w) == before


def test_api_salesperson_cannot_toggle_someone_else(on_duty, api_client_for):
    w = on_duty.world
    before = state(w)
    res = api_client_for(w.sales2).post(f"{API}sign-ins/{on_duty.first.pk}/status/",
                                        {"status": "away"}, format="json")
    assert res.status_code == 403
    assert state(w) == before


def test_api_another_tenants_sign_in_is_404(world_a, world_b, api_client_for):
    theirs = sign_in_team(world_b)
    before = state(world_b)
    for who in ("admin", "manager", "sales", "cs"):
        api = api_client_for(getattr(world_a, who))
        url = f"{API}sign-ins/{theirs.first.pk}/status/"
        assert api.post(url, {"status": "away"}, format="json").status_code == 404
        assert api.get(url).status_code == 404
    assert api_client_for(world_a.sales).get(
        f"{API}board/", {"team": world_b.team1.pk}).status_code == 400
    assert state(world_b) == before
