"""API of the referral reports; to be included in apps/referrals/api_urls.py (under /api/v1/)."""

from django.urls import path

from . import api_reports

urlpatterns: list = [
    path("referrals/reports/", api_reports.ReferralReportAPIView.as_view(),
         name="api-referrals-reports"),
]
