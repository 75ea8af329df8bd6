"""The dashboards (issue 9 item 3): every figure equals what the page it links to shows the same
person on the data of tests/dashboards/support.py; each role opens its own dashboard
(administrators all three), another tenant sees none of the numbers; the charts are drawn from
one json_script with the same numbers as the tables; a fixed number of queries."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.commissions.models import CommissionLine
from apps.referrals.reports import add_months, month_team_figures, referral_report
from tests.conftest import login
from tests.dashboards.support import Data, figure, get, referral, table_rows, task
from tests.query_budgets import assert_flat

SALES, MANAGER, FINANCE = (reverse("dashboards:sales"), reverse("dashboards:manager"),
                           reverse("dashboards:finance"))


@pytest.fixture
def data(world_a):
    return Data(world_a)


# --------------------------------------------------------------------------- sales


def test_sales_figures_equal_the_lists_they_link_to(data):
    w = data.world
    page = get(w.sales, SALES)
    dash = page.context["dash"]

    customers = get(w.sales, reverse("customers:list"), {"owner": w.sales.pk})
    # 3 customers, 9 referred customers of the referrals sales logged, 2 with contracts.
    assert dash.customers == customers.context["page"].paginator.count == 14
    assert figure(page, "customers") == "14"

    day = get(w.sales, reverse("followups:my_day")).context["day"]
    assert (dash.followups_today, dash.followups_overdue, dash.followups_done_today) == (
        day.today_count, day.overdue_count, day.done_today) == (2, 1, 1)
    assert figure(page, "followups-today") == "2"

    tabs = get(w.sales, reverse("referrals:referral_list")).context["counts"]
    by_status = {row["status"]: row["count"] for row in tabs}
    assert {row["status"]: row["count"] for row in dash.referral_statuses} == {
        k: v for k, v in by_status.items() if k}
    assert dash.referrals_total == by_status[""] == 9  # sales logged 7 now and 2 earlier
    assert (by_status["registered"], by_status["paid"], by_status["rejected"]) == (2, 2, 2)
    shown = {cells[0]: cells[1] for cells in table_rows(page, "referral-status-table")[1:]}
    assert shown[str(tabs[0]["label"])] == "9"
    assert page.context["charts"]["referrals"]["datasets"][0]["data"] == [
        row["count"] for row in tabs[1:]]

    statement = get(w.sales, reverse("commissions:statement"),
                    {"month": data.month.strftime("%Y-%m")}).context["statement"]
    assert dash.commission == statement.summary.total == Decimal("1150.50")
    assert figure(page, "commission") == "1150.50"
    assert dash.statement.settlement.calculated_at is not None


def test_sales_commission_is_not_invented_before_the_month_is_calculated(data):
    w = data.world
    with w.context():
        CommissionLine.objects.filter(settlement=data.current).delete()
        data.current.delete()
    page = get(w.sales, SALES)
    assert page.context["dash"].commission is None
    assert "1150.50" not in page.content.decode()


# --------------------------------------------------------------------------- manager


def test_manager_figures_equal_the_lists_and_reports_of_the_team(data):
    w = data.world
    page = get(w.manager, MANAGER)
    dash = page.context["dash"]
    assert dash.scope == "team"

    queue = get(w.manager, reverse("disputes:list"), {"status": "waiting"})
    assert dash.disputes_waiting == queue.context["page"].paginator.count == 1
    assert figure(page, "disputes") == "1"

    # The funnel of team 1 this month: 9 logged; converted, reward pending, approved, paid and
    # reversed converted (5); approved and paid rewarded (2). The report's team row agrees.
    with w.context():
        month_report = referral_report(w.manager, first=data.month, last=data.month,
                                       medians=False)
    team1 = next(row.figures for row in month_report.teams if row.team_id == w.team1.pk)
    funnel = dash.funnel
    assert (funnel.created, funnel.converted) == (team1.created, team1.converted) == (9, 5)
    assert funnel.rewarded == team1.rewarded == 2
    assert [r[1] for r in table_rows(page, "funnel-table")[1:]] == ["9", "5", "2"]
    assert page.context["charts"]["funnel"]["datasets"][0]["data"] == [9, 5, 2]

    # Conversion by month: each month equals the report of that month for team 1.
    for row in dash.trend:
        with w.context():
            report = referral_report(w.manager, first=row.month, last=row.month, medians=False)
        team = next((r.figures for r in report.teams if r.team_id == w.team1.pk), None)
        expected = (team.created, team.converted, team.conversion_rate) if team else (0, 0, None)
        assert (row.figures.created, row.figures.converted,
                row.figures.conversion_rate) == expected
    assert [r.figures.created for r in dash.trend][-1] == 9
    assert sum(r.figures.created for r in dash.trend) == 11  # plus two of two months ago
    assert len(dash.trend) == 6

    board = get(w.manager, reverse("referrals:board")).context["rows"]
    assert [(r.referrer_id, r.successes) for r in dash.leaderboard] == [
        (r.referrer_id, r.successes) for r in board][:10]
    assert dash.leaderboard[0].successes == 5  # sales2's referrals converted this month

    report = get(w.manager, reverse("followups:report")).context["report"]
    assert (dash.followups.totals.due, dash.followups.totals.done,
            dash.followups.totals.completion_rate) == (
        report.totals.due, report.totals.done, report.totals.completion_rate)
    assert figure(page, "followups-due") == str(report.totals.due)

    expiring = get(w.manager, reverse("renewals:expiring"))
    assert dash.renewals_due == expiring.context["page"].paginator.count == 1  # team 1's


def test_admin_funnel_is_the_tenants_and_equals_the_referral_list_tabs(data):
    w = data.world
    dash = get(w.admin, MANAGER).context["dash"]
    assert dash.scope == "all"
    last_day = (data.month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    tabs = get(w.admin, reverse("referrals:referral_list"), {
        "date_from": data.month.isoformat(), "date_to": last_day.isoformat()}).context["counts"]
    count = {row["status"]: row["count"] for row in tabs}
    converted = sum(count[s] for s in ("converted", "reward_pending", "approved", "paid",
                                       "reversed"))
    assert (dash.funnel.created, dash.funnel.converted, dash.funnel.rewarded) == (
        count[""], converted, count["approved"] + count["paid"]) == (11, 6, 3)
    queue = get(w.admin, reverse("disputes:list"), {"status": "waiting"})
    assert dash.disputes_waiting == queue.context["page"].paginator.count == 0  # not escalated
    expiring = get(w.admin, reverse("renewals:expiring"))
    assert dash.renewals_due == expiring.context["page"].paginator.count == 2


def test_manager_without_a_team_gets_no_team_figures(data):
    w = data.world
    lone = w.make_staff("lone", ["manager"], None)
    page = get(lone, MANAGER)
    dash = page.context["dash"]
    assert dash.scope == "none"
    assert (dash.funnel.created, sum(r.figures.created for r in dash.trend)) == (0, 0)


# --------------------------------------------------------------------------- finance


def test_finance_months_and_totals_equal_the_settlement_list(data):
    w = data.world
    page = get(w.finance, FINANCE)
    dash = page.context["dash"]
    assert len(dash.months) == 12 and dash.months[-1].month == data.month
    listed = {s.month: (s.status, s.total, s.line_count, s.people)
              for s in get(w.finance, reverse("commissions:settlement_list")).context["page_obj"]}
    shown = {m.month: (m.settlement.status, m.settlement.total, m.settlement.line_count,
                       m.settlement.people) for m in dash.months if m.settlement}
    assert shown == listed
    with w.context():
        for m in dash.months:
            if m.settlement:
                lines = CommissionLine.objects.filter(settlement=m.settlement)
                assert m.settlement.total == lines.aggregate(t=Sum("result"))["t"]
    totals = {row.status: (row.months, row.total) for row in dash.by_status}
    assert totals["calculated"] == (1, Decimal("1450.50"))
    assert totals["paid"] == (1, Decimal("899.99"))
    assert totals["closed"] == (1, Decimal("10.00"))
    assert dash.total == Decimal("2360.49") and dash.not_calculated == 9
    assert figure(page, "settlements-total") == "2360.49"
    chart = page.context["charts"]["settlements"]
    assert sorted(v for s in chart["datasets"] for v in s["data"] if v is not None) == [
        10.0, 899.99, 1450.5]


# --------------------------------------------------------------------------- who


@pytest.mark.parametrize("who, allowed", [
    ("sales", {SALES}), ("manager", {MANAGER}), ("finance", {FINANCE}),
    ("cs", set()), ("admin", {SALES, MANAGER, FINANCE})])
def test_each_role_opens_its_own_dashboards_others_get_403(data, who, allowed):
    staff = getattr(data.world, who)
    client = login(staff)
    for url in (SALES, MANAGER, FINANCE):
        assert client.get(url).status_code == (200 if url in allowed else 403), url
    home = client.get(reverse("home")).content.decode()
    for url in (SALES, MANAGER, FINANCE):
        assert (f'href="{url}"' in home) == (url in allowed), url


def test_anonymous_is_sent_to_sign_in(db):
    response = Client().get(MANAGER)
    assert response.status_code == 302 and "login" in response["Location"]


def test_another_tenant_sees_none_of_the_numbers(data, world_b):
    b = world_b
    sales = get(b.sales, SALES).context["dash"]
    assert (sales.customers, sales.followups_today, sales.referrals_total) == (0, 0, 0)
    assert sales.commission is None
    manager = get(b.admin, MANAGER).context["dash"]
    assert (manager.disputes_waiting, manager.funnel.created, manager.renewals_due) == (0, 0, 0)
    assert manager.leaderboard == [] and manager.followups.totals.due == 0
    assert sum(r.figures.created for r in manager.trend) == 0
    finance = get(b.finance, FINANCE)
    assert all(m.settlement is None for m in finance.context["dash"].months)
    assert figure(finance, "settlements-total") == "0.00"


# --------------------------------------------------------------------------- page


def test_charts_come_from_one_json_script_and_one_static_file(data):
    html = get(data.world.admin, MANAGER).content.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    inline = [attrs for attrs, body in scripts if body.strip()]
    assert inline == [' id="dashboard-charts" type="application/json"']
    assert any("js/dashboards.js" in attrs for attrs, _body in scripts)
    assert html.count("data-chart=") == 4


# --------------------------------------------------------------------------- queries


def test_manager_dashboard_queries_do_not_grow_with_the_data(data, django_assert_max_num_queries):
    w = data.world

    def grow(n):
        for i in range(n):
            by = (w.sales, w.sales2, w.sales_other_team)[i % 3]
            referral(w, data.partner, by, ("paid", "registered", "converted")[i % 3])
            task(w, by, data.mine[0], timezone.now())

    client = login(w.manager)
    assert_flat(client, MANAGER, grow, n=4)
    # 8 of plumbing (savepoint, user, app.user_id, staff, app.tenant_id, unread count, reset,
    # release); referral figures 1; board 2; renewals 1 (+ the count past 5 rows, + the lead
    # days on a cold cache); disputes 1; follow-up report 3.
    with django_assert_max_num_queries(18):
        client.get(MANAGER)


def test_sales_and_finance_dashboards_have_fixed_budgets(data, django_assert_max_num_queries):
    w = data.world
    sales, finance = login(w.sales), login(w.finance)
    sales.get(SALES)
    finance.get(FINANCE)
    # 8 of plumbing; customers 2 (the owner filter's check, the count); My day up to 9
    # (plan, overdue, ahead, done today, the customers' tier, last deal, complaint, the
    # tier scheme); referral tabs 1; statement 3 (+ 4 savepoints of its tenant contexts);
    # commission so far 0 (the statement's settlement; the figures come from the cache).
    with django_assert_max_num_queries(27):
        sales.get(SALES)
    with django_assert_max_num_queries(9):
        finance.get(FINANCE)



# --------------------------------------------------------------------------- the report's part


def test_month_team_figures_add_up_to_the_referral_reports_rows(data):
    """apps.referrals.reports.month_team_figures (added for the funnel): summed over the teams
    it gives the report's month rows, over the months its team rows, rewarded included."""
    w = data.world
    first = add_months(data.month, -11)
    with w.context():
        pairs = month_team_figures(w.admin, first=first, last=data.month)
        report = referral_report(w.admin, first=first, last=data.month, medians=False)
    fields = ("created", "converted", "rewarded", "open", "rejected")
    for row in report.months:
        got = [sum(getattr(f, n) for (m, _t), f in pairs.items() if m == row.month)
               for n in fields]
        assert got == [getattr(row.figures, n) for n in fields], row.month
    for row in report.teams:
        got = [sum(getattr(f, n) for (_m, t), f in pairs.items() if t == row.team_id)
               for n in fields]
        assert got == [getattr(row.figures, n) for n in fields], row.team_name
    assert report.total.rewarded == 4  # approved 1 + paid 2 this month, paid 1 two months ago
