"""The referral report page, its API, the charts on the home page: what each role sees, the
links to the lists, refusals, isolation and the query budget (numbers: test_reports.py)."""

import datetime as dt
import json
import re
from html import unescape

import pytest
from django.utils import timezone

from apps.ownership.selectors import tenant_today
from apps.referrals.panels import referral_charts_panel
from apps.referrals.reports import add_months, month_start
from tests.query_budgets import assert_flat
from tests.referrals.reports_support import Dataset, customer, deal, local, referral

URL = "/referrals/reports/"
API = "/api/v1/referrals/reports/"
RANGE = {"from": "2026-01", "to": "2026-03"}


@pytest.fixture
def data(world_a):
    return Dataset(world_a)


def row_html(html: str, attr: str, value: str) -> str:
    match = re.search(rf'<tr[^>]*{attr}="{re.escape(value)}"[^>]*>(.*?)</tr>', html, re.S)
    assert match, f"no row {attr}={value}"
    return match.group(0)


def cell(html: str, attr: str, value: str, col: str) -> str:
    """The text of a column of a row of the page's tables."""
    match = re.search(rf'data-col="{col}">(.*?)</td>', row_html(html, attr, value), re.S)
    assert match, f"no column {col}"
    return " ".join(unescape(re.sub(r"<[^>]+>", "", match.group(1))).split())


def chart(html: str) -> dict:
    match = re.search(r'<script id="referral-chart-data" type="application/json">(.*?)</script>',
                      html, re.S)
    assert match
    return json.loads(match.group(1))


def test_the_report_page_of_a_manager(data, client_for):
    w = data.world
    response = client_for(w.manager).get(URL, RANGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert "转介绍率" in html or "Referral rate" in html
    assert cell(html, "data-month", "2026-01", "created") == "7"
    assert cell(html, "data-month", "2026-01", "via_staff") == "5"
    assert cell(html, "data-month", "2026-01", "converted") == "2"
    assert cell(html, "data-month", "2026-01", "conversion_rate") == "28.6%"
    assert cell(html, "data-month", "2026-01", "rejected") == "3"
    assert cell(html, "data-month", "2026-01", "open").startswith("2 ")  # + "still maturing"
    assert cell(html, "data-month", "2026-02", "referral_rate") == "40.0% (2 / 5)"
    assert cell(html, "data-month", "2026-02", "average_days") == "15.0"
    assert cell(html, "data-month", "2026-03", "conversion_rate") == "—"
    assert cell(html, "data-month", "2026-03", "median_days") == "50.0"
    assert cell(html, "data-month", "total", "created") == "9"
    assert cell(html, "data-month", "total", "median_days") == "20.0"
    # The counts open the referral list with the same rows.
    feb = row_html(html, "data-month", "2026-02")
    assert 'href="/referrals/?date_from=2026-02-01&amp;date_to=2026-02-28"' in feb
    assert ('href="/referrals/?status=rejected&amp;date_from=2026-02-01&amp;'
            'date_to=2026-02-28"') in feb
    assert 'href="/referrals/?channel=link&amp;date_from=2026-02-01&amp;date_to=2026-02-28"' in feb
    total = row_html(html, "data-month", "total")
    assert 'href="/referrals/?date_from=2026-01-01&amp;date_to=2026-03-31"' in total
    # A manager's deals list holds their team's deals only: a link on their team's row alone.
    assert "/deals/?" not in feb
    team1 = row_html(html, "data-team", str(w.team1.pk))
    assert 'class="table-primary"' in team1
    assert f"/deals/?team={w.team1.pk}&amp;date_from=2026-01-01&amp;date_to=2026-03-31" in team1
    assert cell(html, "data-team", str(w.team1.pk), "created") == "5"
    assert cell(html, "data-team", str(w.team2.pk), "referral_rate") == "50.0% (1 / 2)"
    assert "/deals/?" not in row_html(html, "data-team", str(w.team2.pk))
    assert cell(html, "data-team", "none", "conversion_rate") == "50.0%"
    # Rejections by reason.
    assert re.search(r'data-reason="duplicate">.*?<td class="num">1</td>', html, re.S)
    # The charts: data in json_script, drawn by a static script (no inline script).
    data_ = chart(html)
    assert data_["labels"] == ["2026-01", "2026-02", "2026-03"]
    assert [s["data"] for s in data_["counts"]] == [[7, 2, 0], [2, 2, 0]]
    assert [s["data"] for s in data_["rates"]] == [[28.6, 100.0, None], [50.0, 40.0, 50.0]]
    assert "/static/js/referral_charts.js" in html
    assert "/static/vendor/chartjs/chart.umd.min.js" in html
    assert not re.search(r"<script(?![^>]*\b(src|type=\"application/json\"))[^>]*>", html)


def test_admin_and_finance_get_links_to_the_deals_list(data, client_for):
    for staff in (data.world.admin, data.world.finance):
        html = client_for(staff).get(URL, RANGE).content.decode()
        assert "/deals/?date_from=2026-02-01&amp;date_to=2026-02-28" in row_html(
            html, "data-month", "2026-02")
        assert 'class="table-primary"' not in html
        assert cell(html, "data-month", "total", "created") == "9"


def test_a_salesperson_sees_their_own_figures(data, client_for, api_client_for):
    w = data.world
    html = client_for(w.sales).get(URL, RANGE).content.decode()
    assert cell(html, "data-month", "2026-01", "created") == "3"
    assert cell(html, "data-month", "2026-02", "referral_rate") == "50.0% (2 / 4)"
    assert 'id="report-teams"' not in html
    # Their deals list holds exactly the deals counted for them.
    assert "/deals/?date_from=2026-02-01" in row_html(html, "data-month", "2026-02")
    body = api_client_for(w.sales).get(API, RANGE).json()
    assert body["scope"] == "own" and body["teams"] == []
    assert body["total"]["created"] == 4


def test_customer_service_is_refused(data, client_for, api_client_for):
    cs = data.world.cs
    assert client_for(cs).get(URL).status_code == 403
    assert api_client_for(cs).get(API).status_code == 403


def test_the_default_range_is_the_last_twelve_months(world_a, client_for):
    w = world_a
    current = month_start(tenant_today(w.tenant))
    html = client_for(w.manager).get(URL).content.decode()
    labels = chart(html)["labels"]
    assert len(labels) == 12
    assert labels[0] == add_months(current, -11).strftime("%Y-%m")
    assert labels[-1] == current.strftime("%Y-%m")
    # Only `from`: twelve months from there (never beyond this month).
    html = client_for(w.manager).get(URL, {"from": "2025-01"}).content.decode()
    assert chart(html)["labels"][0] == "2025-01" and len(chart(html)["labels"]) == 12


@pytest.mark.parametrize("params, field", [
    ({"from": "2026-03", "to": "2026-01"}, "to"),
    ({"from": "2023-01", "to": "2026-01"}, "to"),
    ({"from": "2026-13"}, "from"),
    ({"to": "soon"}, "to"),
])
def test_a_bad_range_is_refused_with_the_input_kept(world_a, client_for, api_client_for,
                                                    params, field):
    w = world_a
    response = client_for(w.manager).get(URL, params)
    assert response.status_code == 400
    html = response.content.decode()
    for value in params.values():
        assert f'value="{value}"' in html
    assert "invalid-feedback" in html
    answer = api_client_for(w.manager).get(API, params)
    assert answer.status_code == 400
    assert field in answer.json()["error"]["fields"]


def test_the_api(data, api_client_for):
    w = data.world
    body = api_client_for(w.manager).get(API, RANGE).json()
    assert (body["first"], body["last"], body["scope"]) == ("2026-01", "2026-03", "tenant")
    jan = body["months"][0]
    assert jan["month"] == "2026-01"
    assert {k: jan["figures"][k] for k in ("created", "converted", "rejected", "open",
                                           "conversion_rate", "deals", "referred_deals",
                                           "referral_rate", "median_days")} == {
        "created": 7, "converted": 2, "rejected": 3, "open": 2, "conversion_rate": "28.6",
        "deals": 2, "referred_deals": 1, "referral_rate": "50.0", "median_days": "20.0"}
    assert jan["figures"]["rejected_by_reason"] == {
        "duplicate": 1, "false_info": 1, "existing_customer": 1}
    teams = body["teams"]
    assert [(t["team"] and t["team"]["id"], t["highlight"]) for t in teams] == [
        (w.team1.pk, True), (w.team2.pk, False), (None, False)]
    assert body["total"]["average_days"] == "25.0"


def test_another_tenants_figures_never_show(data, world_b, client_for, api_client_for):
    Dataset(world_b)
    w = data.world
    html = client_for(w.admin).get(URL, RANGE).content.decode()
    assert cell(html, "data-month", "total", "created") == "9"
    assert cell(html, "data-month", "total", "referral_rate") == "44.4% (4 / 9)"
    assert api_client_for(world_b.finance).get(API, RANGE).json()["total"]["deals"] == 9


def test_the_report_query_budget(world_a, client_for, api_client_for, django_assert_max_num_queries):
    w = world_a
    counter = iter(range(10_000))

    def grow(n):
        for i in range(n):
            team = (w.team1, w.team2, None)[i % 3]
            owner = (w.sales, w.sales_other_team, w.admin)[i % 3]
            c = customer(w, owner)
            day = dt.date(2026, 1 + next(counter) % 3, 10)
            d = deal(w, c, day, team)
            referral(w, referrer, created_at=local(2026, day.month, 2), status="paid",
                     by=owner if i % 2 else None, cust=c, the_deal=d)
            referral(w, referrer, created_at=local(2026, day.month, 3), status="rejected",
                     by=w.sales2, reason="duplicate")

    referrer = Dataset(w).referrer
    for staff in (w.manager, w.sales):
        assert_flat(client_for(staff), URL, grow, n=4, params=RANGE)
        assert_flat(api_client_for(staff), API, grow, n=4, params=RANGE)
    # 8 of plumbing (savepoint and release, the user, the staff member, three set_config, the
    # unread notifications) + the five report queries.
    manager = client_for(w.manager)
    manager.get(URL, RANGE)
    with django_assert_max_num_queries(13):
        manager.get(URL, RANGE)


def test_the_home_page_charts_for_managers_and_admins(world_a, client_for,
                                                     django_assert_num_queries):
    w = world_a
    c = customer(w, w.sales)
    today = tenant_today(w.tenant)
    with w.context():
        from apps.referrals.models import Referrer
        referrer = Referrer.objects.create(tenant=w.tenant, kind=Referrer.Kind.PARTNER,
                                           partner_name="合作方")
    d = deal(w, c, today, w.team1)
    referral(w, referrer, created_at=timezone.now(), status="converted", by=w.sales, cust=c,
             the_deal=d)
    referral(w, referrer, created_at=timezone.now())
    current = month_start(today).strftime("%Y-%m")
    for staff in (w.manager, w.admin):
        html = client_for(staff).get("/").content.decode()
        assert 'id="panel-referrals"' in html
        data_ = chart(html)
        assert len(data_["labels"]) == 6 and data_["labels"][-1] == current
        assert [s["data"][-1] for s in data_["counts"]] == [2, 1]
        assert [s["data"][-1] for s in data_["rates"]] == [50.0, 100.0]
        assert re.search(rf'<tr data-month="{current}"><th scope="row">{current}</th>'
                         r'<td class="num">2</td><td class="num">1</td><td class="num">1</td>',
                         html)
        rates = html[html.index('id="referral-rate-table"'):]
        assert "100.0% (1 / 1)" in " ".join(re.sub(r"<[^>]+>", " ", row_html(
            rates, "data-month", current)).split())
        assert "/static/js/referral_charts.js" in html
        assert 'href="/referrals/reports/"' in html
    with w.context(), django_assert_num_queries(2):  # referrals, deals (no median)
        assert referral_charts_panel(w.manager)["report"].total.created == 2
    for staff in (w.cs, w.sales, w.finance):
        html = client_for(staff).get("/").content.decode()
        assert 'id="panel-referrals"' not in html
        assert "referral_charts.js" not in html
