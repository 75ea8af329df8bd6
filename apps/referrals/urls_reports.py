"""The referral report page; included in apps/referrals/urls.py (namespace "referrals"):
referrals:reports at /referrals/reports/."""

from django.urls import path

from . import views_reports

urlpatterns: list = [
    path("reports/", views_reports.ReferralReportView.as_view(), name="reports"),
]
