"""HTML forms of the rotation board. They only parse input; the services validate and decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from apps.core.forms import BootstrapFormMixin
from apps.tenancy.models import Team

from .selectors import rotation_members


class WalkInForm(BootstrapFormMixin, forms.Form):
    # Required-ness and lengths are checked by the service, so every error shows at once.
    name = forms.CharField(label=pgettext_lazy("customer", "Name"), required=False,
                           widget=forms.TextInput(attrs={"maxlength": 50, "autocomplete": "off"}))
    phone = forms.CharField(label=_("Mobile phone"), required=False, widget=forms.TextInput(
        attrs={"inputmode": "tel", "autocomplete": "off", "maxlength": 20}))
    named_staff = forms.ModelChoiceField(label=_("Asks for salesperson"), queryset=None,
                                         required=False, empty_label=_("— nobody named —"))
    brought_by_phone = forms.CharField(
        label=_("Brought by an old customer (their mobile phone)"), required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off",
                                      "maxlength": 20}))
    id_number = forms.CharField(label=_("Resident ID number"), required=False,
                                widget=forms.TextInput(attrs={"autocomplete": "off",
                                                              "maxlength": 20}))
    notes = forms.CharField(label=_("Notes"), required=False,
                            widget=forms.Textarea(attrs={"rows": 2, "maxlength": 500}))

    #: Service error keys -> this form's fields.
    SERVICE_FIELDS = {"brought_by": "brought_by_phone"}

    def __init__(self, *args, team: Team, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["named_staff"].queryset = rotation_members(team)
        self.fields["named_staff"].error_messages["invalid_choice"] = _(
            "Choose an active salesperson.")
        for name in ("name", "phone"):
            self.fields[name].widget.attrs["required"] = True
            self.fields[name].mandatory = True

