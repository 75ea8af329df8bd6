"""Forms of the credit rule set and deal role pages (the services validate; these only collect)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.forms import BootstrapFormMixin

from .rules import PRESET_NAMES


def preset_choices(blank_label=None) -> list[tuple[str, object]]:
    return [("", blank_label or _("None (hand-written)")),
            *((code, name) for code, name in PRESET_NAMES.items())]


class RuleSetForm(BootstrapFormMixin, forms.Form):
    effective_from = forms.DateField(
        label=_("Effective from"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Today or a later day. Deals signed from that day on are split by this "
                    "version."))
    name = forms.CharField(label=_("Version name"), max_length=200,
                           widget=forms.TextInput(attrs={"maxlength": 100}))
    preset = forms.ChoiceField(
        label=_("Preset"), required=False, choices=preset_choices,
        help_text=_("Used when the rules box is empty; otherwise recorded as where the rules "
                    "came from."))
    rules = forms.CharField(
        label=_("Rules (JSON)"), required=False, strip=False,
        widget=forms.Textarea(attrs={"rows": 22, "spellcheck": "false", "autocapitalize": "off",
                                     "class": "font-monospace small"}),
        help_text=_("The format is described on this page and in docs/deals.md "
                    "(“Credit rules”)."))
    note = forms.CharField(label=_("Note"), required=False, max_length=400,
                           widget=forms.TextInput(attrs={"maxlength": 200}))

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {"effective_from": data.get("effective_from"), "name": data.get("name", ""),
                "preset": data.get("preset", ""), "rules": data.get("rules") or None,
                "note": data.get("note", "")}


class DealRoleCreateForm(BootstrapFormMixin, forms.Form):
    code = forms.CharField(label=_("Code"), max_length=60,
                           widget=forms.TextInput(attrs={"maxlength": 30, "autocapitalize": "off",
                                                         "spellcheck": "false"}),
                           help_text=_("Letters, digits, _ or -; the rules refer to it and it "
                                       "never changes."))
    name = forms.CharField(label=_("Role name"), max_length=100,
                           widget=forms.TextInput(attrs={"maxlength": 50}))
    order = forms.IntegerField(label=_("Order"), required=False, initial=100,
                               widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0}))


class DealRoleEditForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(label=_("Role name"), max_length=100,
                           widget=forms.TextInput(attrs={"maxlength": 50}))
    order = forms.IntegerField(label=_("Order"), required=False,
                               widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0}))
    active = forms.BooleanField(label=_("Active (can be picked on new deals)"), required=False)
