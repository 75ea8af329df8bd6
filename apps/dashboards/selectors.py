"""The figures of the three dashboards (issue 9 item 3). Reads only, and nothing computed
here with rules of its own: every figure comes from the selector or report of the page it
links to, so it equals what that page shows the same person.

* **Sales** (`sales_dashboard`): my customers — the customer list filtered to me as owner
  (apps.customers.selectors.customer_list); today's and overdue follow-ups — "My day"
  (apps.followups.myday.my_day); my referrals by status — the status tabs of the referral
  list (apps.referrals.selectors.referral_status_counts); my commission this month — my
  figure so far (apps.commissions.so_far: the engine on the month's facts as they stand, what
  a calculation now would store, cached a few minutes and shown with its time) while the
  month is open or calculated, and the statement of the current month
  (apps.commissions.views_statements.statement_for): the figure of the month's last
  calculation with its time, the final figure once the month is submitted.
* **Manager** (`manager_dashboard`): disputes waiting for me (apps.disputes.selectors.
  waiting_for, the queue's "Waiting for me"); the referral funnel of this month and the
  conversion rate of the last six months (apps.referrals.reports.month_team_figures: the
  referral report's definitions and team attribution) — of the manager's team, or of the
  whole tenant for administrators; the honour board's top ten of this month
  (apps.referrals.board.leaderboard); this month's follow-up completion
  (apps.followups.reports.followup_report, the follow-up report page's default month);
  contracts expiring within the largest lead day (apps.renewals.selectors.contracts_expiring,
  the "Contracts expiring soon" page).
* **Finance** (`finance_dashboard`): the settlements of the last twelve months (status, total,
  lines, people — the columns of the monthly settlements page, Settlement rows whose total is
  the sum of their lines) and their totals by status.

Each builder runs a fixed number of queries whatever the data (tests/dashboards).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from apps.commissions.models import Settlement
from apps.commissions.so_far import SoFar, commission_so_far
from apps.commissions.views_statements import Statement, statement_for
from apps.customers.selectors import customer_list
from apps.disputes.selectors import waiting_for
from apps.followups import reports as followup_reports
from apps.followups.myday import my_day
from apps.ownership.selectors import tenant_today
from apps.referrals import board
from apps.referrals.reports import Figures, add_months, month_start, month_team_figures
from apps.referrals.selectors import referral_status_counts
from apps.renewals.selectors import contracts_expiring, lead_days_for
from apps.tenancy.models import Staff
from apps.tenancy.roles import Role

#: Who opens each dashboard (administrators open all three).
SALES_ROLES = (Role.SALES, Role.ADMIN)
MANAGER_ROLES = (Role.MANAGER, Role.ADMIN)
FINANCE_ROLES = (Role.FINANCE, Role.ADMIN)

TREND_MONTHS = 6
SETTLEMENT_MONTHS = 12
BOARD_TOP = 10
RENEWALS_SHOWN = 5


def dashboards_for(staff: Staff) -> list[str]:
    """The dashboards `staff` may open ("sales", "manager", "finance")."""
    return [name for name, roles in (("sales", SALES_ROLES), ("manager", MANAGER_ROLES),
                                     ("finance", FINANCE_ROLES)) if staff.has_role(*roles)]


# --------------------------------------------------------------------------- sales


@dataclass
class SalesDashboard:
    day: dt.date
    month: dt.date
    customers: int
    followups_today: int
    followups_overdue: int
    followups_done_today: int
    referral_statuses: list[dict]   # the referral list's tabs: [{"status", "label", "count"}]
    referrals_total: int
    statement: Statement
    #: The month so far (None once the month is submitted: the statement is final).
    so_far: SoFar | None

    @property
    def commission_calculated(self) -> bool:
        return self.statement.calculated

    @property
    def commission(self) -> Decimal | None:
        """My total in the month's last calculation (0.00 without a line); None: the month is
        not calculated yet."""
        if not self.statement.calculated:
            return None
        summary = self.statement.summary
        return summary.total if summary is not None else Decimal("0.00")


def sales_dashboard(staff: Staff) -> SalesDashboard:
    tenant = staff.tenant
    day = tenant_today(tenant)
    customers = customer_list(staff, {"owner": str(staff.pk)}).count()
    today = my_day(staff, tenant=tenant)
    tabs = referral_status_counts(staff)
    statement = statement_for(tenant, staff, day)
    return SalesDashboard(
        day=day, month=day.replace(day=1), customers=customers,
        followups_today=today.today_count, followups_overdue=today.overdue_count,
        followups_done_today=today.done_today,
        referral_statuses=[row for row in tabs if row["status"]],
        referrals_total=tabs[0]["count"],
        statement=statement,
        so_far=commission_so_far(tenant, staff, day, settlement=statement.settlement))


def sales_charts(dash: SalesDashboard) -> dict:
    return {"referrals": {
        "type": "bar",
        "labels": [str(row["label"]) for row in dash.referral_statuses],
        "datasets": [{"label": _("Referrals"),
                      "data": [row["count"] for row in dash.referral_statuses]}],
        "legend": False, "integer": True}}


# --------------------------------------------------------------------------- manager


@dataclass
class TrendRow:
    month: dt.date
    figures: Figures


@dataclass
class ManagerDashboard:
    day: dt.date
    month: dt.date
    #: "all" (administrators: the tenant), "team" (a manager's team) or "none" (a manager
    #: without a team: no referral figures).
    scope: str
    disputes_waiting: int
    funnel: Figures
    trend: list[TrendRow]
    leaderboard: list
    followups: followup_reports.FollowUpReport
    renewals_due: int
    renewal_days: int
    renewals_first: list = field(default_factory=list)


def referral_scope(staff: Staff) -> str:
    if staff.is_admin:
        return "all"
    return "team" if staff.team_id is not None else "none"


def manager_dashboard(staff: Staff) -> ManagerDashboard:
    tenant = staff.tenant
    day = tenant_today(tenant)
    month = month_start(day)
    first = add_months(month, 1 - TREND_MONTHS)

    scope = referral_scope(staff)
    months = {m: Figures() for m in (add_months(first, i) for i in range(TREND_MONTHS))}
    if scope != "none":
        for (row_month, team_id), figures in month_team_figures(
                staff, first=first, last=month).items():
            if scope == "all" or team_id == staff.team_id:
                months[row_month].add(vars(figures))

    rows = board.leaderboard(tenant, period=board.MONTH, start=day, limit=BOARD_TOP)
    for row in rows:
        row.shown_name = board.shown_name(row, staff)

    lead = lead_days_for(tenant)[0]
    expiring = contracts_expiring(staff, today=day, within_days=lead)
    first_rows = list(expiring[:RENEWALS_SHOWN])
    due = len(first_rows) if len(first_rows) < RENEWALS_SHOWN else expiring.count()

    filters = followup_reports.default_filters(tenant)
    return ManagerDashboard(
        day=day, month=month, scope=scope,
        disputes_waiting=waiting_for(staff).count(),
        funnel=months[month],
        trend=[TrendRow(m, f) for m, f in months.items()],
        leaderboard=rows,
        followups=followup_reports.followup_report(staff, start=filters["start"],
                                                   end=filters["end"]),
        renewals_due=due, renewal_days=lead, renewals_first=first_rows)


def _rate(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def manager_charts(dash: ManagerDashboard) -> dict:
    funnel = dash.funnel
    people = dash.followups.people
    return {
        "funnel": {
            "type": "bar", "horizontal": True, "legend": False, "integer": True,
            "labels": [_("Logged"), _("Converted"), _("Rewarded")],
            "datasets": [{"label": _("Referrals"),
                          "data": [funnel.created, funnel.converted, funnel.rewarded]}]},
        "trend": {
            "type": "line", "percent": True, "axis": _("Rate (%)"),
            "labels": [row.month.strftime("%Y-%m") for row in dash.trend],
            "datasets": [{"label": _("Conversion rate"),
                          "data": [_rate(row.figures.conversion_rate) for row in dash.trend]}]},
        "board": {
            "type": "bar", "horizontal": True, "legend": False, "integer": True,
            "labels": [row.shown_name for row in dash.leaderboard],
            "datasets": [{"label": _("Successful referrals"),
                          "data": [row.successes for row in dash.leaderboard]}]},
        "followups": {
            "type": "bar", "stacked": True, "integer": True,
            "labels": [person.name for person in people],
            "datasets": [
                {"label": _("Done"), "data": [p.figures.done for p in people]},
                {"label": _("Open"), "data": [p.figures.open for p in people]},
                {"label": _("Cancelled"), "data": [p.figures.cancelled for p in people]}]},
    }


# --------------------------------------------------------------------------- finance


@dataclass
class SettlementMonth:
    month: dt.date
    settlement: Settlement | None   # None: not calculated (no settlement row)


@dataclass
class StatusTotal:
    status: str
    label: str
    months: int
    total: Decimal


@dataclass
class FinanceDashboard:
    first: dt.date
    last: dt.date
    months: list[SettlementMonth]
    by_status: list[StatusTotal]
    total: Decimal
    not_calculated: int


def finance_dashboard(staff: Staff) -> FinanceDashboard:
    """The settlements of the last SETTLEMENT_MONTHS months (the current one included), oldest
    first: one query."""
    last = month_start(tenant_today(staff.tenant))
    first = add_months(last, 1 - SETTLEMENT_MONTHS)
    found = {s.month: s for s in Settlement.objects.filter(month__gte=first, month__lte=last)}
    months = [SettlementMonth(m, found.get(m))
              for m in (add_months(first, i) for i in range(SETTLEMENT_MONTHS))]
    by_status = []
    for status, label in Settlement.Status.choices:
        rows = [m.settlement for m in months
                if m.settlement is not None and m.settlement.status == status]
        by_status.append(StatusTotal(status, label, len(rows),
                                     sum((s.total for s in rows), Decimal("0.00"))))
    return FinanceDashboard(
        first=first, last=last, months=months, by_status=by_status,
        total=sum((row.total for row in by_status), Decimal("0.00")),
        not_calculated=sum(1 for m in months if m.settlement is None))


def finance_charts(dash: FinanceDashboard) -> dict:
    """The month totals, one dataset per status (a month's bar has its status's colour)."""
    labels = [m.month.strftime("%Y-%m") for m in dash.months]
    datasets = []
    for status, label in Settlement.Status.choices:
        data = [float(m.settlement.total) if m.settlement and m.settlement.status == status
                else None for m in dash.months]
        if any(value is not None for value in data):
            datasets.append({"label": str(label), "data": data})
    return {"settlements": {"type": "bar", "stacked": True, "labels": labels,
                            "datasets": datasets, "axis": _("Total (CNY)")}}
