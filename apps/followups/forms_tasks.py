"""Forms of the follow-up pages (apps.followups.services validates and writes; these only
collect, so a page and the API refuse the same input with the same messages). The list's
filter form is shared with the API (apps.core.filters.clean_filter_form + `filter_kwargs`)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.forms import BootstrapFormMixin
from apps.core.identity import normalize_phone
from apps.customers.selectors import visible_customers
from apps.tenancy.models import Staff, Tenant

from .models import Channel, FollowUpTask, Purpose
from .myday import day_bounds

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class TenantDateTimeField(forms.DateTimeField):
    """A date and time typed in the tenant's time zone (an <input type="datetime-local">):
    `zone` is set by the form; aware values are shown in it too."""

    zone: dt.tzinfo | None = None
    input_formats = [DATETIME_LOCAL, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M",
                     "%Y-%m-%d %H:%M:%S"]

    def _zone(self) -> dt.tzinfo:
        return self.zone or timezone.get_current_timezone()

    def to_python(self, value):
        with timezone.override(self._zone()):
            return super().to_python(value)

    def prepare_value(self, value):
        with timezone.override(self._zone()):
            return super().prepare_value(value)


def _mandatory(field: forms.Field) -> forms.Field:
    field.mandatory = True  # the service says what is missing (templates show the asterisk)
    return field


class TaskForm(BootstrapFormMixin, forms.Form):
    """A new follow-up. The customer comes as an id (from the customer's page: ?customer=<pk>)
    or as one of the viewer's customers' mobile number; everything else is checked by
    services.task_create."""

    customer = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    customer_phone = _mandatory(forms.CharField(
        label=gettext_lazy("Customer's mobile phone"), max_length=32, required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
        help_text=gettext_lazy("The mobile number of one of your customers.")))
    purpose = _mandatory(forms.CharField(
        label=gettext_lazy("Purpose"), required=False,
        widget=forms.Select(choices=[("", "—"), *Purpose.choices])))
    channel = _mandatory(forms.CharField(
        label=gettext_lazy("Channel"), required=False, initial=Channel.PHONE,
        widget=forms.Select(choices=[("", "—"), *Channel.choices])))
    due_at = TenantDateTimeField(
        label=gettext_lazy("Due"), required=False,
        widget=forms.DateTimeInput(format=DATETIME_LOCAL, attrs={"type": "datetime-local"}),
        help_text=gettext_lazy("Empty: calls at the next calling window, complaints and "
                               "repairs at their deadline, anything else now."))
    assignee = forms.TypedChoiceField(label=gettext_lazy("Assigned to"), required=False,
                                      coerce=int, empty_value=None, choices=[])
    title = forms.CharField(label=gettext_lazy("What to do"), required=False, max_length=200,
                            widget=forms.TextInput(attrs={"maxlength": 200}))

    #: Service error keys -> this form's fields.
    SERVICE_FIELDS = {"customer": "customer_phone"}

    def __init__(self, data=None, *, staff: Staff, tenant: Tenant,
                 assignees: list[tuple[int, str]] | None, **kwargs):
        self.staff = staff
        super().__init__(data, **kwargs)
        self.fields["due_at"].zone = zoneinfo.ZoneInfo(tenant.time_zone)
        if assignees is None:
            del self.fields["assignee"]
        else:
            self.fields["assignee"].choices = [
                ("", _("Default (me, or the customer's owner)")), *assignees]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("customer") is None and cleaned.get("customer_phone"):
            try:
                phone = normalize_phone(cleaned["customer_phone"])
            except ValidationError as exc:
                self.add_error("customer_phone", exc.messages)
                return cleaned
            pk = (visible_customers(self.staff).filter(phone=phone)
                  .values_list("pk", flat=True).first())
            if pk is None:
                self.add_error("customer_phone", _("None of your customers has this number."))
            cleaned["customer"] = pk
        return cleaned

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {"customer": data.get("customer"), "purpose": data.get("purpose", ""),
                "channel": data.get("channel", ""), "due_at": data.get("due_at"),
                "assignee": data.get("assignee"), "title": data.get("title", "")}


class TaskResultForm(BootstrapFormMixin, forms.Form):
    """The result of a follow-up (services.task_complete says what each result needs)."""

    # Free text with choice widgets: an unknown value gets the service's message.
    result = _mandatory(forms.CharField(
        label=gettext_lazy("Result"), required=False,
        widget=forms.RadioSelect(choices=FollowUpTask.Result.choices)))
    satisfaction = forms.CharField(
        label=gettext_lazy("Satisfaction (when reached)"), required=False,
        widget=forms.RadioSelect(choices=[(str(n), str(n)) for n in range(1, 6)]),
        help_text=gettext_lazy("1: very unsatisfied … 5: very satisfied."))
    notes = forms.CharField(label=gettext_lazy("Notes"), required=False, max_length=2000,
                            widget=forms.Textarea(attrs={"rows": 3, "maxlength": 2000}),
                            help_text=gettext_lazy("Refused or failed: say what happened."))
    next_step = forms.CharField(label=gettext_lazy("Next step"), required=False, max_length=200,
                                widget=forms.TextInput(attrs={"maxlength": 200}))
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {"result": data.get("result", ""), "satisfaction": data.get("satisfaction") or None,
                "notes": data.get("notes", ""), "next_step": data.get("next_step", "")}


class TaskCancelForm(BootstrapFormMixin, forms.Form):
    reason = _mandatory(forms.CharField(
        label=gettext_lazy("Why is it cancelled?"), required=False, max_length=200,
        widget=forms.TextInput(attrs={"maxlength": 200, "required": True})))


class TaskFilterForm(BootstrapFormMixin, forms.Form):
    """The follow-ups list's filters (query parameters). Assignee, team and customer are free
    ids here (the page shows the first two as choices); they only narrow what the viewer sees,
    so an id outside it finds nothing. Dates are days of the tenant's calendar."""

    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False,
                               choices=[("", gettext_lazy("Any status")),
                                        *FollowUpTask.Status.choices])
    purpose = forms.ChoiceField(label=gettext_lazy("Purpose"), required=False,
                                choices=[("", gettext_lazy("Any purpose")), *Purpose.choices])
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), required=False,
                                choices=[("", gettext_lazy("Any channel")), *Channel.choices])
    assignee = forms.IntegerField(label=gettext_lazy("Assigned to"), required=False,
                                  min_value=1)
    team = forms.IntegerField(label=gettext_lazy("Team"), required=False, min_value=1)
    customer = forms.IntegerField(label=gettext_lazy("Customer"), required=False, min_value=1,
                                  widget=forms.HiddenInput)
    due_from = forms.DateField(label=gettext_lazy("Due from"), required=False,
                               widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}))
    due_to = forms.DateField(label=gettext_lazy("Due to"), required=False,
                             widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}))
    overdue = forms.BooleanField(label=gettext_lazy("Overdue only"), required=False)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("due_from"), cleaned.get("due_to")
        if start and end and start > end:
            self.add_error("due_to", _("The end date is before the start date."))
        return cleaned


def filter_kwargs(cleaned: dict, tenant: Tenant) -> dict:
    """selectors.filter_tasks's keyword arguments from TaskFilterForm's cleaned values: the
    days become the tenant's local day bounds (due_to: the whole day, exclusive end)."""
    due_from, due_to = cleaned.get("due_from"), cleaned.get("due_to")
    return {"status": cleaned.get("status", ""), "purpose": cleaned.get("purpose", ""),
            "channel": cleaned.get("channel", ""), "assignee": cleaned.get("assignee"),
            "team": cleaned.get("team"), "customer": cleaned.get("customer"),
            "due_from": day_bounds(tenant, due_from)[0] if due_from else None,
            "due_to": day_bounds(tenant, due_to)[1] if due_to else None,
            "overdue": bool(cleaned.get("overdue"))}
