"""API routes of the follow-up report; included in apps/followups/api_urls.py (under
/api/v1/)."""

from django.urls import path

from . import api_reports

urlpatterns: list = [
    path("followups/reports/", api_reports.FollowUpReportAPIView.as_view(),
         name="api-followups-reports"),
]
