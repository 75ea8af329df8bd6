"""API of the VIP benefits (thin: apps.vip.selectors read, apps.vip.services / benefits write).

GET  /api/v1/vip/customers/<pk>/tier/           the customer's VIP summary (as on the page)
POST /api/v1/vip/customers/<pk>/tier/           {"tier", "reason"} set by hand (a manager of
                                                the customer's team, an administrator)
POST /api/v1/vip/customers/<pk>/tier/keep/      {"reason"} close a review keeping the tier
GET  /api/v1/vip/customers/<pk>/tier-changes/   the tier history, newest first
GET  /api/v1/vip/reviews/                       customers flagged for review (managers: their
                                                team's; administrators: all)
GET  /api/v1/vip/vouchers/?customer=&deal=      voucher uses of the customers the caller sees
POST /api/v1/vip/vouchers/                      {"deal", "amount", "note", "customer"?} redeem
GET  /api/v1/vip/vouchers/<pk>/
GET  /api/v1/vip/gifts/?customer=               gifts given to the customers the caller sees
POST /api/v1/vip/gifts/                         {"customer", "description"?, "value"?,
                                                "referral"?, "given_on"?}
GET  /api/v1/vip/gifts/<pk>/
GET  /api/v1/vip/care/?tier=                    care frequencies per tier (the follow-up hook)

A customer the caller may not see, or of another tenant, is a 404; a role that may not act a
403; refusals are 400 with field errors (the project's error format)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from apps.core.filters import clean_filter_form
from apps.customers.api import drf_error, service_call
from apps.customers.models import Customer
from apps.customers.selectors import visible_customers
from apps.customers.serializers import NamedRefSerializer
from apps.tenancy.api import TenantAPIMixin
from apps.tenancy.permissions import role_permission

from . import benefits, services
from .models import CustomerTier, GiftGiven, TierChange, VoucherUse
from .selectors import (
    can_see_reviews,
    care_plan,
    customer_vip_summary,
    describe_changes,
    review_queue,
    tier_history,
    visible_gifts,
    visible_vouchers,
)

CanSet = role_permission(*services.SET_ROLES)
CanRedeem = role_permission(*benefits.REDEEM_ROLES)
CanGift = role_permission(*benefits.GIFT_ROLES)
_MONEY = {"max_digits": 16, "decimal_places": 2}



# --------------------------------------------------------------------------- serializers


class TierChangeSerializer(serializers.ModelSerializer):
    actor = NamedRefSerializer(read_only=True, allow_null=True)
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    from_name = serializers.CharField(read_only=True)
    to_name = serializers.CharField(read_only=True)
    cause_label = serializers.CharField(read_only=True)

    class Meta:
        model = TierChange
        fields = ["id", "kind", "kind_label", "from_tier", "from_name", "to_tier", "to_name",
                  "reason", "cause", "cause_label", "contract_total", "successful_referrals",
                  "scheme_version", "actor", "created_at"]
        read_only_fields = fields


class NextTierSerializer(serializers.Serializer):
    tier = serializers.CharField()
    name = serializers.CharField()
    missing_total = serializers.DecimalField(**_MONEY, allow_null=True,
                                             help_text=_("Contract total still missing (null: "
                                                         "the tier has no total threshold)."))
    missing_referrals = serializers.IntegerField(allow_null=True)


class VoucherStateSerializer(serializers.Serializer):
    allowance = serializers.DecimalField(**_MONEY, help_text=_("The tier's voucher amount per "
                                                               "period."))
    period = serializers.ChoiceField(choices=["month", "quarter", "year", "lifetime"])
    period_start = serializers.DateField()
    used = serializers.DecimalField(**_MONEY)
    left = serializers.DecimalField(**_MONEY)


class CareSerializer(serializers.Serializer):
    tier = serializers.CharField()
    name = serializers.CharField()
    order = serializers.IntegerField()
    sms_every_months = serializers.IntegerField(help_text=_("0: no SMS care."))
    phone_every_months = serializers.IntegerField(help_text=_("0: no phone visits."))
    birthday_greeting = serializers.BooleanField()


class TierSummarySerializer(serializers.Serializer):
    customer = serializers.IntegerField()
    tier = serializers.CharField(allow_null=True, help_text=_("null: no tier (never bought)."))
    tier_name = serializers.CharField(allow_blank=True)
    grade = serializers.CharField(allow_blank=True)
    order = serializers.IntegerField(allow_null=True)
    since = serializers.DateTimeField(allow_null=True)
    manual = serializers.BooleanField()
    review = serializers.BooleanField()
    review_reason = serializers.CharField(allow_blank=True)
    contract_total = serializers.DecimalField(**_MONEY, allow_null=True)
    successful_referrals = serializers.IntegerField(allow_null=True)
    scheme_version = serializers.IntegerField(allow_null=True)
    next_tier = NextTierSerializer(allow_null=True)
    benefits = serializers.ListField(child=serializers.CharField())
    voucher = VoucherStateSerializer(allow_null=True)
    gifts_given = serializers.IntegerField()
    gifts_due = serializers.IntegerField(help_text=_("Successful referrals of the customer "
                                                     "without a gift yet."))
    card_number = serializers.CharField(allow_blank=True)
    care = CareSerializer(allow_null=True)
    history = TierChangeSerializer(many=True, help_text=_("The last 10 tier changes."))
    actions = serializers.ListField(child=serializers.ChoiceField(choices=["set", "keep",
                                                                           "gift"]),
                                    help_text=_("What the caller may do."))


def summary_data(customer: Customer, staff) -> dict:
    s = customer_vip_summary(customer, staff)
    row = s["row"]
    actions = [name for name, ok in (("set", s["can_set"]), ("keep", s.get("can_keep")),
                                     ("gift", s["can_gift"])) if ok]
    if row is None:
        return {"customer": customer.pk, "tier": None, "tier_name": "", "grade": "",
                "order": None, "since": None, "manual": False, "review": False,
                "review_reason": "", "contract_total": None, "successful_referrals": None,
                "scheme_version": None, "next_tier": None, "benefits": [], "voucher": None,
                "gifts_given": 0, "gifts_due": 0, "card_number": "", "care": None,
                "history": [], "actions": []}
    nxt, state, care = s["next"], s["voucher"], s["care"]
    return {
        "customer": customer.pk, "tier": row.tier, "tier_name": s["tier_name"],
        "grade": s["grade"], "order": row.tier_order, "since": row.since, "manual": row.manual,
        "review": row.review, "review_reason": row.review_reason,
        "contract_total": row.contract_total, "successful_referrals": row.successful_referrals,
        "scheme_version": s["scheme_version"],
        "next_tier": None if nxt is None else {
            "tier": nxt["tier"].code, "name": nxt["tier"].name,
            "missing_total": nxt["missing_total"], "missing_referrals": nxt["missing_referrals"]},
        "benefits": [str(line) for line in s["benefits"]],
        "voucher": {"allowance": state.allowance, "period": state.period,
                    "period_start": state.period_start, "used": state.used, "left": state.left},
        "gifts_given": s["gifts_given"], "gifts_due": s["gifts_due"],
        "card_number": s["card_number"],
        "care": {"tier": care.tier, "name": s["tier_name"], "order": row.tier_order,
                 "sms_every_months": care.sms_every_months,
                 "phone_every_months": care.phone_every_months,
                 "birthday_greeting": care.birthday_greeting},
        "history": s["history"], "actions": actions,
    }


class TierSetSerializer(serializers.Serializer):
    tier = serializers.CharField(max_length=20, help_text=_("A tier code of the scheme in "
                                                            "force."))
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000,
                                   help_text=_("Required: kept in the tier history."))


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000,
                                   help_text=_("Required: kept in the tier history."))


class ReviewSerializer(serializers.ModelSerializer):
    customer = NamedRefSerializer(read_only=True)
    team = serializers.SerializerMethodField()
    tier_name = serializers.CharField(read_only=True)
    computed_name = serializers.CharField(read_only=True)

    class Meta:
        model = CustomerTier
        fields = ["id", "customer", "team", "tier", "tier_name", "tier_order", "computed_order",
                  "computed_name", "contract_total", "successful_referrals", "review_reason",
                  "manual", "since", "updated_at"]
        read_only_fields = fields

    def get_team(self, row) -> int | None:
        return row.customer.team_id


class VoucherSerializer(serializers.ModelSerializer):
    customer = NamedRefSerializer(read_only=True)
    contract_number = serializers.CharField(source="deal.contract_number", read_only=True)
    created_by = NamedRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = VoucherUse
        fields = ["id", "customer", "deal", "contract_number", "amount", "tier", "period_start",
                  "note", "created_by", "created_at"]
        read_only_fields = fields


class VoucherCreateSerializer(serializers.Serializer):
    deal = serializers.IntegerField(help_text=_("The deal's id."))
    amount = serializers.CharField(max_length=20, help_text=_("e.g. 500 or 499.50."))
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    customer = serializers.IntegerField(required=False, allow_null=True,
                                        help_text=_("Optional: the deal must be this "
                                                    "customer's."))


class GiftSerializer(serializers.ModelSerializer):
    customer = NamedRefSerializer(read_only=True)
    given_by = NamedRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = GiftGiven
        fields = ["id", "customer", "tier", "referral", "description", "value", "given_on",
                  "given_by", "created_at"]
        read_only_fields = fields


class GiftCreateSerializer(serializers.Serializer):
    customer = serializers.IntegerField()
    description = serializers.CharField(required=False, allow_blank=True, max_length=1000,
                                        help_text=_("Empty: the tier's gift for a further "
                                                    "referral."))
    value = serializers.CharField(required=False, allow_blank=True, allow_null=True,
                                  max_length=20)
    referral = serializers.IntegerField(required=False, allow_null=True,
                                        help_text=_("A successful referral of this customer "
                                                    "without a gift."))
    given_on = serializers.DateField(required=False, allow_null=True)


class VoucherFilterForm(forms.Form):
    customer = forms.IntegerField(required=False, min_value=1)
    deal = forms.IntegerField(required=False, min_value=1)


class GiftFilterForm(forms.Form):
    customer = forms.IntegerField(required=False, min_value=1)


def _filters(form_class, params) -> dict:
    try:
        return clean_filter_form(form_class, params)
    except DjangoValidationError as exc:
        raise drf_error(exc) from None


# --------------------------------------------------------------------------- customer tier


class CustomerAPIMixin(TenantAPIMixin):
    model = Customer
    filter_backends: list = []

    def scope_queryset(self, queryset):
        return visible_customers(self.staff, queryset)


class CustomerTierAPIView(CustomerAPIMixin, GenericAPIView):
    serializer_class = TierSummarySerializer

    def get_permissions(self):
        return [CanSet()] if self.request.method == "POST" else super().get_permissions()

    @extend_schema(summary="A customer's VIP tier, benefits and their use",
                   operation_id="vip_customer_tier_retrieve",
                   responses=TierSummarySerializer)
    def get(self, request, pk):
        customer = self.get_object()
        return Response(TierSummarySerializer(summary_data(customer, self.staff)).data)

    @extend_schema(summary="Set a customer's tier by hand (with a reason)",
                   operation_id="vip_customer_tier_set", request=TierSetSerializer,
                   responses={200: TierSummarySerializer})
    def post(self, request, pk):
        customer = self.get_object()
        payload = TierSetSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        service_call(lambda: services.tier_set(tenant=self.tenant, actor=self.staff,
                                                customer=customer, tier=data["tier"],
                                                reason=data.get("reason", "")))
        return Response(TierSummarySerializer(summary_data(customer, self.staff)).data)


class CustomerTierKeepAPIView(CustomerAPIMixin, GenericAPIView):
    serializer_class = ReasonSerializer
    permission_classes = [CanSet]

    @extend_schema(summary="Close a review keeping the tier (with a reason)",
                   operation_id="vip_customer_tier_keep", request=ReasonSerializer,
                   responses={200: TierSummarySerializer})
    def post(self, request, pk):
        customer = self.get_object()
        payload = ReasonSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        service_call(lambda: services.tier_review_keep(
            tenant=self.tenant, actor=self.staff, customer=customer,
            reason=payload.validated_data.get("reason", "")))
        return Response(TierSummarySerializer(summary_data(customer, self.staff)).data)


class CustomerTierChangesAPIView(CustomerAPIMixin, GenericAPIView):
    serializer_class = TierChangeSerializer

    @extend_schema(summary="A customer's tier history, newest first",
                   operation_id="vip_customer_tier_changes",
                   responses=TierChangeSerializer(many=True))
    def get(self, request, pk):
        customer = self.get_object()
        _version, rules = services.scheme_for(self.tenant)
        page = self.paginate_queryset(tier_history(customer))
        rows = describe_changes(page, rules.names())
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)


class ReviewListAPIView(TenantAPIMixin, GenericAPIView):
    model = CustomerTier
    serializer_class = ReviewSerializer
    permission_classes = [CanSet]
    filter_backends: list = []

    @extend_schema(summary="Customers whose tier waits for a review",
                   operation_id="vip_reviews_list", responses=ReviewSerializer(many=True))
    def get(self, request):
        if not can_see_reviews(self.staff):
            raise PermissionDenied
        _version, rules = services.scheme_for(self.tenant)
        names = rules.names()
        rows = (review_queue(self.staff).select_related("customer")
                .order_by("updated_at", "id"))
        page = self.paginate_queryset(rows)
        for row in page:
            row.tier_name = names.get(row.tier, row.tier)
            row.computed_name = rules.by_order(max(row.computed_order, 1)).name
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


# --------------------------------------------------------------------------- vouchers


def _visible_customer(staff, pk: int):
    """The customer `pk` if `staff` may see it; else the field error an unknown id gets."""
    customer = visible_customers(staff).filter(pk=pk).first()
    if customer is None:
        raise drf_error(DjangoValidationError({"customer": [_("Unknown customer.")]}))
    return customer


class VoucherAPIMixin(TenantAPIMixin):
    model = VoucherUse
    serializer_class = VoucherSerializer
    filter_backends: list = []

    def scope_queryset(self, queryset):
        return (visible_vouchers(self.staff, queryset)
                .select_related("customer", "deal", "created_by"))


class VoucherListAPIView(VoucherAPIMixin, GenericAPIView):
    def get_permissions(self):
        return [CanRedeem()] if self.request.method == "POST" else super().get_permissions()

    def get_serializer_class(self):
        return VoucherCreateSerializer if self.request.method == "POST" else VoucherSerializer

    @extend_schema(summary="Vouchers redeemed against deals",
                   operation_id="vip_vouchers_list",
                   parameters=[OpenApiParameter("customer", int), OpenApiParameter("deal", int)],
                   responses=VoucherSerializer(many=True))
    def get(self, request):
        filters = _filters(VoucherFilterForm, request.query_params)
        rows = self.get_queryset().order_by("-created_at", "-id")
        if filters.get("customer"):
            rows = rows.filter(customer_id=filters["customer"])
        if filters.get("deal"):
            rows = rows.filter(deal_id=filters["deal"])
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(VoucherSerializer(page, many=True).data)

    @extend_schema(summary="Redeem a voucher against a deal", operation_id="vip_vouchers_create",
                   request=VoucherCreateSerializer, responses={201: VoucherSerializer})
    def post(self, request):
        payload = VoucherCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        customer = None
        if data.get("customer") is not None:
            customer = _visible_customer(self.staff, data["customer"])
        use = service_call(lambda: benefits.voucher_redeem(
            tenant=self.tenant, actor=self.staff, deal=data["deal"], amount=data["amount"],
            note=data.get("note", ""), customer=customer))
        use = self.get_queryset().get(pk=use.pk)
        return Response(VoucherSerializer(use).data, status=status.HTTP_201_CREATED)


class VoucherDetailAPIView(VoucherAPIMixin, GenericAPIView):
    @extend_schema(summary="A voucher use", operation_id="vip_vouchers_retrieve")
    def get(self, request, pk):
        return Response(self.get_serializer(self.get_object()).data)


# --------------------------------------------------------------------------- gifts


class GiftAPIMixin(TenantAPIMixin):
    model = GiftGiven
    serializer_class = GiftSerializer
    filter_backends: list = []

    def scope_queryset(self, queryset):
        return visible_gifts(self.staff, queryset).select_related("customer", "given_by")


class GiftListAPIView(GiftAPIMixin, GenericAPIView):
    def get_permissions(self):
        return [CanGift()] if self.request.method == "POST" else super().get_permissions()

    def get_serializer_class(self):
        return GiftCreateSerializer if self.request.method == "POST" else GiftSerializer

    @extend_schema(summary="Gifts given to customers", operation_id="vip_gifts_list",
                   parameters=[OpenApiParameter("customer", int)],
                   responses=GiftSerializer(many=True))
    def get(self, request):
        filters = _filters(GiftFilterForm, request.query_params)
        rows = self.get_queryset().order_by("-given_on", "-id")
        if filters.get("customer"):
            rows = rows.filter(customer_id=filters["customer"])
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(GiftSerializer(page, many=True).data)

    @extend_schema(summary="Record a gift given to a customer", operation_id="vip_gifts_create",
                   request=GiftCreateSerializer, responses={201: GiftSerializer})
    def post(self, request):
        payload = GiftCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        customer = _visible_customer(self.staff, data["customer"])
        gift = service_call(lambda: benefits.gift_record(
            tenant=self.tenant, actor=self.staff, customer=customer,
            description=data.get("description", ""), value=data.get("value"),
            referral=data.get("referral"), given_on=data.get("given_on")))
        gift = self.get_queryset().get(pk=gift.pk)
        return Response(GiftSerializer(gift).data, status=status.HTTP_201_CREATED)


class GiftDetailAPIView(GiftAPIMixin, GenericAPIView):
    @extend_schema(summary="A gift given", operation_id="vip_gifts_retrieve")
    def get(self, request, pk):
        return Response(self.get_serializer(self.get_object()).data)


# --------------------------------------------------------------------------- care


class CareAPIView(TenantAPIMixin, GenericAPIView):
    """The care frequencies of each tier of the scheme in force (the follow-up module's hook)."""

    model = CustomerTier
    serializer_class = CareSerializer
    filter_backends: list = []
    pagination_class = None

    @extend_schema(summary="Care frequencies per tier (SMS, phone visits, birthday greeting)",
                   operation_id="vip_care_list",
                   parameters=[OpenApiParameter("tier", str, description="One tier code.")],
                   responses=CareSerializer(many=True))
    def get(self, request):
        rows = care_plan(self.tenant)
        wanted = request.query_params.get("tier", "").strip()
        if wanted:
            rows = [r for r in rows if r["tier"] == wanted]
            if not rows:
                raise drf_error(DjangoValidationError(
                    {"tier": [_("Unknown tier: use a code of the scheme in force.")]}))
        return Response(CareSerializer(rows, many=True).data)

