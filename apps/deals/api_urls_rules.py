"""API of the credit rule sets and deal roles; included in apps/deals/api_urls.py (under /api/v1/)."""

from django.urls import path

from . import api_rules

urlpatterns: list = [
    path("deals/rule-sets/", api_rules.RuleSetListAPIView.as_view(), name="api-deals-rule-sets"),
    path("deals/rule-sets/<int:pk>/", api_rules.RuleSetDetailAPIView.as_view(),
         name="api-deals-rule-set"),
    path("deals/roles/", api_rules.DealRoleListAPIView.as_view(), name="api-deals-roles"),
    path("deals/roles/<int:pk>/", api_rules.DealRoleDetailAPIView.as_view(),
         name="api-deals-role"),
]
