"""API shapes of the rotation (thin: parsing and presentation; the services decide)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from apps.customers.serializers import NamedRefSerializer
from apps.ownership.models import Visit

from .models import DutySignIn


class SignInSerializer(serializers.ModelSerializer):
    team = NamedRefSerializer(read_only=True)
    staff = NamedRefSerializer(read_only=True)
    is_next = serializers.SerializerMethodField(
        help_text=_("Whether the next walk-in of the rotation goes to this person."))

    class Meta:
        model = DutySignIn
        fields = ["id", "team", "staff", "day", "position", "status", "signed_in_at",
                  "status_changed_at", "last_served_at", "served_count", "is_next"]
        read_only_fields = fields

    def get_is_next(self, obj) -> bool:
        return obj.pk == self.context.get("next_id")


class WalkInRowSerializer(serializers.Serializer):
    """One of the day's walk-ins (customer names masked unless the caller may see them)."""

    id = serializers.IntegerField(source="visit.pk")
    at = serializers.DateTimeField(source="visit.at")
    customer = serializers.SerializerMethodField()
    # A plain string (not an enum) in the schema: another "kind" enum would collide in names.
    kind = serializers.CharField(source="visit.kind",
                                 help_text="One of: " + ", ".join(Visit.Kind.values) + ".")
    route = serializers.CharField(source="visit.route")
    explanation = serializers.CharField()
    attributed_to = NamedRefSerializer(source="visit.attributed_to", allow_null=True)
    received_by = NamedRefSerializer(source="visit.received_by", allow_null=True)
    courtesy = serializers.BooleanField(source="visit.courtesy")
    named_staff = NamedRefSerializer(source="visit.named_staff", allow_null=True)
    brought_by = serializers.CharField(source="brought_by_name",
                                       help_text=_("The old customer who brought them ('' if none)."))

    def get_customer(self, row) -> dict:
        return {"id": row.visit.customer_id, "name": row.customer_name}


class BoardSerializer(serializers.Serializer):
    team = NamedRefSerializer()
    day = serializers.DateField()
    next_sign_in_id = serializers.IntegerField(allow_null=True)
    sign_ins = SignInSerializer(many=True)
    walk_ins = WalkInRowSerializer(many=True)


class SignInCreateSerializer(serializers.Serializer):
    team_id = serializers.IntegerField(required=False, allow_null=True,
                                       help_text=_("Default: the caller's team."))
    staff_id = serializers.IntegerField(required=False, allow_null=True,
                                        help_text=_("Default: the caller (managers may sign in "
                                                    "members of their team)."))


class StatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=DutySignIn.Status.choices)


class WalkInCreateSerializer(serializers.Serializer):
    team_id = serializers.IntegerField(required=False, allow_null=True,
                                       help_text=_("Default: the caller's team."))
    name = serializers.CharField(required=False, allow_blank=True, default="",
                                 help_text=_("Needed for a new customer."))
    phone = serializers.CharField(max_length=32,
                                  help_text=_("Mainland mobile number; +86, spaces and dashes "
                                              "are accepted."))
    named_staff_id = serializers.IntegerField(required=False, allow_null=True,
                                              help_text=_("The salesperson the customer asks for."))
    brought_by_phone = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=32,
        help_text=_("Mobile number of the old customer who brought them (老带新)."))
    id_number = serializers.CharField(required=False, allow_blank=True, default="", max_length=32)
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class RouteSerializer(serializers.Serializer):
    code = serializers.CharField()
    explanation = serializers.CharField()
    attributed_to = NamedRefSerializer()
    received_by = NamedRefSerializer()
    courtesy = serializers.BooleanField()
    consumes_turn = serializers.BooleanField()


class WalkInResultSerializer(serializers.Serializer):
    visit_id = serializers.IntegerField()
    customer = NamedRefSerializer(help_text=_("Name masked unless the caller may see them."))
    created = serializers.BooleanField(help_text=_("A new customer was registered."))
    route = RouteSerializer()
