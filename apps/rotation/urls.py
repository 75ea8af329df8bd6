from django.urls import path

from . import views

app_name = "rotation"

urlpatterns = [
    path("", views.BoardView.as_view(), name="board"),
    path("walk-ins/", views.WalkInView.as_view(), name="walk_in"),
    path("sign-ins/", views.SignInView.as_view(), name="sign_in"),
    path("sign-ins/<int:pk>/status/", views.StatusView.as_view(), name="status"),
]
