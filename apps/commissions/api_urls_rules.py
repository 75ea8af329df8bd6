"""API routes of the commissions rules; included in apps/commissions/api_urls.py (under
/api/v1/)."""

from django.urls import path

from . import api_rules

urlpatterns: list = [
    path("commissions/rules/", api_rules.CommissionRuleSetListAPIView.as_view(),
         name="api-commissions-rules"),
    path("commissions/rules/preview/", api_rules.CommissionRulesPreviewAPIView.as_view(),
         name="api-commissions-rules-preview"),
    path("commissions/rule-versions/<int:pk>/",
         api_rules.CommissionRuleSetDetailAPIView.as_view(),
         name="api-commissions-rule-version"),
    path("commissions/settings/", api_rules.CommissionSettingsAPIView.as_view(),
         name="api-commissions-settings"),
]
