"""The public link of a referral card; the project includes it at the root:
path("r/", include("apps.referrals.urls_public"))."""

from django.urls import path

from . import views_public

app_name = "referral_public"

urlpatterns = [
    # Before the card route: "board" is never a card code (codes have no letter O).
    path("<slug:slug>/board/", views_public.public_board, name="board"),
    path("<slug:slug>/<str:code>/", views_public.public_referral, name="submit"),
]
