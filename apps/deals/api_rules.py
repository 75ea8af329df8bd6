"""API of the credit rule sets and deal roles (thin: rulesets.py validates and writes).

GET/POST /api/v1/deals/rule-sets/, GET /api/v1/deals/rule-sets/<pk>/,
GET/POST /api/v1/deals/roles/, GET/PATCH /api/v1/deals/roles/<pk>/.
Administrators write; managers and finance read."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from apps.core.api_versions import VersionDetailAPIView, VersionListAPIView, VersionSerializer
from apps.customers.api import drf_error
from apps.tenancy.api import TenantAPIMixin
from apps.tenancy.permissions import IsTenantAdmin, role_permission

from . import rulesets
from .models import CreditRuleSet, DealRole
from .rules import PRESETS

CanViewRules = role_permission(*rulesets.VIEW_ROLES)


class RuleSetSerializer(VersionSerializer):
    """A version of the credit rules. On POST give `rules` (the data, format in docs/deals.md
    "Credit rules") or a `preset` to copy; the service checks everything and answers with
    field errors."""

    presets = PRESETS

    class Meta(VersionSerializer.Meta):
        model = CreditRuleSet


class DealRoleSerializer(serializers.ModelSerializer):
    code = serializers.CharField(max_length=60, help_text=_(
        "Letters, digits, _ or -; unique; never changes."))
    name = serializers.CharField(max_length=100)
    order = serializers.IntegerField(required=False, allow_null=True)

    class Meta:
        model = DealRole
        fields = ["id", "code", "name", "order", "active"]
        read_only_fields = ["id", "active"]
        validators = []


class DealRoleUpdateSerializer(serializers.ModelSerializer):
    name = serializers.CharField(max_length=100, required=False)
    order = serializers.IntegerField(required=False)
    active = serializers.BooleanField(required=False)

    class Meta:
        model = DealRole
        fields = ["id", "code", "name", "order", "active"]
        read_only_fields = ["id", "code"]


@extend_schema_view(
    get=extend_schema(summary="The credit rule set versions, newest first",
                      operation_id="deals_rule_sets_list",
                      responses=RuleSetSerializer(many=True)),
    post=extend_schema(summary="Add a version of the credit rules (administrators)",
                       operation_id="deals_rule_sets_create",
                       responses={201: RuleSetSerializer}))
class RuleSetListAPIView(VersionListAPIView):
    """Every version of the tenant's credit rules (newest first); administrators add one."""

    model = CreditRuleSet
    serializer_class = RuleSetSerializer
    view_permission = CanViewRules

    def in_force_pk(self) -> int | None:
        return rulesets.rule_set_in_force_pk(self.tenant)

    def create_version(self, **data):
        return rulesets.rule_set_create(tenant=self.tenant, actor=self.staff, **data)


@extend_schema_view(get=extend_schema(summary="One version of the credit rules",
                                      operation_id="deals_rule_sets_retrieve"))
class RuleSetDetailAPIView(VersionDetailAPIView):
    model = CreditRuleSet
    serializer_class = RuleSetSerializer
    view_permission = CanViewRules

    def in_force_pk(self) -> int | None:
        return rulesets.rule_set_in_force_pk(self.tenant)


class DealRoleListAPIView(TenantAPIMixin, GenericAPIView):
    """The tenant's deal roles in order (the defaults are created on first use); administrators
    add one."""

    model = DealRole
    serializer_class = DealRoleSerializer
    filter_backends = []
    pagination_class = None

    def get_permissions(self):
        return [IsTenantAdmin()] if self.request.method == "POST" else [CanViewRules()]

    @extend_schema(summary="The deal roles, in order", operation_id="deals_roles_list",
                   responses=DealRoleSerializer(many=True))
    def get(self, request):
        return Response(self.get_serializer(rulesets.deal_roles(self.tenant), many=True).data)

    @extend_schema(summary="Add a deal role (administrators)", operation_id="deals_roles_create",
                   responses={201: DealRoleSerializer})
    def post(self, request):
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            role = rulesets.deal_role_create(tenant=self.tenant, actor=self.staff,
                                             **payload.validated_data)
        except DjangoValidationError as exc:
            raise drf_error(exc)
        return Response(self.get_serializer(role).data, status=status.HTTP_201_CREATED)


class DealRoleDetailAPIView(TenantAPIMixin, GenericAPIView):
    """One deal role; administrators rename, reorder or (de)activate it (never delete)."""

    model = DealRole
    serializer_class = DealRoleUpdateSerializer
    filter_backends = []

    def get_permissions(self):
        return [IsTenantAdmin()] if self.request.method == "PATCH" else [CanViewRules()]

    @extend_schema(summary="One deal role", operation_id="deals_roles_retrieve")
    def get(self, request, pk):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(summary="Change a deal role (administrators)",
                   operation_id="deals_roles_partial_update")
    def patch(self, request, pk):
        role = self.get_object()
        payload = self.get_serializer(role, data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        try:
            role = rulesets.deal_role_update(tenant=self.tenant, actor=self.staff, role=role,
                                             **payload.validated_data)
        except DjangoValidationError as exc:
            raise drf_error(exc)
        return Response(self.get_serializer(role).data)
