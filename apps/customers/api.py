"""Customer API (thin: the selectors read, the services write and validate)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from apps.tenancy.api import TenantModelViewSet
from apps.tenancy.models import Staff, Team
from apps.tenancy.permissions import IsActiveStaff, role_permission

from . import services
from .models import Customer
from .selectors import (
    WRITE_ROLES,
    customer_list,
    customer_relations,
    relations_of,
    visible_customers,
)
from .serializers import CustomerSerializer, RelationCreateSerializer, RelationSerializer

CanWriteCustomers = role_permission(*WRITE_ROLES)


def drf_error(exc: DjangoValidationError, rename: dict | None = None) -> ValidationError:
    """A service's Django ValidationError as a DRF one, keyed by the API's field names."""
    rename = rename or {}
    if not hasattr(exc, "error_dict"):
        return ValidationError({"non_field_errors": exc.messages})
    out = {}
    for field, messages in exc.message_dict.items():
        key = "non_field_errors" if field == "__all__" else rename.get(field, field)
        out.setdefault(key, []).extend(messages)
    return ValidationError(out)


def service_call(fn, rename: dict | None = None):
    """`fn()` (a service call): its ValidationError as a 400 with the API's field names, its
    PermissionDenied as a 403."""
    try:
        return fn()
    except DjangoValidationError as exc:
        raise drf_error(exc, rename) from None
    except DjangoPermissionDenied as exc:
        raise PermissionDenied(str(exc)) from None


LIST_PARAMETERS = [
    OpenApiParameter("search", OpenApiTypes.STR, description=(
        "Four digits: the last four digits of the mobile number; a mobile number: that number; "
        "anything else: part of the name.")),
    OpenApiParameter("owner", OpenApiTypes.INT, description="Owner's staff id."),
    OpenApiParameter("team", OpenApiTypes.INT, description="Team id."),
    OpenApiParameter("source", OpenApiTypes.STR, enum=Customer.Source.values),
    OpenApiParameter("grade", OpenApiTypes.STR, enum=[v for v in Customer.Grade.values if v]),
    OpenApiParameter("tag", OpenApiTypes.STR, description="Customers carrying this tag."),
    OpenApiParameter("ordering", OpenApiTypes.STR,
                     enum=["name", "-name", "created_at", "-created_at"]),
]


@extend_schema_view(
    list=extend_schema(summary="List the customers the caller may see", parameters=LIST_PARAMETERS),
    retrieve=extend_schema(summary="One customer"),
    create=extend_schema(summary="Register a customer"),
    update=extend_schema(summary="Change a customer"),
    partial_update=extend_schema(summary="Change some fields of a customer"),
)
class CustomerViewSet(TenantModelViewSet):
    """Customers of the caller's tenant, narrowed by the visibility rule
    (apps.customers.selectors.visible_customers). Finance may only read."""

    model = Customer
    serializer_class = CustomerSerializer
    filter_backends = []  # search, filters and ordering: selectors.customer_list
    lookup_value_regex = r"\d+"
    rename = {"owner": "owner_id", "team": "team_id"}

    def get_permissions(self):
        writing = self.action in ("create", "update", "partial_update") or (
            self.action in ("relations", "relation_detail") and self.request.method != "GET")
        return [CanWriteCustomers()] if writing else [IsActiveStaff()]

    def scope_queryset(self, queryset):
        if self.action == "list":
            try:
                return customer_list(self.staff, self.request.query_params,
                                     queryset=queryset).select_related("created_by")
            except DjangoValidationError as exc:
                raise drf_error(exc)
        return visible_customers(self.staff, queryset).select_related("owner", "team", "created_by")

    def _service_kwargs(self, data: dict) -> dict:
        data = dict(data)
        errors = {}
        if "owner_id" in data:
            owner_id = data.pop("owner_id")
            data["owner"] = None if owner_id is None else Staff.objects.filter(pk=owner_id).first()
            if owner_id is not None and data["owner"] is None:
                errors["owner_id"] = [_("Unknown staff member.")]
        if "team_id" in data:
            team_id = data.pop("team_id")
            data["team"] = None if team_id is None else Team.objects.filter(pk=team_id).first()
            if team_id is not None and data["team"] is None:
                errors["team_id"] = [_("Unknown team.")]
        if errors:
            raise ValidationError(errors)
        return data

    def perform_create(self, serializer):
        try:
            serializer.instance = services.customer_create(
                tenant=self.tenant, actor=self.staff, **self._service_kwargs(serializer.validated_data))
        except DjangoValidationError as exc:
            raise drf_error(exc, self.rename)

    def perform_update(self, serializer):
        try:
            serializer.instance = services.customer_update(
                tenant=self.tenant, actor=self.staff, customer=serializer.instance,
                **self._service_kwargs(serializer.validated_data))
        except DjangoValidationError as exc:
            raise drf_error(exc, self.rename)

    @extend_schema(methods=["GET"], summary="The customer's relations (both directions)",
                   request=None, responses=RelationSerializer(many=True))
    @extend_schema(methods=["POST"], summary="Relate the customer to another one",
                   request=RelationCreateSerializer, responses={201: RelationSerializer})
    @action(detail=True, methods=["get", "post"], url_path="relations", pagination_class=None,
            filter_backends=[])
    def relations(self, request, pk=None):
        customer = self.get_object()
        if request.method == "GET":
            return Response(RelationSerializer(customer_relations(customer, self.staff), many=True).data)
        payload = RelationCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        related = Customer.objects.filter(pk=payload.validated_data["related_id"]).first()
        try:
            relation = services.relation_add(tenant=self.tenant, actor=self.staff, customer=customer,
                                             related=related, kind=payload.validated_data["kind"])
        except DjangoValidationError as exc:
            raise drf_error(exc, {"related": "related_id"})
        row = next(r for r in customer_relations(customer, self.staff)
                   if r["relation"].pk == relation.pk)
        return Response(RelationSerializer(row).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Remove one of the customer's relations", request=None,
                   responses={204: None},
                   parameters=[OpenApiParameter("relation_id", OpenApiTypes.INT,
                                                OpenApiParameter.PATH)])
    @action(detail=True, methods=["delete"], url_path=r"relations/(?P<relation_id>\d+)",
            pagination_class=None, filter_backends=[])
    def relation_detail(self, request, pk=None, relation_id=None):
        customer = self.get_object()
        relation = get_object_or_404(relations_of(customer), pk=relation_id)
        try:
            services.relation_remove(tenant=self.tenant, actor=self.staff, customer=customer,
                                     relation=relation)
        except DjangoValidationError as exc:
            raise drf_error(exc)
        return Response(status=status.HTTP_204_NO_CONTENT)
