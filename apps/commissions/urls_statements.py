"""Routes of the commissions statements pages; included in apps/commissions/urls.py:
commissions:statement (my own) and statement_person (another person's)."""

from django.urls import path

from . import views_statements as views

urlpatterns: list = [
    path("statement/", views.StatementView.as_view(), name="statement"),
    path("statement/<int:staff_pk>/", views.StatementView.as_view(), name="statement_person"),
]
