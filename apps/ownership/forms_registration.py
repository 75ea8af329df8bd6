"""The registration form (报备). It only parses input; the service validates and decides."""

from __future__ import annotations

from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from apps.core.forms import BootstrapFormMixin
from apps.customers.models import Customer, CustomerRelation

#: The fields the live check reads (their names are also the check URL's query parameters).
CHECK_FIELDS = ("name", "phone", "id_number", "related_customer_phone")


class RegistrationForm(BootstrapFormMixin, forms.Form):
    # Not required here: the service checks name and phone, so every error shows at once.
    name = forms.CharField(label=_("Name"), required=False, max_length=50)
    phone = forms.CharField(label=_("Mobile phone"), required=False, max_length=32,
                            widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
                            help_text=_("+86, spaces and dashes are accepted."))
    id_number = forms.CharField(label=_("Resident ID number"), required=False, max_length=32,
                                widget=forms.TextInput(attrs={"autocomplete": "off"}))
    gender = forms.ChoiceField(label=_("Gender"), choices=Customer.Gender.choices, required=False)
    source = forms.ChoiceField(label=_("Source"), choices=Customer.Source.choices,
                               initial=Customer.Source.WALK_IN, required=False)
    related_customer_phone = forms.CharField(
        label=_("Related existing customer's mobile phone"), required=False, max_length=32,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
        help_text=_("Optional: a relative of, or brought by, an existing customer."))
    relation_kind = forms.ChoiceField(
        label=_("This person is the existing customer's"), required=False,
        choices=[("", _("— choose —")), *CustomerRelation.Kind.choices])
    notes = forms.CharField(label=_("Notes"), required=False, max_length=2000,
                            widget=forms.Textarea(attrs={"rows": 3}))
    claim_note = forms.CharField(
        label=_("Your account (for the manager)"), required=False, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("When and how you met this customer, and any evidence you have."))

    #: Service error keys -> this form's fields.
    SERVICE_FIELDS = {"claim": "claim_note"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        check_url = reverse("ownership:register_check")
        include = ", ".join(f"#id_{name}" for name in CHECK_FIELDS)
        for name in CHECK_FIELDS:
            self.fields[name].widget.attrs.update({
                "hx-get": check_url, "hx-trigger": "input changed delay:300ms",
                "hx-target": "#registration-check", "hx-include": include,
                "hx-sync": "#registration-check:replace",
            })
        for name in ("name", "phone"):
            self.fields[name].widget.attrs["required"] = True
            self.fields[name].mandatory = True  # shown with an asterisk

    def service_kwargs(self) -> dict:
        """What to pass to apps.ownership.registration.customer_register."""
        return dict(self.cleaned_data)
