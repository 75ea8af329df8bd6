from rest_framework.routers import SimpleRouter

from .api import DisputeViewSet

router = SimpleRouter()
router.register("disputes", DisputeViewSet, basename="dispute")

urlpatterns = router.urls
