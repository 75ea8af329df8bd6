"""Forms of the points pages (apps.referrals.points validates; these only collect)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.forms import BootstrapFormMixin

from .models import PointsEntry, PointsRedemption


class PointsItemForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(label=_("Item name"), max_length=200,
                           widget=forms.TextInput(attrs={"maxlength": 100}))
    points = forms.IntegerField(label=_("Points"), min_value=1,
                                widget=forms.NumberInput(attrs={"inputmode": "numeric",
                                                                "min": 1}))
    active = forms.BooleanField(label=_("Active (can be redeemed)"), required=False,
                                initial=True)


class RedemptionRequestForm(BootstrapFormMixin, forms.Form):
    item = forms.ModelChoiceField(label=_("Item"), queryset=None,
                                  empty_label=None)
    note = forms.CharField(label=_("Note"), required=False, max_length=400,
                           widget=forms.TextInput(attrs={"maxlength": 200}))

    def __init__(self, *args, items=None, **kwargs):
        super().__init__(*args, **kwargs)
        if items is not None:
            self.fields["item"].queryset = items
            self.fields["item"].label_from_instance = (
                lambda item: _("%(name)s (%(points)s points)") % {"name": item.name,
                                                                  "points": item.points})


class PointsAdjustForm(BootstrapFormMixin, forms.Form):
    points = forms.IntegerField(label=_("Points (+ to add, − to remove)"),
                                widget=forms.NumberInput(attrs={"inputmode": "numeric"}))
    reason = forms.CharField(label=_("Reason"), max_length=400,
                             widget=forms.TextInput(attrs={"maxlength": 200}))


class RedemptionDecideForm(BootstrapFormMixin, forms.Form):
    note = forms.CharField(label=_("Note to the requester"), required=False, max_length=400,
                           widget=forms.TextInput(attrs={"maxlength": 200}))


class PointsFilterForm(BootstrapFormMixin, forms.Form):
    status = forms.ChoiceField(label=_("Redemptions"), required=False,
                               choices=[("", _("All")), *PointsRedemption.Status.choices])
    kind = forms.ChoiceField(label=_("Ledger rows"), required=False,
                             choices=[("", _("All")), *PointsEntry.Kind.choices])


class LedgerFilterForm(BootstrapFormMixin, forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), required=False,
                             choices=[("", _("All")), *PointsEntry.Kind.choices])
