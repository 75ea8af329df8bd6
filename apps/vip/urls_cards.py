"""Routes of the VIP cards pages; included in apps/vip/urls.py (namespace "vip"): card_to_issue,
card_issue, card_list, card_detail, card_reissue, card_void, card_stats, card_stats_export,
card_export (the card list as .xlsx)."""

from django.urls import path

from . import views_card_export
from . import views_cards as views

urlpatterns: list = [
    path("cards/to-issue/", views.CardToIssueView.as_view(), name="card_to_issue"),
    path("cards/stats/", views.CardStatsView.as_view(), name="card_stats"),
    path("cards/stats/export/", views.CardStatsExportView.as_view(), name="card_stats_export"),
    path("customers/<int:pk>/card/new/", views.CardIssueView.as_view(), name="card_issue"),
    path("vip-cards/", views.CardListView.as_view(), name="card_list"),
    path("vip-cards/export.xlsx", views_card_export.CardExportView.as_view(), name="card_export"),
    path("vip-cards/<int:pk>/", views.CardDetailView.as_view(), name="card_detail"),
    path("vip-cards/<int:pk>/reissue/", views.CardReissueView.as_view(), name="card_reissue"),
    path("vip-cards/<int:pk>/void/", views.CardVoidView.as_view(), name="card_void"),
]
