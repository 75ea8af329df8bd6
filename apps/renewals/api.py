"""Renewals API: contracts (list, entry without a deal, detail with the renewal chain and the
reminders sent, end/notes change, hours consumed), contracts expiring soon, the renewal policy
and the renewal rates (thin: the selectors read, the services write and validate)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from apps.customers.api import drf_error
from apps.customers.models import Customer
from apps.deals import contracts
from apps.deals.models import Contract
from apps.ownership.selectors import tenant_today
from apps.tenancy.api import TenantAPIMixin
from apps.tenancy.permissions import IsTenantAdmin, role_permission

from . import selectors, services
from .forms import ContractFilterForm, ExpiringFilterForm, RateFilterForm, filter_errors
from .models import RenewalPolicy
from .serializers import (
    ContractHoursSerializer,
    ExpiringContractSerializer,
    RenewalContractCreateSerializer,
    RenewalContractDetailSerializer,
    RenewalContractSerializer,
    RenewalContractUpdateSerializer,
    RenewalPolicySerializer,
    RenewalRateRowSerializer,
)

CanSeeContracts = role_permission(*selectors.EXPIRING_ROLES)
CanCreateContracts = role_permission(*contracts.CREATE_ROLES)
CanSeePolicy = role_permission(*selectors.POLICY_ROLES)
CanSeeRates = role_permission(*selectors.RATE_ROLES)

FILTER_PARAMETERS = [
    OpenApiParameter("team", OpenApiTypes.INT, description=(
        "Only this team's (managers: their own; sales: not available).")),
    OpenApiParameter("owner", OpenApiTypes.INT, description=(
        "Only this salesperson's (managers: a member of their team; sales: not available)."))]


def _form_or_400(form):
    if not form.is_valid():
        raise ValidationError(filter_errors(form))
    return form.cleaned_data


class ContractListAPIView(TenantAPIMixin, GenericAPIView):
    """The contracts the caller sees (a salesperson's own, a manager's team, everything for
    administrators, customer service and finance), latest start first; managers and
    administrators enter a contract without a deal with POST."""

    model = Contract
    serializer_class = RenewalContractSerializer
    filter_backends = []

    def get_permissions(self):
        return [CanCreateContracts()] if self.request.method == "POST" else [CanSeeContracts()]

    @extend_schema(summary="Contracts", operation_id="renewals_contracts_list",
                   responses=RenewalContractSerializer(many=True), parameters=[
        OpenApiParameter("search", OpenApiTypes.STR, description=(
            "Part of the contract number, or the customer's name, mobile number or its last "
            "four digits.")),
        OpenApiParameter("status", OpenApiTypes.STR, enum=[
            contracts.STATUS_CURRENT, contracts.STATUS_UPCOMING, contracts.STATUS_ENDED,
            contracts.STATUS_RENEWED, contracts.STATUS_NOT_RENEWED]),
        *FILTER_PARAMETERS])
    def get(self, request):
        data = _form_or_400(ContractFilterForm(request.query_params, staff=self.staff))
        rows = contracts.contract_list(
            self.staff, today=tenant_today(self.tenant), search=data["search"], team=data["team"],
            owner=data["owner"], status=data["status"])
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(summary="Enter a contract without a deal (managers, administrators)",
                   request=RenewalContractCreateSerializer, responses={201: RenewalContractSerializer})
    def post(self, request):
        payload = RenewalContractCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        data["customer"] = Customer.objects.filter(pk=data["customer"]).first()
        try:
            contract = contracts.contract_create(tenant=self.tenant, actor=self.staff, **data)
        except DjangoValidationError as exc:
            raise drf_error(exc)
        return Response(RenewalContractSerializer(contract).data, status=status.HTTP_201_CREATED)


class ContractObjectAPIView(TenantAPIMixin, GenericAPIView):
    """A contract the caller sees (404 otherwise, as for another tenant's)."""

    model = Contract
    filter_backends = []
    permission_classes = [CanSeeContracts]

    def scope_queryset(self, queryset):
        return contracts.visible_contracts(self.staff, queryset).select_related(
            "customer", "owner", "team", "renewed_by")

    def detail(self, contract: Contract) -> dict:
        return RenewalContractDetailSerializer(contract, context={
            "chain": contracts.renewal_chain(contract),
            "reminders": selectors.contract_reminders(contract)}).data


class ContractDetailAPIView(ContractObjectAPIView):
    serializer_class = RenewalContractDetailSerializer

    @extend_schema(summary="A contract, its renewal chain and the reminders sent")
    def get(self, request, pk):
        return Response(self.detail(self.get_object()))

    @extend_schema(summary="Change a contract's end and/or notes (administrators; managers for "
                           "their team)", request=RenewalContractUpdateSerializer,
                   responses={200: RenewalContractDetailSerializer})
    def patch(self, request, pk):
        contract = self.get_object()
        payload = RenewalContractUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            contract = contracts.contract_update(tenant=self.tenant, actor=self.staff,
                                                 contract=contract, **payload.validated_data)
        except DjangoValidationError as exc:
            raise drf_error(exc)
        return Response(self.detail(contract))


class ContractHoursAPIView(ContractObjectAPIView):
    serializer_class = ContractHoursSerializer

    @extend_schema(summary="Record hours consumed on a course contract", request=ContractHoursSerializer,
                   responses={200: RenewalContractSerializer})
    def post(self, request, pk):
        contract = self.get_object()
        payload = ContractHoursSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            contract = contracts.contract_hours_consume(
                tenant=self.tenant, actor=self.staff, contract=contract,
                hours=payload.validated_data["hours"])
        except DjangoValidationError as exc:
            raise drf_error(exc)
        return Response(RenewalContractSerializer(contract).data)


class ExpiringListAPIView(TenantAPIMixin, GenericAPIView):
    """Contracts not renewed whose end is within `within` days (default: the largest lead day
    of the renewal policy), soonest first."""

    model = Contract
    serializer_class = ExpiringContractSerializer
    permission_classes = [CanSeeContracts]
    filter_backends = []

    @extend_schema(summary="Contracts expiring soon",
                   responses=ExpiringContractSerializer(many=True), parameters=[
        OpenApiParameter("within", OpenApiTypes.INT, description="Days from today (1 to 365)."),
        *FILTER_PARAMETERS])
    def get(self, request):
        data = _form_or_400(ExpiringFilterForm(request.query_params, staff=self.staff))
        rows = selectors.contracts_expiring(self.staff, within_days=data["within"],
                                            team=data["team"], owner=data["owner"])
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class PolicyAPIView(TenantAPIMixin, GenericAPIView):
    """The renewal reminder lead days (defaults [30, 7] until an administrator saves them)."""

    model = RenewalPolicy
    serializer_class = RenewalPolicySerializer
    filter_backends = []

    def get_permissions(self):
        return [IsTenantAdmin()] if self.request.method == "PUT" else [CanSeePolicy()]

    def answer(self, policy: RenewalPolicy | None) -> Response:
        if policy is None:
            return Response({"lead_days": selectors.lead_days_for(self.tenant),
                             "updated_by": None, "updated_at": None})
        return Response(self.get_serializer(policy).data)

    @extend_schema(summary="The renewal policy")
    def get(self, request):
        return self.answer(selectors.renewal_policy(self.tenant))

    @extend_schema(summary="Set the reminder lead days (administrators)",
                   request=RenewalPolicySerializer, responses={200: RenewalPolicySerializer})
    def put(self, request):
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            policy = services.renewal_policy_update(
                tenant=self.tenant, actor=self.staff,
                lead_days=payload.validated_data["lead_days"])
        except DjangoValidationError as exc:
            raise drf_error(exc)
        return self.answer(policy)


class RatesAPIView(TenantAPIMixin, GenericAPIView):
    """The renewal rate per month and team: contracts ending in the month, how many of them
    were renewed (at any time up to now) and the rate. Managers: their team; administrators
    and finance: every team."""

    model = Contract
    serializer_class = RenewalRateRowSerializer
    permission_classes = [CanSeeRates]
    filter_backends = []
    pagination_class = None

    @extend_schema(summary="Renewal rates per month and team", parameters=[
        OpenApiParameter("year", OpenApiTypes.INT, description="Default: this year."),
        OpenApiParameter("month", OpenApiTypes.INT, description="1 to 12; default: every month."),
        OpenApiParameter("team", OpenApiTypes.INT)],
        responses={200: inline_serializer("RenewalRates", fields={
            "year": serializers.IntegerField(),
            "rows": RenewalRateRowSerializer(many=True),
            "totals": RenewalRateRowSerializer(many=True)})})
    def get(self, request):
        data = _form_or_400(RateFilterForm(request.query_params, staff=self.staff))
        year = data["year"] or tenant_today(self.tenant).year
        rows = selectors.renewal_rate(self.staff, year=year, month=data["month"],
                                      team=data["team"])
        totals = selectors.rate_totals(rows)
        return Response({"year": year, "rows": RenewalRateRowSerializer(rows, many=True).data,
                         "totals": RenewalRateRowSerializer(totals, many=True).data})
