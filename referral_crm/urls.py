from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

# The content security policy (settings.CONTENT_SECURITY_POLICY) allows no inline script: Swagger
# UI's split view loads its start-up script as a file; Redoc needs inline script and styles and a
# blob: worker, allowed on its page only.
redoc = csp_update({"script-src": ["'unsafe-inline'"], "style-src": ["'unsafe-inline'"],
                    "worker-src": ["blob:"]})(SpectacularRedocView.as_view(url_name="api-schema"))

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", redoc, name="api-redoc"),
    path("api/v1/", include("referral_crm.api_urls")),
    path("", include("apps.tenancy.urls")),
    path("customers/", include("apps.customers.urls")),
    path("ownership/", include("apps.ownership.urls")),
    path("disputes/", include("apps.disputes.urls")),
    path("rotation/", include("apps.rotation.urls")),
    path("notifications/", include("apps.notifications.urls")),
    path("deals/", include("apps.deals.urls")),
    path("renewals/", include("apps.renewals.urls")),
    path("referrals/", include("apps.referrals.urls")),
    path("commissions/", include("apps.commissions.urls")),
    path("vip/", include("apps.vip.urls")),
    path("followups/", include("apps.followups.urls")),
    path("dashboards/", include("apps.dashboards.urls")),
    path("imports/", include("apps.imports.urls")),
    path("exports/", include("apps.exports.urls")),
    # The public page of a referral card (no login): /r/<tenant slug>/<code>/.
    path("r/", include("apps.referrals.urls_public")),
]
