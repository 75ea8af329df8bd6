"""Routes of the follow-up report, its export and the team page; included in
apps/followups/urls.py (namespace "followups"): report, export, team."""

from django.urls import path

from . import views_reports

urlpatterns: list = [
    path("reports/", views_reports.ReportView.as_view(), name="report"),
    path("reports/export.xlsx", views_reports.ReportExportView.as_view(), name="export"),
    path("team/", views_reports.TeamView.as_view(), name="team"),
]
