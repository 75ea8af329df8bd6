"""API routes of the tier schemes; included in apps/vip/api_urls.py (under /api/v1/)."""

from django.urls import path

from . import api_schemes

urlpatterns: list = [
    path("vip/tier-schemes/", api_schemes.TierSchemeListAPIView.as_view(),
         name="api-vip-tier-schemes"),
    path("vip/tier-schemes/recompute/", api_schemes.TierRecomputeAPIView.as_view(),
         name="api-vip-tier-schemes-recompute"),
    path("vip/tier-schemes/<int:pk>/", api_schemes.TierSchemeDetailAPIView.as_view(),
         name="api-vip-tier-scheme"),
]
