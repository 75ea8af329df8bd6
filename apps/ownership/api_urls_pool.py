from django.urls import path

from . import api

urlpatterns: list = [
    path("ownership/policies/", api.PolicyListAPIView.as_view(), name="api-ownership-policies"),
    path("ownership/expiring/", api.ExpiringListAPIView.as_view(), name="api-ownership-expiring"),
    path("ownership/pool/", api.PoolListAPIView.as_view(), name="api-ownership-pool"),
    path("ownership/customers/<int:pk>/return/", api.ReturnAPIView.as_view(),
         name="api-ownership-return"),
    path("ownership/customers/<int:pk>/history/", api.HistoryAPIView.as_view(),
         name="api-ownership-history"),
    path("ownership/reassign/", api.ReassignAPIView.as_view(), name="api-ownership-reassign"),
]
