"""API routes of the VIP cards (under /api/v1/); included in apps/vip/api_urls.py."""

from django.urls import path

from . import api_cards as api

urlpatterns: list = [
    path("vip/vip-cards/", api.CardListAPIView.as_view(), name="vip-cards"),
    path("vip/vip-cards/<int:pk>/", api.CardDetailAPIView.as_view(), name="vip-card"),
    path("vip/vip-cards/<int:pk>/reissue/", api.CardReissueAPIView.as_view(),
         name="vip-card-reissue"),
    path("vip/vip-cards/<int:pk>/void/", api.CardVoidAPIView.as_view(), name="vip-card-void"),
    path("vip/cards/to-issue/", api.CardsToIssueAPIView.as_view(), name="vip-cards-to-issue"),
    path("vip/cards/stats/", api.CardStatsAPIView.as_view(), name="vip-cards-stats"),
]
