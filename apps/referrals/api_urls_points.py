"""API of the referrer points; to be included in apps/referrals/api_urls.py (under /api/v1/)."""

from django.urls import path

from . import api_points

urlpatterns: list = [
    path("referrals/referrers/<int:pk>/points/", api_points.ReferrerLedgerAPIView.as_view(),
         name="api-referrals-referrer-points"),
    path("referrals/redemptions/", api_points.RedemptionListAPIView.as_view(),
         name="api-referrals-redemptions"),
    path("referrals/redemptions/<int:pk>/decide/", api_points.RedemptionDecideAPIView.as_view(),
         name="api-referrals-redemption-decide"),
    path("referrals/points-items/", api_points.PointsItemListAPIView.as_view(),
         name="api-referrals-points-items"),
]
