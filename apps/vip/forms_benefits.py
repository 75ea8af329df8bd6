"""Forms of the VIP benefit pages (tier by hand, review, voucher, gift). They only shape the
input: the services (apps.vip.services, apps.vip.benefits) decide and refuse."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.forms import BootstrapFormMixin

from .benefits import DESCRIPTION_MAX, NOTE_MAX
from .services import REASON_MAX
from .tiers import TierRules

DATE_WIDGET = {"type": "date"}


def _reason_field(label):
    return forms.CharField(label=label, required=False, max_length=REASON_MAX,
                           widget=forms.Textarea(attrs={"rows": 3, "maxlength": REASON_MAX}))


class TierSetForm(BootstrapFormMixin, forms.Form):
    tier = forms.ChoiceField(label=gettext_lazy("New tier"))
    reason = _reason_field(gettext_lazy("Reason"))
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, rules: TierRules, current: str = "", review: bool = False,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.rules, self.current, self.review = rules, current, review
        self.fields["tier"].choices = [
            (t.code, f"{t.name} ({t.grade})" if t.grade else t.name) for t in rules.tiers]
        self.fields["reason"].mandatory = True
        self.fields["reason"].widget.attrs["required"] = True
        self.fields["reason"].help_text = _("Kept in the tier history and the audit log.")

    def clean_reason(self):
        reason = (self.cleaned_data.get("reason") or "").strip()
        if not reason:
            raise forms.ValidationError(_("Give the reason: it is kept in the tier history."))
        return reason

    def clean_tier(self):
        tier = self.cleaned_data["tier"]
        if tier == self.current and not self.review:
            raise forms.ValidationError(_("The customer is already in this tier."))
        return tier


class TierKeepForm(BootstrapFormMixin, forms.Form):
    reason = _reason_field(gettext_lazy("Why the customer keeps the tier"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].mandatory = True
        self.fields["reason"].widget.attrs["required"] = True


class VoucherForm(BootstrapFormMixin, forms.Form):
    amount = forms.CharField(label=gettext_lazy("Voucher amount (¥)"), max_length=20,
                             widget=forms.TextInput(attrs={"inputmode": "decimal",
                                                           "autocomplete": "off"}))
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=NOTE_MAX)
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)


class GiftForm(BootstrapFormMixin, forms.Form):
    referral = forms.TypedChoiceField(label=gettext_lazy("For the referral"), required=False,
                                      coerce=int, empty_value=None)
    description = forms.CharField(label=gettext_lazy("Gift"), required=False,
                                  max_length=DESCRIPTION_MAX)
    value = forms.CharField(label=gettext_lazy("Value (¥)"), required=False, max_length=20,
                            widget=forms.TextInput(attrs={"inputmode": "decimal",
                                                          "autocomplete": "off"}))
    given_on = forms.DateField(label=gettext_lazy("Given on"),
                               widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"))

    def __init__(self, *args, referrals=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["referral"].choices = [
            ("", _("Not for a referral")),
            *[(r.pk, _("%(name)s (referral #%(id)s, bought %(day)s)") % {
                "name": r.name, "id": r.pk,
                "day": r.converted_at.date().isoformat() if r.converted_at else "—"})
              for r in referrals]]
        self.fields["referral"].error_messages["invalid_choice"] = _(
            "Choose one of the referrals still waiting for a gift.")
        self.fields["description"].help_text = _("Empty: the tier's gift for a further "
                                                 "referral.")
