"""/customers/export.xlsx?<the list's query> — the customer list as .xlsx (apps.customers.exports):
the same visibility rule and filters as /customers/ (selectors.customer_list). Invalid filters
send the user back to the list, which shows why. Any staff role that sees customers; a staff
member without a role: 403. Over settings.EXPORT_DIRECT_MAX_ROWS rows the file is built by a
task with progress (apps.exports)."""

from __future__ import annotations

from django.views import View

from apps.exports.http import export_response
from apps.exports.models import ExportJob
from apps.tenancy.roles import Role

from .views import CustomerMixin

#: Who exports the customers they see.
EXPORT_ROLES = (Role.ADMIN, Role.MANAGER, Role.SALES, Role.CUSTOMER_SERVICE, Role.FINANCE)


class CustomerExportView(CustomerMixin, View):
    required_roles = EXPORT_ROLES

    def get(self, request):
        return export_response(request, self.staff, ExportJob.Kind.CUSTOMERS)
