"""Routes of the VIP benefits pages; included in apps/vip/urls.py (namespace "vip")."""

from django.urls import path

from . import views_benefits as views

urlpatterns: list = [
    path("customers/<int:pk>/tier/", views.TierSetView.as_view(), name="tier_set"),
    path("customers/<int:pk>/tier/keep/", views.TierKeepView.as_view(), name="tier_keep"),
    path("customers/<int:pk>/tier-history/", views.TierHistoryView.as_view(),
         name="tier_history"),
    path("reviews/", views.ReviewListView.as_view(), name="review_list"),
    path("deals/<int:pk>/voucher/", views.VoucherRedeemView.as_view(), name="voucher_redeem"),
    path("customers/<int:pk>/gifts/new/", views.GiftCreateView.as_view(), name="gift_create"),
]
