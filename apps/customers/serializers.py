"""API shapes (thin: parsing and presentation; the services validate and decide)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from apps.core.identity import mask_id_number

from .models import Customer, CustomerRelation
from .selectors import can_see_full_id_number


class NamedRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class CustomerSerializer(serializers.ModelSerializer):
    # Lengths are checked by the service (so that every field error comes back at once), and
    # phone/ID are wider than their columns: the service normalises "+86 138-0013-8000".
    name = serializers.CharField(label=_("name"), help_text=_("At most 50 characters."))
    address = serializers.CharField(required=False, allow_blank=True, label=_("address"),
                                    help_text=_("At most 200 characters."))
    notes = serializers.CharField(required=False, allow_blank=True, label=_("notes"),
                                  help_text=_("At most 2000 characters."))
    phone = serializers.CharField(max_length=32, label=_("mobile phone"),
                                  help_text=_("Mainland mobile number; +86, spaces and dashes are accepted."))
    id_number = serializers.CharField(
        max_length=32, required=False, allow_blank=True, label=_("resident ID number"),
        help_text=_("Shown masked (110105********0021) unless the caller is a tenant administrator. "
                    "Sending the masked value back keeps the number unchanged."))
    tags = serializers.ListField(child=serializers.CharField(max_length=20), required=False,
                                 label=_("tags"))
    owner = NamedRefSerializer(read_only=True, allow_null=True)
    team = NamedRefSerializer(read_only=True, allow_null=True)
    owner_id = serializers.IntegerField(required=False, allow_null=True, write_only=True,
                                        label=_("owner"), help_text=_("Staff id; null for no owner."))
    team_id = serializers.IntegerField(required=False, allow_null=True, write_only=True,
                                       label=_("team"), help_text=_("Team id; null to follow the owner."))
    created_by = NamedRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Customer
        fields = ["id", "name", "phone", "id_number", "gender", "birthday", "address", "source",
                  "grade", "tags", "notes", "owner", "team", "owner_id", "team_id", "created_by",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators = []  # uniqueness is checked by the service (with a visibility-aware message)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        request = self.context.get("request")
        staff = getattr(getattr(request, "_request", request), "staff", None)
        if not can_see_full_id_number(staff):
            data["id_number"] = mask_id_number(instance.id_number)
        return data


class RelationSerializer(serializers.Serializer):
    """A relation seen from the customer in the URL: `kind` is what `other` is to that customer."""

    id = serializers.IntegerField(read_only=True, source="relation.pk")
    other = NamedRefSerializer(read_only=True, help_text=_(
        "The other customer (name masked when the caller may not see them)."))
    kind = serializers.ChoiceField(choices=CustomerRelation.Kind.choices, read_only=True)
    direction = serializers.ChoiceField(
        choices=[("outgoing", "outgoing"), ("incoming", "incoming")], read_only=True,
        help_text=_("outgoing: recorded on this customer; incoming: recorded on the other one."))
    created_at = serializers.DateTimeField(read_only=True, source="relation.created_at")


class RelationCreateSerializer(serializers.Serializer):
    related_id = serializers.IntegerField(help_text=_("The other customer's id."))
    kind = serializers.ChoiceField(choices=CustomerRelation.Kind.choices,
                                   help_text=_("What the customer in the URL is to the related one "
                                               "(e.g. parent: this customer is the related one's parent)."))
