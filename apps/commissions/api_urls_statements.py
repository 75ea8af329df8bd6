"""API routes of the commissions statements; included in apps/commissions/api_urls.py."""

from django.urls import path

from . import api_statements as api

urlpatterns: list = [
    path("commissions/statement/", api.StatementAPIView.as_view(), name="commissions-statement"),
]
