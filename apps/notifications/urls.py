from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("", views.InboxView.as_view(), name="inbox"),
    path("preferences/", views.PreferencesView.as_view(), name="preferences"),
    path("read-all/", views.MarkAllReadView.as_view(), name="read_all"),
    path("<int:pk>/open/", views.OpenView.as_view(), name="open"),
]
