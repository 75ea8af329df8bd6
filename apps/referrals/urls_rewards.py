"""Pages of the reward policies; to include in apps/referrals/urls.py (namespace "referrals"):
referrals:reward_policy_list, reward_policy_create, reward_policy_detail."""

from django.urls import path

from . import views_rewards

urlpatterns: list = [
    path("reward-policies/", views_rewards.RewardPolicyListView.as_view(),
         name="reward_policy_list"),
    path("reward-policies/new/", views_rewards.RewardPolicyCreateView.as_view(),
         name="reward_policy_create"),
    path("reward-policies/<int:pk>/", views_rewards.RewardPolicyDetailView.as_view(),
         name="reward_policy_detail"),
]
