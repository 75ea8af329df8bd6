"""Pages of the honour board; to be included in apps/referrals/urls.py (namespace "referrals"):
referrals:board, board_awards."""

from django.urls import path

from . import views_board

urlpatterns: list = [
    path("board/", views_board.BoardView.as_view(), name="board"),
    path("board/awards/", views_board.AwardsRecordView.as_view(), name="board_awards"),
]
