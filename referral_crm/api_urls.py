from django.urls import include, path

urlpatterns = [
    path("", include("apps.tenancy.api_urls")),
    path("", include("apps.customers.api_urls")),
]
