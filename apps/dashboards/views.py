"""The dashboard pages (thin: apps.dashboards.selectors reads). Each page puts its charts'
data in one json_script ("dashboard-charts") drawn by static/js/dashboards.js; the same
numbers are in a table under each chart. A role that may not open a dashboard gets 403."""

from __future__ import annotations

from django.shortcuts import render
from django.views import View

from apps.tenancy.views_base import StaffRequiredMixin

from . import selectors


class DashboardView(StaffRequiredMixin, View):
    template_name = ""
    name = ""

    def build(self) -> tuple[object, dict]:
        raise NotImplementedError

    def get(self, request):
        dash, charts = self.build()
        return render(request, self.template_name, {
            "dash": dash, "charts": charts, "dashboard": self.name,
            "dashboards": selectors.dashboards_for(self.staff)})


class SalesDashboardView(DashboardView):
    required_roles = selectors.SALES_ROLES
    template_name = "dashboards/sales.html"
    name = "sales"

    def build(self):
        dash = selectors.sales_dashboard(self.staff)
        return dash, selectors.sales_charts(dash)


class ManagerDashboardView(DashboardView):
    required_roles = selectors.MANAGER_ROLES
    template_name = "dashboards/manager.html"
    name = "manager"

    def build(self):
        dash = selectors.manager_dashboard(self.staff)
        return dash, selectors.manager_charts(dash)


class FinanceDashboardView(DashboardView):
    required_roles = selectors.FINANCE_ROLES
    template_name = "dashboards/finance.html"
    name = "finance"

    def build(self):
        dash = selectors.finance_dashboard(self.staff)
        return dash, selectors.finance_charts(dash)
