"""HTML forms. They only parse input; the services validate and decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.forms import BootstrapFormMixin
from apps.core.identity import mask_id_number
from apps.tenancy.models import Staff, Team

from .models import Customer, CustomerRelation
from .selectors import assignable_owners, assignable_teams, can_see_full_id_number
from .services import team_of


class CustomerForm(BootstrapFormMixin, forms.Form):
    # Text fields are not length- or required-checked here: the service does it, so every
    # error (duplicates, phone, ID, lengths) shows at once. The browser still gets
    # `required` / `maxlength` (see __init__).
    name = forms.CharField(label=_("Name"), required=False)
    phone = forms.CharField(label=_("Mobile phone"), required=False,
                            widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
                            help_text=_("+86, spaces and dashes are accepted."))
    id_number = forms.CharField(label=_("Resident ID number"), required=False,
                                widget=forms.TextInput(attrs={"autocomplete": "off"}))
    gender = forms.ChoiceField(label=_("Gender"), choices=Customer.Gender.choices, required=False)
    birthday = forms.DateField(label=_("Birthday"), required=False,
                               widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    address = forms.CharField(label=_("Address"), required=False)
    source = forms.ChoiceField(label=_("Source"), choices=Customer.Source.choices,
                               initial=Customer.Source.WALK_IN)
    grade = forms.ChoiceField(label=_("Grade"), choices=Customer.Grade.choices, required=False)
    tags = forms.CharField(label=_("Tags"), required=False, max_length=500,
                           help_text=_("Separate tags with commas."))
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=None, required=False,
                                   empty_label=_("— no owner —"))
    team = forms.ModelChoiceField(label=_("Team"), queryset=None, required=False,
                                  empty_label=_("— follows the owner —"))

    def __init__(self, *args, staff: Staff, customer: Customer | None = None, **kwargs):
        self.staff = staff
        self.customer = customer
        if customer is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_for(customer, staff)
        super().__init__(*args, **kwargs)
        owners = assignable_owners(staff)
        teams = assignable_teams(staff)
        if customer is not None:
            # The current owner/team stay selectable even if outside what staff may assign.
            if customer.owner_id:
                owners = owners | Staff.objects.filter(pk=customer.owner_id)
            if customer.team_id:
                teams = teams | Team.objects.filter(pk=customer.team_id)
        if staff.is_admin or staff.is_manager:
            self.fields["owner"].queryset = owners.order_by("name")
            self.fields["team"].queryset = teams.order_by("name")
        else:
            # Sales own what they register; customer service registers unowned customers.
            del self.fields["owner"]
            del self.fields["team"]
        if customer is not None and customer.id_number and not can_see_full_id_number(staff):
            self.fields["id_number"].help_text = _(
                "On file: %(masked)s. Leave empty to keep it.") % {
                "masked": mask_id_number(customer.id_number)}
        for name, maxlength in (("name", 50), ("phone", 20), ("id_number", 20), ("address", 200),
                                ("notes", 2000)):
            self.fields[name].widget.attrs["maxlength"] = maxlength
        for name in ("name", "phone"):
            self.fields[name].widget.attrs["required"] = True
            self.fields[name].mandatory = True  # shown with an asterisk

    @staticmethod
    def initial_for(customer: Customer, staff: Staff) -> dict:
        return {
            "name": customer.name, "phone": customer.phone,
            "id_number": customer.id_number if can_see_full_id_number(staff) else "",
            "gender": customer.gender, "birthday": customer.birthday, "address": customer.address,
            "source": customer.source, "grade": customer.grade, "tags": ", ".join(customer.tags),
            "notes": customer.notes, "owner": customer.owner_id, "team": customer.team_id,
        }

    def service_kwargs(self) -> dict:
        """What to pass to customer_create / customer_update."""
        data = dict(self.cleaned_data)
        if self.customer is not None:
            if not data.get("id_number") and not can_see_full_id_number(self.staff):
                data.pop("id_number", None)  # hidden from non-admins: empty keeps it
        if "team" in data and data["team"] is None:
            # "Follows the owner": the owner's team (the service derives it for a new owner).
            owner = data.get("owner")
            if self.customer is None or owner != self.customer.owner:
                data.pop("team")
            else:
                data["team"] = team_of(owner)
        return data


class RelationForm(BootstrapFormMixin, forms.Form):
    kind = forms.ChoiceField(label=_("This customer is the"), choices=CustomerRelation.Kind.choices)
    related_phone = forms.CharField(label=_("of the customer with mobile phone"), max_length=32,
                                    widget=forms.TextInput(attrs={"inputmode": "tel"}))

    #: Service error keys -> this form's fields (for apps.core.forms.add_service_errors).
    SERVICE_FIELDS = {"related": "related_phone"}
