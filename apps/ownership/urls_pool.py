from django.urls import path

from . import views

urlpatterns: list = [
    path("policy/", views.PolicyView.as_view(), name="policy"),
    path("expiring/", views.ExpiringView.as_view(), name="expiring"),
    path("pool/", views.PoolView.as_view(), name="pool"),
    path("pool/customers/<int:pk>/claim/", views.PoolClaimView.as_view(), name="pool_claim"),
    path("customers/<int:pk>/return/", views.ReturnView.as_view(), name="return"),
    path("reassign/", views.ReassignView.as_view(), name="reassign"),
]
