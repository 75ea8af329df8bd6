"""Form of the reward policy pages (the service validates; this only collects)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.forms import BootstrapFormMixin

from .reward_presets import PRESET_NAMES


def preset_choices() -> list[tuple[str, object]]:
    return [("", _("None (hand-written)")), *PRESET_NAMES.items()]


class RewardPolicyForm(BootstrapFormMixin, forms.Form):
    effective_from = forms.DateField(
        label=_("Effective from"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Today or a later day. Referrals rewarded from that day on use this "
                    "version."))
    name = forms.CharField(label=_("Version name"), max_length=200,
                           widget=forms.TextInput(attrs={"maxlength": 100}))
    preset = forms.ChoiceField(
        label=_("Preset"), required=False, choices=preset_choices,
        help_text=_("Used when the rules box is empty."))
    rules = forms.CharField(
        label=_("Rules (JSON)"), required=False, strip=False,
        widget=forms.Textarea(attrs={"rows": 22, "spellcheck": "false", "autocapitalize": "off",
                                     "class": "font-monospace small"}),
        help_text=_("The format is described on this page and in docs/referrals.md "
                    "(“Reward rules”)."))
    note = forms.CharField(label=_("Note"), required=False, max_length=400,
                           widget=forms.TextInput(attrs={"maxlength": 200}))

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {"effective_from": data.get("effective_from"), "name": data.get("name", ""),
                "preset": data.get("preset", ""), "rules": data.get("rules") or None,
                "note": data.get("note", "")}
