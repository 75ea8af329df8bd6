"""API of the commission rule sets and the settlement settings (thin: rulesets.py validates and
writes).

GET/POST /api/v1/commissions/rules/, GET /api/v1/commissions/rule-versions/<pk>/,
POST /api/v1/commissions/rules/preview/ (administrators: last month under a draft),
GET/PUT /api/v1/commissions/settings/. Administrators write; managers and finance read."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from apps.core.api_versions import VersionDetailAPIView, VersionListAPIView, VersionSerializer
from apps.customers.api import drf_error
from apps.customers.serializers import NamedRefSerializer
from apps.tenancy.api import TenantAPIMixin
from apps.tenancy.permissions import IsTenantAdmin, role_permission

from . import rulesets
from .models import CommissionRuleSet, CommissionSettings
from .presets import PRESETS

CanViewCommissionRules = role_permission(*rulesets.VIEW_ROLES)


class CommissionRuleSetSerializer(VersionSerializer):
    """A version of the commission rules. On POST give `rules` (the data, format in
    docs/commissions.md) or a `preset` to copy; the service checks everything and answers with
    field errors."""

    presets = PRESETS

    class Meta(VersionSerializer.Meta):
        model = CommissionRuleSet


class CommissionPreviewRequestSerializer(serializers.Serializer):
    rules = serializers.JSONField(help_text=_('The draft rule set data (the JSON of a version).'))
    month = serializers.DateField(required=False, allow_null=True, help_text=_(
        "Any day of the month to preview; default last month."))


class CommissionPreviewPersonSerializer(serializers.Serializer):
    staff_id = serializers.IntegerField()
    name = serializers.CharField()
    team = serializers.CharField()
    current = serializers.DecimalField(max_digits=16, decimal_places=2, help_text=_(
        "The month's total under the rules in force."))
    draft = serializers.DecimalField(max_digits=16, decimal_places=2, help_text=_(
        "The month's total under the draft."))
    difference = serializers.DecimalField(max_digits=16, decimal_places=2)


class CommissionPreviewSerializer(serializers.Serializer):
    month = serializers.DateField(help_text=_("The first day of the month previewed."))
    people = CommissionPreviewPersonSerializer(many=True, source="rows")
    current_total = serializers.DecimalField(max_digits=16, decimal_places=2)
    draft_total = serializers.DecimalField(max_digits=16, decimal_places=2)
    difference = serializers.DecimalField(max_digits=16, decimal_places=2)
    warnings = serializers.ListField(child=serializers.CharField())


class CommissionSettingsSerializer(serializers.ModelSerializer):
    calculation_day = serializers.IntegerField(help_text=_(
        "The day of the month (1–28) last month is calculated on."))
    updated_by = NamedRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = CommissionSettings
        fields = ["calculation_day", "updated_by", "updated_at"]
        read_only_fields = ["updated_at"]


def _in_force_pk(view) -> int | None:
    return rulesets.commission_in_force_pk(view.tenant)


@extend_schema_view(
    get=extend_schema(summary="The commission rule set versions, newest first",
                      operation_id="commissions_rules_list",
                      responses=CommissionRuleSetSerializer(many=True)),
    post=extend_schema(summary="Add a version of the commission rules (administrators)",
                       operation_id="commissions_rules_create",
                       responses={201: CommissionRuleSetSerializer}))
class CommissionRuleSetListAPIView(VersionListAPIView):
    """Every version of the tenant's commission rules (newest first); administrators add one."""

    model = CommissionRuleSet
    serializer_class = CommissionRuleSetSerializer
    view_permission = CanViewCommissionRules
    in_force_pk = _in_force_pk

    def create_version(self, **data):
        return rulesets.commission_rule_set_create(tenant=self.tenant, actor=self.staff, **data)


@extend_schema_view(get=extend_schema(summary="One version of the commission rules",
                                      operation_id="commissions_rule_versions_retrieve"))
class CommissionRuleSetDetailAPIView(VersionDetailAPIView):
    model = CommissionRuleSet
    serializer_class = CommissionRuleSetSerializer
    view_permission = CanViewCommissionRules
    in_force_pk = _in_force_pk


class CommissionRulesPreviewAPIView(TenantAPIMixin, GenericAPIView):
    """What a month (default last month) would have paid each person under a draft, next to the
    rules in force; nothing is saved (administrators)."""

    model = CommissionRuleSet
    serializer_class = CommissionPreviewRequestSerializer
    permission_classes = [IsTenantAdmin]
    filter_backends = []

    @extend_schema(summary="Preview a draft of the commission rules on a past month",
                   operation_id="commissions_rules_preview",
                   request=CommissionPreviewRequestSerializer,
                   responses=CommissionPreviewSerializer)
    def post(self, request):
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            preview = rulesets.commission_rules_preview(
                tenant=self.tenant, actor=self.staff, rules=payload.validated_data["rules"],
                month=payload.validated_data.get("month"))
        except DjangoValidationError as exc:
            raise drf_error(exc)
        return Response(CommissionPreviewSerializer(preview).data)


class CommissionSettingsAPIView(TenantAPIMixin, GenericAPIView):
    """The tenant's settlement settings; administrators change them."""

    model = CommissionSettings
    serializer_class = CommissionSettingsSerializer
    filter_backends = []

    def get_permissions(self):
        return [IsTenantAdmin()] if self.request.method == "PUT" else [CanViewCommissionRules()]

    @extend_schema(summary="The settlement settings", operation_id="commissions_settings_retrieve")
    def get(self, request):
        return Response(self.get_serializer(rulesets.commission_settings_for(self.tenant)).data)

    @extend_schema(summary="Change the settlement settings (administrators)",
                   operation_id="commissions_settings_update")
    def put(self, request):
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            row = rulesets.commission_settings_update(tenant=self.tenant, actor=self.staff,
                                                      **payload.validated_data)
        except DjangoValidationError as exc:
            raise drf_error(exc)
        return Response(self.get_serializer(row).data)
