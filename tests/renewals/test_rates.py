"""Renewal rate per month and team = contracts renewed / contracts whose end falls in the
month (renewed whenever the renewal was signed). A small worked example, the roles, the page
(table + chart data) and the API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from apps.deals.contracts import contract_create_for_deal
from apps.renewals.selectors import rate_totals, renewal_rate

from .helpers import days, make_contract, make_deal

RATES_API = "/api/v1/renewals/rates/"


def renew(world, contract):
    deal = make_deal(world, contract.customer, signed_on=contract.start + days(30))
    return contract_create_for_deal(tenant=world.tenant, actor=world.admin, deal=deal,
                                    start=contract.end + days(1),
                                    end=contract.end + days(400), renews=contract)


@pytest.fixture
def example(world_a):
    """2025: March -- team 一组 4 contracts end, 3 renewed (one of them after its end);
    team 二组 2 end, 1 renewed; April -- 一组 1 ends, not renewed. (The renewals' own terms end
    in 2026.) Another tenant's contracts are ignored."""
    w = world_a
    march = [make_contract(w, owner, end=dt.date(2025, 3, day)) for owner, day in
             ((w.sales, 1), (w.sales, 15), (w.sales2, 20), (w.manager, 31),
              (w.sales_other_team, 5), (w.sales_other_team, 6))]
    april = make_contract(w, w.sales, end=dt.date(2025, 4, 30))
    for contract in (march[0], march[1], march[3], march[4]):
        renew(w, contract)
    make_contract(w, w.sales, end=dt.date(2024, 12, 31))  # another year
    return {"march": march, "april": april}


def as_tuples(rows):
    return sorted((r.month, r.team_name, r.expiring, r.renewed, r.rate) for r in rows)


def test_worked_example(world_a, world_b, example):
    w = world_a
    make_contract(world_b, world_b.sales, end=dt.date(2025, 3, 10))
    with w.context():
        rows = renewal_rate(w.admin, year=2025)
    assert as_tuples(rows) == [
        (3, "一组", 4, 3, Decimal("75.0")),
        (3, "二组", 2, 1, Decimal("50.0")),
        (4, "一组", 1, 0, Decimal("0.0")),
    ]
    assert [(t.month, t.expiring, t.renewed, t.rate) for t in rate_totals(rows)] == [
        (3, 6, 4, Decimal("66.7")), (4, 1, 0, Decimal("0.0"))]
    with w.context():
        assert as_tuples(renewal_rate(w.finance, year=2025, month=3, team=w.team2)) == [
            (3, "二组", 2, 1, Decimal("50.0"))]
        assert renewal_rate(w.admin, year=2024, month=6) == []


def test_managers_see_their_team_sales_and_cs_are_refused(world_a, example):
    w = world_a
    with w.context():
        assert as_tuples(renewal_rate(w.manager, year=2025)) == [
            (3, "一组", 4, 3, Decimal("75.0")), (4, "一组", 1, 0, Decimal("0.0"))]
        with pytest.raises(PermissionDenied):
            renewal_rate(w.manager, year=2025, team=w.team2)
        for staff in (w.sales, w.cs):
            with pytest.raises(PermissionDenied):
                renewal_rate(staff, year=2025)


def test_rates_page_table_and_chart(world_a, example, client_for):
    w = world_a
    response = client_for(w.admin).get(reverse("renewals:rates"), {"year": 2025})
    assert response.status_code == 200
    html = response.content.decode()
    assert "2025 年续费率" in html and "续费率" in html
    table = response.context["table"]
    assert [(m["month"], [(r.team_name, r.expiring, r.renewed) for r in m["rows"]],
             m["total"].rate if m["total"] else None) for m in table] == [
        (3, [("一组", 4, 3), ("二组", 2, 1)], Decimal("66.7")), (4, [("一组", 1, 0)], None)]
    for text in ("75.0%", "50.0%", "66.7%", "0.0%"):
        assert text in html
    chart = response.context["chart"]
    assert chart["labels"] == ["三月", "四月"]
    assert {d["label"]: d["data"] for d in chart["datasets"]} == {
        "一组": [75.0, 0.0], "二组": [50.0, None]}
    assert 'id="rate-chart-data"' in html and "vendor/chartjs/chart.umd.min.js" in html


def test_rates_page_roles(world_a, example, client_for):
    w = world_a
    url = reverse("renewals:rates")
    assert client_for(w.sales).get(url).status_code == 403
    assert client_for(w.cs).get(url).status_code == 403
    response = client_for(w.manager).get(url, {"year": 2025})
    assert response.status_code == 200
    assert {r.team_name for m in response.context["table"] for r in m["rows"]} == {"一组"}
    response = client_for(w.manager).get(url, {"year": 2025, "team": w.team2.pk})
    assert response.status_code == 400
    assert "找不到该团队。" in response.content.decode()
    response = client_for(w.finance).get(url, {"year": "abc"})
    assert response.status_code == 400
    empty = client_for(w.finance).get(url, {"year": 2030})
    assert "该期间没有到期的合同。" in empty.content.decode()


def test_rates_api(world_a, example, api_client_for):
    w = world_a
    body = api_client_for(w.finance).get(RATES_API, {"year": 2025, "month": 3}).json()
    assert body["year"] == 2025
    assert sorted((r["team"]["name"], r["expiring"], r["renewed"], r["rate"])
                  for r in body["rows"]) == [("一组", 4, 3, "75.0"), ("二组", 2, 1, "50.0")]
    assert [(t["month"], t["team"], t["rate"]) for t in body["totals"]] == [(3, None, "66.7")]
    assert api_client_for(w.sales).get(RATES_API).status_code == 403
    body = api_client_for(w.manager).get(RATES_API, {"year": 2025}).json()
    assert {r["team"]["name"] for r in body["rows"]} == {"一组"}
    bad = api_client_for(w.admin).get(RATES_API, {"month": 13})
    assert bad.status_code == 400 and "month" in bad.json()["error"]["fields"]
