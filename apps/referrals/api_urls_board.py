"""API of the honour board; to be included in apps/referrals/api_urls.py (under /api/v1/)."""

from django.urls import path

from . import api_board

urlpatterns: list = [
    path("referrals/board/", api_board.BoardAPIView.as_view(), name="api-referrals-board"),
    path("referrals/board/awards/", api_board.AwardsRecordAPIView.as_view(),
         name="api-referrals-board-awards"),
]
