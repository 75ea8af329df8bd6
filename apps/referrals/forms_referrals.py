"""Forms of the referral pages (apps.referrals.lifecycle validates; these only collect).

The log form is the registration form of apps.ownership (same fields, the same live duplicate
check through `ownership:register_check`) without what a referral does not ask, plus the
referrer picked."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.forms import BootstrapFormMixin
from apps.ownership.forms_registration import RegistrationForm

from .models import Referral
from .selectors import ReferralFilterForm, RewardLineFilterForm


class ReferralLogForm(RegistrationForm):
    """Step 2 of logging a referral: the new person (the referrer is a hidden id)."""

    referrer = forms.IntegerField(required=False, widget=forms.HiddenInput)

    #: Registration fields a referral does not ask for (the source is always "referral").
    DROPPED = ("source", "related_customer_phone", "relation_kind")
    SERVICE_FIELDS = {**RegistrationForm.SERVICE_FIELDS, "claim": "claim_note"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.DROPPED:
            del self.fields[name]
        self.fields["notes"].widget.attrs["maxlength"] = 1000  # the service's limit

    def service_kwargs(self) -> dict:
        """What to pass to lifecycle.referral_log besides the referrer."""
        data = self.cleaned_data
        return {name: data.get(name) or "" for name in
                ("name", "phone", "id_number", "gender", "notes", "claim_note")}


class ReferralVerifyForm(BootstrapFormMixin, forms.Form):
    """Verifying a referral: the ID number is asked when the person is registered now (a public
    link referral); the account only when confirming a collision."""

    id_number = forms.CharField(label=_("Resident ID number"), required=False, max_length=32,
                                widget=forms.TextInput(attrs={"autocomplete": "off"}))
    claim_note = RegistrationForm.base_fields["claim_note"]

    def __init__(self, *args, register: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not register:
            del self.fields["id_number"]


class ReferralRejectForm(BootstrapFormMixin, forms.Form):
    reason = forms.ChoiceField(label=_("Why is the referral rejected?"),
                               choices=[("", _("— choose —")), *Referral.Rejection.choices])
    note = forms.CharField(label=_("Note"), required=False, max_length=500,
                           widget=forms.Textarea(attrs={"rows": 3, "maxlength": 500}),
                           help_text=_("Required for false information: say what was false."))


class ReferralDecisionForm(BootstrapFormMixin, forms.Form):
    """Approving or paying: an optional note (kept in the history)."""

    note = forms.CharField(label=_("Note"), required=False, max_length=500,
                           widget=forms.TextInput(attrs={"maxlength": 500}))


class ReferralListFilterForm(BootstrapFormMixin, ReferralFilterForm):
    """The list's filters as shown (validation: selectors.ReferralFilterForm)."""


class RewardLineListFilterForm(BootstrapFormMixin, RewardLineFilterForm):
    pass

