from django.urls import path

from . import views

app_name = "imports"

urlpatterns = [
    path("customers/", views.UploadView.as_view(), name="customer_upload"),
    path("customers/<uuid:key>/", views.PreviewView.as_view(), name="customer_preview"),
    path("customers/<uuid:key>/result/", views.ResultView.as_view(), name="customer_result"),
    path("customers/<uuid:key>/report/", views.ReportView.as_view(), name="customer_report"),
]
