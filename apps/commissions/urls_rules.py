"""Routes of the commissions rules pages; included in apps/commissions/urls.py (namespace
"commissions"): rule_set_list, rule_set_create, rule_set_detail, settings."""

from django.urls import path

from . import views_rules

urlpatterns: list = [
    path("rules/", views_rules.CommissionRuleSetListView.as_view(), name="rule_set_list"),
    path("rules/new/", views_rules.CommissionRuleSetCreateView.as_view(),
         name="rule_set_create"),
    path("rule-versions/<int:pk>/", views_rules.CommissionRuleSetDetailView.as_view(),
         name="rule_set_detail"),
    path("settings/", views_rules.CommissionSettingsView.as_view(), name="settings"),
]
