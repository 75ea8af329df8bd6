"""Deal API (thin: the selectors read, the services write and validate).

Deals are entered and read; the only change is the notes (PATCH); money changes through
refunds (POST /deals/<id>/refunds/)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from apps.customers.api import drf_error
from apps.customers.models import Customer
from apps.tenancy.api import TenantAPIMixin
from apps.tenancy.models import Staff
from apps.tenancy.permissions import role_permission

from . import services
from .models import Contract, Deal
from .selectors import (
    CREATE_ROLES,
    READ_ROLES,
    REFUND_ROLES,
    deal_detail_queryset,
    deal_list,
)
from .serializers import (
    DealCreateSerializer,
    DealDetailSerializer,
    DealNotesSerializer,
    DealSerializer,
    RefundCreateSerializer,
    RefundSerializer,
)

CanReadDeals = role_permission(*READ_ROLES)
CanCreateDeals = role_permission(*CREATE_ROLES)
CanRefundDeals = role_permission(*REFUND_ROLES)

LIST_PARAMETERS = [
    OpenApiParameter("search", OpenApiTypes.STR, description=(
        "A mobile number: that customer's deals; four digits: the phone's last four or part of "
        "the contract number; anything else: part of the contract number or customer name.")),
    OpenApiParameter("kind", OpenApiTypes.STR, enum=Deal.Kind.values),
    OpenApiParameter("team", OpenApiTypes.INT, description="Team id (the team at signing)."),
    OpenApiParameter("participant", OpenApiTypes.INT,
                     description="Deals this staff member took part in (staff id)."),
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="Signed on or after."),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="Signed on or before."),
]


@extend_schema_view(
    list=extend_schema(summary="List the deals the caller may see", parameters=LIST_PARAMETERS),
    retrieve=extend_schema(summary="One deal: who gets what credit and why, refunds"),
    create=extend_schema(summary="Enter a deal (its credit is split at once)",
                         request=DealCreateSerializer, responses={201: DealDetailSerializer}),
    partial_update=extend_schema(summary="Change a deal's notes (the only change a deal takes)",
                                 request=DealNotesSerializer, responses=DealDetailSerializer),
)
class DealViewSet(TenantAPIMixin, mixins.CreateModelMixin, mixins.RetrieveModelMixin,
                  mixins.ListModelMixin, viewsets.GenericViewSet):
    """Deals of the caller's tenant, narrowed by apps.deals.selectors.visible_deals.
    Customer service may not see deals; finance reads and refunds."""

    model = Deal
    filter_backends = []  # search and filters: selectors.deal_list
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_serializer_class(self):
        if self.action == "list":
            return DealSerializer
        if self.action == "create":
            return DealCreateSerializer
        if self.action == "partial_update":
            return DealNotesSerializer
        if self.action == "refunds":
            return RefundCreateSerializer if self.request.method == "POST" else RefundSerializer
        return DealDetailSerializer

    def get_permissions(self):
        if self.action in ("create", "partial_update"):
            return [CanCreateDeals()]
        if self.action == "refunds" and self.request.method == "POST":
            return [CanRefundDeals()]
        return [CanReadDeals()]

    def scope_queryset(self, queryset):
        if self.action == "list":
            try:
                return deal_list(self.staff, self.request.query_params, queryset=queryset)
            except DjangoValidationError as exc:
                raise drf_error(exc)
        return deal_detail_queryset(self.staff, queryset)

    # ----------------------------------------------------------------------- create

    def _resolve(self, data: dict) -> dict:
        """Ids to objects of the tenant. An id of another tenant (or unknown) is left as None
        for the service to refuse as "unknown" (never telling whether it exists elsewhere)."""
        data = dict(data)
        errors: dict = {}
        data["customer"] = (Customer.objects.select_related("owner", "team")
                            .filter(pk=data["customer"]).first())
        staff_ids = {p["staff"] for p in data["participants"]}
        staff = {s.pk: s for s in Staff.objects.filter(pk__in=staff_ids)} if staff_ids else {}
        data["participants"] = [(staff.get(p["staff"]), p["role"], p.get("subject", ""))
                                for p in data["participants"]]
        renews_id = data.get("renews")
        if renews_id is not None:
            data["renews"] = Contract.objects.filter(pk=renews_id).first()
            if data["renews"] is None:
                errors["renews"] = [_("Unknown contract.")]
        if errors:
            raise ValidationError(errors)
        return data

    def create(self, request, *args, **kwargs):
        payload = DealCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            deal = services.deal_create(tenant=self.tenant, actor=self.staff,
                                        **self._resolve(payload.validated_data))
        except DjangoValidationError as exc:
            raise drf_error(exc)
        return Response(DealDetailSerializer(deal, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        deal = self.get_object()
        payload = DealNotesSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            services.deal_notes_update(tenant=self.tenant, actor=self.staff, deal=deal,
                                       notes=payload.validated_data["notes"])
        except DjangoValidationError as exc:
            raise drf_error(exc)
        deal = self.get_queryset().get(pk=deal.pk)
        return Response(DealDetailSerializer(deal, context=self.get_serializer_context()).data)

    # ----------------------------------------------------------------------- refunds

    @extend_schema(methods=["GET"], summary="The deal's refunds with their credit reversals",
                   request=None, responses=RefundSerializer(many=True))
    @extend_schema(methods=["POST"], summary="Refund part or all of the deal (managers of its "
                   "team, finance, administrators); its credit is reversed in proportion",
                   request=RefundCreateSerializer, responses={201: RefundSerializer})
    @action(detail=True, methods=["get", "post"], url_path="refunds", pagination_class=None,
            filter_backends=[])
    def refunds(self, request, pk=None):
        deal = self.get_object()
        if request.method == "GET":
            refunds = list(deal.refunds.all())
            return Response(RefundSerializer(refunds, many=True).data)
        payload = RefundCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            refund = services.deal_refund(tenant=self.tenant, actor=self.staff, deal=deal,
                                          **payload.validated_data)
        except DjangoValidationError as exc:
            raise drf_error(exc)
        refund = (type(refund).objects.select_related("created_by", "deal")
                  .prefetch_related("credit_reversals__staff").get(pk=refund.pk))
        lines = sorted(refund.credit_reversals.all(), key=lambda c: c.pk)
        return Response(RefundSerializer(refund, context={"reversals": {refund.pk: lines}}).data,
                        status=status.HTTP_201_CREATED)
