"""API of the finance workbook (thin: apps.commissions.workbook / tasks_workbook).

GET /api/v1/commissions/settlements/<pk>/workbook/ — finance and administrators: the .xlsx
(200) for a month of at most WORKBOOK_DIRECT_MAX_LINES lines or once built; otherwise 202 with
the build's progress ({"state", "current", "total"}; the build is started or joined): ask
again until it answers with the file."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from apps.core.xlsx import XLSX_CONTENT_TYPE
from apps.tenancy.api import TenantAPIMixin
from apps.tenancy.permissions import role_permission

from .models import Settlement
from .views_workbook import workbook_download
from .workbook import WORKBOOK_ROLES

CanDownload = role_permission(*WORKBOOK_ROLES)


class WorkbookProgressSerializer(serializers.Serializer):
    state = serializers.CharField()
    current = serializers.IntegerField()
    total = serializers.IntegerField()


class WorkbookAPIView(TenantAPIMixin, GenericAPIView):
    """The settlement's finance workbook, or the progress of its build."""

    model = Settlement
    serializer_class = WorkbookProgressSerializer
    permission_classes = [CanDownload]
    filter_backends = []

    @extend_schema(summary="The finance workbook of a settlement (.xlsx)",
                   operation_id="commissions_settlement_workbook",
                   responses={(200, XLSX_CONTENT_TYPE): OpenApiResponse(OpenApiTypes.BINARY,
                                                                        description=".xlsx"),
                              (202, "application/json"): WorkbookProgressSerializer})
    def get(self, request, pk):
        settlement = self.get_object()
        response, progress = workbook_download(settlement, self.staff)
        if response is not None:
            return response
        return Response(self.get_serializer(progress).data, status=status.HTTP_202_ACCEPTED)
