"""API routes of the VIP benefits (under /api/v1/); included in apps/vip/api_urls.py."""

from django.urls import path

from . import api_benefits as api

urlpatterns: list = [
    path("vip/customers/<int:pk>/tier/", api.CustomerTierAPIView.as_view(),
         name="vip-customer-tier"),
    path("vip/customers/<int:pk>/tier/keep/", api.CustomerTierKeepAPIView.as_view(),
         name="vip-customer-tier-keep"),
    path("vip/customers/<int:pk>/tier-changes/", api.CustomerTierChangesAPIView.as_view(),
         name="vip-customer-tier-changes"),
    path("vip/reviews/", api.ReviewListAPIView.as_view(), name="vip-reviews"),
    path("vip/vouchers/", api.VoucherListAPIView.as_view(), name="vip-vouchers"),
    path("vip/vouchers/<int:pk>/", api.VoucherDetailAPIView.as_view(), name="vip-voucher"),
    path("vip/gifts/", api.GiftListAPIView.as_view(), name="vip-gifts"),
    path("vip/gifts/<int:pk>/", api.GiftDetailAPIView.as_view(), name="vip-gift"),
    path("vip/care/", api.CareAPIView.as_view(), name="vip-care"),
]
