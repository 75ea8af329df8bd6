"""Routes of the commissions workbook pages; included in apps/commissions/urls.py."""

from django.urls import path

from . import views_workbook

urlpatterns: list = [
    path("settlements/<int:pk>/workbook/", views_workbook.WorkbookView.as_view(),
         name="workbook"),
    path("settlements/<int:pk>/workbook/progress/",
         views_workbook.WorkbookProgressView.as_view(), name="workbook_progress"),
]
