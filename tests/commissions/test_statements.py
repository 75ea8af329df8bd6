"""Personal statements, page and API: everyone sees their own for any month, managers their
team's people, finance and administrators anyone; anyone else (and another tenant) 404. Every
line links to the deal or event behind it, the totals equal the lines to the cent, a month not
calculated says so, and the page and the endpoint keep a flat query count."""

from __future__ import annotations

from decimal import Decimal
from itertools import count

import pytest

from apps.commissions.models import CommissionLine
from tests.commissions.test_settlement_pages import make_month
from tests.deals.conftest import edu  # noqa: F401 - the edu fixture
from tests.query_budgets import assert_flat
from tests.referrals.lifecycle_helpers import zh

pytestmark = pytest.mark.django_db
API = "/api/v1/commissions/statement/"


@pytest.fixture
def month(edu):  # noqa: F811
    return make_month(edu)


def _label(m) -> str:
    return m.settlement.month.strftime("%Y-%m")


def test_own_statement_for_every_role(month, client_for, api_client_for):
    w, m = month.world, month
    page = client_for(w.sales).get("/commissions/statement/")  # default: the latest month
    assert page.status_code == 200
    assert page.context["statement"].month == m.settlement.month
    assert {line.pk for line in page.context["page_obj"]} == {
        m.lines["rate"].pk, m.lines["penalty"].pk, m.lines["refund"].pk}
    row = page.context["summary"]["rows"][0]
    assert row.total == Decimal("220.00") and row.penalties == Decimal("-50.00")
    assert 'id="statement-total">220.00<' in page.content.decode()
    for who in (w.cs, w.finance, w.manager, w.admin, w.sales_other_team):
        own = client_for(who).get("/commissions/statement/", {"month": _label(m)})
        assert own.status_code == 200 and own.context["person"] == who
        assert {line.staff_id for line in own.context["page_obj"]} <= {who.pk}
        data = api_client_for(who).get(API, {"month": _label(m)}).json()
        assert data["staff"]["id"] == who.pk and data["calculated"] is True
    other = api_client_for(w.sales_other_team).get(API).json()
    assert [line["id"] for line in other["results"]] == [m.lines["fixed"].pk]
    assert other["summary"]["total"] == "200.00"


def test_another_persons_statement(month, client_for, api_client_for, world_b):
    w = month.world
    url = f"/commissions/statement/{w.sales.pk}/"
    q = {"month": _label(month)}
    # Sales and customer service: only their own (another person is "not found").
    assert client_for(w.sales2).get(url, q).status_code == 404
    assert client_for(w.cs).get(url, q).status_code == 404
    assert api_client_for(w.sales2).get(API, {**q, "staff": w.sales.pk}).status_code == 404
    # Their own through the same URL is fine.
    assert client_for(w.sales).get(url, q).status_code == 200
    # A manager: their team's people only.
    assert client_for(w.manager).get(url, q).status_code == 200
    other_team = f"/commissions/statement/{w.sales_other_team.pk}/"
    assert client_for(w.manager).get(other_team, q).status_code == 404
    assert api_client_for(w.manager).get(
        API, {**q, "staff": w.sales_other_team.pk}).status_code == 404
    # Finance and administrators: anyone.
    for who in (w.finance, w.admin):
        page = client_for(who).get(other_team, q)
        assert page.status_code == 200
        assert [line.pk for line in page.context["page_obj"]] == [month.lines["fixed"].pk]
        data = api_client_for(who).get(API, {**q, "staff": w.sales_other_team.pk}).json()
        assert data["staff"]["id"] == w.sales_other_team.pk and len(data["results"]) == 1
    # Another tenant's person: 404, even for its administrator.
    assert client_for(world_b.admin).get(url, q).status_code == 404
    assert api_client_for(world_b.admin).get(API, {**q, "staff": w.sales.pk}).status_code == 404
    assert api_client_for(w.admin).get(API, {**q, "staff": "x"}).status_code == 404


def test_every_figure_links_to_its_deal_or_event(month, client_for, api_client_for):
    w, m = month.world, month
    page = client_for(w.sales).get("/commissions/statement/", {"month": _label(m)})
    lines = {line.pk: line for line in page.context["page_obj"]}
    deal_url = f"/deals/{m.deal.pk}/"
    assert [s.url for s in lines[m.lines["rate"].pk].sources] == [deal_url]
    refund = lines[m.lines["refund"].pk].sources
    assert {s.url for s in refund} == {deal_url} and any(s.adjusted for s in refund)
    penalty = lines[m.lines["penalty"].pk].sources[0]
    assert "missed_followup" in penalty.label and "回访超时" in penalty.label
    html = page.content.decode()
    assert html.count(f'href="{deal_url}"') >= 2 and "missed_followup" in html
    sales2 = client_for(w.sales2).get("/commissions/statement/", {"month": _label(m)})
    assert 'href="/referrals/77/"' in sales2.content.decode()
    data = api_client_for(w.sales).get(API, {"month": _label(m)}).json()
    for line in data["results"]:
        if line["kind"] != "penalty":
            assert line["sources"] and all(s["url"] for s in line["sources"]), line


def test_totals_equal_the_lines_to_the_cent(month, api_client_for):
    w, m = month.world, month
    for who in (w.sales, w.sales2, w.sales_other_team):
        data = api_client_for(who).get(API, {"month": _label(m)}).json()
        with w.context():
            lines = list(CommissionLine.objects.filter(settlement=m.settlement, staff=who)
                         .values_list("result", flat=True))
        assert Decimal(data["summary"]["total"]) == sum(lines)
        assert sum(Decimal(line["result"]) for line in data["results"]) == sum(lines)


def test_a_month_not_calculated_yet(month, client_for, api_client_for):
    w = month.world
    page = client_for(w.sales).get("/commissions/statement/", {"month": "2019-03"})
    assert page.status_code == 200
    assert zh("The commissions of %(month)s are not calculated yet.", month="2019-03"
              ) in page.content.decode()
    data = api_client_for(w.sales).get(API, {"month": "2019-03"}).json()
    assert data["calculated"] is False and data["results"] == [] and data["summary"] is None
    bad = client_for(w.sales).get("/commissions/statement/", {"month": "March"})
    assert bad.status_code == 400
    assert api_client_for(w.sales).get(API, {"month": "March"}).status_code == 400


def test_statement_query_budget(month, client_for, api_client_for):
    m, w = month, month.world
    refs = count(1000)

    def grow(n):
        for _ in range(n):
            i = next(refs)
            m.add(f"r{i}", w.sales, "rate", "10.00", deal=m.deal, ref=f"credit:{i}")

    url = f"/commissions/statement/?month={_label(m)}"
    assert_flat(client_for(w.sales), url, grow, n=10)
    assert_flat(client_for(w.manager), f"/commissions/statement/{w.sales.pk}/?month={_label(m)}",
                grow, n=5)
    assert_flat(api_client_for(w.sales), f"{API}?month={_label(m)}", grow, n=4)
