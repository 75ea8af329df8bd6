"""Referrer and card pages; included by apps/referrals/urls.py (namespace "referrals")."""

from django.urls import path

from . import views_referrers as views

urlpatterns = [
    path("referrers/", views.ReferrerListView.as_view(), name="referrer_list"),
    path("referrers/new/customer/", views.CustomerReferrerCreateView.as_view(),
         name="referrer_create_customer"),
    path("referrers/new/staff/", views.StaffReferrerCreateView.as_view(),
         name="referrer_create_staff"),
    path("referrers/new/partner/", views.PartnerReferrerCreateView.as_view(),
         name="referrer_create_partner"),
    path("referrers/<int:pk>/", views.ReferrerDetailView.as_view(), name="referrer_detail"),
    path("referrers/<int:pk>/deactivate/", views.ReferrerDeactivateView.as_view(),
         name="referrer_deactivate"),
    path("referrers/<int:pk>/reactivate/", views.ReferrerReactivateView.as_view(),
         name="referrer_reactivate"),
    path("referrers/<int:pk>/cards/", views.CardIssueView.as_view(), name="card_issue"),
    path("cards/<int:pk>/", views.CardDetailView.as_view(), name="card_detail"),
    path("cards/<int:pk>/qr.png", views.CardQrView.as_view(kind="png"), name="card_qr_png"),
    path("cards/<int:pk>/qr.svg", views.CardQrView.as_view(kind="svg"), name="card_qr_svg"),
    path("cards/<int:pk>/deactivate/", views.CardDeactivateView.as_view(),
         name="card_deactivate"),
]
