from django.urls import path

from . import api

urlpatterns: list = [
    path("renewals/contracts/", api.ContractListAPIView.as_view(), name="api-renewals-contracts"),
    path("renewals/contracts/<int:pk>/", api.ContractDetailAPIView.as_view(),
         name="api-renewals-contract"),
    path("renewals/contracts/<int:pk>/hours/", api.ContractHoursAPIView.as_view(),
         name="api-renewals-contract-hours"),
    path("renewals/expiring/", api.ExpiringListAPIView.as_view(), name="api-renewals-expiring"),
    path("renewals/policy/", api.PolicyAPIView.as_view(), name="api-renewals-policy"),
    path("renewals/rates/", api.RatesAPIView.as_view(), name="api-renewals-rates"),
]
