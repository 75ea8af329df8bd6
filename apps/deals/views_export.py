"""/deals/export.xlsx?<the list's query> — the deal list as .xlsx (apps.deals.exports): the
same visibility and filters as /deals/ (selectors.deal_list), with a totals row. Invalid
filters send the user back to the list, which shows why. Who: the readers of deals
(READ_ROLES: administrators, finance, managers, sales); customer service 403."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View

from apps.core.xlsx import xlsx_download

from . import exports
from .selectors import deal_list
from .views import DealMixin


class DealExportView(DealMixin, View):
    def get(self, request):
        try:
            deals = deal_list(self.staff, request.GET, queryset=self.model.objects.all())
        except ValidationError:
            return redirect(f"{reverse('deals:list')}?{request.GET.urlencode()}")
        return xlsx_download(lambda handle: exports.deals_xlsx(self.staff, deals, handle),
                             *exports.export_filename(self.tenant))
