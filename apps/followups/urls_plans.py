"""Routes of the follow-up plan pages; included in apps/followups/urls.py (namespace
"followups"): plan_list, plan_create, plan_detail."""

from django.urls import path

from . import views_plans

urlpatterns: list = [
    path("plans/", views_plans.PlanListView.as_view(), name="plan_list"),
    path("plans/new/", views_plans.PlanCreateView.as_view(), name="plan_create"),
    path("plans/<int:pk>/", views_plans.PlanDetailView.as_view(), name="plan_detail"),
]
