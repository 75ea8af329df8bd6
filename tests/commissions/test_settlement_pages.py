"""The settlement pages: who reads them, the steps in order through the confirmation pages (a
step out of order is refused with the reason and changes nothing), what a manager sees (their
team's people and lines), the summary totals against the lines, the lines list's filters and
links, another tenant's ids, query budgets.

`make_month` (used by test_settlement_api.py and test_statements.py too) stores a calculated
month directly: lines of sales and sales2 (team1), of sales3 (team2), a penalty, a cap and a
refund adjustment, with real deals behind them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import count

import pytest

from apps.commissions.models import CommissionLine, PenaltyEvent, Settlement, TeamApproval
from tests.deals.conftest import edu, make_contract, make_deal  # noqa: F401 - edu fixture
from tests.query_budgets import assert_flat
from tests.referrals.lifecycle_helpers import zh

pytestmark = pytest.mark.django_db

_positions = count(1)


@dataclass
class Month:
    edu: object
    settlement: Settlement
    deal: object            # a deal of world.sales (team1)
    other_deal: object      # a deal of world.sales_other_team (team2)
    lines: dict = field(default_factory=dict)

    @property
    def world(self):
        return self.edu.world

    @property
    def url(self) -> str:
        return f"/commissions/settlements/{self.settlement.pk}/"

    def add(self, name, staff, kind, result, **kw) -> CommissionLine:
        w = self.world
        with w.context():
            line = CommissionLine.objects.create(
                tenant=w.tenant, settlement=self.settlement, staff=staff, team=staff.team,
                kind=kind, result=Decimal(result), position=next(_positions),
                rule_version=kw.pop("rule_version", 1), rule_index=0,
                rule_name=kw.pop("rule_name", "测试规则"), explanation=kw.pop(
                    "explanation", f"{name} 的说明"), **kw)
        self.lines[name] = line
        return line


def last_month(today: dt.date) -> dt.date:
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def make_month(e, *, month=None, status="calculated") -> Month:
    """A settlement of `month` (default last month) with 6 lines, total 550.00."""
    w = e.world
    month = month or last_month(e.today)
    deal = make_deal(e, customer=e.customer, amount="30000.00")
    other = make_deal(e, customer=e.other_customer, amount="20000.00")
    with w.context():
        settlement = Settlement.objects.create(
            tenant=w.tenant, month=month, status=status, runs=1, total=Decimal("550.00"),
            line_count=6, people=3, calculated_by=w.finance,
            calculated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            warnings=["没有适用的规则（测试警告）"])
        penalty = PenaltyEvent.objects.create(
            tenant=w.tenant, staff=w.sales, code="missed_followup", amount=Decimal("50.00"),
            occurred_on=month + dt.timedelta(days=2), source="followup:12", note="回访超时")
    m = Month(e, settlement, deal, other)
    m.add("rate", w.sales, "rate", "300.00", base=Decimal("30000.00"), rate=Decimal("1"),
          share=Decimal("100"), deal=deal, ref=f"credit:{deal.pk}")
    m.add("penalty", w.sales, "penalty", "-50.00", fixed=Decimal("50.00"),
          ref=f"penalty:{penalty.pk}")
    m.add("referral", w.sales2, "staff_referral", "150.00", base=Decimal("10000.00"),
          rate=Decimal("1.5"), share=Decimal("100"), ref="referral:77")
    m.add("cap", w.sales2, "cap", "-20.00", ref=f"cap:{month:%Y-%m}")
    m.add("fixed", w.sales_other_team, "fixed", "200.00", base=Decimal("20000.00"),
          fixed=Decimal("200.00"), share=Decimal("100"), deal=other, ref=f"credit:{other.pk}")
    m.add("refund", w.sales, "rate", "-30.00", base=Decimal("30000.00"), share=Decimal("10"),
          deal=deal, ref="refund:9", adjusts=f"refund:9 deal:{deal.pk}", is_adjustment=True)
    return m


@pytest.fixture
def month(edu):  # noqa: F811 - the imported fixture
    return make_month(edu)


def status_of(m: Month) -> str:
    with m.world.context():
        return Settlement.objects.get(pk=m.settlement.pk).status


def test_who_reads_the_pages(month, client_for, world_b):
    w = month.world
    urls = ["/commissions/settlements/", month.url, month.url + "commission-lines/"]
    for who in (w.finance, w.admin, w.manager):
        for url in urls:
            assert client_for(who).get(url).status_code == 200, (who, url)
    for who in (w.sales, w.cs):
        for url in urls:
            assert client_for(who).get(url).status_code == 403, (who, url)
    # Another tenant's settlement: not found, whatever the role and the step.
    for url in urls[1:] + [month.url + "submit/", month.url + "close/"]:
        assert client_for(world_b.admin).get(url).status_code == 404
        assert client_for(world_b.finance).post(url).status_code == 404
    assert status_of(month) == "calculated"


def test_list_shows_the_months_and_the_calculate_form(month, client_for):
    w = month.world
    page = client_for(w.finance).get("/commissions/settlements/")
    html = page.content.decode()
    assert [s.pk for s in page.context["page_obj"]] == [month.settlement.pk]
    assert "550.00" in html and w.finance.name in html
    # Default: last month.
    assert page.context["form"]["month"].value() == last_month(month.edu.today)
    # Managers read without the form.
    assert client_for(w.manager).get("/commissions/settlements/").context["form"] is None
    assert client_for(w.manager).post("/commissions/settlements/",
                                      {"month": "2020-01"}).status_code == 403


def test_detail_summary_totals_equal_the_lines(month, client_for):
    w = month.world
    page = client_for(w.finance).get(month.url)
    summary = page.context["summary"]
    assert {r.staff_id for r in summary["rows"]} == {w.sales.pk, w.sales2.pk,
                                                     w.sales_other_team.pk}
    by_person = {r.staff_id: r.total for r in summary["rows"]}
    assert by_person == {w.sales.pk: Decimal("220.00"), w.sales2.pk: Decimal("130.00"),
                         w.sales_other_team.pk: Decimal("200.00")}
    with w.context():
        line_sum = sum(CommissionLine.objects.filter(settlement=month.settlement)
                       .values_list("result", flat=True))
    assert summary["totals"]["total"] == line_sum == Decimal("550.00")
    sales = next(r for r in summary["rows"] if r.staff_id == w.sales.pk)
    assert (sales.penalties, sales.adjustments) == (Decimal("-50.00"), Decimal("-30.00"))
    html = page.content.decode()
    assert "没有适用的规则（测试警告）" in html
    assert f"/commissions/statement/{w.sales.pk}/?month=" in html
    assert f"{month.url}commission-lines/" in html
    assert f'href="{month.url}workbook/"' in html  # finance downloads the workbook
    assert f'href="{month.url}workbook/"' not in client_for(w.manager).get(
        month.url).content.decode()
    # Finance may calculate again and submit; nothing else yet.
    assert [a.name for a, _url in page.context["actions"]] == ["recalculate", "submit"]


def test_manager_sees_only_their_team(month, client_for):
    w = month.world
    page = client_for(w.manager).get(month.url)
    assert {r.staff_id for r in page.context["summary"]["rows"]} == {w.sales.pk, w.sales2.pk}
    assert page.context["summary"]["totals"]["total"] == Decimal("350.00")
    assert page.context["actions"] == []
    assert w.sales_other_team.name not in page.content.decode()
    lines = client_for(w.manager).get(month.url + "commission-lines/")
    assert {line.staff_id for line in lines.context["page_obj"]} == {w.sales.pk, w.sales2.pk}
    # Filtering by a person of another team finds nothing (no error, no leak).
    other = client_for(w.manager).get(month.url + "commission-lines/",
                                      {"staff": w.sales_other_team.pk})
    assert list(other.context["page_obj"]) == []


def test_lines_list_filters_and_links(month, client_for):
    w, m = month.world, month
    client = client_for(w.finance)
    url = m.url + "commission-lines/"
    page = client.get(url)
    assert page.context["page_obj"].paginator.count == 6
    html = page.content.decode()
    assert f'href="/deals/{m.deal.pk}/"' in html and f'href="/deals/{m.other_deal.pk}/"' in html
    assert 'href="/referrals/77/"' in html
    assert m.deal.contract_number in html and "测试规则" in html and "v1" in html
    assert "rate 的说明" in html and "1.5 %" in html and "1E+2" not in html
    only = client.get(url, {"adjustments": "on"})
    assert [line.pk for line in only.context["page_obj"]] == [m.lines["refund"].pk]
    refund = only.context["page_obj"][0]
    assert [(s.kind, s.url) for s in refund.sources] == [("refund", f"/deals/{m.deal.pk}/"),
                                                         ("deal", f"/deals/{m.deal.pk}/")]
    team2 = client.get(url, {"team": w.team2.pk})
    assert [line.pk for line in team2.context["page_obj"]] == [m.lines["fixed"].pk]
    person = client.get(url, {"staff": w.sales2.pk, "kind": "cap"})
    assert [line.pk for line in person.context["page_obj"]] == [m.lines["cap"].pk]
    bad = client.get(url, {"kind": "nonsense"})
    assert bad.status_code == 400 and list(bad.context["page_obj"]) == []


def test_steps_in_order_through_the_pages(edu, client_for):  # noqa: F811
    e, w = edu, edu.world
    contract = make_contract(e, start=e.today - dt.timedelta(days=30))
    make_deal(e, kind="renewal", amount="100000.00", renews=contract,
              participants=[(e.consultant, "consultant", ""), (e.advisor, "advisor", "")])
    this_month = e.today.replace(day=1)
    finance, admin, manager = client_for(w.finance), client_for(w.admin), client_for(w.manager)
    # A month not started yet is refused on the form, with what was typed.
    future = (this_month + dt.timedelta(days=40)).strftime("%Y-%m")
    response = finance.post("/commissions/settlements/", {"month": future})
    assert response.status_code == 400
    assert zh("%(month)s has not started yet.", month=future) in response.content.decode()
    response = finance.post("/commissions/settlements/", {"month": this_month.strftime("%Y-%m")})
    assert response.status_code == 302
    with w.context():
        settlement = Settlement.objects.get(month=this_month)
    url = f"/commissions/settlements/{settlement.pk}/"
    assert response["Location"] == url and settlement.status == "calculated"

    # Close before approval: refused with the reason, nothing changes.
    response = finance.post(url + "close/")
    assert response.status_code == 400
    assert zh("Only an approved month can be closed (%(month)s is “%(status)s”).",
              month=this_month.strftime("%Y-%m"), status=zh("Calculated")
              ) in response.content.decode()
    # The wrong roles: 403, nothing changes.
    assert client_for(w.sales).post(url + "submit/").status_code == 403
    assert manager.post(url + "submit/").status_code == 403
    assert manager.post(url + "approve/").status_code == 403
    assert finance.post(url + "approve-team/", {"team": w.team1.pk}).status_code == 403
    with w.context():
        assert Settlement.objects.get(pk=settlement.pk).status == "calculated"

    # Recalculate (with a confirmation page), then submit.
    assert finance.get(url + "recalculate/").status_code == 200
    assert finance.post(url + "recalculate/").status_code == 302
    confirm = finance.get(url + "submit/")
    assert confirm.status_code == 200 and 'method="post"' in confirm.content.decode()
    assert finance.post(url + "submit/").status_code == 302
    # Submitted: no recalculation any more.
    again = finance.post(url + "recalculate/")
    assert again.status_code == 400
    page = manager.get(url)
    teams = [t for t, _a in page.context["teams"]]
    assert teams == [w.team1]
    assert [a.name for a, _u in page.context["actions"]] == ["approve-team"]
    # The month cannot be approved before every team has.
    early = admin.post(url + "approve/")
    assert early.status_code == 400
    with w.context():
        assert Settlement.objects.get(pk=settlement.pk).status == "submitted"
    assert manager.post(url + "approve-team/", {"team": w.team1.pk, "note": "核对无误"}
                        ).status_code == 302
    with w.context():
        assert TeamApproval.objects.get(settlement=settlement).approved_by == w.manager
    assert [a.name for a, _u in admin.get(url).context["actions"]] == ["approve"]
    assert admin.post(url + "approve/").status_code == 302
    # Closing says it is irreversible.
    confirm = finance.get(url + "close/")
    assert zh("Closing is irreversible: the lines of a closed month can never change. Anything "
              "that arrives later becomes an adjustment in the next open month."
              ) in confirm.content.decode()
    assert finance.post(url + "close/").status_code == 302
    assert finance.post(url + "mark-paid/").status_code == 302
    page = finance.get(url)
    assert page.context["settlement"].status == "paid" and page.context["actions"] == []
    steps = {s["status"]: s["by"] for s in page.context["steps"]}
    assert steps == {"calculated": w.finance, "submitted": w.finance, "approved": w.admin,
                     "closed": w.finance, "paid": w.finance}


def test_submit_before_calculating_is_refused(edu, client_for):  # noqa: F811
    w = edu.world
    with w.context():
        settlement = Settlement.objects.create(tenant=w.tenant, month=last_month(edu.today))
    response = client_for(w.finance).post(f"/commissions/settlements/{settlement.pk}/submit/")
    assert response.status_code == 400
    assert zh("Only a calculated month can be submitted (%(month)s is “%(status)s”).",
              month=settlement.month.strftime("%Y-%m"), status=zh("Open")
              ) in response.content.decode()
    with w.context():
        settlement.refresh_from_db()
    assert settlement.status == "open" and settlement.submitted_at is None


def test_lines_list_query_budget(month, client_for):
    m, w = month, month.world
    refs = count(1000)

    def grow(n):
        for _ in range(n):
            i = next(refs)
            m.add(f"r{i}", w.sales, "rate", "10.00", deal=m.deal, ref=f"credit:{i}",
                  adjusts=f"referral:{i}")

    assert_flat(client_for(w.finance), m.url + "commission-lines/", grow, n=10)
    assert_flat(client_for(w.manager), m.url + "commission-lines/", grow, n=10)
    assert_flat(client_for(w.manager), m.url, grow, n=10)
