"""The referral report's numbers on a small data set worked out by hand (reports_support.Dataset).

January 2026 (created in Shanghai time): r1 paid (23:30 on the 31st), r3 reversed, r4 rejected
(duplicate), r5 rejected (false information), r6 registered, r7 verified, r11 rejected after its
conversion (already a customer) → 7 created (5 by staff, 2 through the link), 2 converted,
3 rejected, 2 open, 28.6 %. Deals signed in January: d3 (r3's, 20 days after it) and d5 → 1 / 2.
February: r2 (00:10 on the 1st) reward pending, r8 converted → 2 / 2 = 100 %. Deals: d1 (r1's,
10 days), d2 (r2's, 20 days), d6, d7, d11 (r11's, rejected: not referred) → 2 / 5, 15 days.
March: no referral; deals d4 (r8's, 50 days) and d8 → 1 / 2.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from apps.referrals import reports
from apps.referrals.reports import referral_report
from tests.referrals.reports_support import Dataset, deal, local

JAN, FEB, MAR = dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)


@pytest.fixture
def data(world_a):
    return Dataset(world_a)


def report_of(world, staff, first=JAN, last=MAR):
    with world.context():
        return referral_report(staff, first=first, last=last)


def figures(report):
    return {row.month: row.figures for row in report.months}


def test_months_in_shanghai_time_with_conversion_and_referral_rates(data):
    report = report_of(data.world, data.world.manager)
    assert [row.month for row in report.months] == [JAN, FEB, MAR]
    jan, feb, mar = (figures(report)[m] for m in (JAN, FEB, MAR))

    assert (jan.created, jan.via_staff, jan.via_link) == (7, 5, 2)
    assert (jan.converted, jan.success, jan.reversed) == (2, 1, 1)
    assert (jan.rejected, jan.open) == (3, 2)
    assert jan.rejected_by_reason == {"duplicate": 1, "false_info": 1, "existing_customer": 1}
    assert jan.conversion_rate == Decimal("28.6")
    assert (jan.referred_deals, jan.deals, jan.referral_rate) == (1, 2, Decimal("50.0"))
    assert (jan.average_days, jan.median_days) == (Decimal("20.0"), Decimal("20.0"))

    assert (feb.created, feb.via_staff, feb.via_link, feb.converted) == (2, 1, 1, 2)
    assert (feb.rejected, feb.open, feb.conversion_rate) == (0, 0, Decimal("100.0"))
    assert (feb.referred_deals, feb.deals, feb.referral_rate) == (2, 5, Decimal("40.0"))
    assert (feb.average_days, feb.median_days) == (Decimal("15.0"), Decimal("15.0"))

    assert (mar.created, mar.conversion_rate) == (0, None)
    assert (mar.referred_deals, mar.deals, mar.referral_rate) == (1, 2, Decimal("50.0"))
    assert (mar.average_days, mar.median_days) == (Decimal("50.0"), Decimal("50.0"))

    total = report.total
    assert (total.created, total.converted, total.rejected, total.open) == (9, 4, 3, 2)
    assert total.conversion_rate == Decimal("44.4")
    assert (total.referred_deals, total.deals, total.referral_rate) == (4, 9, Decimal("44.4"))
    # Days 10, 20, 20, 50: the average is pulled up by the slow one, the median is not.
    assert (total.average_days, total.median_days) == (Decimal("25.0"), Decimal("20.0"))


def test_a_month_range_narrows_and_a_month_without_anything_has_zeros(data):
    w = data.world
    report = report_of(w, w.admin, first=FEB, last=FEB)
    assert [row.month for row in report.months] == [FEB]
    assert (report.total.created, report.total.deals) == (2, 5)
    empty = report_of(w, w.admin, first=dt.date(2025, 6, 1), last=dt.date(2025, 7, 1))
    assert [(r.figures.created, r.figures.deals, r.figures.conversion_rate,
             r.figures.referral_rate, r.figures.median_days) for r in empty.months] == [
        (0, 0, None, None, None), (0, 0, None, None, None)]
    assert empty.teams == []


def test_team_attribution(data):
    w = data.world
    report = report_of(w, w.manager)
    teams = {row.team_id: row for row in report.teams}
    assert [row.team_id for row in report.teams] == [w.team1.pk, w.team2.pk, None]  # 一组, 二组
    one, two, none = teams[w.team1.pk].figures, teams[w.team2.pk].figures, teams[None].figures
    # Logged by the team's salespeople: r1, r2, r5, r7, r11.
    assert (one.created, one.converted, one.rejected, one.open) == (5, 2, 2, 1)
    assert one.conversion_rate == Decimal("40.0")
    # r4 logged by the second team's salesperson; r3 came through the link for a customer of
    # theirs.
    assert (two.created, two.converted, two.rejected, two.open) == (2, 1, 1, 0)
    # Through the link without a customer (r6), or a customer of the admin, who has no team (r8).
    assert (none.created, none.converted, none.open) == (2, 1, 1)
    # Deals by their own team.
    assert (one.referred_deals, one.deals, one.referral_rate) == (2, 6, Decimal("33.3"))
    assert (one.average_days, one.median_days) == (Decimal("15.0"), Decimal("15.0"))
    assert (two.referred_deals, two.deals, two.median_days) == (1, 2, Decimal("20.0"))
    assert (none.referred_deals, none.deals, none.referral_rate) == (1, 1, Decimal("100.0"))
    assert report.highlight_team_id == w.team1.pk
    assert sum(t.figures.created for t in report.teams) == report.total.created
    assert sum(t.figures.deals for t in report.teams) == report.total.deals


def test_the_median_is_not_the_average(data):
    w = data.world
    # r7 (created on 22 January) converts with a deal signed on 12 February: 21 days. February's
    # referred deals are now 10, 20 and 21 days after their referrals.
    with w.context():
        r7 = data.referrals["r7"]
        r7.deal = deal(w, r7.customer, dt.date(2026, 2, 12), w.team1)
        r7.status, r7.converted_at = "converted", local(2026, 2, 12)
        r7.save()
    report = report_of(w, w.manager)
    feb = figures(report)[FEB]
    assert (feb.referred_deals, feb.deals) == (3, 6)
    assert (feb.average_days, feb.median_days) == (Decimal("17.0"), Decimal("20.0"))
    # January's r7 is converted now, whatever the month of its deal.
    assert (figures(report)[JAN].converted, figures(report)[JAN].open) == (3, 1)


def test_a_salesperson_sees_their_own_figures_only(data):
    w = data.world
    report = report_of(w, w.sales)
    assert report.scope == "own"
    assert report.teams == []
    jan, feb, mar = (figures(report)[m] for m in (JAN, FEB, MAR))
    # Referrals logged by them or of customers they own: r1, r7, r11 in January, r2 in February.
    assert (jan.created, jan.converted, jan.rejected, jan.open) == (3, 1, 1, 1)
    assert (feb.created, feb.converted) == (1, 1)
    # Deals of customers they own: d5 in January; d1, d2, d6, d11 in February; d8 in March.
    assert (jan.referred_deals, jan.deals) == (0, 1)
    assert (feb.referred_deals, feb.deals, feb.referral_rate) == (2, 4, Decimal("50.0"))
    assert (mar.referred_deals, mar.deals, mar.referral_rate) == (0, 1, Decimal("0.0"))
    other = report_of(w, w.sales_other_team)
    assert (other.total.created, other.total.converted) == (2, 1)  # r4 (theirs), r3 (their customer)


def test_finance_and_admin_see_the_tenant_customer_service_is_refused(data):
    w = data.world
    assert report_of(w, w.finance).total.created == 9
    assert report_of(w, w.admin).highlight_team_id is None
    with pytest.raises(PermissionDenied):
        report_of(w, w.cs)


def test_another_tenants_referrals_and_deals_never_count(data, world_b):
    w = data.world
    other = Dataset(world_b)
    assert report_of(world_b, world_b.manager).total.created == 9
    report = report_of(w, w.manager)
    assert (report.total.created, report.total.deals, report.total.referred_deals) == (9, 9, 4)
    del other


@pytest.mark.parametrize("who", ["admin", "manager", "finance", "sales", "sales_other_team"])
def test_the_figures_match_the_lists(data, who):
    """The counts equal what the referral list and the deals list show with the same filters
    (the links of the report page)."""
    from apps.deals.selectors import deal_list
    from apps.referrals.selectors import referral_list, referral_status_counts

    w = data.world
    staff = getattr(w, who)
    report = report_of(w, staff)
    with w.context():
        for row in report.months:
            span = {"date_from": row.month.isoformat(), "date_to": row.last_day.isoformat()}
            f = row.figures
            assert referral_list(staff, span).count() == f.created
            assert referral_list(staff, {**span, "status": "rejected"}).count() == f.rejected
            assert referral_list(staff, {**span, "channel": "link"}).count() == f.via_link
            by_status = {r["status"]: r["count"] for r in referral_status_counts(staff, span)}
            assert sum(by_status[s] for s in ("registered", "verified")) == f.open
            assert sum(by_status[s] for s in reports.CONVERTED_STATUSES) == f.converted
            if who != "manager":  # (a manager's deals list: their team's deals only)
                assert deal_list(staff, span).count() == f.deals
