from rest_framework.routers import SimpleRouter

from .api import DealViewSet
from .api_urls_rules import urlpatterns as rules_urlpatterns

router = SimpleRouter()
router.register("deals", DealViewSet, basename="deal")

urlpatterns = [*rules_urlpatterns, *router.urls]
