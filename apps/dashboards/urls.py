"""The dashboards (namespace "dashboards"): /dashboards/sales/, /dashboards/manager/,
/dashboards/finance/."""

from django.urls import path

from . import views

app_name = "dashboards"

urlpatterns = [
    path("sales/", views.SalesDashboardView.as_view(), name="sales"),
    path("manager/", views.ManagerDashboardView.as_view(), name="manager"),
    path("finance/", views.FinanceDashboardView.as_view(), name="finance"),
]
