"""Forms of the membership card pages (apps.vip.cards validates and writes; these only collect,
so a page and the API refuse the same input with the same messages). The list filters are
shared by the pages and the API (apps.core.filters.clean_filter_form)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.forms import BootstrapFormMixin, style_fields
from apps.referrals.forms_reports import MonthField as _MonthField

from .cards import NOTE_MAX, NUMBER_MAX
from .models import VipCard


def _number_field(**kw) -> forms.CharField:
    field = forms.CharField(
        label=_("Card number"), required=False, strip=False,
        help_text=_("Letters, digits and “-”, at most 30; unique in your company."),
        widget=forms.TextInput(attrs={"maxlength": NUMBER_MAX, "autocomplete": "off",
                                      "spellcheck": "false", "autocapitalize": "characters"}),
        **kw)
    field.mandatory = True  # the service says what is missing (templates show the asterisk)
    return field


def _note_field(label, *, mandatory: bool = False) -> forms.CharField:
    field = forms.CharField(label=label, required=False,
                            widget=forms.TextInput(attrs={"maxlength": NOTE_MAX}))
    field.mandatory = mandatory
    return field


class CardIssueForm(BootstrapFormMixin, forms.Form):
    number = _number_field()
    issued_on = forms.DateField(label=_("Issued on"), required=False,
                                widget=forms.DateInput(format="%Y-%m-%d",
                                                       attrs={"type": "date"}),
                                help_text=_("Default: today."))
    note = _note_field(_("Note"))


class CardReissueForm(BootstrapFormMixin, forms.Form):
    number = _number_field()
    note = _note_field(_("How was the card lost?"))


class CardVoidForm(BootstrapFormMixin, forms.Form):
    note = _note_field(_("Why is the card void?"), mandatory=True)


class CardFilterForm(BootstrapFormMixin, forms.Form):
    """The card list's filters. Tier and team are free values here (the page shows them as
    choices: `choice_filters`); an unknown one finds nothing."""

    search = forms.CharField(label=_("Search"), required=False, max_length=50,
                             widget=forms.TextInput(attrs={"placeholder": _(
                                 "Card number, customer name, mobile number or its last four "
                                 "digits")}))
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("Any status")), *VipCard.Status.choices])
    kind = forms.ChoiceField(label=_("Kind"), required=False,
                             choices=[("", _("Any kind")), *VipCard.Kind.choices])
    tier = forms.CharField(label=_("Tier"), required=False, max_length=20)
    team = forms.IntegerField(label=_("Team"), required=False, min_value=1)


class ToIssueFilterForm(BootstrapFormMixin, forms.Form):
    search = forms.CharField(label=_("Search"), required=False, max_length=50,
                             widget=forms.TextInput(attrs={"placeholder": _(
                                 "Customer name, mobile number or its last four digits")}))
    tier = forms.CharField(label=_("Tier"), required=False, max_length=20)
    team = forms.IntegerField(label=_("Team"), required=False, min_value=1)


def choice_filters(form: forms.Form, *, tiers: list[tuple[str, str]],
                   teams: list[tuple[int, str]] | None) -> forms.Form:
    """The page's filter form with tier and team as choices (`teams` None: no team filter)."""
    form.fields["tier"] = forms.ChoiceField(label=_("Tier"), required=False,
                                            choices=[("", _("Any tier")), *tiers])
    if teams is None:
        del form.fields["team"]
    else:
        form.fields["team"] = forms.TypedChoiceField(label=_("Team"), required=False, coerce=int,
                                                     choices=[("", _("Any team")), *teams])
    style_fields(form)
    return form


class MonthField(_MonthField):
    """A calendar month as YYYY-MM (or any day of it as YYYY-MM-DD); cleans to its first day."""

    input_formats = ["%Y-%m", "%Y-%m-%d"]

    def to_python(self, value):
        day = super().to_python(value)
        return day.replace(day=1) if day else day


class CardStatsForm(BootstrapFormMixin, forms.Form):
    month = MonthField(label=_("Month"), required=False)
