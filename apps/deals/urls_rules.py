"""Pages of the credit rule sets and deal roles; included in apps/deals/urls.py (namespace
"deals"): deals:rule_set_list, rule_set_create, rule_set_detail, role_list, role_edit."""

from django.urls import path

from . import views_rules

urlpatterns: list = [
    path("rule-sets/", views_rules.RuleSetListView.as_view(), name="rule_set_list"),
    path("rule-sets/new/", views_rules.RuleSetCreateView.as_view(), name="rule_set_create"),
    path("rule-sets/<int:pk>/", views_rules.RuleSetDetailView.as_view(), name="rule_set_detail"),
    path("roles/", views_rules.DealRoleListView.as_view(), name="role_list"),
    path("roles/<int:pk>/edit/", views_rules.DealRoleEditView.as_view(), name="role_edit"),
]
