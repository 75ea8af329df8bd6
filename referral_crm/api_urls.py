from django.urls import include, path

urlpatterns = [
    path("", include("apps.tenancy.api_urls")),
    path("", include("apps.customers.api_urls")),
    path("", include("apps.ownership.api_urls")),
    path("", include("apps.disputes.api_urls")),
    path("", include("apps.rotation.api_urls")),
    path("", include("apps.notifications.api_urls")),
    path("", include("apps.deals.api_urls")),
    path("", include("apps.renewals.api_urls")),
    path("", include("apps.referrals.api_urls")),
    path("", include("apps.commissions.api_urls")),
    path("", include("apps.vip.api_urls")),
    path("", include("apps.followups.api_urls")),
]
