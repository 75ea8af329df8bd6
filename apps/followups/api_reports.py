"""API of the follow-up report (thin: apps.followups.reports computes; the definitions are in
its docstring).

GET /api/v1/followups/reports/?month=YYYY-MM | from=YYYY-MM-DD&to=YYYY-MM-DD, &team=<id>
(default: this month): the figures per person, per team and in total, over the follow-ups
the caller sees. Administrators, managers (their team) and customer service; sales and
finance 403. Invalid filters: 400 with field errors."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from apps.customers.api import drf_error
from apps.tenancy.api import TenantAPIMixin
from apps.tenancy.permissions import role_permission

from . import reports
from .models import FollowUpTask

CanSeeReports = role_permission(*reports.REPORT_ROLES)


class FiguresSerializer(serializers.Serializer):
    due = serializers.IntegerField(help_text=_("Follow-ups due in the period."))
    done = serializers.IntegerField(help_text=_("Of those, with a result."))
    cancelled = serializers.IntegerField()
    open = serializers.IntegerField(help_text=_("Of those, still to do."))
    overdue = serializers.IntegerField(help_text=_("Of the open ones, due before now."))
    on_time = serializers.IntegerField(
        help_text=_("Of the done ones, done by the end of their due day."))
    completion_rate = serializers.DecimalField(
        max_digits=5, decimal_places=1, allow_null=True,
        help_text=_("done / (due − cancelled) in %; null when nothing is expected."))
    on_time_rate = serializers.DecimalField(
        max_digits=5, decimal_places=1, allow_null=True,
        help_text=_("on_time / (due − cancelled) in %; null when nothing is expected."))
    satisfaction_average = serializers.DecimalField(
        max_digits=3, decimal_places=1, allow_null=True,
        help_text=_("Average satisfaction (1–5) of the reached customers."))
    satisfaction_count = serializers.IntegerField()
    complaints_opened = serializers.IntegerField(
        help_text=_("Complaint follow-ups opened by an unsatisfied result."))
    complaints_reopened = serializers.IntegerField(
        help_text=_("Of those, the ones following a complaint follow-up."))


class RefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class PersonSerializer(serializers.Serializer):
    staff = serializers.SerializerMethodField()
    team_name = serializers.CharField(help_text=_("The person's team now."))
    figures = FiguresSerializer()

    @extend_schema_field(RefSerializer)
    def get_staff(self, row) -> dict:
        return {"id": row.staff_id, "name": row.name}


class TeamSerializer(serializers.Serializer):
    team = serializers.SerializerMethodField(help_text=_("null: follow-ups without a team."))
    figures = FiguresSerializer()

    @extend_schema_field(RefSerializer(allow_null=True))
    def get_team(self, row) -> dict | None:
        return {"id": row.team_id, "name": row.team_name} if row.team_id is not None else None


class ReportSerializer(serializers.Serializer):
    first = serializers.DateField(source="start", help_text=_("The first due day."))
    last = serializers.DateField(help_text=_("The last due day (included)."))
    team = serializers.SerializerMethodField(help_text=_("The team chosen (null: all)."))
    people = PersonSerializer(many=True)
    teams = TeamSerializer(many=True)
    totals = FiguresSerializer()

    @extend_schema_field(RefSerializer(allow_null=True))
    def get_team(self, report) -> dict | None:
        return {"id": report.team.pk, "name": report.team.name} if report.team else None


class FollowUpReportAPIView(TenantAPIMixin, GenericAPIView):
    """Completion and on-time rates, satisfaction and complaints by person and team."""

    model = FollowUpTask
    serializer_class = ReportSerializer
    permission_classes = [CanSeeReports]
    filter_backends: list = []
    pagination_class = None

    @extend_schema(summary="Follow-up completion by person and team",
                   operation_id="followups_reports", parameters=[
                       OpenApiParameter("month", OpenApiTypes.STR,
                                        description="YYYY-MM (default: this month)."),
                       OpenApiParameter("from", OpenApiTypes.DATE,
                                        description="First due day (wins over month)."),
                       OpenApiParameter("to", OpenApiTypes.DATE,
                                        description="Last due day, included (at most 366 "
                                                    "days)."),
                       OpenApiParameter("team", OpenApiTypes.INT,
                                        description="Team id (managers: their own).")],
                   responses={200: ReportSerializer})
    def get(self, request):
        try:
            filters = reports.report_filters(request.query_params, staff=self.staff,
                                             tenant=self.tenant)
            report = reports.followup_report(self.staff, **filters)
        except DjangoValidationError as exc:
            raise drf_error(exc) from None
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        return Response(ReportSerializer(report).data)

