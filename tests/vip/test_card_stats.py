"""Monthly card statistics: per team (the team at issue, a "no team" row) the first cards,
upgrade cards and reissues of the month and the month's tier upgrades equal the rows behind
them; a card of another month is not counted; the page, the .xlsx (read back with openpyxl)
and the API agree; who may read them (managers: their team)."""

# ruff: noqa: F811 - the imported `edu` fixture is an argument of the tests
from __future__ import annotations

import datetime as dt
import io
from html.parser import HTMLParser

import pytest
from django.db.models import Count
from openpyxl import load_workbook

from apps.tenancy.models import Team
from apps.vip import cards as svc
from apps.vip.models import TierChange, VipCard
from tests.customers.factories import CustomerFactory
from tests.deals.conftest import edu, make_deal  # noqa: F401 - the edu fixture
from tests.referrals.lifecycle_helpers import zh
from tests.vip.test_cards import buyer, issue

pytestmark = pytest.mark.django_db


def previous_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


@pytest.fixture
def month_of_cards(edu):
    """This month: team1 three first cards, an upgrade card (after a tier upgrade) and a
    reissue; team2 one first card; a customer without a team one first card. Last month: one
    first card of team1 (issued on its first day)."""
    e, w = edu, edu.world
    a, b, c = buyer(e), buyer(e), buyer(e)
    issue(w, a, "VIP000001")
    issue(w, b, "VIP000002")
    card_c = issue(w, c, "VIP000003")
    make_deal(e, customer=b, amount="45000.00")                          # b: silver → gold
    issue(w, b, "VIP000004")
    svc.card_reissue(tenant=w.tenant, actor=w.cs, card=card_c, number="VIP000005")
    issue(w, buyer(e, owner=w.sales_other_team), "VIP000006")
    no_team = CustomerFactory(tenant=w.tenant, actor=w.cs, name="散客")
    assert no_team.team_id is None
    issue(w, buyer(e, customer=no_team, amount="60000.00"), "VIP000007")  # gold at once
    issue(w, buyer(e), "VIP000008", issued_on=previous_month(e.today))
    return e


def recount(world, month: dt.date) -> dict:
    """(team id, kind) → cards, counted from the rows themselves."""
    start, end = svc.month_bounds(month)
    with world.context():
        rows = (VipCard.objects.filter(issued_on__gte=start, issued_on__lt=end)
                .values_list("team_id", "kind").annotate(n=Count("id")))
        return {(team, kind): n for team, kind, n in rows}


def test_the_month_per_team_equals_the_rows(month_of_cards):
    e, w = month_of_cards, month_of_cards.world
    stats = svc.card_stats(w.tenant, e.today)
    got = {row.team_id: (row.issued, row.upgraded, row.reissued, row.cards, row.tier_upgrades)
           for row in stats.rows}
    assert got == {w.team1.pk: (3, 1, 1, 5, 1), w.team2.pk: (1, 0, 0, 1, 0),
                   None: (1, 0, 0, 1, 0)}
    assert [row.team_name for row in stats.rows] == ["一组", "二组", zh("No team")]
    t = stats.totals
    assert (t.issued, t.upgraded, t.reissued, t.cards, t.tier_upgrades) == (5, 1, 1, 7, 1)
    rows = recount(w, e.today)
    for row in stats.rows:
        assert row.issued == rows.get((row.team_id, "first"), 0)
        assert row.upgraded == rows.get((row.team_id, "upgrade"), 0)
        assert row.reissued == rows.get((row.team_id, "reissue"), 0)
    with w.context():
        assert TierChange.objects.filter(kind="upgrade").count() == t.tier_upgrades
    # Last month holds only the backdated card (and no tier upgrade).
    last = svc.card_stats(w.tenant, previous_month(e.today))
    assert [(r.team_id, r.issued, r.cards) for r in last.rows] == [(w.team1.pk, 1, 1),
                                                                   (w.team2.pk, 0, 0)]
    assert last.totals.cards == 1 and last.totals.tier_upgrades == 0
    # A manager's view: their team only.
    mine = svc.card_stats(w.tenant, e.today, team=w.team1)
    assert [(r.team_id, r.cards) for r in mine.rows] == [(w.team1.pk, 5)]
    assert mine.totals.cards == 5
    assert svc.card_stats(w.tenant, e.today, team=0).rows == []


class _Table(HTMLParser):
    """The rows of #stats-table: [[cell text, …], …] (header, rows, totals)."""

    def __init__(self):
        super().__init__()
        self.rows, self._in, self._cell = [], False, None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and ("id", "stats-table") in attrs:
            self._in = True
        elif self._in and tag == "tr":
            self.rows.append([])
        elif self._in and tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self._in = False
        elif self._in and tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(self._cell.strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def page_table(response) -> list[list[str]]:
    parser = _Table()
    parser.feed(response.content.decode())
    return parser.rows


def xlsx_rows(response) -> tuple[list[list], object]:
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = book.worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)], sheet


def test_the_page_and_the_workbook_agree(month_of_cards, client_for):
    e, w = month_of_cards, month_of_cards.world
    with w.context():  # a team name a spreadsheet would read as a formula
        Team.objects.filter(pk=w.team2.pk).update(name="=SUM(1,2)")
    client = client_for(w.cs)
    month = f"{e.today:%Y-%m}"
    response = client.get("/vip/cards/stats/", {"month": month})
    assert response.status_code == 200
    table = page_table(response)
    assert table[0] == [zh("Team"), zh("First cards issued"), zh("Upgrade cards"),
                        zh("Reissued (lost)"), zh("Cards in all"), zh("Tier upgrades")]
    assert table[1:] == [["=SUM(1,2)", "1", "0", "0", "1", "0"], ["一组", "3", "1", "1", "5", "1"],
                         [zh("No team"), "1", "0", "0", "1", "0"],
                         [zh("Total"), "5", "1", "1", "7", "1"]]
    assert f'href="/vip/cards/stats/export/?month={month}"' in response.content.decode()

    response = client.get("/vip/cards/stats/export/", {"month": month})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    rows, sheet = xlsx_rows(response)
    assert rows[0] == table[0]
    expected = [[name, *map(int, numbers)] for name, *numbers in table[1:]]
    expected[0][0] = "'=SUM(1,2)"    # escaped: shown as text, never evaluated
    assert rows[1:] == expected
    assert all(isinstance(v, int) for row in rows[1:] for v in row[1:])
    assert sheet.freeze_panes == "A2"


def test_a_month_without_cards_and_bad_months(edu, client_for):
    w = edu.world
    client = client_for(w.finance)
    response = client.get("/vip/cards/stats/", {"month": "2020-01"})
    assert page_table(response)[1:] == [["一组", "0", "0", "0", "0", "0"],
                                        ["二组", "0", "0", "0", "0", "0"],
                                        [zh("Total"), "0", "0", "0", "0", "0"]]
    for bad in ("2026-13", "last month", "2026"):
        assert client.get("/vip/cards/stats/", {"month": bad}).status_code == 400
        assert client.get("/vip/cards/stats/export/", {"month": bad}).status_code == 400
    # Without a month: this month.
    response = client.get("/vip/cards/stats/")
    assert response.status_code == 200 and f"{edu.today:%Y-%m}" in response.content.decode()


def test_who_reads_the_statistics(month_of_cards, client_for):
    w = month_of_cards.world
    for who in (w.admin, w.cs, w.finance, w.manager):
        for url in ("/vip/cards/stats/", "/vip/cards/stats/export/"):
            assert client_for(who).get(url).status_code == 200, (who, url)
    for who in (w.sales, w.sales_other_team):
        for url in ("/vip/cards/stats/", "/vip/cards/stats/export/"):
            assert client_for(who).get(url).status_code == 403, (who, url)
    # The manager of team1 sees their team's row only, in the page and the file.
    table = page_table(client_for(w.manager).get("/vip/cards/stats/"))
    assert table[1:] == [["一组", "3", "1", "1", "5", "1"], [zh("Total"), "3", "1", "1", "5", "1"]]
    rows, _sheet = xlsx_rows(client_for(w.manager).get("/vip/cards/stats/export/"))
    assert [r[0] for r in rows[1:]] == ["一组", zh("Total")]
