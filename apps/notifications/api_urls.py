from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import NotificationPreferencesAPIView, NotificationViewSet

router = SimpleRouter()
router.register("notifications", NotificationViewSet, basename="notification")

urlpatterns = [
    path("notifications/preferences/", NotificationPreferencesAPIView.as_view(),
         name="api-notifications-preferences"),
    *router.urls,
]
