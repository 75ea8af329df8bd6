from django.urls import path

from . import views

urlpatterns = [
    path("auth/token/", views.TokenObtainView.as_view(), name="api-auth-token"),
    path("auth/logout/", views.TokenLogoutView.as_view(), name="api-auth-logout"),
    path("me/", views.MeView.as_view(), name="api-me"),
]
