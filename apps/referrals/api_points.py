"""API of the referrer points (thin: apps.referrals.points validates and writes).

GET /api/v1/referrals/referrers/<pk>/points/ (balance + ledger, newest first, running balance),
GET/POST /api/v1/referrals/redemptions/ (list with ?status=, request),
POST /api/v1/referrals/redemptions/<pk>/decide/ ({"approve": bool, "note": ""}),
GET/POST /api/v1/referrals/points-items/ (administrators create).
Roles as on the pages (see apps/referrals/points.py): customer service has no access."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from apps.customers.api import drf_error
from apps.customers.serializers import NamedRefSerializer
from apps.tenancy.api import TenantAPIMixin
from apps.tenancy.permissions import IsTenantAdmin, role_permission

from . import points
from .models import PointsEntry, PointsItem, PointsRedemption, Referrer

CanView = role_permission(*points.VIEW_ROLES)
CanRequest = role_permission(*points.REQUEST_ROLES)
CanDecide = role_permission(*points.DECIDE_ROLES)


class PointsItemSerializer(serializers.ModelSerializer):
    name = serializers.CharField(max_length=200)
    points = serializers.IntegerField(min_value=1)
    active = serializers.BooleanField(required=False, default=True)

    class Meta:
        model = PointsItem
        fields = ["id", "name", "points", "active"]
        read_only_fields = ["id"]


class PointsEntrySerializer(serializers.ModelSerializer):
    running_balance = serializers.IntegerField(read_only=True)
    created_by = NamedRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = PointsEntry
        fields = ["id", "kind", "points", "running_balance", "reason", "referral", "redemption",
                  "created_by", "created_at"]


class ReferrerLedgerSerializer(serializers.Serializer):
    """The answer of the ledger endpoint (for the schema): the balance, then a page of rows."""

    referrer = serializers.IntegerField()
    balance = serializers.IntegerField()
    held = serializers.IntegerField()
    available = serializers.IntegerField()
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = PointsEntrySerializer(many=True)


class RedemptionSerializer(serializers.ModelSerializer):
    referrer = serializers.PrimaryKeyRelatedField(queryset=Referrer.objects)
    item = serializers.PrimaryKeyRelatedField(queryset=PointsItem.objects)
    note = serializers.CharField(required=False, allow_blank=True, max_length=400)
    requested_by = NamedRefSerializer(read_only=True)
    decided_by = NamedRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = PointsRedemption
        fields = ["id", "referrer", "item", "points", "status", "note", "requested_by",
                  "requested_at", "decided_by", "decided_at"]
        read_only_fields = ["id", "points", "status", "requested_at", "decided_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and getattr(request._request, "staff", None) is not None:
            # Referrers the caller may not see, and other tenants' ids, are "does not exist".
            self.fields["referrer"].queryset = points.points_visible_referrers(request._request.staff)
            self.fields["item"].queryset = PointsItem.objects.all()


class RedemptionDecideSerializer(serializers.Serializer):
    approve = serializers.BooleanField(help_text=_("true approves, false rejects."))
    note = serializers.CharField(required=False, allow_blank=True, max_length=400)


class ReferrerLedgerAPIView(TenantAPIMixin, GenericAPIView):
    """A referrer's balance (and held/available points) with the ledger rows, newest first."""

    model = Referrer
    serializer_class = PointsEntrySerializer
    permission_classes = [CanView]
    filter_backends = []

    def scope_queryset(self, queryset):
        return points.points_visible_referrers(self.staff, queryset)

    @extend_schema(summary="A referrer's points balance and ledger",
                   operation_id="referrals_referrer_points",
                   responses=ReferrerLedgerSerializer)
    def get(self, request, pk):
        referrer = self.get_object()
        kind = request.query_params.get("kind", "")
        if kind not in PointsEntry.Kind.values:
            kind = ""
        page = self.paginate_queryset(points.referrer_ledger(referrer, kind=kind))
        response = self.get_paginated_response(self.get_serializer(page, many=True).data)
        balance, held = points.points_balance(referrer), points.points_held(referrer)
        response.data = {"referrer": referrer.pk, "balance": balance, "held": held,
                         "available": balance - held, **response.data}
        return response


class RedemptionListAPIView(TenantAPIMixin, GenericAPIView):
    """Redemptions (?status=requested|approved|rejected; managers, admins and finance see all,
    sales those of the referrers they may see); POST requests one."""

    model = PointsRedemption
    serializer_class = RedemptionSerializer
    filter_backends = []

    def get_permissions(self):
        return [CanRequest()] if self.request.method == "POST" else [CanView()]

    def scope_queryset(self, queryset):
        return queryset.filter(referrer__in=points.points_visible_referrers(self.staff))

    @extend_schema(summary="Points redemptions", operation_id="referrals_redemptions_list",
                   responses=RedemptionSerializer(many=True))
    def get(self, request):
        wanted = request.query_params.get("status", "")
        wanted = wanted if wanted in PointsRedemption.Status.values else ""
        rows = points.redemptions(status=wanted).filter(
            referrer__in=points.points_visible_referrers(self.staff))
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(summary="Request a redemption", operation_id="referrals_redemptions_create",
                   responses={201: RedemptionSerializer})
    def post(self, request):
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        try:
            row = points.redemption_request(tenant=self.tenant, actor=self.staff,
                                            referrer=data["referrer"], item=data["item"],
                                            note=data.get("note", ""))
        except DjangoValidationError as exc:
            raise drf_error(exc)
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc))
        return Response(self.get_serializer(row).data, status=status.HTTP_201_CREATED)


class RedemptionDecideAPIView(TenantAPIMixin, GenericAPIView):
    """Approve or reject a pending redemption (managers, administrators)."""

    model = PointsRedemption
    serializer_class = RedemptionDecideSerializer
    permission_classes = [CanDecide]
    filter_backends = []

    @extend_schema(summary="Approve or reject a redemption",
                   operation_id="referrals_redemptions_decide",
                   responses={200: RedemptionSerializer})
    def post(self, request, pk):
        redemption = self.get_object()
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            row = points.redemption_decide(tenant=self.tenant, actor=self.staff,
                                           redemption=redemption, **payload.validated_data)
        except DjangoValidationError as exc:
            raise drf_error(exc)
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc))
        return Response(RedemptionSerializer(row, context=self.get_serializer_context()).data)


class PointsItemListAPIView(TenantAPIMixin, GenericAPIView):
    """The points items (cheapest first); administrators add one."""

    model = PointsItem
    serializer_class = PointsItemSerializer
    filter_backends = []

    def get_permissions(self):
        return [IsTenantAdmin()] if self.request.method == "POST" else [CanView()]

    @extend_schema(summary="Points items", operation_id="referrals_points_items_list",
                   responses=PointsItemSerializer(many=True))
    def get(self, request):
        active = request.query_params.get("active") in ("1", "true")
        page = self.paginate_queryset(points.points_items(active_only=active))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(summary="Add a points item (administrators)",
                   operation_id="referrals_points_items_create",
                   responses={201: PointsItemSerializer})
    def post(self, request):
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            item = points.points_item_create(tenant=self.tenant, actor=self.staff,
                                             **payload.validated_data)
        except DjangoValidationError as exc:
            raise drf_error(exc)
        return Response(self.get_serializer(item).data, status=status.HTTP_201_CREATED)

