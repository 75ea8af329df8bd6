"""API of the monthly settlement (thin: apps.commissions.settlements validates and writes).

GET  /api/v1/commissions/settlements/                      the months, newest first
GET  /api/v1/commissions/settlements/<pk>/                 a month with its steps, teams, the
                                                           summary rows the caller may see
                                                           (managers: their team) and the
                                                           steps the caller may take now
POST /api/v1/commissions/settlements/calculate/            {"month": "2026-10-01"} (or 2026-10)
POST /api/v1/commissions/settlements/<pk>/submit/          finance, administrators
POST /api/v1/commissions/settlements/<pk>/approve-team/    {"team": id, "note": ""}
POST /api/v1/commissions/settlements/<pk>/approve/         {"note": ""} administrators
POST /api/v1/commissions/settlements/<pk>/close/           finance, administrators
POST /api/v1/commissions/settlements/<pk>/mark-paid/       finance, administrators
GET  /api/v1/commissions/settlements/<pk>/commission-lines/?staff=&team=&kind=&adjustments=

Finance, administrators and managers read; sales and customer service get 403 (their
statements: apps.commissions.api_statements). A step out of order is a 400 with the reason."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from apps.core.filters import clean_filter_form
from apps.customers.api import drf_error, service_call
from apps.customers.serializers import NamedRefSerializer
from apps.tenancy.api import TenantAPIMixin
from apps.tenancy.models import Team
from apps.tenancy.permissions import role_permission

from . import settlements
from .forms_settlements import SettlementLineFilterForm, line_kind_choices
from .models import CommissionLine, Settlement
from .rules import kind_name
from .views_settlements import (
    ACTIONS,
    PAGE_ROLES,
    STEP_USERS,
    available_actions,
    filter_lines,
    line_sources,
    run_action,
    summary_table,
    visible_summaries,
)

CanRead = role_permission(*PAGE_ROLES)
CanCalculate = role_permission(*settlements.CALC_ROLES)


# --------------------------------------------------------------------------- serializers


class SettlementSerializer(serializers.ModelSerializer):
    calculated_by = NamedRefSerializer(read_only=True, allow_null=True)
    submitted_by = NamedRefSerializer(read_only=True, allow_null=True)
    approved_by = NamedRefSerializer(read_only=True, allow_null=True)
    closed_by = NamedRefSerializer(read_only=True, allow_null=True)
    paid_by = NamedRefSerializer(read_only=True, allow_null=True)
    warnings = serializers.ListField(child=serializers.CharField(), read_only=True)
    status = serializers.CharField(read_only=True, help_text=_(
        "open, calculated, submitted, approved, closed or paid."))

    class Meta:
        model = Settlement
        fields = ["id", "month", "status", "runs", "total", "line_count", "people", "warnings",
                  "calculated_at", "calculated_by", "submitted_at", "submitted_by",
                  "approved_at", "approved_by", "closed_at", "closed_by", "paid_at", "paid_by"]
        read_only_fields = fields


class SettlementTeamSerializer(serializers.Serializer):
    team = NamedRefSerializer()
    approved = serializers.BooleanField()
    approved_by = NamedRefSerializer(allow_null=True)
    approved_at = serializers.DateTimeField(allow_null=True)
    note = serializers.CharField()


_MONEY = {"max_digits": 16, "decimal_places": 2}


class SettlementTotalsSerializer(serializers.Serializer):
    base_salary = serializers.DecimalField(**_MONEY, allow_null=True)
    by_kind = serializers.DictField(child=serializers.DecimalField(**_MONEY),
                                    help_text=_("The commission and bonus kinds, adjustments "
                                                "apart."))
    commissions = serializers.DecimalField(**_MONEY)
    bonuses = serializers.DecimalField(**_MONEY)
    penalties = serializers.DecimalField(**_MONEY)
    adjustments = serializers.DecimalField(**_MONEY)
    cap = serializers.DecimalField(**_MONEY)
    total = serializers.DecimalField(**_MONEY)


class SettlementPersonSerializer(SettlementTotalsSerializer):
    staff_id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    team_id = serializers.IntegerField(allow_null=True)
    team_name = serializers.CharField(allow_blank=True, allow_null=True)


class SettlementDetailSerializer(SettlementSerializer):
    teams = SettlementTeamSerializer(many=True, read_only=True)
    summary = SettlementPersonSerializer(many=True, read_only=True)
    totals = SettlementTotalsSerializer(read_only=True)
    actions = serializers.ListField(child=serializers.ChoiceField(choices=list(ACTIONS)),
                                    read_only=True,
                                    help_text=_("The steps the caller may take now."))

    class Meta(SettlementSerializer.Meta):
        fields = [*SettlementSerializer.Meta.fields, "teams", "summary", "totals", "actions"]
        read_only_fields = fields


class SettlementSourceSerializer(serializers.Serializer):
    kind = serializers.CharField()
    id = serializers.CharField(source="ident")
    label = serializers.CharField()
    url = serializers.CharField(allow_blank=True, help_text=_("The page of the deal or event "
                                                              "(empty: none)."))
    adjusted = serializers.BooleanField(help_text=_("What the line adjusts."))


class SettlementLineSerializer(serializers.ModelSerializer):
    staff = NamedRefSerializer(read_only=True, allow_null=True)
    team = NamedRefSerializer(read_only=True, allow_null=True)
    kind = serializers.ChoiceField(choices=line_kind_choices(), read_only=True)
    kind_label = serializers.SerializerMethodField()
    sources = serializers.SerializerMethodField()

    class Meta:
        model = CommissionLine
        fields = ["id", "staff", "team", "kind", "kind_label", "rule_version", "rule_index",
                  "rule_name", "base", "rate", "fixed", "share", "result", "deal", "ref",
                  "adjusts", "is_adjustment", "explanation", "sources"]
        read_only_fields = fields

    def get_kind_label(self, line) -> str:
        return str(kind_name(line.kind))

    @extend_schema_field(SettlementSourceSerializer(many=True))
    def get_sources(self, line) -> list[dict]:
        return SettlementSourceSerializer(line_sources(line), many=True).data


class SettlementCalculateSerializer(serializers.Serializer):
    month = serializers.DateField(input_formats=["%Y-%m-%d", "%Y-%m"],
                                  help_text=_("Any day of the month (or YYYY-MM)."))


class SettlementNoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=200)


class SettlementTeamApproveSerializer(SettlementNoteSerializer):
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.context.get("request") is not None:
            self.fields["team"].queryset = Team.objects.all()  # the caller's tenant


# --------------------------------------------------------------------------- helpers


def settlement_detail_data(staff, settlement: Settlement) -> Settlement:
    """The settlement with what the detail serializer adds (as on the page)."""
    teams = settlements.teams_to_approve(settlement)
    table = summary_table(visible_summaries(staff, settlement))
    settlement.teams = [{"team": team, "approved": approval is not None,
                         "approved_by": approval.approved_by if approval else None,
                         "approved_at": approval.approved_at if approval else None,
                         "note": approval.note if approval else ""} for team, approval in teams]
    settlement.summary = table["rows"]
    totals = dict(table["totals"])
    by_kind: dict = {}
    for row in table["rows"]:
        for kind, amount in row.by_kind.items():
            by_kind[kind] = by_kind.get(kind, 0) + amount
    totals["by_kind"] = by_kind
    settlement.totals = totals
    settlement.actions = [a.name for a in available_actions(staff, settlement, teams)]
    return settlement



# --------------------------------------------------------------------------- views


class SettlementAPIMixin(TenantAPIMixin):
    model = Settlement
    filter_backends: list = []

    def get_queryset(self):
        return super().get_queryset().select_related(*STEP_USERS)


class SettlementListAPIView(SettlementAPIMixin, GenericAPIView):
    serializer_class = SettlementSerializer
    permission_classes = [CanRead]

    @extend_schema(summary="The monthly settlements", operation_id="commissions_settlements_list",
                   responses=SettlementSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class SettlementDetailAPIView(SettlementAPIMixin, GenericAPIView):
    serializer_class = SettlementDetailSerializer
    permission_classes = [CanRead]

    @extend_schema(summary="A monthly settlement with its summary",
                   operation_id="commissions_settlements_retrieve")
    def get(self, request, pk):
        settlement = settlement_detail_data(self.staff, self.get_object())
        return Response(self.get_serializer(settlement).data)


class SettlementCalculateAPIView(SettlementAPIMixin, GenericAPIView):
    serializer_class = SettlementCalculateSerializer
    permission_classes = [CanCalculate]

    @extend_schema(summary="Calculate (or recalculate) a month",
                   operation_id="commissions_settlements_calculate",
                   responses={200: SettlementDetailSerializer})
    def post(self, request):
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        settlement = service_call(lambda: settlements.settlement_calculate(
            tenant=self.tenant, actor=self.staff, month=payload.validated_data["month"]))
        settlement = self.get_queryset().get(pk=settlement.pk)
        return Response(SettlementDetailSerializer(
            settlement_detail_data(self.staff, settlement)).data)


class SettlementActionAPIView(SettlementAPIMixin, GenericAPIView):
    """One step of the month (see ACTIONS); refused out of order (400) or by role (403)."""

    action: str = ""

    def get_permissions(self):
        return [role_permission(*ACTIONS[self.action].roles)()]

    def get_serializer_class(self):
        if self.action == "approve-team":
            return SettlementTeamApproveSerializer
        if self.action == "approve":
            return SettlementNoteSerializer
        return None

    def post(self, request, pk):
        settlement = self.get_object()
        data = {}
        if self.get_serializer_class() is not None:
            payload = self.get_serializer(data=request.data)
            payload.is_valid(raise_exception=True)
            data = payload.validated_data
        service_call(lambda: run_action(self.action, tenant=self.tenant, actor=self.staff,
                                         settlement=settlement, team=data.get("team"),
                                         note=data.get("note", "")))
        settlement = self.get_queryset().get(pk=settlement.pk)
        return Response(SettlementDetailSerializer(
            settlement_detail_data(self.staff, settlement)).data)


def action_api_view(name: str):
    """The view of the step `name`, with its own schema entry."""
    summaries = {"submit": "Submit a month for approval", "approve-team": "Approve a team",
                 "approve": "Approve a month", "close": "Close a month (irreversible)",
                 "mark-paid": "Mark a month paid"}
    body = {"approve-team": SettlementTeamApproveSerializer,
            "approve": SettlementNoteSerializer}.get(name)

    def post(self, request, pk):
        return SettlementActionAPIView.post(self, request, pk)

    post = extend_schema(summary=summaries[name], request=body,
                         operation_id=f"commissions_settlements_{name.replace('-', '_')}",
                         responses={200: SettlementDetailSerializer})(post)
    cls = type(f"Settlement{name.title().replace('-', '')}APIView", (SettlementActionAPIView,),
               {"action": name, "post": post})
    return cls.as_view()


class SettlementLinesAPIView(SettlementAPIMixin, GenericAPIView):
    serializer_class = SettlementLineSerializer
    permission_classes = [CanRead]

    @extend_schema(summary="The commission lines of a month (those the caller may see)",
                   operation_id="commissions_settlements_lines",
                   parameters=[OpenApiParameter("staff", int), OpenApiParameter("team", int),
                               OpenApiParameter("kind", enum=[k for k, _l in
                                                              line_kind_choices()]),
                               OpenApiParameter("adjustments", bool)],
                   responses=SettlementLineSerializer(many=True))
    def get(self, request, pk):
        settlement = self.get_object()
        try:
            filters = clean_filter_form(SettlementLineFilterForm, request.query_params)
        except DjangoValidationError as exc:
            raise drf_error(exc) from None
        lines = filter_lines(settlements.visible_lines(self.staff, settlement), filters)
        page = self.paginate_queryset(lines)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
