from django.urls import path

from . import api_registration as api

urlpatterns: list = [
    path("ownership/check/", api.RegistrationCheckAPIView.as_view(), name="api-ownership-check"),
    path("ownership/register/", api.RegisterAPIView.as_view(), name="api-ownership-register"),
    path("ownership/customers/<int:pk>/claim/", api.ClaimAPIView.as_view(),
         name="api-ownership-claim"),
]
