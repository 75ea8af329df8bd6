"""Points pages and API: roles, refusals, another tenant's ids, query budget."""

from __future__ import annotations

import pytest

from apps.notifications.models import Notification
from apps.referrals.models import PointsEntry, PointsItem, PointsRedemption
from tests.query_budgets import assert_flat
from tests.referrals.points_support import make_pts, pts_fixture

pytestmark = pytest.mark.django_db
pts = pts_fixture


def _ledger_url(referrer):
    return f"/referrals/referrers/{referrer.pk}/points/"


def test_referrer_page_shows_balance_and_running_balance(pts, client_for):
    w = pts.world
    pts.earn(pts.referrer, 150, reason="首单")
    pts.earn(pts.referrer, 30, reason="第二单")
    r = pts.request(w.sales)
    pts.decide(w.manager, r)
    page = client_for(w.sales).get(_ledger_url(pts.referrer))
    assert page.status_code == 200
    html = page.content.decode()
    assert "余额" in html and 'id="points-balance">80<' in html
    # Newest first, with the balance after each row.
    balances = [b for b in page.context["page_obj"]]
    assert [(e.points, e.running_balance) for e in balances] == [(-100, 80), (30, 180),
                                                                 (150, 150)]
    # Filtered to one kind, the running balance still counts every row.
    page = client_for(w.manager).get(_ledger_url(pts.referrer), {"kind": "earned"})
    assert [(e.points, e.running_balance) for e in page.context["page_obj"]] == [(30, 180),
                                                                                 (150, 150)]


def test_request_from_the_page_and_refusal_keeps_what_was_typed(pts, client_for):
    w = pts.world
    pts.earn(pts.referrer, 150)
    client = client_for(w.sales)
    response = client.post(_ledger_url(pts.referrer), {"item": pts.big_item.pk, "note": "想要购物卡"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "积分不足" in html and "想要购物卡" in html
    response = client.post(_ledger_url(pts.referrer), {"item": pts.item.pk, "note": ""})
    assert response.status_code == 302
    with w.context():
        assert PointsRedemption.objects.get().status == "requested"


def test_roles_on_the_pages(pts, client_for):
    w = pts.world
    pts.earn(pts.referrer, 150)
    r = pts.request(w.sales)
    url = _ledger_url(pts.referrer)
    assert client_for(w.finance).get(url).status_code == 200
    assert client_for(w.cs).get(url).status_code == 403
    assert client_for(w.cs).get("/referrals/points/").status_code == 403
    assert client_for(w.sales).get("/referrals/points/").status_code == 403
    # A referrer of another salesperson: not found for sales.
    assert client_for(w.sales).get(_ledger_url(pts.other_referrer)).status_code == 404
    # Sales cannot approve (nor finance): 403, nothing changes.
    decide = f"/referrals/redemptions/{r.pk}/decide/"
    for who in (w.sales, w.finance):
        assert client_for(who).post(decide, {"decision": "approve"}).status_code == 403
    # Finance sees the page without the forms.
    page = client_for(w.finance).get(url)
    assert page.context["request_form"] is None and page.context["adjust_form"] is None
    # Only administrators edit items.
    assert client_for(w.manager).get(f"/referrals/points/items/{pts.item.pk}/edit/"
                                     ).status_code == 403
    assert client_for(w.manager).post("/referrals/points/items/",
                                      {"name": "x", "points": 5}).status_code == 403
    with w.context():
        assert PointsRedemption.objects.get(pk=r.pk).status == "requested"
        assert not PointsEntry.objects.filter(kind="redeemed").exists()
        assert not PointsItem.objects.filter(name="x").exists()


def test_manager_overview_and_decision_with_confirmation(pts, client_for):
    w = pts.world
    pts.earn(pts.referrer, 150)
    r = pts.request(w.sales)
    client = client_for(w.manager)
    page = client.get("/referrals/points/")
    assert page.status_code == 200
    assert [row.pk for row in page.context["queue"]] == [r.pk]
    confirm = client.get(f"/referrals/redemptions/{r.pk}/decide/")
    assert confirm.status_code == 200 and "不可撤销" in confirm.content.decode()
    response = client.post(f"/referrals/redemptions/{r.pk}/decide/", {"decision": "approve"},
                           follow=True)
    assert "兑换已批准" in response.content.decode()
    assert pts.balance(pts.referrer) == 50
    with w.context():
        note = Notification.objects.get(recipient=w.sales)
        assert note.url == _ledger_url(pts.referrer)
    again = client.post(f"/referrals/redemptions/{r.pk}/decide/", {"decision": "reject"})
    assert again.status_code == 400 and "已经处理过" in again.content.decode()
    assert pts.balance(pts.referrer) == 50


def test_adjust_from_the_page(pts, client_for):
    w = pts.world
    client = client_for(w.manager)
    response = client.post(_ledger_url(pts.referrer), {"action": "adjust", "points": "-5",
                                                       "reason": "x"})
    assert response.status_code == 400 and "不能小于零" in response.content.decode()
    response = client.post(_ledger_url(pts.referrer), {"action": "adjust", "points": "25",
                                                       "reason": "活动奖励"})
    assert response.status_code == 302
    assert pts.balance(pts.referrer) == 25
    assert client_for(w.sales).post(_ledger_url(pts.referrer), {
        "action": "adjust", "points": "25", "reason": "x"}).status_code == 403
    assert pts.balance(pts.referrer) == 25


def test_items_pages(pts, client_for):
    w = pts.world
    client = client_for(w.admin)
    assert "带薪休假一天" in client.get("/referrals/points/items/").content.decode()
    bad = client.post("/referrals/points/items/", {"name": "奶茶券", "points": "0"})
    assert bad.status_code == 400 and "奶茶券" in bad.content.decode()
    assert client.post("/referrals/points/items/", {"name": "奶茶券", "points": "20",
                                                    "active": "on"}).status_code == 302
    response = client.post(f"/referrals/points/items/{pts.item.pk}/edit/",
                           {"name": "休假", "points": "90"})
    assert response.status_code == 302
    with w.context():
        item = PointsItem.objects.get(pk=pts.item.pk)
        assert (item.name, item.points, item.active) == ("休假", 90, False)
        assert PointsItem.objects.filter(name="奶茶券", points=20).exists()


def test_another_tenants_ids_are_404_and_unchanged(pts, world_b, client_for, api_client_for):
    other = make_pts(world_b)
    other.earn(other.referrer, 300)
    r = other.request(world_b.sales)
    w = pts.world
    client, api = client_for(w.admin), api_client_for(w.admin)
    for url in (_ledger_url(other.referrer), f"/referrals/redemptions/{r.pk}/decide/",
                f"/referrals/points/items/{other.item.pk}/edit/"):
        assert client.get(url).status_code == 404
        assert client.post(url, {"decision": "approve", "name": "x", "points": 1,
                                 "item": other.item.pk}).status_code == 404
    assert api.get(f"/api/v1/referrals/referrers/{other.referrer.pk}/points/").status_code == 404
    assert api.post(f"/api/v1/referrals/redemptions/{r.pk}/decide/", {"approve": True},
                    format="json").status_code == 404
    assert api.post("/api/v1/referrals/redemptions/", {"referrer": other.referrer.pk,
                                                       "item": pts.item.pk},
                    format="json").status_code == 400
    # Even for a role that may not decide, another tenant's id is 404 first.
    assert api_client_for(w.sales).post(f"/api/v1/referrals/redemptions/{r.pk}/decide/",
                                        {"approve": True}, format="json").status_code == 404
    assert other.balance(other.referrer) == 300
    with world_b.context():
        assert PointsRedemption.objects.get(pk=r.pk).status == "requested"
        assert PointsItem.objects.get(pk=other.item.pk).name == "带薪休假一天"


def test_api_ledger_request_decide_items(pts, api_client_for):
    w = pts.world
    pts.earn(pts.referrer, 150)
    sales = api_client_for(w.sales)
    response = sales.post("/api/v1/referrals/redemptions/", {"referrer": pts.referrer.pk,
                                                             "item": pts.big_item.pk},
                          format="json")
    assert response.status_code == 400
    assert "积分不足" in response.json()["error"]["fields"]["item"][0]
    response = sales.post("/api/v1/referrals/redemptions/", {"referrer": pts.referrer.pk,
                                                             "item": pts.item.pk, "note": "n"},
                          format="json")
    assert response.status_code == 201, response.json()
    rid = response.json()["id"]
    assert sales.post(f"/api/v1/referrals/redemptions/{rid}/decide/", {"approve": True},
                      format="json").status_code == 403
    # Sales cannot request for a referrer they may not see.
    assert sales.post("/api/v1/referrals/redemptions/", {"referrer": pts.other_referrer.pk,
                                                         "item": pts.item.pk},
                      format="json").status_code == 400
    manager = api_client_for(w.manager)
    response = manager.post(f"/api/v1/referrals/redemptions/{rid}/decide/", {"approve": True},
                            format="json")
    assert response.status_code == 200 and response.json()["status"] == "approved"
    again = manager.post(f"/api/v1/referrals/redemptions/{rid}/decide/", {"approve": False},
                         format="json")
    assert again.status_code == 400
    ledger = sales.get(f"/api/v1/referrals/referrers/{pts.referrer.pk}/points/").json()
    assert ledger["balance"] == 50
    assert [(r["kind"], r["points"], r["running_balance"]) for r in ledger["results"]] == [
        ("redeemed", -100, 50), ("earned", 150, 150)]
    assert api_client_for(w.cs).get(
        f"/api/v1/referrals/referrers/{pts.referrer.pk}/points/").status_code == 403
    assert api_client_for(w.finance).get(
        f"/api/v1/referrals/referrers/{pts.referrer.pk}/points/").status_code == 200
    items = sales.get("/api/v1/referrals/points-items/").json()
    assert [i["points"] for i in items["results"]] == [100, 500]
    assert sales.post("/api/v1/referrals/points-items/", {"name": "x", "points": 3},
                      format="json").status_code == 403
    created = api_client_for(w.admin).post("/api/v1/referrals/points-items/",
                                           {"name": "奶茶券", "points": 20}, format="json")
    assert created.status_code == 201 and created.json()["points"] == 20


def test_ledger_page_query_budget(pts, client_for):
    w = pts.world
    counter = iter(range(1000))

    def grow(n):
        for _ in range(n):
            pts.earn(pts.referrer, 10 + next(counter))

    assert_flat(client_for(w.manager), _ledger_url(pts.referrer), grow, n=10)
    assert_flat(client_for(w.manager), "/referrals/points/", grow, n=10)
