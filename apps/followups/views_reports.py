"""The follow-up report, its export and the managers' team page (thin: apps.followups.reports
computes; the definitions are in its docstring). Administrators, managers (their team) and
customer service; sales and finance 403.

* /followups/reports/?month=YYYY-MM | from=YYYY-MM-DD&to=YYYY-MM-DD, &team= — completion and
  on-time rates, satisfaction and complaints by person and by team, with a totals row
  (default: this month). Invalid filters: 400 with the messages, this month's figures.
* /followups/reports/export.xlsx?… — the follow-up records of the same filters (.xlsx; over
  settings.EXPORT_DIRECT_MAX_ROWS records built by a task with progress: apps.exports).
* /followups/team/?team= — today's and this week's completion per member of the team, and
  the team's overdue follow-ups, oldest first (paginated). A manager sees their own team;
  administrators and customer service pick one.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django import forms
from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views import View

from apps.core.forms import BootstrapFormMixin
from apps.exports.http import export_response
from apps.exports.models import ExportJob
from apps.tenancy.views_base import StaffRequiredMixin

from . import reports

OVERDUE_PAGE_SIZE = 25


class _ReportMixin(StaffRequiredMixin):
    required_roles = reports.REPORT_ROLES

    def filters(self) -> tuple[reports.ReportFilterForm, dict, bool]:
        """(the bound form, the cleaned filters or this month's, valid)."""
        form = reports.ReportFilterForm(self.request.GET, staff=self.staff, tenant=self.tenant)
        if form.is_valid():
            data = form.cleaned_data
            return form, {"start": data["start"], "end": data["end"],
                          "team": data.get("team")}, True
        return form, reports.default_filters(self.tenant), False


def _query(filters: dict) -> str:
    params = {"from": filters["start"].isoformat(),
              "to": (filters["end"] - dt.timedelta(days=1)).isoformat()}
    if filters["team"] is not None:
        params["team"] = filters["team"].pk
    return urlencode(params)


class ReportView(_ReportMixin, View):
    def get(self, request):
        form, filters, valid = self.filters()
        report = reports.followup_report(self.staff, **filters)
        return render(request, "followups/report.html", {
            "form": form, "report": report,
            "export_url": reverse("followups:export") + "?" + _query(filters)},
            status=200 if valid else 400)


class ReportExportView(_ReportMixin, View):
    def get(self, request):
        form, filters, valid = self.filters()
        if not valid:
            report = reports.followup_report(self.staff, **filters)
            return render(request, "followups/report.html", {"form": form, "report": report},
                          status=400)
        return export_response(request, self.staff, ExportJob.Kind.FOLLOWUPS)


class TeamPickForm(BootstrapFormMixin, forms.Form):
    team = forms.ModelChoiceField(label=_("Team"), queryset=None, required=False,
                                  empty_label=None)

    def __init__(self, *args, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = reports.report_teams(staff)


class TeamView(_ReportMixin, View):
    def get(self, request):
        form = TeamPickForm(request.GET, staff=self.staff)
        valid = form.is_valid()
        team = form.cleaned_data.get("team") if valid else None
        overview = reports.team_overview(self.staff, team)
        page = Paginator(overview.overdue, OVERDUE_PAGE_SIZE).get_page(request.GET.get("page"))
        if overview.team is not None and valid:
            form = TeamPickForm(initial={"team": overview.team.pk}, staff=self.staff)
        return render(request, "followups/team.html", {
            "form": form, "overview": overview, "page_obj": page,
            "can_pick": reports.sees_all_teams(self.staff)},
            status=200 if valid else 400)
