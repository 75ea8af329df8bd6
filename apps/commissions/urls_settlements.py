"""Routes of the commissions settlements pages; included in apps/commissions/urls.py:
commissions:settlement_list, settlement_detail, settlement_lines, and the steps
settlement_recalculate, _submit, _approve_team, _approve, _close, _mark_paid."""

from django.urls import path

from . import views_settlements as views

urlpatterns: list = [
    path("settlements/", views.SettlementListView.as_view(), name="settlement_list"),
    path("settlements/<int:pk>/", views.SettlementDetailView.as_view(),
         name="settlement_detail"),
    path("settlements/<int:pk>/commission-lines/", views.SettlementLinesView.as_view(),
         name="settlement_lines"),
    *[path(f"settlements/<int:pk>/{name}/", views.SettlementActionView.as_view(action=name),
           name=f"settlement_{name.replace('-', '_')}") for name in views.ACTIONS],
]
