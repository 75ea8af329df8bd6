"""/customers/export.xlsx?<the list's query> — the customer list as .xlsx (apps.customers.exports):
the same visibility rule and filters as /customers/ (selectors.customer_list). Invalid filters
send the user back to the list, which shows why. Any staff role that sees customers; a staff
member without a role: 403."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View

from apps.core.xlsx import xlsx_download
from apps.tenancy.roles import Role

from . import exports
from .selectors import customer_list
from .views import CustomerMixin

#: Who exports the customers they see.
EXPORT_ROLES = (Role.ADMIN, Role.MANAGER, Role.SALES, Role.CUSTOMER_SERVICE, Role.FINANCE)


class CustomerExportView(CustomerMixin, View):
    required_roles = EXPORT_ROLES

    def get(self, request):
        try:
            customers = customer_list(self.staff, request.GET, queryset=self.model.objects.all())
        except ValidationError:
            return redirect(f"{reverse('customers:list')}?{request.GET.urlencode()}")
        return xlsx_download(lambda handle: exports.customers_xlsx(self.staff, customers, handle),
                             *exports.export_filename(self.tenant))
