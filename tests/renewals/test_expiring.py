"""Contracts expiring soon: not renewed, ending within N days (default the largest lead day),
a salesperson's own, a manager's team, everything for admin/cs/finance; the page (filters,
pagination), the API and the home panel."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.deals.contracts import contract_create_for_deal
from apps.renewals.selectors import contracts_expiring
from apps.renewals.services import renewal_policy_update

from .helpers import days, make_contract, make_deal, today

EXPIRING_API = "/api/v1/renewals/expiring/"


@pytest.fixture
def spread(world_a):
    """Contracts of world A around today: soon (sales 3 days, sales2 20 days, other team 10
    days, the manager's own 29 days), later (sales 31 days), ended (sales, yesterday) and
    renewed (sales, 5 days)."""
    w = world_a
    t = today(w)
    rows = {
        "sales_3": make_contract(w, w.sales, end=t + days(3)),
        "sales2_20": make_contract(w, w.sales2, end=t + days(20)),
        "other_10": make_contract(w, w.sales_other_team, end=t + days(10)),
        "manager_30": make_contract(w, w.manager, end=t + days(30)),
        "sales_31": make_contract(w, w.sales, end=t + days(31)),
        "sales_ended": make_contract(w, w.sales, end=t - days(1)),
        "renewed": make_contract(w, w.sales, end=t + days(5)),
    }
    deal = make_deal(w, rows["renewed"].customer, signed_on=t)
    contract_create_for_deal(tenant=w.tenant, actor=w.sales, deal=deal, start=t + days(6),
                             end=t + days(400), renews=rows["renewed"])
    return rows


def names(spread, contracts):
    by_pk = {c.pk: name for name, c in spread.items()}
    return [by_pk.get(c.pk, c.number) for c in contracts]


@pytest.mark.parametrize(("role", "expected"), [
    ("sales", ["sales_3"]),
    ("sales2", ["sales2_20"]),
    ("manager", ["sales_3", "sales2_20", "manager_30"]),
    ("admin", ["sales_3", "other_10", "sales2_20", "manager_30"]),
    ("cs", ["sales_3", "other_10", "sales2_20", "manager_30"]),
    ("finance", ["sales_3", "other_10", "sales2_20", "manager_30"]),
])
def test_expiring_per_role_soonest_first(world_a, spread, role, expected):
    w = world_a
    with w.context():
        rows = list(contracts_expiring(getattr(w, role)))
    assert names(spread, rows) == expected
    assert [r.days_left for r in rows] == sorted(r.days_left for r in rows)


def test_within_days_and_the_policy_default(world_a, spread):
    w = world_a
    with w.context():
        assert names(spread, contracts_expiring(w.admin, within_days=10)) == ["sales_3", "other_10"]
        assert names(spread, contracts_expiring(w.admin, within_days=31))[-1] == "sales_31"
        assert names(spread, contracts_expiring(w.admin, team=w.team2)) == ["other_10"]
        assert names(spread, contracts_expiring(w.admin, owner=w.sales2)) == ["sales2_20"]
    renewal_policy_update(tenant=w.tenant, actor=w.admin, lead_days=[14])
    with w.context():
        assert names(spread, contracts_expiring(w.admin)) == ["sales_3", "other_10"]


def test_expiring_page(world_a, spread, client_for):
    w = world_a
    url = reverse("renewals:expiring")
    response = client_for(w.sales).get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert "即将到期的合同" in html and "30 天内到期且尚未续费的合同。" in html
    assert spread["sales_3"].number in html and spread["sales2_20"].number not in html
    assert 'name="team"' not in html  # a salesperson sees their own: no team/owner filters

    response = client_for(w.manager).get(url, {"within": 10})
    assert names(spread, response.context["contracts"]) == ["sales_3"]
    response = client_for(w.admin).get(url, {"team": w.team2.pk})
    assert names(spread, response.context["contracts"]) == ["other_10"]

    bad = client_for(w.manager).get(url, {"team": w.team2.pk, "within": 0})
    assert bad.status_code == 400
    body = bad.content.decode()
    assert "找不到该团队。" in body and "确保该值大于或等于1。" in body
    assert client_for(w.sales).get(url, {"owner": w.sales2.pk}).status_code == 400


def test_expiring_api(world_a, spread, api_client_for):
    w = world_a
    body = api_client_for(w.manager).get(EXPIRING_API).json()
    assert [r["number"] for r in body["results"]] == [
        spread[n].number for n in ("sales_3", "sales2_20", "manager_30")]
    first = body["results"][0]
    assert first["days_left"] == 3 and first["owner"]["id"] == w.sales.pk
    assert first["customer"]["name"] == spread["sales_3"].customer.name
    bad = api_client_for(w.sales).get(EXPIRING_API, {"team": w.team1.pk})
    assert bad.status_code == 400 and bad.json()["error"]["fields"] == {"team": ["找不到该团队。"]}


def test_home_panel_for_sales_and_managers(world_a, spread, client_for):
    w = world_a
    def panel(staff):
        response = client_for(staff).get(reverse("home"))
        return next((p for p in response.context["app_panels"]
                     if p["template"] == "renewals/_home_panel.html"), None), response
    sales_panel, response = panel(w.sales)
    assert (sales_panel["count"], sales_panel["scope"], sales_panel["days"]) == (1, "own", 30)
    assert "份我的合同将在 30 天内到期且未续费" in response.content.decode()
    manager_panel, response = panel(w.manager)
    assert (manager_panel["count"], manager_panel["scope"]) == (3, "team")
    assert "份本团队的合同将在 30 天内到期且未续费" in response.content.decode()
    assert panel(w.cs)[0] is None and panel(w.finance)[0] is None
