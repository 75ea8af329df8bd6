"""Routes of the tier scheme pages; included in apps/vip/urls.py (namespace "vip"):
scheme_list, scheme_create, scheme_detail, scheme_recompute (GET: confirm, POST: start),
scheme_progress (the htmx fragment)."""

from django.urls import path

from . import views_schemes

urlpatterns: list = [
    path("tier-schemes/", views_schemes.TierSchemeListView.as_view(), name="scheme_list"),
    path("tier-schemes/new/", views_schemes.TierSchemeCreateView.as_view(),
         name="scheme_create"),
    path("tier-schemes/recompute/", views_schemes.TierSchemeRecomputeView.as_view(),
         name="scheme_recompute"),
    path("tier-schemes/progress/", views_schemes.TierSchemeProgressView.as_view(),
         name="scheme_progress"),
    path("tier-schemes/<int:pk>/", views_schemes.TierSchemeDetailView.as_view(),
         name="scheme_detail"),
]
