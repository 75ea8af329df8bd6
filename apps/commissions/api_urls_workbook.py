"""API routes of the commissions workbook; included in apps/commissions/api_urls.py."""

from django.urls import path

from . import api_workbook

urlpatterns: list = [
    path("commissions/settlements/<int:pk>/workbook/", api_workbook.WorkbookAPIView.as_view(),
         name="api-commissions-settlement-workbook"),
]
