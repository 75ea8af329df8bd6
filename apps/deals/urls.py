from django.urls import path

from . import views, views_export
from .urls_rules import urlpatterns as rules_urlpatterns

app_name = "deals"

urlpatterns = [
    path("", views.DealListView.as_view(), name="list"),
    path("export.xlsx", views_export.DealExportView.as_view(), name="export"),
    path("new/", views.DealCreateView.as_view(), name="create"),
    path("new/customer/", views.CustomerLookupView.as_view(), name="customer_lookup"),
    path("<int:pk>/", views.DealDetailView.as_view(), name="detail"),
    path("<int:pk>/notes/", views.DealNotesView.as_view(), name="notes"),
    path("<int:pk>/refund/", views.DealRefundView.as_view(), name="refund"),
    *rules_urlpatterns,
]
