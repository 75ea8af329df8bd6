"""Referral reports (转介绍报表, issue 5 item 8): per month and per team, with the definitions
every figure follows (the dashboards of issue 9 must give the same numbers).

Months are the tenant's local calendar months (`Tenant.time_zone`, Asia/Shanghai by default): a
referral logged at 23:30 on 31 January Shanghai time counts in January although it is
15:30 UTC. A report covers a range of whole months (`from`–`to`, default the last 12 months
including the current one, at most `MAX_MONTHS`).

**Referral figures** (by the month the referral was created, `Referral.created_at`; each
referral counted once, by its status now):

* `created` — referrals created in the month; split by channel (`via_staff`: logged by staff,
  `via_link`: the public link). The referral list filtered with `date_from`/`date_to` =
  the month's first and last day shows exactly these.
* `converted` — of those, the ones that converted: status in `Referral.SUCCESS_STATUSES`
  (converted, reward pending, approved, paid — `success`) or `reversed` (they did convert; the
  deal was refunded later — `reversed`). A referral rejected after its conversion counts as
  rejected, not converted: created = converted + rejected + open.
* `rejected` — status rejected, also split by reason (`rejected_by_reason`).
* `rewarded` — of the converted ones, those whose reward was approved or paid (status
  approved or paid; the dashboards' referral funnel registered → converted → rewarded).
* `open` — still registered or verified. Recent months are still maturing: their open
  referrals may yet convert (or expire after the tenant's `conversion_days`), so their
  conversion rate rises over time; the pages show the open count next to the rate.
* `conversion_rate` = converted / created, in % with one decimal (None when nothing was
  created).

**Deal figures** (by the month the deal was signed, `Deal.signed_on`, a calendar date):

* `deals` — deals signed in the month (the deals list filtered by signing dates).
* `referred_deals` — of those, the deals that converted a referral (`Referral.deal`, its
  referral now in the success statuses or reversed; one deal converts at most one referral).
* `referral_rate` (转介绍率) = referred_deals / deals, in % (None without deals).
* `average_days` / `median_days` — time from referral to deal: for the referred deals of the
  month, the days from the referral's creation (local date) to the deal's signing date; the
  average and the median (PostgreSQL `percentile_cont(0.5)`), one decimal. A deal entered with
  a signing date before the referral was logged gives a negative number of days; it is kept
  as it is (it shows a referral logged after the fact).

**Teams.** A referral belongs to the team of the staff member who logged it
(`created_by.team`, their team now; a logger without a team: unassigned); a public-link
referral (no logger) to the team of the referred customer's owner when there is a customer,
else unassigned. A deal belongs to its own team (`Deal.team`, the customer's team at signing),
and so do its referral rate and days. Unassigned referrals and deals without a team share the
row `team_id=None`.

**Who sees what.** Administrators, managers and finance: the whole tenant (a manager's own team
is highlighted in the team table); a salesperson: their own figures — the referrals they see in
the referral list (`lifecycle.visible_referrals`: logged by them, of customers they own, of
referrers they see) and the deals they see in the deals list (`deals.selectors.visible_deals`),
no team table; customer service: PermissionDenied (403).

Cost: five aggregate queries whatever the number of referrals and deals (referrals grouped by
month and team; deals grouped by month and team; the median per month, per team and overall);
the home panel, which shows no median, two.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import PermissionDenied
from django.db.models import (
    Aggregate,
    Case,
    CharField,
    Count,
    DateField,
    F,
    FloatField,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    When,
)
from django.db.models.functions import TruncDate, TruncMonth
from django.utils.translation import gettext as _

from apps.deals.models import Deal
from apps.deals.selectors import visible_deals
from apps.ownership.selectors import local_midnight, tenant_today
from apps.renewals.selectors import percent
from apps.tenancy.models import Staff, Tenant
from apps.tenancy.roles import Role

from .lifecycle import visible_referrals
from .models import Referral

#: Who sees the reports (customer service does not: rewards and deals are money matters).
REPORT_ROLES = (Role.ADMIN, Role.MANAGER, Role.FINANCE, Role.SALES)
#: Who sees the whole tenant's figures (the others: their own).
TENANT_ROLES = (Role.ADMIN, Role.MANAGER, Role.FINANCE)
#: Who gets the charts on the home page.
PANEL_ROLES = (Role.ADMIN, Role.MANAGER)
DEFAULT_MONTHS = 12
PANEL_MONTHS = 6
MAX_MONTHS = 36

#: A referral "converted" (and its deal is "referred") in these statuses.
CONVERTED_STATUSES = (*Referral.SUCCESS_STATUSES, Referral.Status.REVERSED)
#: A converted referral is "rewarded" in these statuses.
REWARDED_STATUSES = (Referral.Status.APPROVED, Referral.Status.PAID)
TENTH = Decimal("0.1")


class Median(Aggregate):
    """PostgreSQL's continuous median of a number (None over no row)."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


# --------------------------------------------------------------------------- months

def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, n: int) -> dt.date:
    """The first day of the month `n` months after (or before) `month`'s."""
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def month_end(month: dt.date) -> dt.date:
    return add_months(month, 1) - dt.timedelta(days=1)


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """The first days of every month from `first`'s to `last`'s, both included."""
    months, month = [], month_start(first)
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    return months


def default_range(tenant: Tenant, months: int = DEFAULT_MONTHS) -> tuple[dt.date, dt.date]:
    """The last `months` months up to and including the tenant's current month."""
    current = month_start(tenant_today(tenant))
    return add_months(current, 1 - months), current


# --------------------------------------------------------------------------- figures

@dataclass
class Figures:
    """The figures of a month, a team or the whole range (see the module docstring)."""

    created: int = 0
    via_staff: int = 0
    via_link: int = 0
    success: int = 0
    reversed: int = 0
    rejected: int = 0
    rewarded: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    open: int = 0
    deals: int = 0
    referred_deals: int = 0
    days_total: int = 0
    median_days: Decimal | None = None

    @property
    def converted(self) -> int:
        return self.success + self.reversed

    @property
    def conversion_rate(self) -> Decimal | None:
        return percent(self.converted, self.created)

    @property
    def referral_rate(self) -> Decimal | None:
        return percent(self.referred_deals, self.deals)

    @property
    def average_days(self) -> Decimal | None:
        if not self.referred_deals:
            return None
        return (Decimal(self.days_total) / self.referred_deals).quantize(TENTH, ROUND_HALF_UP)

    def add(self, row: dict) -> None:
        """Add one grouped row of the referral or the deal query."""
        for name in ("created", "via_staff", "via_link", "success", "reversed", "rejected",
                     "open", "deals", "referred_deals", "rewarded"):
            setattr(self, name, getattr(self, name) + (row.get(name) or 0))
        self.days_total += row.get("days_total") or 0
        for reason in Referral.Rejection.values:
            count = row.get(f"rejected_{reason}") or 0
            if count:
                self.rejected_by_reason[reason] = self.rejected_by_reason.get(reason, 0) + count


@dataclass
class MonthRow:
    month: dt.date  # the first day
    figures: Figures

    @property
    def last_day(self) -> dt.date:
        return month_end(self.month)


@dataclass
class TeamRow:
    team_id: int | None  # None: unassigned referrals and deals without a team
    team_name: str
    figures: Figures


@dataclass
class ReferralReport:
    first: dt.date  # the first day of the first month
    last: dt.date   # the first day of the last month
    scope: str      # "tenant" or "own"
    months: list[MonthRow]
    teams: list[TeamRow]  # empty for the "own" scope
    total: Figures
    highlight_team_id: int | None = None


# --------------------------------------------------------------------------- the report

def report_scope(staff: Staff) -> str:
    """"tenant" (administrators, managers, finance) or "own" (sales); else PermissionDenied."""
    if staff.has_role(*TENANT_ROLES):
        return "tenant"
    if staff.has_role(Role.SALES):
        return "own"
    raise PermissionDenied(_("Only managers, administrators, finance and sales see referral "
                             "reports."))


def _days(tz: zoneinfo.ZoneInfo) -> Func:
    """A deal's signing date minus its referral's creation date (local), in days."""
    return Func(F("signed_on"), TruncDate("referral__created_at", tzinfo=tz),
                template="(%(expressions)s)", arg_joiner=" - ", output_field=IntegerField())


def _referral_rows(referrals: QuerySet, tz: zoneinfo.ZoneInfo) -> Iterable[dict]:
    statuses = {
        "success": Q(status__in=Referral.SUCCESS_STATUSES),
        "reversed": Q(status=Referral.Status.REVERSED),
        "rejected": Q(status=Referral.Status.REJECTED),
        "open": Q(status__in=Referral.OPEN_STATUSES),
        "rewarded": Q(status__in=REWARDED_STATUSES),
        "via_staff": Q(channel=Referral.Channel.STAFF),
        "via_link": Q(channel=Referral.Channel.LINK),
        **{f"rejected_{reason}": Q(status=Referral.Status.REJECTED, rejection_reason=reason)
           for reason in Referral.Rejection.values},
    }
    return (referrals
            .annotate(month=TruncMonth("created_at", tzinfo=tz, output_field=DateField()),
                      team_key=Case(When(created_by__isnull=False, then=F("created_by__team_id")),
                                    default=F("customer__owner__team_id"),
                                    output_field=IntegerField()),
                      team_name=Case(When(created_by__isnull=False,
                                          then=F("created_by__team__name")),
                                     default=F("customer__owner__team__name"),
                                     output_field=CharField()))
            .values("month", "team_key", "team_name")
            .annotate(created=Count("pk"),
                      **{name: Count("pk", filter=q) for name, q in statuses.items()})
            .order_by())


def referral_report(staff: Staff, *, first: dt.date | None = None,
                    last: dt.date | None = None, medians: bool = True) -> ReferralReport:
    """The report of the months from `first`'s to `last`'s (default: the last 12 months) as
    `staff` may see it. Every month of the range has a row (zeros included); teams are ordered
    by name, the unassigned row last. Five queries (four for sales); without `medians` (the
    home panel) two, and every `median_days` is None."""
    scope = report_scope(staff)
    tenant = staff.tenant
    if first is None or last is None:
        first, last = default_range(tenant)
    first, last = month_start(first), month_start(last)
    tz = zoneinfo.ZoneInfo(tenant.time_zone)
    referrals = Referral.objects.filter(created_at__gte=local_midnight(tenant, first),
                                        created_at__lt=local_midnight(tenant, add_months(last, 1)))
    deals = Deal.objects.filter(signed_on__gte=first, signed_on__lte=month_end(last))
    if scope == "own":
        referrals = visible_referrals(staff, referrals)
        deals = visible_deals(staff, deals)
    referred = Q(referral__status__in=CONVERTED_STATUSES)

    months = {m: Figures() for m in months_between(first, last)}
    teams: dict[int | None, TeamRow] = {}
    total = Figures()

    def team_row(team_id: int | None, name: str | None) -> TeamRow:
        if team_id not in teams:
            teams[team_id] = TeamRow(team_id, name or "", Figures())
        return teams[team_id]

    for row in _referral_rows(referrals, tz):
        months[row["month"]].add(row)
        team_row(row["team_key"], row["team_name"]).figures.add(row)
        total.add(row)

    deal_rows = (deals.annotate(month=TruncMonth("signed_on", output_field=DateField()))
                 .values("month", "team_id", "team__name")
                 .annotate(deals=Count("pk"), referred_deals=Count("pk", filter=referred),
                           days_total=Sum(_days(tz), filter=referred))
                 .order_by())
    for row in deal_rows:
        months[row["month"]].add(row)
        team_row(row["team_id"], row["team__name"]).figures.add(row)
        total.add(row)

    if medians:
        _add_medians(deals.filter(referred).annotate(days=_days(tz)), scope, months, teams, total)

    team_rows = sorted(teams.values(), key=lambda r: (r.team_id is None, r.team_name,
                                                      r.team_id or 0))
    return ReferralReport(
        first=first, last=last, scope=scope,
        months=[MonthRow(m, f) for m, f in months.items()],
        teams=team_rows if scope == "tenant" else [], total=total,
        highlight_team_id=staff.team_id if staff.is_manager else None)


def month_team_figures(staff: Staff, *, first: dt.date,
                       last: dt.date) -> dict[tuple[dt.date, int | None], Figures]:
    """The referral figures (not the deal ones) of each (month, team id) pair of the months
    from `first`'s to `last`'s, with the report's definitions, team attribution and scope
    (pairs without a referral are left out): one query. The report's month rows are their
    sums over the teams, its team rows their sums over the months (the dashboards' referral
    funnel and conversion rate of one team use it)."""
    scope = report_scope(staff)
    tenant = staff.tenant
    first, last = month_start(first), month_start(last)
    referrals = Referral.objects.filter(created_at__gte=local_midnight(tenant, first),
                                        created_at__lt=local_midnight(tenant, add_months(last, 1)))
    if scope == "own":
        referrals = visible_referrals(staff, referrals)
    figures: dict[tuple[dt.date, int | None], Figures] = {}
    for row in _referral_rows(referrals, zoneinfo.ZoneInfo(tenant.time_zone)):
        figures.setdefault((row["month"], row["team_key"]), Figures()).add(row)
    return figures


def _add_medians(referred_deals: QuerySet, scope: str, months: dict, teams: dict,
                 total: Figures) -> None:
    """The median days per month, per team (tenant scope) and overall: three queries."""
    for row in (referred_deals.annotate(month=TruncMonth("signed_on", output_field=DateField()))
                .values("month").annotate(median=Median("days")).order_by()):
        months[row["month"]].median_days = _tenth(row["median"])
    if scope == "tenant":
        for row in referred_deals.values("team_id").annotate(median=Median("days")).order_by():
            if row["team_id"] in teams:  # (a deal signed between the two queries: no row yet)
                teams[row["team_id"]].figures.median_days = _tenth(row["median"])
    total.median_days = _tenth(referred_deals.aggregate(median=Median("days"))["median"])


def _tenth(value: float | None) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(TENTH, ROUND_HALF_UP)


# --------------------------------------------------------------------------- charts

def chart_data(report: ReferralReport) -> dict:
    """What static/js/referral_charts.js draws: the referrals per month (created and
    converted, bars) and the conversion and referral rates (lines, %); the same numbers are in
    the tables next to the charts."""
    labels = [row.month.strftime("%Y-%m") for row in report.months]

    def rate(value: Decimal | None) -> float | None:
        return float(value) if value is not None else None

    return {
        "labels": labels,
        "counts": [
            {"label": _("Referrals created"), "data": [r.figures.created for r in report.months]},
            {"label": _("Converted"), "data": [r.figures.converted for r in report.months]},
        ],
        "rates": [
            {"label": _("Conversion rate"),
             "data": [rate(r.figures.conversion_rate) for r in report.months]},
            {"label": _("Referral rate"),
             "data": [rate(r.figures.referral_rate) for r in report.months]},
        ],
        "axis": _("Rate (%)"),
    }
