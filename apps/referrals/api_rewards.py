"""API of the referrer reward policies (thin: reward_policies.py validates and writes).

GET/POST /api/v1/referrals/reward-policies/, GET /api/v1/referrals/reward-policies/<pk>/.
Administrators write; managers and finance read."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from apps.customers.api import drf_error
from apps.customers.serializers import NamedRefSerializer
from apps.tenancy.api import TenantAPIMixin
from apps.tenancy.permissions import IsTenantAdmin, role_permission

from . import reward_policies
from .models import RewardPolicy
from .reward_presets import PRESETS
from .rewards import describe_reward_rules

CanViewRewardPolicies = role_permission(*reward_policies.VIEW_ROLES)


class RewardPolicySerializer(serializers.ModelSerializer):
    """A version of the reward policy. On POST give `rules` (format in docs/referrals.md
    "Reward rules") or a `preset` to copy; the service checks everything and answers with field
    errors (in Chinese, saying where)."""

    effective_from = serializers.DateField(help_text=_("Today or a later day (tenant time zone)."))
    name = serializers.CharField(max_length=200)
    preset = serializers.ChoiceField(choices=[("", "—"), *((p, p) for p in PRESETS)],
                                     required=False, allow_blank=True, write_only=True,
                                     help_text=_("Used when no rules are given."))
    rules = serializers.JSONField(required=False, allow_null=True, help_text=_(
        "The policy data; without it the preset is copied."))
    note = serializers.CharField(required=False, allow_blank=True, max_length=400)
    created_by = NamedRefSerializer(read_only=True)
    in_force = serializers.SerializerMethodField()
    described = serializers.SerializerMethodField()

    class Meta:
        model = RewardPolicy
        fields = ["id", "version", "effective_from", "name", "preset", "rules", "note",
                  "created_by", "created_at", "in_force", "described"]
        read_only_fields = ["id", "version", "created_at"]
        validators = []  # one version per day: the service says so with a field error

    def get_in_force(self, row) -> bool:
        return row.pk == self.context.get("in_force_pk")

    def get_described(self, row) -> list[dict]:
        parsed = reward_policies.parsed_policy(row)
        if parsed is None:
            return []
        return [{"part": part, "lines": lines} for part, lines in describe_reward_rules(parsed)]


def _context(view) -> dict:
    row, _rules = reward_policies.reward_policy_for(view.tenant)
    return {**view.get_serializer_context(), "in_force_pk": row.pk if row else None}


class RewardPolicyListAPIView(TenantAPIMixin, GenericAPIView):
    """Every version of the tenant's reward policy (newest first); administrators add one."""

    model = RewardPolicy
    serializer_class = RewardPolicySerializer
    filter_backends = []

    def get_permissions(self):
        return [IsTenantAdmin()] if self.request.method == "POST" else [CanViewRewardPolicies()]

    def scope_queryset(self, queryset):
        return queryset.select_related("created_by").order_by("-effective_from", "-version")

    @extend_schema(summary="The reward policy versions, newest first",
                   operation_id="referrals_reward_policies_list",
                   responses=RewardPolicySerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(
            RewardPolicySerializer(page, many=True, context=_context(self)).data)

    @extend_schema(summary="Add a version of the reward policy (administrators)",
                   operation_id="referrals_reward_policies_create",
                   responses={201: RewardPolicySerializer})
    def post(self, request):
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            row = reward_policies.reward_policy_create(tenant=self.tenant, actor=self.staff,
                                                       **payload.validated_data)
        except DjangoValidationError as exc:
            raise drf_error(exc)
        return Response(RewardPolicySerializer(row, context=_context(self)).data,
                        status=status.HTTP_201_CREATED)


class RewardPolicyDetailAPIView(TenantAPIMixin, GenericAPIView):
    model = RewardPolicy
    serializer_class = RewardPolicySerializer
    permission_classes = [CanViewRewardPolicies]
    filter_backends = []

    def scope_queryset(self, queryset):
        return queryset.select_related("created_by")

    @extend_schema(summary="One version of the reward policy",
                   operation_id="referrals_reward_policies_retrieve")
    def get(self, request, pk):
        row = self.get_object()
        return Response(RewardPolicySerializer(row, context=_context(self)).data)
