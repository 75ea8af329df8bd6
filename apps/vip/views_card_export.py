"""/vip/vip-cards/export.xlsx?<the list's query> — the membership-card list as .xlsx
(apps.vip.card_export): the same visibility and filters as /vip/vip-cards/ (cards.card_list
with the CardFilterForm). Invalid filters send the user back to the list, which shows why.
Who: the roles of the card pages (cards.VIEW_ROLES)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View

from apps.core.filters import clean_filter_form
from apps.core.xlsx import xlsx_download

from . import card_export
from . import cards as svc
from .forms_cards import CardFilterForm
from .views_cards import CardMixin


class CardExportView(CardMixin, View):
    def get(self, request):
        try:
            filters = clean_filter_form(CardFilterForm, request.GET)
        except ValidationError:
            return redirect(f"{reverse('vip:card_list')}?{request.GET.urlencode()}")
        cards = svc.card_list(self.staff, filters, self.get_queryset())
        return xlsx_download(lambda handle: card_export.cards_xlsx(self.staff, cards, handle),
                             *card_export.export_filename(self.tenant))
