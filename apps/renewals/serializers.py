"""API shapes of contracts, the expiring list, the renewal policy and the renewal rates
(parsing and presentation only; the services validate and decide)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from apps.customers.serializers import NamedRefSerializer
from apps.deals.models import Contract

from .models import RenewalPolicy, RenewalReminder


class RenewalContractRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    number = serializers.CharField(read_only=True)


class RenewalContractSerializer(serializers.ModelSerializer):
    customer = NamedRefSerializer(read_only=True)
    owner = NamedRefSerializer(read_only=True, allow_null=True)
    team = NamedRefSerializer(read_only=True, allow_null=True)
    renewed_by = RenewalContractRefSerializer(read_only=True, allow_null=True, help_text=_(
        "The contract a renewal created (null until renewed)."))

    class Meta:
        model = Contract
        fields = ["id", "number", "customer", "start", "end", "amount", "hours_bought",
                  "hours_consumed", "owner", "team", "renewed_by", "notes", "created_at"]


class ExpiringContractSerializer(RenewalContractSerializer):
    days_left = serializers.IntegerField(read_only=True, help_text=_(
        "end minus today (tenant time zone): 0 means the contract ends today."))

    class Meta(RenewalContractSerializer.Meta):
        fields = [*RenewalContractSerializer.Meta.fields, "days_left"]


class RenewalReminderSerializer(serializers.ModelSerializer):
    class Meta:
        model = RenewalReminder
        fields = ["lead_days", "sent_at"]


class RenewalContractDetailSerializer(RenewalContractSerializer):
    chain = serializers.SerializerMethodField(help_text=_(
        "The contracts renewed one after the other this one belongs to, oldest first."))
    reminders = serializers.SerializerMethodField()

    class Meta(RenewalContractSerializer.Meta):
        fields = [*RenewalContractSerializer.Meta.fields, "chain", "reminders"]

    def get_chain(self, obj) -> list[dict]:
        return [{"id": c.pk, "number": c.number, "start": c.start, "end": c.end,
                 "amount": str(c.amount)} for c in self.context["chain"]]

    def get_reminders(self, obj) -> list[dict]:
        return RenewalReminderSerializer(self.context["reminders"], many=True).data


class RenewalContractCreateSerializer(serializers.Serializer):
    """A contract entered without a deal. Amounts and hours are checked by the service, so
    every refusal comes back at once, keyed by field."""

    customer = serializers.IntegerField(help_text=_("The customer's id."))
    number = serializers.CharField(allow_blank=True)
    start = serializers.DateField()
    end = serializers.DateField()
    amount = serializers.DecimalField(max_digits=None, decimal_places=None)
    hours_bought = serializers.DecimalField(max_digits=None, decimal_places=None, required=False,
                                            allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True)


class RenewalContractUpdateSerializer(serializers.Serializer):
    end = serializers.DateField(required=False)
    notes = serializers.CharField(required=False, allow_blank=True)


class ContractHoursSerializer(serializers.Serializer):
    hours = serializers.DecimalField(max_digits=None, decimal_places=None, help_text=_(
        "Hours consumed to add (negative: a correction)."))


class RenewalPolicySerializer(serializers.ModelSerializer):
    lead_days = serializers.ListField(child=serializers.IntegerField(), allow_empty=True,
                                      help_text=_("Days before a contract's end (1 to 5 distinct "
                                                  "numbers, each 1 to 365)."))
    updated_by = NamedRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = RenewalPolicy
        fields = ["lead_days", "updated_by", "updated_at"]


class RenewalRateRowSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    month = serializers.IntegerField()
    team = serializers.SerializerMethodField()
    expiring = serializers.IntegerField(help_text=_("Contracts whose end falls in the month."))
    renewed = serializers.IntegerField(help_text=_("Of those, the ones renewed."))
    rate = serializers.DecimalField(max_digits=5, decimal_places=1, allow_null=True,
                                    help_text=_("renewed / expiring in %."))

    def get_team(self, row) -> dict | None:
        return {"id": row.team_id, "name": row.team_name} if row.team_id is not None else None
