"""HTML forms (and query-parameter filters, shared with the API) of the renewals pages. They
parse input; the services validate and decide (their errors come back with add_service_errors)."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.dates import MONTHS
from django.utils.translation import gettext_lazy as _

from apps.core.forms import BootstrapFormMixin
from apps.core.identity import normalize_phone
from apps.customers.models import Customer
from apps.customers.selectors import visible_customers
from apps.deals import contracts
from apps.tenancy.models import Staff, Team
from apps.tenancy.roles import Role

from .selectors import MAX_WITHIN_DAYS, filter_owners, filter_teams

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class _ScopedFilters(BootstrapFormMixin, forms.Form):
    """Team and owner filters limited to what the viewer may filter by."""

    team = forms.ModelChoiceField(label=_("Team"), queryset=None, required=False,
                                  empty_label=_("Any team"))
    owner = StaffChoiceField(label=_("Salesperson"), queryset=None, required=False,
                             empty_label=_("Any salesperson"))

    def __init__(self, *args, staff: Staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = filter_teams(staff).order_by("name", "pk")
        self.fields["team"].error_messages["invalid_choice"] = _("Unknown team.")
        self.fields["owner"].queryset = filter_owners(staff).order_by("name", "pk")
        self.fields["owner"].error_messages["invalid_choice"] = _("Unknown staff member.")


class ExpiringFilterForm(_ScopedFilters):
    within = forms.IntegerField(label=_("Ending within (days)"), required=False, min_value=1,
                                max_value=MAX_WITHIN_DAYS)
    field_order = ["within", "team", "owner"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["within"].widget.attrs.update({"inputmode": "numeric", "min": 1,
                                                   "max": MAX_WITHIN_DAYS})


class ContractFilterForm(_ScopedFilters):
    search = forms.CharField(label=_("Search"), required=False, max_length=50,
                             help_text=_("Contract number, or the customer's name, mobile number "
                                         "or its last four digits"))
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[
        ("", _("Any status")),
        (contracts.STATUS_CURRENT, _("Current")),
        (contracts.STATUS_UPCOMING, _("Not started yet")),
        (contracts.STATUS_ENDED, _("Ended")),
        (contracts.STATUS_RENEWED, _("Renewed")),
        (contracts.STATUS_NOT_RENEWED, _("Not renewed"))])
    field_order = ["search", "status", "team", "owner"]


def filter_errors(form: forms.Form) -> dict:
    return {k: list(v) for k, v in form.errors.items()}


class ContractForm(BootstrapFormMixin, forms.Form):
    """A contract entered without a deal. The customer is named by their mobile number."""

    customer = forms.CharField(label=_("Customer's mobile number"), max_length=20,
                               widget=forms.TextInput(attrs={"inputmode": "tel",
                                                             "autocomplete": "off"}))
    number = forms.CharField(label=_("Contract number"), max_length=40)
    start = forms.DateField(label=_("Start"), widget=DATE_WIDGET)
    end = forms.DateField(label=_("End"), widget=DATE_WIDGET)
    amount = forms.DecimalField(label=_("Amount (yuan)"), max_digits=14, decimal_places=2,
                                widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    hours_bought = forms.DecimalField(label=_("Hours bought"), required=False, max_digits=8,
                                      decimal_places=1,
                                      help_text=_("Course businesses only; empty otherwise."),
                                      widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    notes = forms.CharField(label=_("Notes"), required=False,
                            widget=forms.Textarea(attrs={"rows": 3, "maxlength": 500}))

    def __init__(self, *args, staff: Staff, **kwargs):
        self.staff = staff
        super().__init__(*args, **kwargs)

    def clean_customer(self) -> Customer:
        """The visible customer with that mobile number (the same answer whether another one
        exists or not)."""
        try:
            phone = normalize_phone(self.cleaned_data["customer"])
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages)
        customer = visible_customers(self.staff).filter(phone=phone).first()
        if customer is None:
            raise forms.ValidationError(_("None of the customers you see has this mobile number."))
        return customer

    def service_kwargs(self) -> dict:
        return {f: self.cleaned_data.get(f) for f in
                ("customer", "number", "start", "end", "amount", "hours_bought", "notes")}


class ContractEditForm(BootstrapFormMixin, forms.Form):
    end = forms.DateField(label=_("End"), widget=DATE_WIDGET,
                          help_text=_("Extend the term, or correct its end (never before its "
                                      "start)."))
    notes = forms.CharField(label=_("Notes"), required=False,
                            widget=forms.Textarea(attrs={"rows": 3, "maxlength": 500}))


class HoursForm(BootstrapFormMixin, forms.Form):
    hours = forms.DecimalField(label=_("Hours consumed"), max_digits=8, decimal_places=1,
                               help_text=_("Hours to add; a negative number corrects a mistake."),
                               widget=forms.TextInput(attrs={"inputmode": "decimal"}))


class LeadDaysField(forms.CharField):
    """"30, 7" -> [30, 7] (commas, Chinese commas or spaces between the numbers)."""

    default_error_messages = {"invalid": _("Enter whole numbers of days separated by commas, "
                                           "e.g. 30, 7.")}

    def to_python(self, value):
        value = super().to_python(value)
        parts = [p for p in re.split(r"[\s,，、;；]+", value or "") if p]
        try:
            return [int(p) for p in parts]
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")

    def prepare_value(self, value):
        if isinstance(value, (list, tuple)):
            return ", ".join(str(v) for v in value)
        return value


class PolicyForm(BootstrapFormMixin, forms.Form):
    lead_days = LeadDaysField(
        label=_("Reminder lead days"), required=False,
        help_text=_("Days before a contract's end when its owner and the team's manager are "
                    "reminded, e.g. 30, 7 (at most 5 numbers, each 1 to 365)."))


class RateFilterForm(BootstrapFormMixin, forms.Form):
    year = forms.IntegerField(label=_("Year"), required=False, min_value=2000, max_value=2100)
    month = forms.TypedChoiceField(label=_("Month"), required=False, coerce=int,
                                   empty_value=None,
                                   choices=[("", _("Every month")),
                                            *sorted(MONTHS.items())])
    team = forms.ModelChoiceField(label=_("Team"), queryset=None, required=False,
                                  empty_label=_("Every team"))

    def __init__(self, *args, staff: Staff, **kwargs):
        super().__init__(*args, **kwargs)
        if staff.has_role(Role.ADMIN, Role.FINANCE):
            qs = Team.objects.all()
        elif staff.team_id is not None:
            qs = Team.objects.filter(pk=staff.team_id)
        else:
            qs = Team.objects.none()
        self.fields["team"].queryset = qs.order_by("name", "pk")
        self.fields["team"].error_messages["invalid_choice"] = _("Unknown team.")
        self.fields["year"].widget.attrs.update({"inputmode": "numeric"})
