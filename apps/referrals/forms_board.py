"""Forms of the honour board (the page and the API share the filter validation through
apps.core.filters.clean_filter_form)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.forms import BootstrapFormMixin

from . import board

#: A day, or a month written 2026-11 (the first day of it).
DATE_FORMATS = ["%Y-%m-%d", "%Y-%m"]


class BoardFilterForm(BootstrapFormMixin, forms.Form):
    period = forms.ChoiceField(label=_("Period"), required=False, choices=[
        (board.MONTH, _("Month")), (board.QUARTER, _("Quarter"))])
    start = forms.DateField(label=_("Month or quarter of"), required=False,
                            input_formats=DATE_FORMATS,
                            widget=forms.DateInput(attrs={"type": "date"}))
    audience = forms.ChoiceField(label=_("Who"), required=False, choices=[
        (board.ALL, _("All")), (board.STAFF, _("Staff")), (board.CUSTOMER, _("Customers"))])

    def clean_period(self):
        return self.cleaned_data.get("period") or board.MONTH

    def clean_audience(self):
        return self.cleaned_data.get("audience") or board.ALL


class AwardMonthForm(BootstrapFormMixin, forms.Form):
    month = forms.DateField(label=_("Month"), input_formats=DATE_FORMATS,
                            widget=forms.DateInput(attrs={"type": "month"}))
