"""HTML forms of the deal pages. They only parse input; the services validate and decide."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.forms import BootstrapFormMixin
from apps.core.identity import normalize_phone
from apps.customers.models import Customer
from apps.customers.selectors import editable_customers
from apps.tenancy.models import Staff

from .models import Contract, Deal, DealRole

DATE_WIDGET = {"type": "date"}


class DealForm(BootstrapFormMixin, forms.Form):
    """The deal itself (the participants are a formset beside it). Amounts are parsed by the
    service (so every error shows at once, in the same words as the API's)."""

    customer_phone = forms.CharField(
        label=gettext_lazy("Customer's mobile phone"), max_length=32,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
        help_text=gettext_lazy("The mobile number of one of your customers."))
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=Deal.Kind.choices,
                             initial=Deal.Kind.NEW)
    amount = forms.CharField(label=gettext_lazy("Amount (¥)"), max_length=20,
                             widget=forms.TextInput(attrs={"inputmode": "decimal",
                                                           "autocomplete": "off"}))
    signed_on = forms.DateField(label=gettext_lazy("Signing date"),
                                widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"))
    contract_number = forms.CharField(label=gettext_lazy("Contract number"), max_length=40,
                                      widget=forms.TextInput(attrs={"autocomplete": "off"}))
    units = forms.IntegerField(label=gettext_lazy("Units"), min_value=1, initial=1,
                               help_text=gettext_lazy("For group purchases: how many were bought."),
                               widget=forms.NumberInput(attrs={"inputmode": "numeric"}))
    teacher_raised = forms.BooleanField(
        label=gettext_lazy("The teacher raised it during the lessons"), required=False,
        initial=True,
        help_text=gettext_lazy("Referrals and course expansions: if not, the consultant who "
                               "closed it earns it all."))
    renews = forms.CharField(
        label=gettext_lazy("Contract renewed (number)"), max_length=40, required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "list": "renewable-contracts"}),
        help_text=gettext_lazy("Renewals: the number of the customer's contract this deal renews."))
    term_start = forms.DateField(label=gettext_lazy("Term start"), required=False,
                                 widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"))
    term_end = forms.DateField(label=gettext_lazy("Term end"), required=False,
                               widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"))
    hours_bought = forms.DecimalField(label=gettext_lazy("Hours bought"), required=False,
                                      max_digits=8, decimal_places=1, min_value=0,
                                      widget=forms.NumberInput(attrs={"inputmode": "decimal",
                                                                      "step": "0.5"}))
    notes = forms.CharField(label=gettext_lazy("Notes"), required=False, max_length=2000,
                            widget=forms.Textarea(attrs={"rows": 2}))

    #: Service error keys -> this form's fields.
    SERVICE_FIELDS = {"customer": "customer_phone"}

    def __init__(self, *args, staff: Staff, **kwargs):
        self.staff = staff
        self.customer: Customer | None = None
        self.renews_contract: Contract | None = None
        super().__init__(*args, **kwargs)
        for name in ("customer_phone", "amount", "signed_on", "contract_number"):
            self.fields[name].widget.attrs["required"] = True

    def clean_customer_phone(self):
        raw = self.cleaned_data["customer_phone"]
        try:
            phone = normalize_phone(raw)
        except ValidationError as exc:
            raise ValidationError(exc.messages)
        self.customer = (editable_customers(self.staff).select_related("owner", "team")
                         .filter(phone=phone).first())
        if self.customer is None:
            raise ValidationError(_("None of your customers has this number."))
        return phone

    def clean(self):
        cleaned = super().clean()
        number = (cleaned.get("renews") or "").strip()
        if number:
            self.renews_contract = Contract.objects.filter(number=number).first()
            if self.renews_contract is None:
                self.add_error("renews", _("Unknown contract."))
        return cleaned

    def service_kwargs(self) -> dict:
        """What to pass to deal_create (without participants)."""
        data = self.cleaned_data
        return {"customer": self.customer, "kind": data["kind"], "amount": data["amount"],
                "signed_on": data["signed_on"], "contract_number": data["contract_number"],
                "units": data["units"], "notes": data.get("notes", ""),
                "teacher_raised": data.get("teacher_raised", False),
                "renews": self.renews_contract, "term_start": data.get("term_start"),
                "term_end": data.get("term_end"), "hours_bought": data.get("hours_bought")}


class ParticipantForm(BootstrapFormMixin, forms.Form):
    staff = forms.ModelChoiceField(label=gettext_lazy("Staff member"), queryset=None,
                                   required=False, empty_label="—")
    role = forms.ChoiceField(label=gettext_lazy("Role"), required=False)
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=30, required=False,
                              widget=forms.TextInput(attrs={"placeholder": gettext_lazy(
                                  "Subject (teachers)")}))

    def __init__(self, *args, staff_choices=None, role_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        if staff_choices is not None:
            self.fields["staff"].queryset = staff_choices
        self.fields["staff"].error_messages["invalid_choice"] = _("Unknown staff member.")
        self.fields["role"].choices = [("", "—"), *role_choices]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("staff") and not cleaned.get("role"):
            self.add_error("role", _("Choose a role."))
        if cleaned.get("role") and not cleaned.get("staff"):
            self.add_error("staff", _("Choose a staff member."))
        return cleaned

    @property
    def row(self):
        """(staff, role code, subject), or None for an empty row."""
        data = getattr(self, "cleaned_data", {}) or {}
        if not data.get("staff"):
            return None
        return (data["staff"], data.get("role", ""), data.get("subject", ""))


class BaseParticipantFormSet(forms.BaseFormSet):
    def __init__(self, *args, staff_choices=None, role_choices=(), **kwargs):
        self.staff_choices = staff_choices
        self.role_choices = role_choices
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        kwargs = super().get_form_kwargs(index)
        kwargs.update(staff_choices=self.staff_choices, role_choices=self.role_choices)
        return kwargs

    @property
    def empty_form(self):
        form = self.form(auto_id=self.auto_id, prefix=self.add_prefix("__prefix__"),
                         empty_permitted=True, use_required_attribute=False,
                         staff_choices=self.staff_choices, role_choices=self.role_choices,
                         renderer=self.renderer)
        self.add_fields(form, None)
        return form

    def rows(self) -> list[tuple]:
        return [f.row for f in self.forms if f.row is not None]


ParticipantFormSet = forms.formset_factory(ParticipantForm, formset=BaseParticipantFormSet,
                                           extra=0, max_num=30, absolute_max=30,
                                           validate_max=True)


def participant_formset(data=None, *, initial=None, extra_rows: int = 0):
    """The participants formset with the tenant's active staff and roles (call inside the
    tenant's context). `extra_rows` adds empty rows (the "add a row" button)."""
    staff_choices = Staff.objects.filter(active=True).order_by("name")
    role_choices = [(r.code, r.name) for r in DealRole.objects.filter(active=True)
                    .order_by("order", "id")]
    if data is not None and extra_rows:
        data = data.copy()
        key = "participants-TOTAL_FORMS"
        try:
            total = int(data.get(key, 0))
        except (TypeError, ValueError):
            total = 0
        data[key] = str(min(total + extra_rows, 30))
    formset = ParticipantFormSet(data, prefix="participants", initial=initial,
                                 staff_choices=staff_choices, role_choices=role_choices)
    return formset


class RefundForm(BootstrapFormMixin, forms.Form):
    amount = forms.CharField(label=gettext_lazy("Amount refunded (¥)"), max_length=20,
                             widget=forms.TextInput(attrs={"inputmode": "decimal",
                                                           "autocomplete": "off"}))
    refunded_on = forms.DateField(label=gettext_lazy("Refund date"),
                                  widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"))
    reason = forms.CharField(label=gettext_lazy("Reason"), required=False,
                             widget=forms.Textarea(attrs={"rows": 3, "maxlength": 1000}))
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].mandatory = True
        self.fields["reason"].widget.attrs["required"] = True

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {"amount": data["amount"], "refunded_on": data["refunded_on"],
                "reason": data.get("reason", "")}


class NotesForm(BootstrapFormMixin, forms.Form):
    notes = forms.CharField(label=gettext_lazy("Notes"), required=False, max_length=2000,
                            widget=forms.Textarea(attrs={"rows": 3}))
