"""API of the personal statements.

GET /api/v1/commissions/statement/?month=YYYY-MM[&staff=<id>] — the caller's own statement
(everyone with a role), or another person's (managers: their team's people; finance and
administrators: anyone; anyone else: 404, as for a person of another tenant). The month
defaults to the latest calculated one; a month not calculated yet answers `calculated: false`
without lines. Lines are paginated; each has its sources (the deal or event behind it)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView

from apps.customers.api import drf_error
from apps.customers.serializers import NamedRefSerializer
from apps.tenancy.api import TenantAPIMixin
from apps.tenancy.permissions import role_permission

from . import settlements
from .api_settlements import SettlementLineSerializer, SettlementPersonSerializer
from .models import CommissionLine
from .views_statements import statement_for, statement_month, statement_person

CanRead = role_permission(*settlements.READ_ROLES)


class StatementSettlementSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()


class StatementSerializer(serializers.Serializer):
    month = serializers.DateField()
    staff = NamedRefSerializer(source="person")
    settlement = StatementSettlementSerializer(allow_null=True)
    calculated = serializers.BooleanField(help_text=_("false: the month is not calculated yet "
                                                      "(no lines)."))
    summary = SettlementPersonSerializer(allow_null=True,
                                         help_text=_("The person's totals (null: no lines)."))
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = SettlementLineSerializer(many=True)


class StatementAPIView(TenantAPIMixin, GenericAPIView):
    model = CommissionLine
    serializer_class = SettlementLineSerializer
    permission_classes = [CanRead]
    filter_backends: list = []

    @extend_schema(summary="A personal commission statement",
                   operation_id="commissions_statement",
                   parameters=[OpenApiParameter("month", str, description="YYYY-MM (default: "
                                                "the latest calculated month)."),
                               OpenApiParameter("staff", int, description="Another person "
                                                "(default: the caller).")],
                   responses=StatementSerializer)
    def get(self, request):
        raw = request.query_params.get("staff", "")
        if raw and not raw.isdigit():
            raise NotFound
        person = statement_person(self.staff, int(raw) if raw else None)
        try:
            month = statement_month(self.tenant, request.query_params)
        except DjangoValidationError as exc:
            raise drf_error(exc) from None
        statement = statement_for(self.tenant, person, month)
        page = self.paginate_queryset(statement.lines)
        response = self.get_paginated_response(self.get_serializer(page, many=True).data)
        settlement = statement.settlement
        response.data = {
            "month": statement.month.isoformat(),
            "staff": {"id": person.pk, "name": person.name},
            "settlement": ({"id": settlement.pk, "status": settlement.status}
                           if settlement else None),
            "calculated": statement.calculated,
            "summary": (SettlementPersonSerializer(statement.summary).data
                        if statement.summary else None),
            **response.data}
        return response
