"""The follow-up report page, its API and the team page: the figures a reader sees are the
hand-computed ones of test_reports' March (read now, every open follow-up of March is
overdue), a manager sees their team only and may not pick another, another tenant sees
nothing of this one, sales and finance are refused, bad filters are shown with a 400; the team
page lists the team's overdue follow-ups oldest first, paginated.

The March set is built through the services (tests.followups.test_reports.build_march); the
team page's overdue follow-ups are written with FollowUpTask.objects.create inside
`world.context()`, due days before the real now (the page reads the clock)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.followups.models import FollowUpTask
from apps.ownership.selectors import tenant_today
from tests.followups.helpers import customer, zh
from tests.followups.test_reports import build_march

REPORT = reverse("followups:report")
EXPORT = reverse("followups:export")
TEAM = reverse("followups:team")
API = "/api/v1/followups/reports/"
MARCH = {"month": "2026-03"}


@pytest.fixture
def march(world_a, world_b):
    return build_march(world_a, world_b)


def row_cells(html: str, attr: str, value) -> dict[str, str]:
    """{data-col: text} of the table row with `attr`="value"."""
    match = re.search(rf'<tr[^>]*{attr}="{value}"[^>]*>(.*?)</tr>', html, re.S)
    assert match, f"no row {attr}={value}"
    return {col: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", text)).strip()
            for col, text in re.findall(r'data-col="([a-z_]+)"[^>]*>(.*?)</td>', match[1], re.S)}


# --------------------------------------------------------------------------- the report page


def test_admin_reads_the_month_by_team_person_and_total(march, client_for):
    w = march.world
    response = client_for(w.admin).get(REPORT, MARCH)
    html = response.content.decode()
    assert response.status_code == 200
    total = row_cells(html, "data-team", "total")
    # Read now, every open task of March is overdue (4 of them).
    assert total == {"due": "13", "done": "7", "cancelled": "2", "open": "4", "overdue": "4",
                     "completion_rate": "63.6%", "on_time_rate": "45.5%",
                     "satisfaction": "3.0 (5)", "complaints_opened": "2",
                     "complaints_reopened": "1"}
    team1 = row_cells(html, "data-team", w.team1.pk)
    assert (team1["due"], team1["completion_rate"], team1["on_time_rate"]) == (
        "10", "66.7%", "44.4%")
    assert row_cells(html, "data-team", "none")["due"] == "1"
    sales = row_cells(html, "data-person", w.sales.pk)
    assert (sales["due"], sales["completion_rate"], sales["on_time_rate"],
            sales["satisfaction"], sales["complaints_reopened"]) == (
        "8", "57.1%", "28.6%", "2.7 (3)", "1")
    assert row_cells(html, "data-person", w.sales_other_team.pk)["satisfaction"] == "—"
    assert EXPORT + "?from=2026-03-01&amp;to=2026-03-31" in html


def test_a_manager_sees_their_team_and_may_not_pick_another(march, client_for):
    w = march.world
    client = client_for(w.manager)
    html = client.get(REPORT, MARCH).content.decode()
    assert row_cells(html, "data-team", "total")["due"] == "10"
    assert f'data-team="{w.team2.pk}"' not in html and 'data-team="none"' not in html
    assert w.sales_other_team.name not in html and w.cs.name not in html
    response = client.get(REPORT, {**MARCH, "team": w.team2.pk})
    assert response.status_code == 400
    assert response.context["form"].errors["team"]
    assert w.sales_other_team.name not in response.content.decode()


def test_filters_and_their_errors(march, client_for):
    w = march.world
    client = client_for(w.cs)
    html = client.get(REPORT, {"from": "2026-03-01", "to": "2026-03-03",
                               "team": w.team1.pk}).content.decode()
    assert row_cells(html, "data-team", "total")["due"] == "2"       # t1 and t2
    response = client.get(REPORT, {"from": "2026-03-09", "to": "2026-03-01"})
    assert response.status_code == 400
    assert zh("The last day is before the first day.") in response.content.decode()
    # The default: this month of the tenant (nothing of March in it).
    response = client.get(REPORT)
    assert response.status_code == 200
    assert response.context["report"].start == tenant_today(w.tenant).replace(day=1)
    assert row_cells(response.content.decode(), "data-team", "total")["due"] == "0"


def test_another_tenant_sees_only_its_own(march, world_b, client_for):
    html = client_for(world_b.admin).get(REPORT, MARCH).content.decode()
    assert row_cells(html, "data-team", "total")["due"] == "1"
    assert march.world.sales.name not in html


@pytest.mark.parametrize("role", ["sales", "sales_other_team", "finance"])
def test_sales_and_finance_are_refused(world_a, client_for, api_client_for, role):
    staff = getattr(world_a, role)
    client = client_for(staff)
    for url in (REPORT, EXPORT, TEAM):
        assert client.get(url).status_code == 403, url
    assert api_client_for(staff).get(API).status_code == 403


# --------------------------------------------------------------------------- the API


def test_api_gives_the_same_figures(march, api_client_for):
    w = march.world
    body = api_client_for(w.admin).get(API, MARCH).json()
    assert (body["first"], body["last"], body["team"]) == ("2026-03-01", "2026-03-31", None)
    assert body["totals"] == {
        "due": 13, "done": 7, "cancelled": 2, "open": 4, "overdue": 4, "on_time": 5,
        "completion_rate": "63.6", "on_time_rate": "45.5", "satisfaction_average": "3.0",
        "satisfaction_count": 5, "complaints_opened": 2, "complaints_reopened": 1}
    assert [(r["team"] and r["team"]["id"], r["figures"]["due"]) for r in body["teams"]] == [
        (w.team1.pk, 10), (w.team2.pk, 2), (None, 1)]
    people = {r["staff"]["id"]: r for r in body["people"]}
    assert people[w.sales.pk]["figures"]["on_time_rate"] == "28.6"
    assert people[w.sales_other_team.pk]["figures"]["satisfaction_average"] is None
    mine = api_client_for(w.manager).get(API, {**MARCH, "team": w.team1.pk}).json()
    assert mine["team"] == {"id": w.team1.pk, "name": "一组"}
    assert [r["staff"]["id"] for r in mine["people"]] == [w.sales.pk, w.sales2.pk]


def test_api_refuses_bad_filters_and_other_teams(march, world_b, api_client_for):
    w = march.world
    response = api_client_for(w.manager).get(API, {**MARCH, "team": w.team2.pk})
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["team"]
    response = api_client_for(w.admin).get(API, {"from": "2026-03-09", "to": "2026-03-01"})
    assert response.json()["error"]["fields"] == {
        "to": [zh("The last day is before the first day.")]}
    # Another tenant's team id is not one of the caller's teams.
    response = api_client_for(world_b.admin).get(API, {**MARCH, "team": w.team1.pk})
    assert response.status_code == 400
    assert api_client_for(world_b.cs).get(API, MARCH).json()["totals"]["due"] == 1


# --------------------------------------------------------------------------- the team page


@pytest.fixture
def overdue(world_a):
    """26 overdue follow-ups of team 1 (sales, one a day going back from 2 days ago; the
    oldest for sales2), one of team 2, one done."""
    w = world_a
    mine, mine2, theirs = customer(w, "sales"), customer(w, "sales2"), customer(
        w, "sales_other_team")
    now = timezone.now()
    rows = []
    with w.context():
        for n in range(26):
            staff, cust = (w.sales2, mine2) if n == 25 else (w.sales, mine)
            rows.append(FollowUpTask(tenant=w.tenant, customer=cust, assignee=staff,
                                     team_id=staff.team_id, channel="phone",
                                     purpose="renewal" if n == 25 else "periodic",
                                     due_at=now - dt.timedelta(days=2 + n)))
        rows.append(FollowUpTask(tenant=w.tenant, customer=theirs, assignee=w.sales_other_team,
                                 team_id=w.team2.pk, channel="phone", purpose="after_sale",
                                 due_at=now - dt.timedelta(days=3), title="二组的回访"))
        rows.append(FollowUpTask(tenant=w.tenant, customer=mine, assignee=w.sales,
                                 team_id=w.team1.pk, channel="phone", purpose="periodic",
                                 due_at=now - dt.timedelta(days=1), status="done",
                                 result="refused", result_notes="不需要", completed_at=now))
        return {"tasks": FollowUpTask.objects.bulk_create(rows), "mine": mine, "mine2": mine2}


def test_the_manager_sees_the_teams_overdue_list_oldest_first(world_a, overdue, client_for):
    w = world_a
    response = client_for(w.manager).get(TEAM)
    html = response.content.decode()
    assert response.status_code == 200
    page = [task.pk for task in response.context["page_obj"]]
    tasks = overdue["tasks"]
    assert page == [tasks[25].pk, *(t.pk for t in tasks[24:0:-1])]   # 25 of 26, oldest first
    first_row = re.search(rf'<tr data-task="{tasks[25].pk}">(.*?)</tr>', html, re.S)[1]
    assert overdue["mine2"].name in first_row and w.sales2.name in first_row
    assert zh("Renewal reminder") in first_row
    assert reverse("customers:detail", args=[overdue["mine2"].pk]) in first_row
    assert "二组的回访" not in html
    assert row_cells(html, "data-member", w.sales.pk)["overdue"] == "25"
    assert row_cells(html, "data-member", "total")["overdue"] == "26"
    second = client_for(w.manager).get(TEAM, {"page": 2})
    assert [task.pk for task in second.context["page_obj"]] == [tasks[0].pk]


def test_admins_pick_a_team_and_managers_cannot(world_a, world_b, overdue, client_for):
    w = world_a
    html = client_for(w.admin).get(TEAM, {"team": w.team2.pk}).content.decode()
    assert "二组的回访" in html and 'id="team-pick"' in html
    assert row_cells(html, "data-member", w.sales_other_team.pk)["overdue"] == "1"
    response = client_for(w.manager).get(TEAM, {"team": w.team2.pk})
    assert response.status_code == 400
    assert "二组的回访" not in response.content.decode()
    # Another tenant's manager sees none of it.
    html = client_for(world_b.manager).get(TEAM).content.decode()
    assert row_cells(html, "data-member", "total")["overdue"] == "0"
    assert overdue["mine"].name not in html


def test_a_manager_without_a_team_is_told(world_a, client_for):
    loner = world_a.make_staff("loner", ["manager"], None)
    response = client_for(loner).get(TEAM)
    assert response.status_code == 200
    assert 'id="team-none"' in response.content.decode()
