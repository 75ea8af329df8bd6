"""API shapes of deals (thin: parsing and presentation; the services validate and decide)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from apps.customers.serializers import NamedRefSerializer

from .models import Deal, DealCredit, DealParticipant, Refund

# Kinds and sources are plain strings in the schema (an enum named "kind"/"source" collides
# with the customers' ones); the service refuses an unknown kind.
KIND_HELP = "One of: " + ", ".join(Deal.Kind.values) + "."
SOURCE_HELP = ("rules (the credit rule set, `rule_version`) or dispute (shares decided in a "
               "dispute; they take precedence).")


class DealContractRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    number = serializers.CharField(read_only=True)
    start = serializers.DateField(read_only=True)
    end = serializers.DateField(read_only=True)


class ParticipantSerializer(serializers.ModelSerializer):
    staff = NamedRefSerializer(read_only=True)
    role = serializers.CharField(source="role.code", read_only=True,
                                 help_text=_("The deal role's code (e.g. consultant)."))
    role_name = serializers.CharField(source="role.name", read_only=True)

    class Meta:
        model = DealParticipant
        fields = ["staff", "role", "role_name", "subject"]


class CreditSerializer(serializers.ModelSerializer):
    staff = NamedRefSerializer(read_only=True, allow_null=True, help_text=_(
        "Who earns the line; null for confiscated credit (nobody earns it)."))
    role = serializers.CharField(source="role_code", read_only=True)
    source = serializers.CharField(read_only=True, help_text=SOURCE_HELP)
    refund = serializers.IntegerField(source="refund_id", read_only=True, allow_null=True,
                                      help_text=_("Set on the negative lines a refund wrote."))

    class Meta:
        model = DealCredit
        fields = ["id", "staff", "role", "percent", "amount", "confiscated", "source",
                  "rule_version", "explanation", "refund"]


class RefundSerializer(serializers.ModelSerializer):
    created_by = NamedRefSerializer(read_only=True)
    reversals = serializers.SerializerMethodField(help_text=_(
        "The negative credit lines this refund wrote."))

    class Meta:
        model = Refund
        fields = ["id", "amount", "refunded_on", "reason", "created_by", "created_at",
                  "reversals"]

    def get_reversals(self, refund) -> list[dict]:
        lines = self.context.get("reversals", {}).get(refund.pk)
        if lines is None:
            lines = [c for c in refund.deal.credits.all() if c.refund_id == refund.pk]
        return CreditSerializer(lines, many=True).data


class DealSerializer(serializers.ModelSerializer):
    """A deal in a list: who, what, when, who took part."""

    customer = NamedRefSerializer(read_only=True)
    team = NamedRefSerializer(read_only=True, allow_null=True)
    owner = NamedRefSerializer(read_only=True, allow_null=True,
                               help_text=_("The customer's owner at signing."))
    kind = serializers.CharField(read_only=True, help_text=KIND_HELP)
    participants = ParticipantSerializer(many=True, read_only=True)
    net_amount = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)

    class Meta:
        model = Deal
        fields = ["id", "customer", "kind", "amount", "refunded_amount", "net_amount",
                  "signed_on", "contract_number", "units", "teacher_raised", "owner", "team",
                  "credit_rule_version", "participants", "created_at"]
        read_only_fields = fields


class DealDetailSerializer(DealSerializer):
    """One deal with its credit (who gets what and why), refunds and contracts."""

    created_by = NamedRefSerializer(read_only=True, allow_null=True)
    contract = DealContractRefSerializer(read_only=True, allow_null=True,
                                     help_text=_("The term this deal created."))
    renews = DealContractRefSerializer(read_only=True, allow_null=True,
                                   help_text=_("Renewals: the contract renewed."))
    credits = CreditSerializer(many=True, read_only=True, help_text=_(
        "Every credit line: the shares of the deal (refund null, summing to the amount) and "
        "the negative lines of its refunds."))
    refunds = RefundSerializer(many=True, read_only=True)

    class Meta(DealSerializer.Meta):
        fields = [*DealSerializer.Meta.fields, "notes", "contract", "renews",
                  "days_since_contract_start", "created_by", "credits", "refunds"]
        read_only_fields = fields


class ParticipantInSerializer(serializers.Serializer):
    staff = serializers.IntegerField(help_text=_("Staff id."))
    role = serializers.CharField(max_length=30, help_text=_("Deal role code, e.g. consultant."))
    subject = serializers.CharField(max_length=30, required=False, allow_blank=True, default="",
                                    help_text=_("Teachers: the subject."))


class DealCreateSerializer(serializers.Serializer):
    """What entering a deal takes. Amounts, dates and participants are checked by the service
    (every error at once, in the same words as on the pages)."""

    customer = serializers.IntegerField(help_text=_("Customer id (one the caller may change)."))
    kind = serializers.CharField(max_length=20, help_text=KIND_HELP)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2,
                                      help_text=_("More than 0, at most two decimals."))
    signed_on = serializers.DateField()
    contract_number = serializers.CharField(max_length=40)
    participants = ParticipantInSerializer(many=True, help_text=_(
        "Who took part: [{staff, role, subject}], at least one."))
    units = serializers.IntegerField(required=False, default=1)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    teacher_raised = serializers.BooleanField(required=False, default=True)
    renews = serializers.IntegerField(required=False, allow_null=True, default=None,
                                      help_text=_("Renewals: the id of the contract renewed."))
    term_start = serializers.DateField(required=False, allow_null=True, default=None)
    term_end = serializers.DateField(required=False, allow_null=True, default=None)
    hours_bought = serializers.DecimalField(max_digits=8, decimal_places=1, required=False,
                                            allow_null=True, default=None)


class DealNotesSerializer(serializers.Serializer):
    notes = serializers.CharField(allow_blank=True, help_text=_("At most 2000 characters."))


class RefundCreateSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2,
                                      help_text=_("More than 0 and at most what remains."))
    refunded_on = serializers.DateField()
    reason = serializers.CharField(allow_blank=True)
