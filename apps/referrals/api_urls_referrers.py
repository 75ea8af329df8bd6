"""Referrer API routes; included by apps/referrals/api_urls.py (under /api/v1/)."""

from rest_framework.routers import SimpleRouter

from .api_referrers import ReferrerViewSet

router = SimpleRouter()
router.register("referrers", ReferrerViewSet, basename="referrer")

urlpatterns = router.urls
