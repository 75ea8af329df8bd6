"""/vip/vip-cards/export.xlsx?<the list's query> — the membership-card list as .xlsx
(apps.vip.card_export): the same visibility and filters as /vip/vip-cards/ (cards.card_list
with the CardFilterForm). Invalid filters send the user back to the list, which shows why.
Who: the roles of the card pages (cards.VIEW_ROLES). Over settings.EXPORT_DIRECT_MAX_ROWS rows
the file is built by a task with progress (apps.exports)."""

from __future__ import annotations

from django.views import View

from apps.exports.http import export_response
from apps.exports.models import ExportJob

from .views_cards import CardMixin


class CardExportView(CardMixin, View):
    def get(self, request):
        return export_response(request, self.staff, ExportJob.Kind.VIP_CARDS)
