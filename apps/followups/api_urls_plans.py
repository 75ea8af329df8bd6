"""API routes of the follow-up plan; included in apps/followups/api_urls.py (under /api/v1/)."""

from django.urls import path

from . import api_plans

urlpatterns: list = [
    path("followups/plans/", api_plans.FollowUpPlanListAPIView.as_view(),
         name="api-followups-plans"),
    path("followups/plans/<int:pk>/", api_plans.FollowUpPlanDetailAPIView.as_view(),
         name="api-followups-plan"),
]
