from django.urls import path

from . import views

app_name = "renewals"

urlpatterns: list = [
    path("contracts/", views.ContractListView.as_view(), name="contracts"),
    path("contracts/new/", views.ContractCreateView.as_view(), name="contract_create"),
    path("contracts/<int:pk>/", views.ContractDetailView.as_view(), name="contract_detail"),
    path("contracts/<int:pk>/edit/", views.ContractEditView.as_view(), name="contract_edit"),
    path("contracts/<int:pk>/hours/", views.ContractHoursView.as_view(), name="contract_hours"),
    path("expiring/", views.ExpiringView.as_view(), name="expiring"),
    path("policy/", views.PolicyView.as_view(), name="policy"),
    path("rates/", views.RatesView.as_view(), name="rates"),
]
