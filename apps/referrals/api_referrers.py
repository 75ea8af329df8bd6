"""Referrer API: list (search/kind), detail with cards, register (customer/staff/partner),
issue a card. Thin: apps.referrals.referrers reads and writes."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from apps.customers.api import drf_error
from apps.customers.selectors import visible_customers
from apps.tenancy.api import TenantAPIMixin
from apps.tenancy.models import Staff
from apps.tenancy.permissions import role_permission

from . import referrers as svc
from .models import ReferralCard, Referrer

CanView = role_permission(*svc.VIEW_ROLES)
CanRegister = role_permission(*svc.REGISTER_ROLES)


class CardSerializer(serializers.ModelSerializer):
    link = serializers.SerializerMethodField()

    class Meta:
        model = ReferralCard
        fields = ["id", "code", "active", "issued_at", "deactivated_at", "link"]

    def get_link(self, card) -> str:
        request = self.context["request"]
        return svc.card_link(request, request._request.tenant, card)


class ReferrerSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()
    active_cards = serializers.IntegerField(read_only=True, required=False)

    class Meta:
        model = Referrer
        fields = ["id", "kind", "name", "phone", "customer", "staff", "fee_kind", "fee_value",
                  "payment_due_working_days", "active", "registered_at", "active_cards"]
        read_only_fields = fields

    def get_name(self, referrer) -> str:
        return svc.referrer_name(referrer)

    def get_phone(self, referrer) -> str:
        """Masked (139****5678) for a customer the caller may not see."""
        return svc.referrer_phone(referrer)


class ReferrerDetailSerializer(ReferrerSerializer):
    cards = CardSerializer(many=True, read_only=True)

    class Meta(ReferrerSerializer.Meta):
        fields = [*ReferrerSerializer.Meta.fields, "cards"]


class ReferrerCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Referrer.Kind.choices)
    customer_id = serializers.IntegerField(required=False)
    id_number = serializers.CharField(required=False, allow_blank=True, max_length=30)
    staff_id = serializers.IntegerField(required=False)
    name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=20)
    fee_kind = serializers.CharField(required=False, allow_blank=True, max_length=10)
    fee_value = serializers.CharField(required=False, allow_blank=True, max_length=20)
    payment_due_working_days = serializers.IntegerField(required=False, default=0)


@extend_schema_view(
    list=extend_schema(summary="Referrers the caller may see", parameters=[
        OpenApiParameter("search", OpenApiTypes.STR, description="Name, phone or card code."),
        OpenApiParameter("kind", OpenApiTypes.STR, enum=Referrer.Kind.values)]),
    retrieve=extend_schema(summary="One referrer with their cards"),
)
class ReferrerViewSet(TenantAPIMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                      viewsets.GenericViewSet):
    model = Referrer
    serializer_class = ReferrerSerializer
    filter_backends = []
    lookup_value_regex = r"\d+"

    def get_permissions(self):
        return [CanRegister()] if self.request.method == "POST" else [CanView()]

    def get_serializer_class(self):
        return ReferrerDetailSerializer if self.action == "retrieve" else ReferrerSerializer

    def scope_queryset(self, queryset):
        if self.action == "list":
            params = self.request.query_params
            return svc.referrer_list(self.staff, search=params.get("search", ""),
                                     kind=params.get("kind", ""))
        return svc.with_customer_visibility(self.staff, svc.visible_referrers(
            self.staff, queryset).select_related("customer", "staff").prefetch_related("cards"))

    @extend_schema(summary="Register a referrer", request=ReferrerCreateSerializer,
                   responses={201: ReferrerDetailSerializer})
    def create(self, request):
        payload = ReferrerCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        kind = data["kind"]
        try:
            if kind == Referrer.Kind.CUSTOMER:
                customer = visible_customers(self.staff).filter(
                    pk=data.get("customer_id")).first()
                if customer is None:
                    raise ValidationError({"customer_id": [_("Unknown customer.")]})
                referrer = svc.referrer_register_customer(
                    tenant=self.tenant, actor=self.staff, customer=customer,
                    id_number=data.get("id_number", ""))
            elif kind == Referrer.Kind.STAFF:
                staff = Staff.objects.filter(pk=data.get("staff_id")).first()
                if staff is None:
                    raise ValidationError({"staff_id": [_("Unknown staff member.")]})
                referrer = svc.referrer_register_staff(tenant=self.tenant, actor=self.staff,
                                                       staff=staff)
            else:
                referrer = svc.referrer_register_partner(
                    tenant=self.tenant, actor=self.staff, name=data.get("name", ""),
                    phone=data.get("phone", ""), fee_kind=data.get("fee_kind", ""),
                    fee_value=data.get("fee_value", ""),
                    payment_due_working_days=data.get("payment_due_working_days", 0))
        except DjangoValidationError as exc:
            raise drf_error(exc, {"customer": "customer_id", "staff": "staff_id"})
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc) or None)
        referrer = self.scope_queryset(Referrer.objects.all()).get(pk=referrer.pk)
        return Response(ReferrerDetailSerializer(referrer, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(summary="Issue a card to the referrer", request=None,
                   responses={201: CardSerializer})
    @action(detail=True, methods=["post"], url_path="cards")
    def cards(self, request, pk=None):
        referrer = self.get_object()
        try:
            card = svc.card_issue(tenant=self.tenant, actor=self.staff, referrer=referrer)
        except DjangoValidationError as exc:
            raise drf_error(exc)
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc) or None)
        return Response(CardSerializer(card, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)



