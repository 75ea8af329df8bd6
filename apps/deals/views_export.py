"""/deals/export.xlsx?<the list's query> — the deal list as .xlsx (apps.deals.exports): the
same visibility and filters as /deals/ (selectors.deal_list), with a totals row. Invalid
filters send the user back to the list, which shows why. Who: the readers of deals
(READ_ROLES: administrators, finance, managers, sales); customer service 403. Over
settings.EXPORT_DIRECT_MAX_ROWS rows the file is built by a task with progress (apps.exports)."""

from __future__ import annotations

from django.views import View

from apps.exports.http import export_response
from apps.exports.models import ExportJob

from .views import DealMixin


class DealExportView(DealMixin, View):
    def get(self, request):
        return export_response(request, self.staff, ExportJob.Kind.DEALS)
