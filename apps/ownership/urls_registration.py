from django.urls import path

from . import views_registration as views

urlpatterns: list = [
    path("register/", views.RegisterView.as_view(), name="register"),
    path("register/check/", views.RegisterCheckView.as_view(), name="register_check"),
]
