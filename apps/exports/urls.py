from django.urls import path

from . import views

app_name = "exports"

urlpatterns = [
    path("", views.ExportJobListView.as_view(), name="list"),
    path("<int:pk>/", views.ExportJobDetailView.as_view(), name="detail"),
    path("<int:pk>/progress/", views.ExportJobProgressView.as_view(), name="progress"),
    path("<int:pk>/download/", views.ExportJobDownloadView.as_view(), name="download"),
]
