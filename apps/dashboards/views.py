"""The dashboard pages (thin: apps.dashboards.selectors reads). Each page puts its charts'
data in one json_script ("dashboard-charts") drawn by static/js/dashboards.js; the same
numbers are in a table under each chart. A role that may not open a dashboard gets 403."""

from __future__ import annotations

from django.shortcuts import render
from django.views import View

from apps.tenancy.views_base import StaffRequiredMixin

from . import selectors


class DashboardView(StaffRequiredMixin, View):
    """A dashboard: `figures(staff)` reads them, `charts(figures)` gives the charts' data."""

    template_name = ""
    name = ""
    figures = staticmethod(lambda staff: None)
    charts = staticmethod(lambda figures: {})

    def get(self, request):
        dash = self.figures(self.staff)
        return render(request, self.template_name, {
            "dash": dash, "charts": self.charts(dash), "dashboard": self.name,
            "dashboards": selectors.dashboards_for(self.staff)})


class SalesDashboardView(DashboardView):
    required_roles = selectors.SALES_ROLES
    template_name = "dashboards/sales.html"
    name = "sales"
    figures = staticmethod(selectors.sales_dashboard)
    charts = staticmethod(selectors.sales_charts)


class ManagerDashboardView(DashboardView):
    required_roles = selectors.MANAGER_ROLES
    template_name = "dashboards/manager.html"
    name = "manager"
    figures = staticmethod(selectors.manager_dashboard)
    charts = staticmethod(selectors.manager_charts)


class FinanceDashboardView(DashboardView):
    required_roles = selectors.FINANCE_ROLES
    template_name = "dashboards/finance.html"
    name = "finance"
    figures = staticmethod(selectors.finance_dashboard)
    charts = staticmethod(selectors.finance_charts)
