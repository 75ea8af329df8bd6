"""API shapes of disputes (thin: parsing and presentation; the services validate and decide)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.customers.serializers import NamedRefSerializer

from . import rules
from .models import Dispute, DisputeEvidence, DisputeShare
from .selectors import allowed_actions


class ShareSerializer(serializers.ModelSerializer):
    staff = NamedRefSerializer(read_only=True)

    class Meta:
        model = DisputeShare
        fields = ["staff", "percent"]


class EvidenceSerializer(serializers.ModelSerializer):
    uploaded_by = NamedRefSerializer(read_only=True)
    download_url = serializers.SerializerMethodField(help_text=_(
        "Where the file is downloaded (API); only for who may see the dispute."))

    class Meta:
        model = DisputeEvidence
        fields = ["id", "original_name", "content_type", "size", "note", "uploaded_by",
                  "uploaded_at", "download_url"]

    def get_download_url(self, obj) -> str:
        return reverse("dispute-evidence-file", args=[obj.dispute_id, obj.pk])


class DisputeSerializer(serializers.ModelSerializer):
    customer = NamedRefSerializer(read_only=True)
    owner = NamedRefSerializer(read_only=True)
    claimant = NamedRefSerializer(read_only=True)
    team = NamedRefSerializer(read_only=True, allow_null=True)
    opened_by = NamedRefSerializer(read_only=True, allow_null=True)
    proposed_by = NamedRefSerializer(read_only=True, allow_null=True)
    escalated_by = NamedRefSerializer(read_only=True, allow_null=True)
    decided_owner = NamedRefSerializer(read_only=True, allow_null=True)
    decided_by = NamedRefSerializer(read_only=True, allow_null=True)
    # "" until decided; declared so that the schema's enum admits it.
    outcome = serializers.ChoiceField(choices=Dispute.Outcome.choices, allow_blank=True,
                                      read_only=True, label=_("outcome"))
    proposed_shares = serializers.SerializerMethodField()
    decided_shares = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField(help_text=_(
        "The steps the caller may take now: propose, reject, approve, decide, escalate, "
        "withdraw, evidence."))

    class Meta:
        model = Dispute
        fields = ["id", "customer", "owner", "claimant", "team", "status", "claim", "opened_by",
                  "opened_at", "proposed_by", "proposed_at", "proposal_note", "escalated_by",
                  "escalated_at", "escalation_reason", "outcome", "rule", "decision_note",
                  "decided_owner", "decided_by", "decided_at", "proposed_shares",
                  "decided_shares", "allowed_actions"]
        read_only_fields = fields

    def _shares(self, obj, stage):
        rows = [s for s in obj.shares.all() if s.stage == stage]
        rows.sort(key=lambda s: (-s.percent, s.pk))
        return ShareSerializer(rows, many=True).data

    @extend_schema_field(ShareSerializer(many=True))
    def get_proposed_shares(self, obj):
        return self._shares(obj, DisputeShare.Stage.PROPOSED)

    @extend_schema_field(ShareSerializer(many=True))
    def get_decided_shares(self, obj):
        return self._shares(obj, DisputeShare.Stage.DECIDED)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_allowed_actions(self, obj) -> list[str]:
        request = self.context.get("request")
        staff = getattr(getattr(request, "_request", request), "staff", None)
        return sorted(allowed_actions(staff, obj)) if staff is not None else []


class DisputeDetailSerializer(DisputeSerializer):
    evidence = EvidenceSerializer(many=True, read_only=True)

    class Meta(DisputeSerializer.Meta):
        fields = [*DisputeSerializer.Meta.fields, "evidence"]
        read_only_fields = fields


class ShareInputSerializer(serializers.Serializer):
    staff_id = serializers.IntegerField(help_text=_("One of the two parties."))
    percent = serializers.DecimalField(max_digits=7, decimal_places=2,
                                       help_text=_("Percentage, at most two decimals."))


class ProposeSerializer(serializers.Serializer):
    shares = ShareInputSerializer(many=True, help_text=_(
        "The two parties' shares: none negative, together exactly 100."))
    note = serializers.CharField(required=False, allow_blank=True, default="")


class DecideSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Dispute.Outcome.choices, required=False,
                                      allow_blank=True, default="", help_text=_(
                                          "May be left out when a rule is given."))
    shares = ShareInputSerializer(many=True, required=False, help_text=_(
        "For a split: the two parties' shares, none negative, together exactly 100."))
    rule = serializers.ChoiceField(choices=rules.rule_choices(), required=False,
                                   allow_blank=True, default="",
                                   help_text=_("A default rule: it fixes the decision."))
    decided_owner_id = serializers.IntegerField(required=False, allow_null=True, help_text=_(
        "The party who keeps the customer record after a split or confiscation (default: the "
        "current owner)."))
    winner = serializers.ChoiceField(choices=[(s, s) for s in rules.SIDES], required=False,
                                     help_text=_("Rules earlier_old_customer_deal and "
                                                 "named_salesperson: the side they favour."))
    revisit = serializers.ChoiceField(choices=[(rules.REVISIT_WITHIN, rules.REVISIT_WITHIN),
                                               (rules.REVISIT_AFTER, rules.REVISIT_AFTER)],
                                      required=False,
                                      help_text=_("Rule revisit_30_days: when the second "
                                                  "visit came."))
    units = serializers.IntegerField(required=False, help_text=_(
        "Rule group_purchase: the units bought (5 or more)."))
    note = serializers.CharField(required=False, allow_blank=True, default="",
                                 help_text=_("The reasons for the decision (required)."))


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class EscalateSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="",
                                   help_text=_("Why it goes to the company (required)."))


class EvidenceUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, help_text=_(
        "JPEG, PNG, WebP or GIF image, or PDF; checked by content."))
    note = serializers.CharField(required=False, allow_blank=True, default="")
