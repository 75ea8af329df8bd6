"""API of the honour board (thin: apps.referrals.board ranks and records).

GET /api/v1/referrals/board/?period=month|quarter&start=2026-11-01&audience=all|staff|customer
  — the top 20 of the period with the awards of its months (readers as on the page; salespeople
  get customers' names masked);
POST /api/v1/referrals/board/awards/ {"month": "2026-10-01"} — managers and administrators
  record a finished month's awards (201 when written, 200 when recorded already)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from apps.core.filters import clean_filter_form
from apps.customers.api import drf_error
from apps.ownership.selectors import tenant_today
from apps.tenancy.api import TenantAPIMixin
from apps.tenancy.permissions import role_permission

from . import board
from .forms_board import DATE_FORMATS, BoardFilterForm
from .models import HonourAward

CanView = role_permission(*board.VIEW_ROLES)
CanRecord = role_permission(*board.RECORD_ROLES)


class HonourBoardRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    referrer = serializers.IntegerField(source="referrer_id")
    kind = serializers.CharField()
    name = serializers.CharField(source="shown_name")
    masked_name = serializers.CharField()
    successes = serializers.IntegerField()
    last_conversion_at = serializers.DateTimeField(source="last_at")


class HonourAwardSerializer(serializers.ModelSerializer):
    staff_name = serializers.CharField(source="staff.name")

    class Meta:
        model = HonourAward
        fields = ["id", "month", "rank", "staff", "staff_name", "referrer", "successes",
                  "created_at"]


class HonourBoardSerializer(serializers.Serializer):
    period = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField(help_text="The last day of the period.")
    label = serializers.CharField()
    audience = serializers.CharField()
    results = HonourBoardRowSerializer(many=True)
    awards = HonourAwardSerializer(many=True)


class HonourAwardMonthSerializer(serializers.Serializer):
    month = serializers.DateField(input_formats=DATE_FORMATS,
                                  help_text="Any day of the month (or 2026-10).")


class HonourAwardsResultSerializer(serializers.Serializer):
    month = serializers.DateField()
    created = serializers.BooleanField()
    awards = HonourAwardSerializer(many=True)


class BoardAPIView(TenantAPIMixin, GenericAPIView):
    model = HonourAward
    serializer_class = HonourBoardSerializer
    permission_classes = [CanView]
    filter_backends: list = []
    pagination_class = None

    @extend_schema(summary="The honour board of a month or quarter",
                   operation_id="referrals_board",
                   parameters=[OpenApiParameter("period", enum=list(board.PERIODS)),
                               OpenApiParameter("start", str, description="A day of the period "
                                                "(default today)."),
                               OpenApiParameter("audience", enum=list(board.AUDIENCES))],
                   responses=HonourBoardSerializer)
    def get(self, request):
        try:
            filters = clean_filter_form(BoardFilterForm, request.query_params)
        except DjangoValidationError as exc:
            raise drf_error(exc) from None
        tenant = self.tenant
        kind, audience = filters["period"], filters["audience"]
        period = board.period_bounds(tenant, kind, filters["start"] or
                                     tenant_today(tenant))
        rows = board.leaderboard(tenant, period=kind, start=period.first, audience=audience)
        for row in rows:
            row.shown_name = board.shown_name(row, self.staff)
        data = {"period": kind, "start": period.first,
                "end": period.after - dt.timedelta(days=1), "label": period.label,
                "audience": audience, "results": rows,
                "awards": board.awards_of(period.month_starts)}
        return Response(HonourBoardSerializer(data).data)


class AwardsRecordAPIView(TenantAPIMixin, GenericAPIView):
    model = HonourAward
    serializer_class = HonourAwardMonthSerializer
    permission_classes = [CanRecord]
    filter_backends: list = []
    pagination_class = None

    @extend_schema(summary="Record a finished month's honour awards (top three staff)",
                   operation_id="referrals_board_awards_record", request=HonourAwardMonthSerializer,
                   responses={201: HonourAwardsResultSerializer, 200: HonourAwardsResultSerializer})
    def post(self, request):
        serializer = HonourAwardMonthSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            result = board.honour_awards_record(tenant=self.tenant,
                                                month=serializer.validated_data["month"],
                                                actor=self.staff)
        except DjangoValidationError as exc:
            raise drf_error(exc) from None
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        body = HonourAwardsResultSerializer({"month": result.month, "created": result.created,
                                       "awards": result.awards}).data
        return Response(body, status=status.HTTP_201_CREATED if result.created
                        else status.HTTP_200_OK)
