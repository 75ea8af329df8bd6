from django.urls import path

from . import api

urlpatterns = [
    path("rotation/board/", api.BoardAPIView.as_view(), name="api-rotation-board"),
    path("rotation/sign-ins/", api.SignInCreateAPIView.as_view(), name="api-rotation-sign-in"),
    path("rotation/sign-ins/<int:pk>/status/", api.SignInStatusAPIView.as_view(),
         name="api-rotation-status"),
    path("rotation/walk-ins/", api.WalkInAPIView.as_view(), name="api-rotation-walk-in"),
]
