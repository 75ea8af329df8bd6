"""Pages of the referrals themselves (log, list, detail, decisions, reward lines); included in
apps/referrals/urls.py (namespace "referrals"): referral_list, referral_log, referrer_search,
referral_detail, referral_verify, referral_reject, referral_approve, referral_pay,
reward_lines, export (the list as .xlsx)."""

from django.urls import path

from . import views_export
from . import views_referrals as views

urlpatterns: list = [
    path("", views.ReferralListView.as_view(), name="referral_list"),
    path("export.xlsx", views_export.ReferralExportView.as_view(), name="export"),
    path("log/", views.ReferralLogView.as_view(), name="referral_log"),
    path("referrer-search/", views.ReferrerSearchView.as_view(), name="referrer_search"),
    path("reward-lines/", views.RewardLineListView.as_view(), name="reward_lines"),
    path("<int:pk>/", views.ReferralDetailView.as_view(), name="referral_detail"),
    path("<int:pk>/verify/", views.ReferralVerifyView.as_view(), name="referral_verify"),
    path("<int:pk>/reject/", views.ReferralRejectView.as_view(), name="referral_reject"),
    path("<int:pk>/approve/", views.ReferralApproveView.as_view(), name="referral_approve"),
    path("<int:pk>/pay/", views.ReferralPayView.as_view(), name="referral_pay"),
]
