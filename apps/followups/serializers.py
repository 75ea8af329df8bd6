"""Serializers of the follow-up API (thin: the services validate and write, the selectors and
apps.followups.myday read). Codes are plain strings with their values in the help text (a
"status" or "result" enum would collide with other components' enum names in the schema), each
with its display label next to it."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.customers.serializers import NamedRefSerializer

from .models import Channel, FollowUpTask, Purpose


def _codes(choices) -> str:
    return ", ".join(choices.values)


# --------------------------------------------------------------------------- a task


class FollowUpTaskSerializer(serializers.ModelSerializer):
    customer = NamedRefSerializer(read_only=True)
    assignee = NamedRefSerializer(read_only=True)
    team = serializers.IntegerField(source="team_id", read_only=True, allow_null=True,
                                    help_text=_("The assignee's team when the task was made."))
    channel = serializers.CharField(read_only=True, help_text=_codes(Channel))
    channel_label = serializers.CharField(source="get_channel_display", read_only=True)
    purpose = serializers.CharField(read_only=True, help_text=_codes(Purpose))
    purpose_label = serializers.CharField(source="get_purpose_display", read_only=True)
    status = serializers.CharField(read_only=True,
                                   help_text=_codes(FollowUpTask.Status))
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    result = serializers.CharField(read_only=True, help_text=_(
        "Empty while open or cancelled; else reached, refused, unreachable or failed."))
    result_label = serializers.CharField(source="get_result_display", read_only=True)
    completed_by = NamedRefSerializer(read_only=True, allow_null=True, help_text=_(
        "Who recorded the result or cancelled it (null: the system)."))
    parent = serializers.IntegerField(source="parent_id", read_only=True, allow_null=True,
                                      help_text=_("The follow-up this one follows (a retry, a "
                                                  "complaint after an unsatisfied visit)."))
    deal = serializers.IntegerField(source="deal_id", read_only=True, allow_null=True)
    contract = serializers.IntegerField(source="contract_id", read_only=True, allow_null=True)

    class Meta:
        model = FollowUpTask
        fields = ["id", "customer", "assignee", "team", "channel", "channel_label", "purpose",
                  "purpose_label", "due_at", "title", "status", "status_label", "result",
                  "result_label", "satisfaction", "result_notes", "next_step", "completed_at",
                  "completed_by", "cancel_reason", "attempt", "parent", "deal", "contract",
                  "created_at"]
        read_only_fields = fields


class FollowUpResultResponseSerializer(FollowUpTaskSerializer):
    follow_ups = serializers.ListField(child=serializers.IntegerField(), read_only=True,
                                       help_text=_("The ids of the follow-ups the result "
                                                   "created: a retry after an unreachable "
                                                   "call, a complaint after an unsatisfied "
                                                   "visit."))

    class Meta(FollowUpTaskSerializer.Meta):
        fields = [*FollowUpTaskSerializer.Meta.fields, "follow_ups"]
        read_only_fields = fields


# --------------------------------------------------------------------------- writes


class FollowUpCreateSerializer(serializers.Serializer):
    # Codes are checked by the service (its messages, every field error at once).
    customer = serializers.IntegerField(help_text=_("A customer you may see."))
    purpose = serializers.CharField(required=False, allow_blank=True, default="",
                                    help_text=_codes(Purpose))
    channel = serializers.CharField(required=False, allow_blank=True, default="",
                                    help_text=_codes(Channel))
    due_at = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                       help_text=_(
        "Default: the next calling window (phone), the deadline of a complaint or repair, "
        "else now. A phone call must be inside the calling windows."))
    assignee = serializers.IntegerField(required=False, allow_null=True, default=None,
                                        help_text=_(
        "Staff id. Default: you (sales, customer service) or the customer's owner."))
    title = serializers.CharField(required=False, allow_blank=True, default="",
                                  help_text=_("What to do (at most 200 characters)."))


class FollowUpResultSerializer(serializers.Serializer):
    result = serializers.CharField(required=False, allow_blank=True, default="",
                                   help_text=_codes(FollowUpTask.Result))
    satisfaction = serializers.IntegerField(required=False, allow_null=True, default=None,
                                            help_text=_(
        "1 to 5: required when the customer was reached, else left out."))
    notes = serializers.CharField(required=False, allow_blank=True, default="",
                                  trim_whitespace=False,
                                  help_text=_("What happened (required when refused or "
                                              "failed; at most 2000 characters)."))
    next_step = serializers.CharField(required=False, allow_blank=True, default="",
                                      help_text=_("At most 200 characters."))


class FollowUpCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="",
                                   help_text=_("Why it is cancelled (required)."))


# --------------------------------------------------------------------------- list filters


class DateOrDateTimeField(serializers.Field):
    """An ISO date (2026-10-01) or date and time (2026-10-01T10:00, with or without an
    offset); cleaned to ("date", date) or ("datetime", datetime, possibly naive)."""

    default_error_messages = {
        "invalid": _("Enter a date (YYYY-MM-DD) or a date and time (YYYY-MM-DDTHH:MM)."),
    }

    def to_internal_value(self, data):
        text = str(data).strip()
        try:
            day = parse_date(text)
            if day is not None:
                return ("date", day)
            moment = parse_datetime(text)
        except ValueError:
            moment = None
        if moment is None:
            self.fail("invalid")
        return ("datetime", moment)

    def to_representation(self, value):
        return value[1].isoformat()


class FollowUpFilterSerializer(serializers.Serializer):
    """The list's query parameters, cleaned for apps.followups.selectors.filter_tasks. A date
    is a day of the tenant's time zone: due_from from its start, due_to up to its end; a time
    without an offset is the tenant's time too. Needs context["time_zone"]."""

    status = serializers.ChoiceField(choices=FollowUpTask.Status.choices, required=False,
                                     allow_blank=True)
    purpose = serializers.ChoiceField(choices=Purpose.choices, required=False, allow_blank=True)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False, allow_blank=True)
    assignee = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    team = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    customer = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    due_from = DateOrDateTimeField(required=False, allow_null=True)
    due_to = DateOrDateTimeField(required=False, allow_null=True)
    overdue = serializers.BooleanField(required=False, default=False)

    def _moment(self, value, *, end: bool) -> dt.datetime | None:
        if not value:
            return None
        zone = zoneinfo.ZoneInfo(self.context["time_zone"])
        kind, when = value
        if kind == "date":
            return dt.datetime.combine(when + dt.timedelta(days=1 if end else 0), dt.time.min,
                                       zone)
        return timezone.make_aware(when, zone) if timezone.is_naive(when) else when

    def validate(self, attrs):
        attrs["due_from"] = self._moment(attrs.get("due_from"), end=False)
        attrs["due_to"] = self._moment(attrs.get("due_to"), end=True)
        if attrs["due_from"] and attrs["due_to"] and attrs["due_to"] <= attrs["due_from"]:
            raise serializers.ValidationError(
                {"due_to": [_("The end of the period is before its start.")]})
        return attrs


# --------------------------------------------------------------------------- my day


class CustomerContactSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    phone = serializers.CharField(read_only=True)


class CustomerFactsSerializer(serializers.Serializer):
    tier_name = serializers.CharField(read_only=True, help_text=_("Empty: no VIP tier."))
    last_deal_on = serializers.DateField(read_only=True, allow_null=True)
    last_deal_amount = serializers.DecimalField(max_digits=14, decimal_places=2,
                                                read_only=True, allow_null=True)
    open_complaint = serializers.BooleanField(read_only=True, help_text=_(
        "An open complaint follow-up of the customer."))


class DayWindowSerializer(serializers.Serializer):
    index = serializers.IntegerField(read_only=True, allow_null=True, help_text=_(
        "0-based calling window; null: outside the windows (e.g. an SMS)."))
    label = serializers.CharField(read_only=True, help_text=_("e.g. 10:00–11:30."))


class DayTaskSerializer(serializers.ModelSerializer):
    """An open follow-up of "my day", with the script for its purpose and the customer's key
    facts."""

    # Context: scripts (purpose → script), facts (customer id → CustomerFacts), windows (task
    # id → myday.Window, for today's tasks).

    customer = CustomerContactSerializer(read_only=True)
    channel = serializers.CharField(read_only=True, help_text=_codes(Channel))
    channel_label = serializers.CharField(source="get_channel_display", read_only=True)
    purpose = serializers.CharField(read_only=True, help_text=_codes(Purpose))
    purpose_label = serializers.CharField(source="get_purpose_display", read_only=True)
    script = serializers.SerializerMethodField(help_text=_("The script (话术) for the purpose."))
    facts = serializers.SerializerMethodField(help_text=_("The customer's key facts."))

    class Meta:
        model = FollowUpTask
        fields = ["id", "customer", "purpose", "purpose_label", "channel", "channel_label",
                  "due_at", "title", "attempt", "script", "facts"]
        read_only_fields = fields

    def get_script(self, task) -> str:
        return self.context["scripts"].get(task.purpose, "")

    @extend_schema_field(CustomerFactsSerializer)
    def get_facts(self, task) -> dict:
        return CustomerFactsSerializer(self.context["facts"][task.customer_id]).data


class DayTodayTaskSerializer(DayTaskSerializer):
    window = serializers.SerializerMethodField(help_text=_("The calling window it falls in."))

    class Meta(DayTaskSerializer.Meta):
        fields = [*DayTaskSerializer.Meta.fields, "window"]
        read_only_fields = fields

    @extend_schema_field(DayWindowSerializer)
    def get_window(self, task) -> dict:
        return DayWindowSerializer(self.context["windows"][task.pk]).data


class DayCountsSerializer(serializers.Serializer):
    overdue = serializers.IntegerField(read_only=True, help_text=_(
        "Every overdue open follow-up (the list shows at most 50)."))
    today = serializers.IntegerField(read_only=True)
    done_today = serializers.IntegerField(read_only=True)


class MyDaySerializer(serializers.Serializer):
    """One person's day: overdue, today's (by calling window) and upcoming open follow-ups."""

    # The schema of `my_day_data`, which builds the JSON.

    day = serializers.DateField(read_only=True)
    counts = DayCountsSerializer(read_only=True)
    windows = DayWindowSerializer(many=True, read_only=True, help_text=_(
        "Today's calling windows in order (and a last one without index for the tasks "
        "outside them)."))
    overdue = DayTaskSerializer(many=True, read_only=True, help_text=_("Oldest first."))
    today = DayTodayTaskSerializer(many=True, read_only=True, help_text=_(
        "By calling window, then due time."))
    upcoming = DayTaskSerializer(many=True, read_only=True, help_text=_(
        "The next 7 days, soonest first."))


def my_day_data(day) -> dict:
    """The JSON of a MyDay (apps.followups.myday.my_day)."""
    window_of = {task.pk: window for window in day.windows for task in window.tasks}
    context = {"scripts": day.scripts, "facts": day.facts, "windows": window_of}
    today = [task for window in day.windows for task in window.tasks]
    return {
        "day": day.day.isoformat(),
        "counts": {"overdue": day.overdue_count, "today": day.today_count,
                   "done_today": day.done_today},
        "windows": [{"index": w.index, "label": w.label} for w in day.windows],
        "overdue": DayTaskSerializer(day.overdue, many=True, context=context).data,
        "today": DayTodayTaskSerializer(today, many=True, context=context).data,
        "upcoming": DayTaskSerializer(day.upcoming, many=True, context=context).data,
    }
