"""The "about to be released" list per role (selector, page, API) and the home panel."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.ownership.selectors import expiring_customers, tenant_today

from .test_pool_helpers import D, at, days, make_customer


@pytest.fixture
def book(world_a):
    """Default policy (30 days, warned 3 days before). Contacted N days before `today`: the
    protection ends on today + 30 - N, listed when that is at most today + 3."""
    w = world_a
    today = tenant_today(w.tenant)

    def mk(owner, n, hour=10, minute=0):
        return make_customer(w, owner, contacted=at(today - days(n), hour, minute))

    return {
        "today": today,
        "own_26": mk(w.sales, 26, 0, 0),        # ends today+4: not yet
        "own_27": mk(w.sales, 27, 23, 59),      # ends today+3 (late at night still that day)
        "own_30": mk(w.sales, 30),              # ends today: the last day
        "own_31": mk(w.sales, 31),              # ended yesterday: released tonight
        "sales2_28": mk(w.sales2, 28),          # team1, ends today+2
        "other_29": mk(w.sales_other_team, 29),  # team2, ends today+1
        "pool": make_customer(w, None, contacted=at(today - days(40))),
    }


def names(rows):
    return [(c.pk, c.days_left) for c in rows]


def test_expiring_per_role_soonest_first_with_days_left(world_a, book):
    w, b = world_a, book
    with w.context():
        sales = names(expiring_customers(w.sales))
        manager = names(expiring_customers(w.manager))
        admin = names(expiring_customers(w.admin))
        nobody = list(expiring_customers(w.cs))
        rows = {c.pk: c for c in expiring_customers(w.admin)}
    assert sales == [(b["own_31"].pk, -1), (b["own_30"].pk, 0), (b["own_27"].pk, 3)]
    assert manager == [(b["own_31"].pk, -1), (b["own_30"].pk, 0), (b["sales2_28"].pk, 2),
                       (b["own_27"].pk, 3)]
    assert admin == [(b["own_31"].pk, -1), (b["own_30"].pk, 0), (b["other_29"].pk, 1),
                     (b["sales2_28"].pk, 2), (b["own_27"].pk, 3)]
    assert nobody == []
    assert rows[b["own_27"].pk].protection_end == b["today"] + days(3)


def test_expiring_follows_a_pinned_day_and_the_policy(world_a):
    w = world_a
    c = make_customer(w, w.sales, contacted=at(D, 12))
    with w.context():
        assert list(expiring_customers(w.sales, today=D + days(26))) == []
        [row] = expiring_customers(w.sales, today=D + days(27))
    assert (row.protection_end, row.days_left) == (D + days(30), 3)
    assert row.pk == c.pk


def test_expiring_page_per_role(world_a, book, client_for):
    w, b = world_a, book
    response = client_for(w.sales).get(reverse("ownership:expiring"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "即将释放" in html and "最后一天" in html and "待释放" in html
    assert [c.pk for c in response.context["customers"]] == [b["own_31"].pk, b["own_30"].pk,
                                                             b["own_27"].pk]
    assert response.context["form"] is None   # nothing to filter for a salesperson

    manager = client_for(w.manager)
    response = manager.get(reverse("ownership:expiring"), {"owner": w.sales2.pk})
    assert [c.pk for c in response.context["customers"]] == [b["sales2_28"].pk]
    response = manager.get(reverse("ownership:expiring"), {"owner": w.sales_other_team.pk})
    assert response.status_code == 400
    assert "找不到该员工。" in response.content.decode()
    assert list(response.context["customers"]) == []
    for role in ("cs", "finance"):
        assert client_for(getattr(w, role)).get(reverse("ownership:expiring")).status_code == 403


def test_expiring_api(world_a, book, api_client_for):
    w, b = world_a, book
    data = api_client_for(w.sales).get("/api/v1/ownership/expiring/").json()
    assert [(r["id"], r["days_left"]) for r in data["results"]] == [
        (b["own_31"].pk, -1), (b["own_30"].pk, 0), (b["own_27"].pk, 3)]
    assert data["results"][2]["protection_end"] == (b["today"] + days(3)).isoformat()
    assert data["results"][0]["owner"] == {"id": w.sales.pk, "name": w.sales.name}
    admin = api_client_for(w.admin).get("/api/v1/ownership/expiring/",
                                         {"owner": w.sales_other_team.pk}).json()
    assert [r["id"] for r in admin["results"]] == [b["other_29"].pk]
    response = api_client_for(w.manager).get("/api/v1/ownership/expiring/",
                                             {"owner": w.sales_other_team.pk})
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["owner"] == ["找不到该员工。"]
    assert api_client_for(w.cs).get("/api/v1/ownership/expiring/").status_code == 403


def test_home_panel_counts_what_each_role_watches(world_a, book, client_for):
    w = world_a
    response = client_for(w.sales).get(reverse("home"))
    [panel] = [p for p in response.context["app_panels"] if p["template"] == "ownership/_home_panel.html"]
    assert (panel["count"], panel["scope"], panel["warn_days"]) == (3, "own", 3)
    html = response.content.decode()
    assert 'id="panel-expiring"' in html and "位我的客户将在 3 天内失去保护" in html
    panel = [p for p in client_for(w.manager).get(reverse("home")).context["app_panels"]
             if p["template"] == "ownership/_home_panel.html"][0]
    assert panel["count"] == 4
    cs_panels = client_for(w.cs).get(reverse("home")).context["app_panels"]
    assert not [p for p in cs_panels if p["template"] == "ownership/_home_panel.html"]
