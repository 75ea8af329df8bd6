"""API of the credit rule sets and deal roles (thin: rulesets.py validates and writes).

GET/POST /api/v1/deals/rule-sets/, GET /api/v1/deals/rule-sets/<pk>/,
GET/POST /api/v1/deals/roles/, GET/PATCH /api/v1/deals/roles/<pk>/.
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

from . import rulesets
from .models import CreditRuleSet, DealRole
from .rules import PRESETS

CanViewRules = role_permission(*rulesets.VIEW_ROLES)


class RuleSetSerializer(serializers.ModelSerializer):
    """A version of the credit rules. On POST give `rules` (the data, format in docs/deals.md
    "Credit rules") or a `preset` to copy; the service checks everything and answers with
    field errors."""

    effective_from = serializers.DateField(help_text=_("Today or a later day (tenant time zone)."))
    name = serializers.CharField(max_length=200)
    preset = serializers.ChoiceField(choices=[("", "—"), *((p, p) for p in PRESETS)],
                                     required=False, allow_blank=True,
                                     help_text=_("Used when no rules are given."))
    rules = serializers.JSONField(required=False, allow_null=True, help_text=_(
        "The rule set data; without it the preset is copied."))
    note = serializers.CharField(required=False, allow_blank=True, max_length=400)
    created_by = NamedRefSerializer(read_only=True)
    in_force = serializers.SerializerMethodField()

    class Meta:
        model = CreditRuleSet
        fields = ["id", "version", "effective_from", "name", "preset", "rules", "note",
                  "created_by", "created_at", "in_force"]
        read_only_fields = ["id", "version", "created_at"]
        validators = []  # one version per day: the service says so with a field error

    def get_in_force(self, row) -> bool:
        return row.pk == self.context.get("in_force_pk")


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


def _in_force_pk(tenant) -> int | None:
    return rulesets.rule_set_in_force_pk(tenant)


class RuleSetListAPIView(TenantAPIMixin, GenericAPIView):
    """Every version of the tenant's credit rules (newest first); administrators add one."""

    model = CreditRuleSet
    serializer_class = RuleSetSerializer
    filter_backends = []

    def get_permissions(self):
        return [IsTenantAdmin()] if self.request.method == "POST" else [CanViewRules()]

    def scope_queryset(self, queryset):
        return queryset.select_related("created_by").order_by("-effective_from", "-version")

    @extend_schema(summary="The credit rule set versions, newest first",
                   operation_id="deals_rule_sets_list",
                   responses=RuleSetSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        context = {**self.get_serializer_context(), "in_force_pk": _in_force_pk(self.tenant)}
        return self.get_paginated_response(RuleSetSerializer(page, many=True,
                                                             context=context).data)

    @extend_schema(summary="Add a version of the credit rules (administrators)",
                   operation_id="deals_rule_sets_create", responses={201: RuleSetSerializer})
    def post(self, request):
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            row = rulesets.rule_set_create(tenant=self.tenant, actor=self.staff,
                                           **payload.validated_data)
        except DjangoValidationError as exc:
            raise drf_error(exc)
        context = {**self.get_serializer_context(), "in_force_pk": _in_force_pk(self.tenant)}
        return Response(RuleSetSerializer(row, context=context).data,
                        status=status.HTTP_201_CREATED)


class RuleSetDetailAPIView(TenantAPIMixin, GenericAPIView):
    model = CreditRuleSet
    serializer_class = RuleSetSerializer
    permission_classes = [CanViewRules]
    filter_backends = []

    def scope_queryset(self, queryset):
        return queryset.select_related("created_by")

    @extend_schema(summary="One version of the credit rules",
                   operation_id="deals_rule_sets_retrieve")
    def get(self, request, pk):
        row = self.get_object()
        context = {**self.get_serializer_context(), "in_force_pk": _in_force_pk(self.tenant)}
        return Response(RuleSetSerializer(row, context=context).data)


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
