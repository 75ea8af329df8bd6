"""API of the reward policies; to include in apps/referrals/api_urls.py (under /api/v1/)."""

from django.urls import path

from . import api_rewards

urlpatterns: list = [
    path("referrals/reward-policies/", api_rewards.RewardPolicyListAPIView.as_view(),
         name="api-referrals-reward-policies"),
    path("referrals/reward-policies/<int:pk>/", api_rewards.RewardPolicyDetailAPIView.as_view(),
         name="api-referrals-reward-policy"),
]
