"""The public link of a referral card; the project includes it at the root:
path("r/", include("apps.referrals.urls_public"))."""

from django.urls import path

from . import views_public

app_name = "referral_public"

urlpatterns = [
    path("<slug:slug>/<str:code>/", views_public.public_referral, name="submit"),
]
