"""API of the membership cards (thin: apps.vip.cards reads and writes).

GET  /api/v1/vip/vip-cards/?status=&kind=&tier=&team=&search=   the cards the caller sees
POST /api/v1/vip/vip-cards/                {"customer": id, "number": "VIP000001",
                                            "issued_on": "2026-10-01" (default today), "note": ""}
GET  /api/v1/vip/vip-cards/<pk>/           a card with the customer's card history
POST /api/v1/vip/vip-cards/<pk>/reissue/   {"number": "VIP000002", "note": "丢失"} (lost)
POST /api/v1/vip/vip-cards/<pk>/void/      {"note": "发错了"} (administrators)
GET  /api/v1/vip/cards/to-issue/?team=&tier=&search=            发卡: customers due a card
GET  /api/v1/vip/cards/stats/?month=YYYY-MM                     the month per team, totals

Customer service, administrators and finance read every card, managers their team's
customers' cards, sales their own customers'; issuing and reissuing: customer service and
administrators (403 for the others); the to-issue list: customer service and administrators;
the statistics: those and finance, managers (their team). Refusals are field errors (400);
another tenant's card is 404 whatever the method."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from apps.core.filters import clean_filter_form
from apps.customers.api import drf_error, service_call
from apps.customers.selectors import visible_customers
from apps.customers.serializers import NamedRefSerializer
from apps.ownership.selectors import tenant_today
from apps.tenancy.api import TenantAPIMixin
from apps.tenancy.permissions import role_permission

from . import cards as svc
from .forms_cards import CardFilterForm, CardStatsForm, ToIssueFilterForm
from .models import CustomerTier, VipCard

CanView = role_permission(*svc.VIEW_ROLES)
CanIssue = role_permission(*svc.ISSUE_ROLES)
CanVoid = role_permission(*svc.VOID_ROLES)
CanStats = role_permission(*svc.STATS_ROLES)


# --------------------------------------------------------------------------- serializers


class CardRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    number = serializers.CharField(read_only=True)
    tier = serializers.CharField(read_only=True)


class VipCardSerializer(serializers.ModelSerializer):
    customer = NamedRefSerializer(read_only=True)
    team = NamedRefSerializer(read_only=True, allow_null=True,
                              help_text=gettext_lazy("The customer's team at issue."))
    tier_name = serializers.SerializerMethodField()
    issued_by = NamedRefSerializer(read_only=True, allow_null=True)
    voided_by = NamedRefSerializer(read_only=True, allow_null=True)
    replaces = serializers.IntegerField(source="replaces_id", read_only=True, allow_null=True)
    # Plain strings (their values in the help text): "kind" and "status" enums of other
    # components would collide in the schema's enum names.
    kind = serializers.CharField(read_only=True, help_text=gettext_lazy(
        "first (first card), upgrade (after a tier upgrade) or reissue (after a loss)."))
    status = serializers.CharField(read_only=True, help_text=gettext_lazy("active or void."))
    void_reason = serializers.CharField(read_only=True, help_text=gettext_lazy(
        "Empty while active; lost, upgraded or other."))

    class Meta:
        model = VipCard
        fields = ["id", "number", "customer", "tier", "tier_name", "kind", "status", "team",
                  "issued_on", "issued_by", "replaces", "void_reason", "void_note",
                  "voided_at", "voided_by", "created_at"]
        read_only_fields = fields

    def get_tier_name(self, card) -> str:
        names = self.context.get("tier_names") or {}
        return names.get(card.tier, card.tier)


class VipCardHistorySerializer(VipCardSerializer):
    replaced_by = serializers.SerializerMethodField()

    class Meta(VipCardSerializer.Meta):
        fields = [*VipCardSerializer.Meta.fields, "replaced_by"]
        read_only_fields = fields

    def get_replaced_by(self, card) -> int | None:
        replaced_by = getattr(card, "replaced_by", None)
        return replaced_by.pk if replaced_by is not None else None


class VipCardDetailSerializer(VipCardHistorySerializer):
    history = VipCardHistorySerializer(many=True, read_only=True, help_text=gettext_lazy(
        "Every card of the customer, oldest first."))

    class Meta(VipCardHistorySerializer.Meta):
        fields = [*VipCardHistorySerializer.Meta.fields, "history"]
        read_only_fields = fields


class CardIssueSerializer(serializers.Serializer):
    customer = serializers.IntegerField(min_value=1)
    number = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=100,
                                   help_text=gettext_lazy(
                                       "Letters, digits and “-”, at most 30; unique in your "
                                       "company (stored upper-case)."))
    issued_on = serializers.DateField(required=False, allow_null=True,
                                      help_text=gettext_lazy("Default: today."))
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000)


class CardReissueSerializer(serializers.Serializer):
    number = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=100)
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000,
                                 help_text=gettext_lazy("How the card was lost."))


class CardVoidSerializer(serializers.Serializer):
    note = serializers.CharField(allow_blank=True, max_length=1000,
                                 help_text=gettext_lazy("Why the card is void (required)."))


class ToIssueSerializer(serializers.ModelSerializer):
    customer = NamedRefSerializer(read_only=True)
    phone = serializers.CharField(source="customer.phone", read_only=True)
    team = NamedRefSerializer(source="customer.team", read_only=True, allow_null=True)
    tier_name = serializers.SerializerMethodField()
    card = serializers.SerializerMethodField(help_text=gettext_lazy(
        "The active card of another tier the new card replaces (null: a first card)."))

    class Meta:
        model = CustomerTier
        fields = ["customer", "phone", "team", "tier", "tier_name", "since", "card"]
        read_only_fields = fields

    def get_tier_name(self, row) -> str:
        names = self.context.get("tier_names") or {}
        return names.get(row.tier, row.tier)

    @extend_schema_field(CardRefSerializer(allow_null=True))
    def get_card(self, row) -> dict | None:
        if row.card_id is None:
            return None
        return {"id": row.card_id, "number": row.card_number, "tier": row.card_tier}


class StatRowSerializer(serializers.Serializer):
    team_id = serializers.IntegerField(allow_null=True)
    team_name = serializers.CharField()
    issued = serializers.IntegerField(help_text=gettext_lazy("First cards."))
    upgraded = serializers.IntegerField(help_text=gettext_lazy("Cards issued after an upgrade."))
    reissued = serializers.IntegerField(help_text=gettext_lazy("Cards reissued after a loss."))
    cards = serializers.IntegerField()
    tier_upgrades = serializers.IntegerField(help_text=gettext_lazy(
        "Tier upgrades of the month."))


class CardStatsSerializer(serializers.Serializer):
    month = serializers.DateField()
    rows = StatRowSerializer(many=True)
    totals = StatRowSerializer()


# --------------------------------------------------------------------------- helpers



def _filters(form_class, params) -> dict:
    try:
        return clean_filter_form(form_class, params)
    except DjangoValidationError as exc:
        raise drf_error(exc) from None


CARD_PARAMETERS = [
    OpenApiParameter("search", OpenApiTypes.STR, description=(
        "Card number (its beginning), customer name, mobile number or its last four digits.")),
    OpenApiParameter("status", OpenApiTypes.STR, enum=VipCard.Status.values),
    OpenApiParameter("kind", OpenApiTypes.STR, enum=VipCard.Kind.values),
    OpenApiParameter("tier", OpenApiTypes.STR, description="Tier code."),
    OpenApiParameter("team", OpenApiTypes.INT, description="Team id (the team at issue)."),
]
TO_ISSUE_PARAMETERS = [
    OpenApiParameter("search", OpenApiTypes.STR, description=(
        "Customer name, mobile number or its last four digits.")),
    OpenApiParameter("tier", OpenApiTypes.STR, description="Tier code."),
    OpenApiParameter("team", OpenApiTypes.INT, description="The customer's team id."),
]


# --------------------------------------------------------------------------- views


class CardAPIMixin(TenantAPIMixin):
    model = VipCard
    filter_backends: list = []
    serializer_class = VipCardSerializer

    def scope_queryset(self, queryset):
        return svc.visible_cards(self.staff, queryset)

    def get_queryset(self):
        return super().get_queryset().select_related("customer", "team", "issued_by",
                                                     "voided_by")

    def card_context(self) -> dict:
        return {**self.get_serializer_context(), "tier_names": svc.tier_names(self.tenant)}

    def detail_response(self, card: VipCard, status_code=status.HTTP_200_OK) -> Response:
        card = self.get_queryset().get(pk=card.pk)
        card.history = svc.card_chain(card)
        card.replaced_by = next((c.replaced_by for c in card.history if c.pk == card.pk), None)
        return Response(VipCardDetailSerializer(card, context=self.card_context()).data,
                        status=status_code)


class CardListAPIView(CardAPIMixin, GenericAPIView):
    def get_permissions(self):
        return [CanIssue()] if self.request.method == "POST" else [CanView()]

    def get_serializer_class(self):
        return CardIssueSerializer if self.request.method == "POST" else VipCardSerializer

    @extend_schema(summary="The membership cards the caller sees",
                   operation_id="vip_cards_list", parameters=CARD_PARAMETERS,
                   responses=VipCardSerializer(many=True))
    def get(self, request):
        filters = _filters(CardFilterForm, request.query_params)
        page = self.paginate_queryset(svc.card_list(self.staff, filters, self.get_queryset()))
        data = VipCardSerializer(page, many=True, context=self.card_context()).data
        return self.get_paginated_response(data)

    @extend_schema(summary="Issue a customer's membership card (customer service, "
                           "administrators)",
                   operation_id="vip_cards_issue", request=CardIssueSerializer,
                   responses={201: VipCardDetailSerializer})
    def post(self, request):
        payload = CardIssueSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        customer = visible_customers(self.staff).filter(pk=data["customer"]).first()
        if customer is None:
            raise ValidationError({"customer": [_("Unknown customer.")]})
        card = service_call(lambda: svc.card_issue(
            tenant=self.tenant, actor=self.staff, customer=customer, number=data["number"],
            issued_on=data.get("issued_on"), note=data.get("note", "")))
        return self.detail_response(card, status.HTTP_201_CREATED)


class CardDetailAPIView(CardAPIMixin, GenericAPIView):
    permission_classes = [CanView]
    serializer_class = VipCardDetailSerializer

    @extend_schema(summary="A membership card with the customer's card history",
                   operation_id="vip_cards_retrieve")
    def get(self, request, pk):
        return self.detail_response(self.get_object())


class CardReissueAPIView(CardAPIMixin, GenericAPIView):
    permission_classes = [CanIssue]
    serializer_class = CardReissueSerializer

    @extend_schema(summary="Report a card lost and reissue it with a new number",
                   operation_id="vip_cards_reissue", request=CardReissueSerializer,
                   responses={201: VipCardDetailSerializer})
    def post(self, request, pk):
        card = self.get_object()
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        new = service_call(lambda: svc.card_reissue(
            tenant=self.tenant, actor=self.staff, card=card, number=data["number"],
            note=data.get("note", "")))
        return self.detail_response(new, status.HTTP_201_CREATED)


class CardVoidAPIView(CardAPIMixin, GenericAPIView):
    permission_classes = [CanVoid]
    serializer_class = CardVoidSerializer

    @extend_schema(summary="Void a card issued by mistake (administrators)",
                   operation_id="vip_cards_void", request=CardVoidSerializer,
                   responses={200: VipCardDetailSerializer})
    def post(self, request, pk):
        card = self.get_object()
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        card = service_call(lambda: svc.card_void(
            tenant=self.tenant, actor=self.staff, card=card,
            note=payload.validated_data["note"]))
        return self.detail_response(card)


class CardsToIssueAPIView(TenantAPIMixin, GenericAPIView):
    model = CustomerTier
    filter_backends: list = []
    permission_classes = [CanIssue]
    serializer_class = ToIssueSerializer

    @extend_schema(summary="发卡: the customers due a membership card, oldest first",
                   operation_id="vip_cards_to_issue", parameters=TO_ISSUE_PARAMETERS,
                   responses=ToIssueSerializer(many=True))
    def get(self, request):
        filters = _filters(ToIssueFilterForm, request.query_params)
        rows = svc.cards_to_issue(self.staff, team=filters.get("team"),
                                  tier=filters.get("tier", ""),
                                  search=filters.get("search", ""))
        page = self.paginate_queryset(rows)
        context = {**self.get_serializer_context(), "tier_names": svc.tier_names(self.tenant)}
        return self.get_paginated_response(ToIssueSerializer(page, many=True,
                                                             context=context).data)


class CardStatsAPIView(TenantAPIMixin, GenericAPIView):
    model = VipCard
    filter_backends: list = []
    pagination_class = None
    permission_classes = [CanStats]
    serializer_class = CardStatsSerializer

    @extend_schema(summary="The month's card statistics per team (managers: their team)",
                   operation_id="vip_cards_stats",
                   parameters=[OpenApiParameter("month", OpenApiTypes.STR, description=(
                       "YYYY-MM (default: this month)."))])
    def get(self, request):
        month = _filters(CardStatsForm, request.query_params).get("month")
        stats = svc.card_stats(self.tenant, month or tenant_today(self.tenant),
                               team=svc.stats_team(self.staff))
        return Response(CardStatsSerializer(stats).data)
