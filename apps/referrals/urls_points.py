"""Pages of the referrer points; to be included in apps/referrals/urls.py (namespace "referrals"):
referrals:points, points_items, points_item_edit, referrer_points, redemption_decide."""

from django.urls import path

from . import views_points

urlpatterns: list = [
    path("points/", views_points.PointsOverviewView.as_view(), name="points"),
    path("points/items/", views_points.PointsItemListView.as_view(), name="points_items"),
    path("points/items/<int:pk>/edit/", views_points.PointsItemEditView.as_view(),
         name="points_item_edit"),
    path("referrers/<int:pk>/points/", views_points.ReferrerPointsView.as_view(),
         name="referrer_points"),
    path("redemptions/<int:pk>/decide/", views_points.RedemptionDecideView.as_view(),
         name="redemption_decide"),
]
