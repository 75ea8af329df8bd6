"""API of the referral lifecycle; included by apps/referrals/api_urls.py (under /api/v1/).
The detail routes take digits only, so referrals/reward-policies/, redemptions/, points-items/
and referrers/<pk>/points/ (other files) are never taken for a referral."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api_referrals

router = SimpleRouter()
router.register("referrals", api_referrals.ReferralViewSet, basename="referral")

urlpatterns: list = [
    path("referrals/reward-lines/", api_referrals.ReferralRewardLineListAPIView.as_view(),
         name="api-referrals-reward-lines"),
    *router.urls,
]
