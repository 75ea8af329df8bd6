"""Forms of the referrer pages and of the public referral page (fields only: the services
validate)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.forms import BootstrapFormMixin

from .models import Referrer


class ReferrerFilterForm(BootstrapFormMixin, forms.Form):
    search = forms.CharField(label=_("Search"), required=False, max_length=50,
                             widget=forms.TextInput(attrs={
                                 "placeholder": _("Name, mobile phone or code")}))
    kind = forms.ChoiceField(label=_("kind"), required=False,
                             choices=[("", _("All kinds")), *Referrer.Kind.choices])


class CustomerReferrerForm(BootstrapFormMixin, forms.Form):
    phone = forms.CharField(label=_("Customer's mobile phone"), max_length=20)
    id_number = forms.CharField(label=_("resident ID number"), max_length=30)


class StaffReferrerForm(BootstrapFormMixin, forms.Form):
    staff = forms.IntegerField(label=_("staff member"), widget=forms.Select)

    def __init__(self, *args, staff_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["staff"].widget.choices = [("", "---------"), *staff_choices]


class PartnerReferrerForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(label=_("partner name"), max_length=100)
    phone = forms.CharField(label=_("partner mobile phone"), max_length=20)
    fee_kind = forms.ChoiceField(label=_("agreement fee"), choices=[
        (Referrer.FeeKind.FIXED, Referrer.FeeKind.FIXED.label),
        (Referrer.FeeKind.PERCENT, Referrer.FeeKind.PERCENT.label)])
    fee_value = forms.CharField(label=_("fee (amount or %)"), max_length=20)
    payment_due_working_days = forms.CharField(
        label=_("payment due (working days after the customer pays)"), max_length=5,
        initial="0")


class PublicReferralForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=50)
    phone = forms.CharField(label=_("Your mobile phone"), max_length=20,
                            widget=forms.TextInput(attrs={"inputmode": "tel",
                                                          "autocomplete": "tel"}))
    id_number = forms.CharField(label=_("Resident ID number (optional)"), max_length=30,
                                required=False)
    note = forms.CharField(label=_("Note (optional)"), max_length=1000, required=False,
                           widget=forms.Textarea(attrs={"rows": 3}))
