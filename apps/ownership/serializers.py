"""API shapes of the policy, pool, expiring, return, reassignment and history endpoints
(parsing and presentation only; the services validate and decide)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from apps.customers.models import Customer, OwnershipChange
from apps.customers.serializers import NamedRefSerializer

from .models import OwnershipPolicy


class PolicySerializer(serializers.ModelSerializer):
    """A version of the ownership policy. On POST the numbers are checked by the service
    (rules.PolicyRules) so every refusal comes back at once, keyed by field."""

    effective_from = serializers.DateField(help_text=_("Today or a later day (tenant time zone)."))
    release_after_days = serializers.IntegerField()
    revisit_window_days = serializers.IntegerField()
    warn_before_days = serializers.IntegerField()
    max_customers_per_owner = serializers.IntegerField(required=False, allow_null=True,
                                                       help_text=_("Empty: no cap."))
    daily_claim_cap = serializers.IntegerField(required=False, allow_null=True,
                                               help_text=_("Empty: no cap."))
    reclaim_after_days = serializers.IntegerField()
    note = serializers.CharField(required=False, allow_blank=True)
    created_by = NamedRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = OwnershipPolicy
        fields = ["id", "version", "effective_from", "release_after_days", "revisit_window_days",
                  "warn_before_days", "max_customers_per_owner", "daily_claim_cap",
                  "reclaim_after_days", "note", "created_by", "created_at"]
        read_only_fields = ["id", "version", "created_at"]
        validators = []  # one version per day: the service says so with a field error


class ExpiringCustomerSerializer(serializers.ModelSerializer):
    owner = NamedRefSerializer(read_only=True, allow_null=True)
    team = NamedRefSerializer(read_only=True, allow_null=True)
    protection_end = serializers.DateField(read_only=True, help_text=_(
        "The last day the owner keeps the customer (tenant time zone)."))
    days_left = serializers.IntegerField(read_only=True, help_text=_(
        "protection_end minus today: 0 is the last day, negative means due for release tonight."))

    class Meta:
        model = Customer
        fields = ["id", "name", "phone", "owner", "team", "last_contact_at", "protection_end",
                  "days_left"]


class PoolCustomerSerializer(serializers.ModelSerializer):
    """A customer of the public pool. `name` and `phone` are masked (张*, 139****5678) unless
    the caller may see the customer anyway (apps.customers.selectors.visible_customers)."""

    name = serializers.CharField(source="display_name", read_only=True)
    phone = serializers.CharField(source="display_phone", read_only=True)
    masked = serializers.SerializerMethodField()
    team = NamedRefSerializer(read_only=True, allow_null=True)
    previous_owner = NamedRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Customer
        fields = ["id", "name", "phone", "masked", "source", "team", "previous_owner",
                  "released_at"]

    def get_masked(self, obj) -> bool:
        return not obj.visible


class ReturnSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, help_text=_(
        "Why the customer goes back to the public pool (required)."))


class ReassignSerializer(serializers.Serializer):
    from_owner_id = serializers.IntegerField(help_text=_("The salesperson whose customers move."))
    to_owner_ids = serializers.ListField(child=serializers.IntegerField(), allow_empty=True,
                                         help_text=_("Who receives them; several share them in "
                                                     "turn (customers in id order)."))
    customer_ids = serializers.ListField(child=serializers.IntegerField(), required=False,
                                         allow_null=True, help_text=_(
                                             "Only these customers; omitted or null: all of them."))
    note = serializers.CharField(required=False, allow_blank=True,
                                 help_text=_("Why (required)."))


class ReassignResultSerializer(serializers.Serializer):
    moved = serializers.IntegerField()
    to = serializers.ListField(child=serializers.DictField())


class OwnershipChangeSerializer(serializers.ModelSerializer):
    from_owner = NamedRefSerializer(read_only=True, allow_null=True)
    to_owner = NamedRefSerializer(read_only=True, allow_null=True)
    actor = NamedRefSerializer(read_only=True, allow_null=True, help_text=_("Who did it; null: the system."))
    reason_label = serializers.CharField(source="get_reason_display", read_only=True)

    class Meta:
        model = OwnershipChange
        fields = ["id", "at", "reason", "reason_label", "from_owner", "to_owner", "actor", "note",
                  "policy_version", "dispute_id"]
