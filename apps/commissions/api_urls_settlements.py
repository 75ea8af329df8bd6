"""API routes of the commissions settlements; included in apps/commissions/api_urls.py."""

from django.urls import path

from . import api_settlements as api

urlpatterns: list = [
    path("commissions/settlements/", api.SettlementListAPIView.as_view(),
         name="commissions-settlements"),
    path("commissions/settlements/calculate/", api.SettlementCalculateAPIView.as_view(),
         name="commissions-settlements-calculate"),
    path("commissions/settlements/<int:pk>/", api.SettlementDetailAPIView.as_view(),
         name="commissions-settlement"),
    path("commissions/settlements/<int:pk>/commission-lines/",
         api.SettlementLinesAPIView.as_view(), name="commissions-settlement-lines"),
    *[path(f"commissions/settlements/<int:pk>/{name}/", api.action_api_view(name),
           name=f"commissions-settlement-{name}")
      for name in ("submit", "approve-team", "approve", "close", "mark-paid")],
]
