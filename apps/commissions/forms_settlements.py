"""Forms of the settlement and statement pages (apps.commissions.settlements validates and
writes; these only collect). The lines filter is shared by the page and the API
(apps.core.filters.clean_filter_form)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.forms import BootstrapFormMixin
from apps.referrals.forms_reports import MonthField as _MonthField

from .models import CommissionLine
from .rules import kind_name


class MonthField(_MonthField):
    """A calendar month as YYYY-MM (or any day of it as YYYY-MM-DD); cleans to its first day."""

    input_formats = ["%Y-%m", "%Y-%m-%d"]

    def to_python(self, value):
        day = super().to_python(value)
        return day.replace(day=1) if day else day


class SettlementCalculateForm(BootstrapFormMixin, forms.Form):
    month = MonthField(label=_("Month to calculate"))


class StatementMonthForm(BootstrapFormMixin, forms.Form):
    month = MonthField(label=_("Month"), required=False)


def line_kind_choices():
    return [(kind, kind_name(kind)) for kind, _label in CommissionLine.KIND_CHOICES]


class SettlementLineFilterForm(BootstrapFormMixin, forms.Form):
    """The lines list's filters: a person, a team, a kind, adjustments only. The person and
    team options of the page are narrowed to what the viewer may see
    (apps.core.forms.narrow_people_and_teams); any id the viewer cannot see finds nothing."""

    staff = forms.IntegerField(label=_("Person"), required=False, min_value=1)
    team = forms.IntegerField(label=_("Team"), required=False, min_value=1)
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[])
    adjustments = forms.BooleanField(label=_("Adjustments only"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("Every kind")), *line_kind_choices()]


class TeamApproveForm(BootstrapFormMixin, forms.Form):
    team = forms.ModelChoiceField(label=_("Team"), queryset=None,
                                  empty_label=None)
    note = forms.CharField(label=_("Note"), required=False, max_length=200,
                           widget=forms.TextInput(attrs={"maxlength": 200}))

    def __init__(self, *args, teams=None, **kwargs):
        super().__init__(*args, **kwargs)
        if teams is not None:
            self.fields["team"].queryset = teams


class SettlementNoteForm(BootstrapFormMixin, forms.Form):
    note = forms.CharField(label=_("Note"), required=False, max_length=200,
                           widget=forms.TextInput(attrs={"maxlength": 200}))
