"""API of the referral reports (thin: apps.referrals.reports computes; the definitions are in
its docstring).

GET /api/v1/referrals/reports/?from=YYYY-MM&to=YYYY-MM (default: the last 12 months, at most
36): the figures per month, per team (administrators, managers, finance: the whole tenant) and
over the range. A salesperson gets their own figures and no team rows; customer service 403."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from apps.tenancy.api import TenantAPIMixin
from apps.tenancy.permissions import role_permission

from . import reports
from .forms_reports import ReportRangeForm
from .models import Referral

CanSeeReports = role_permission(*reports.REPORT_ROLES)


class ReferralReportFiguresSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text=_("Referrals created in the period."))
    via_staff = serializers.IntegerField(help_text=_("Of those, logged by staff."))
    via_link = serializers.IntegerField(help_text=_("Of those, left through a public link."))
    converted = serializers.IntegerField(
        help_text=_("Of those, converted (converted, reward pending, approved, paid, reversed)."))
    success = serializers.IntegerField(help_text=_("Of the converted, not reversed."))
    reversed = serializers.IntegerField(help_text=_("Of the converted, reversed after a refund."))
    rejected = serializers.IntegerField()
    rejected_by_reason = serializers.DictField(child=serializers.IntegerField(),
                                               help_text=_("Rejections per reason."))
    open = serializers.IntegerField(help_text=_("Still registered or verified."))
    conversion_rate = serializers.DecimalField(max_digits=5, decimal_places=1, allow_null=True,
                                               help_text=_("converted / created in %."))
    deals = serializers.IntegerField(help_text=_("Deals signed in the period."))
    referred_deals = serializers.IntegerField(
        help_text=_("Of those, the deals that converted a referral."))
    referral_rate = serializers.DecimalField(max_digits=5, decimal_places=1, allow_null=True,
                                             help_text=_("referred_deals / deals in %."))
    average_days = serializers.DecimalField(
        max_digits=8, decimal_places=1, allow_null=True,
        help_text=_("Average days from the referral to the signing of its deal."))
    median_days = serializers.DecimalField(
        max_digits=8, decimal_places=1, allow_null=True,
        help_text=_("Median days from the referral to the signing of its deal."))


class ReferralReportMonthSerializer(serializers.Serializer):
    month = serializers.SerializerMethodField()
    figures = ReferralReportFiguresSerializer()

    def get_month(self, row) -> str:
        return row.month.strftime("%Y-%m")


class ReferralReportTeamRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ReferralReportTeamSerializer(serializers.Serializer):
    team = serializers.SerializerMethodField(
        help_text=_("null: unassigned referrals and deals without a team."))
    highlight = serializers.SerializerMethodField(help_text=_("The caller's own team."))
    figures = ReferralReportFiguresSerializer()

    @extend_schema_field(ReferralReportTeamRefSerializer(allow_null=True))
    def get_team(self, row) -> dict | None:
        return {"id": row.team_id, "name": row.team_name} if row.team_id is not None else None

    def get_highlight(self, row) -> bool:
        return row.team_id is not None and row.team_id == self.context.get("highlight_team_id")


class ReferralReportSerializer(serializers.Serializer):
    first = serializers.SerializerMethodField(help_text=_("The first month (YYYY-MM)."))
    last = serializers.SerializerMethodField(help_text=_("The last month (YYYY-MM)."))
    scope = serializers.ChoiceField(choices=[("tenant", "tenant"), ("own", "own")],
                                    help_text=_("tenant: the whole company; own: the caller's."))
    months = ReferralReportMonthSerializer(many=True)
    teams = ReferralReportTeamSerializer(many=True)
    total = ReferralReportFiguresSerializer()

    def get_first(self, report) -> str:
        return report.first.strftime("%Y-%m")

    def get_last(self, report) -> str:
        return report.last.strftime("%Y-%m")


class ReferralReportAPIView(TenantAPIMixin, GenericAPIView):
    """The referral report of a month range (see apps.referrals.reports)."""

    model = Referral
    serializer_class = ReferralReportSerializer
    permission_classes = [CanSeeReports]
    filter_backends = []
    pagination_class = None

    @extend_schema(summary="Referral reports per month and team",
                   operation_id="referrals_reports", parameters=[
                       OpenApiParameter("from", OpenApiTypes.STR,
                                        description="First month, YYYY-MM (default: 11 months "
                                                    "before `to`)."),
                       OpenApiParameter("to", OpenApiTypes.STR,
                                        description="Last month, YYYY-MM (default: this month).")],
                   responses={200: ReferralReportSerializer})
    def get(self, request):
        form = ReportRangeForm(request.query_params, tenant=self.tenant)
        if not form.is_valid():
            raise ValidationError({k: list(v) for k, v in form.errors.items()})
        report = reports.referral_report(self.staff, first=form.cleaned_data["from"],
                                         last=form.cleaned_data["to"])
        return Response(ReferralReportSerializer(
            report, context={"highlight_team_id": report.highlight_team_id}).data)
