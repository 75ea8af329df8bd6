"""Ownership API: policy versions, the "about to be released" list, the public pool, returning
a customer to the pool, reassignment and a customer's ownership history (thin: the selectors
read, the services write and validate). Claiming is `POST /api/v1/ownership/customers/<pk>/claim/`
(apps.ownership.api_registration)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from apps.customers.api import drf_error
from apps.customers.models import Customer
from apps.customers.selectors import visible_customers
from apps.customers.serializers import CustomerSerializer
from apps.tenancy.api import TenantAPIMixin
from apps.tenancy.models import Staff
from apps.tenancy.permissions import IsActiveStaff, IsTenantAdmin, role_permission
from apps.tenancy.roles import Role

from . import services
from .forms import ExpiringFilterForm
from .models import OwnershipPolicy
from .selectors import (
    EXPIRING_ROLES,
    REASSIGN_ROLES,
    expiring_customers,
    ownership_history,
    pool_customers,
    pool_rows,
)
from .serializers import (
    ExpiringCustomerSerializer,
    OwnershipChangeSerializer,
    PolicySerializer,
    PoolCustomerSerializer,
    ReassignResultSerializer,
    ReassignSerializer,
    ReturnSerializer,
)

CanViewPolicy = role_permission(Role.ADMIN, Role.MANAGER)
CanSeeExpiring = role_permission(*EXPIRING_ROLES)
CanReassign = role_permission(*REASSIGN_ROLES)


class PolicyListAPIView(TenantAPIMixin, GenericAPIView):
    """Every version of the tenant's ownership policy (newest first); admins add one."""

    model = OwnershipPolicy
    serializer_class = PolicySerializer
    filter_backends = []

    def get_permissions(self):
        return [IsTenantAdmin()] if self.request.method == "POST" else [CanViewPolicy()]

    def scope_queryset(self, queryset):
        return queryset.select_related("created_by").order_by("-effective_from", "-version")

    @extend_schema(summary="The ownership policy versions, newest first",
                   responses=PolicySerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(summary="Add a version of the ownership policy (administrators)",
                   responses={201: PolicySerializer})
    def post(self, request):
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            policy = services.policy_create(tenant=self.tenant, actor=self.staff,
                                            **payload.validated_data)
        except DjangoValidationError as exc:
            raise drf_error(exc)
        return Response(self.get_serializer(policy).data, status=status.HTTP_201_CREATED)


class ExpiringListAPIView(TenantAPIMixin, GenericAPIView):
    """Customers whose protection ends within the policy's warning days, soonest first: a
    salesperson's own, a manager's team, an admin's whole company."""

    model = Customer
    serializer_class = ExpiringCustomerSerializer
    permission_classes = [CanSeeExpiring]
    filter_backends = []

    @extend_schema(summary="Customers about to be released to the public pool",
                   responses=ExpiringCustomerSerializer(many=True), parameters=[
        OpenApiParameter("owner", OpenApiTypes.INT, description=(
            "Only this salesperson's (managers: a member of their team; admins: anyone)."))])
    def get(self, request):
        form = ExpiringFilterForm(request.query_params, staff=self.staff)
        if not form.is_valid():
            raise ValidationError({k: list(v) for k, v in form.errors.items()})
        customers = expiring_customers(self.staff, owner=form.cleaned_data["owner"])
        page = self.paginate_queryset(customers)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class PoolListAPIView(TenantAPIMixin, GenericAPIView):
    """The public pool, newest release first. Names and numbers are masked unless the caller
    may see the customer anyway; claim with POST /api/v1/ownership/customers/<pk>/claim/."""

    model = Customer
    serializer_class = PoolCustomerSerializer
    permission_classes = [IsActiveStaff]
    filter_backends = []

    @extend_schema(summary="The public pool", responses=PoolCustomerSerializer(many=True), parameters=[
        OpenApiParameter("search", OpenApiTypes.STR, description=(
            "Four digits: the last four digits of the mobile number; a mobile number: that "
            "number; anything else: part of the name.")),
        OpenApiParameter("team", OpenApiTypes.INT),
        OpenApiParameter("source", OpenApiTypes.STR, enum=Customer.Source.values)])
    def get(self, request):
        try:
            customers = pool_customers(self.staff, request.query_params)
        except DjangoValidationError as exc:
            raise drf_error(exc)
        page = self.paginate_queryset(customers)
        rows = pool_rows(self.staff, page)
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)


class CustomerObjectAPIView(TenantAPIMixin, GenericAPIView):
    """A customer the caller may see (404 otherwise, as for another tenant's)."""

    model = Customer
    filter_backends = []

    def scope_queryset(self, queryset):
        return visible_customers(self.staff, queryset).select_related("owner", "team",
                                                                      "created_by")


class ReturnAPIView(CustomerObjectAPIView):
    serializer_class = ReturnSerializer
    permission_classes = [IsActiveStaff]

    @extend_schema(summary="Return a customer to the public pool (with a reason)",
                   request=ReturnSerializer, responses={200: CustomerSerializer})
    def post(self, request, pk):
        customer = self.get_object()
        payload = ReturnSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            customer = services.customer_return_to_pool(
                tenant=self.tenant, actor=self.staff, customer=customer,
                reason=payload.validated_data.get("reason", ""))
        except DjangoValidationError as exc:
            raise drf_error(exc)
        return Response(CustomerSerializer(customer, context={"request": request}).data)


class HistoryAPIView(CustomerObjectAPIView):
    serializer_class = OwnershipChangeSerializer
    permission_classes = [IsActiveStaff]

    @extend_schema(summary="The customer's changes of owner, newest first",
                   responses=OwnershipChangeSerializer(many=True))
    def get(self, request, pk):
        customer = self.get_object()
        page = self.paginate_queryset(ownership_history(customer))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class ReassignAPIView(TenantAPIMixin, GenericAPIView):
    """Move all (or the listed) customers of one salesperson to others, in one transaction."""

    model = Customer
    serializer_class = ReassignSerializer
    permission_classes = [CanReassign]
    filter_backends = []

    RENAME = {"from_owner": "from_owner_id", "to_owners": "to_owner_ids"}

    @extend_schema(summary="Reassign a salesperson's customers (managers: within their team)",
                   request=ReassignSerializer, responses={200: ReassignResultSerializer})
    def post(self, request):
        payload = ReassignSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        errors = {}
        from_owner = Staff.objects.filter(pk=data["from_owner_id"]).first()
        if from_owner is None:
            errors["from_owner_id"] = [_("Unknown staff member.")]
        ids = list(dict.fromkeys(data["to_owner_ids"]))
        found = {s.pk: s for s in Staff.objects.filter(pk__in=ids)}
        if len(found) != len(ids):
            errors["to_owner_ids"] = [_("Unknown staff member.")]
        if errors:
            raise ValidationError(errors)
        try:
            counts = services.customers_reassign(
                tenant=self.tenant, actor=self.staff, from_owner=from_owner,
                to_owners=[found[pk] for pk in ids], customer_ids=data.get("customer_ids"),
                note=data.get("note", ""))
        except DjangoValidationError as exc:
            raise drf_error(exc, self.RENAME)
        return Response({"moved": sum(counts.values()),
                         "to": [{"id": pk, "name": found[pk].name, "customers": n}
                                for pk, n in counts.items()]})
