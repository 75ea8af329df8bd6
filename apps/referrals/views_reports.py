"""The referral report page /referrals/reports/ (thin: apps.referrals.reports computes).

Administrators, managers and finance see the tenant (a manager's team highlighted); a
salesperson their own figures; customer service 403. `?from=YYYY-MM&to=YYYY-MM` (default: the
last 12 months). Counts link to the lists that show the same rows: the referral list filtered
by creation days (and status or channel; the list's status tabs split the month's referrals by
status), the deals list filtered by signing dates (and team) where the
viewer's deals list holds exactly the deals counted."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views import View

from apps.tenancy.roles import Role
from apps.tenancy.views_base import StaffRequiredMixin

from . import reports
from .forms_reports import ReportRangeForm
from .models import Referral

#: The referral list (apps.referrals.selectors.ReferralFilterForm): `/referrals/` with the
#: creation days (tenant-local, both included) and one status or channel.
REFERRAL_LIST_NAMES = ("referrals:referral_list",)
CREATED_FROM, CREATED_TO = "date_from", "date_to"


def _url(names: tuple[str, ...], fallback: str = "") -> str:
    for name in names:
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return fallback


def _query(url: str, **params) -> str:
    if not url:
        return ""
    return f"{url}?{urlencode({k: v for k, v in params.items() if v not in (None, '')})}"


def report_links(report: reports.ReferralReport, staff) -> dict:
    """The page's rows with the links of their counts (see the module docstring)."""
    referral_list = _url(REFERRAL_LIST_NAMES, "/referrals/")
    deal_list = _url(("deals:list",))
    # The deals list of administrators and finance holds every deal, a salesperson's the deals
    # this report counts for them; a manager's only their team's (and their own).
    all_deals = staff.has_role(Role.ADMIN, Role.FINANCE) or report.scope == "own"

    def referral_links(first: dt.date, last: dt.date) -> dict:
        span = {CREATED_FROM: first.isoformat(), CREATED_TO: last.isoformat()}
        return {"created": _query(referral_list, **span),
                "rejected": _query(referral_list, status=Referral.Status.REJECTED, **span),
                "via_staff": _query(referral_list, channel=Referral.Channel.STAFF, **span),
                "via_link": _query(referral_list, channel=Referral.Channel.LINK, **span)}

    def deal_link(first: dt.date, last: dt.date, team=None) -> str:
        return _query(deal_list, team=team, date_from=first.isoformat(),
                      date_to=last.isoformat())

    last_day = reports.month_end(report.last)
    months = [{"row": row, "label": row.month.strftime("%Y-%m"),
               "links": referral_links(row.month, row.last_day),
               "deals_link": deal_link(row.month, row.last_day) if all_deals else ""}
              for row in report.months]
    teams = []
    for row in report.teams:
        own_team = row.team_id is not None and row.team_id == report.highlight_team_id
        teams.append({"row": row, "highlight": own_team,
                      "deals_link": deal_link(report.first, last_day, row.team_id)
                      if row.team_id is not None and (all_deals or own_team) else ""})
    return {"month_rows": months, "team_rows": teams,
            "total_links": referral_links(report.first, last_day),
            "total_deals_link": deal_link(report.first, last_day) if all_deals else ""}


class ReferralReportView(StaffRequiredMixin, View):
    required_roles = reports.REPORT_ROLES

    def get(self, request):
        form = ReportRangeForm(request.GET, tenant=self.tenant)
        status = 200
        if form.is_valid():
            first, last = form.cleaned_data["from"], form.cleaned_data["to"]
        else:
            status = 400
            first, last = reports.default_range(self.tenant)
        report = reports.referral_report(self.staff, first=first, last=last)
        return render(request, "referrals/report.html", {
            "form": form, "report": report, "chart": reports.chart_data(report),
            "reasons": [(value, label, report.total.rejected_by_reason[value])
                        for value, label in Referral.Rejection.choices
                        if value in report.total.rejected_by_reason],
            **report_links(report, self.staff)},
            status=status)
