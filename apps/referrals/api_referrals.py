"""API of the referral lifecycle (thin: apps.referrals.lifecycle writes, .selectors reads).

GET  /api/v1/referrals/                 the referrals the caller sees (?status, channel, flagged,
                                        search, date_from, date_to, ready)
POST /api/v1/referrals/                 log one (a collision without confirm_collision: 409,
                                        nothing saved)
GET  /api/v1/referrals/<pk>/            one, with the reward breakdown and its lines
POST /api/v1/referrals/<pk>/verify/     {"id_number", "claim_note", "confirm_collision"}
POST /api/v1/referrals/<pk>/reject/     {"reason", "note"}
POST /api/v1/referrals/<pk>/approve/    {"note"}
POST /api/v1/referrals/<pk>/pay/        {"note"}
GET  /api/v1/referrals/reward-lines/    the reward-line ledger (?kind, month=YYYY-MM, search)
Field errors 400, a role refusal 403, another tenant's or an invisible referral 404."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from apps.customers.api import drf_error
from apps.customers.models import Customer
from apps.ownership.api_registration import CheckMatchSerializer
from apps.tenancy.api import TenantAPIMixin
from apps.tenancy.permissions import role_permission

from . import lifecycle, selectors
from .models import Referral, RewardLine
from .referrers import referrer_name, visible_referrers

CanView = role_permission(*selectors.VIEW_ROLES)
CanLog = role_permission(*lifecycle.LOG_ROLES)
CanReject = role_permission(*dict.fromkeys(lifecycle.LOG_ROLES + lifecycle.DECIDE_ROLES))
CanDecide = role_permission(*lifecycle.DECIDE_ROLES)
CanPay = role_permission(*lifecycle.PAY_ROLES)
CanReadLines = role_permission(*selectors.LINE_ROLES)


# ----------------------------------------------------------------------------- serializers

class ReferralReferrerRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = serializers.CharField(read_only=True)
    name = serializers.SerializerMethodField()

    def get_name(self, referrer) -> str:
        return referrer_name(referrer)


class ReferralSerializer(serializers.ModelSerializer):
    """A referral row. `name` and `phone` are masked (张*, 139****5678) when the caller may not
    see the referred customer."""

    name = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()
    referrer = ReferralReferrerRefSerializer(read_only=True)
    status = serializers.CharField(read_only=True, help_text=", ".join(Referral.Status.values))
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    channel = serializers.CharField(read_only=True, help_text="staff or link")

    class Meta:
        model = Referral
        fields = ["id", "status", "status_label", "channel", "name", "phone", "referrer",
                  "customer", "card", "deal", "flagged", "flag_reason", "reward_total",
                  "hold_until", "created_at"]
        read_only_fields = fields

    def get_name(self, referral) -> str:
        return getattr(referral, "display_name", referral.name)

    def get_phone(self, referral) -> str:
        return getattr(referral, "display_phone", referral.phone)


class ReferralRewardLineSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(read_only=True, help_text="reward, override or clawback")
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    referrer_name = serializers.SerializerMethodField()

    class Meta:
        model = RewardLine
        fields = ["id", "referral", "referrer", "referrer_name", "kind", "kind_label", "amount",
                  "deal", "refund", "policy_version", "explanation", "occurred_on", "created_at"]
        read_only_fields = fields

    def get_referrer_name(self, line) -> str:
        return referrer_name(line.referrer)


class ReferralDetailSerializer(ReferralSerializer):
    rejection_reason = serializers.CharField(read_only=True)
    lines = serializers.SerializerMethodField()
    reward_inputs = serializers.DictField(read_only=True)
    reward_explanation = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta(ReferralSerializer.Meta):
        fields = [*ReferralSerializer.Meta.fields, "note", "rejection_reason", "rejection_note",
                  "created_by", "verified_at", "verified_by", "converted_at", "approved_at",
                  "approved_by", "paid_at", "paid_by", "rejected_at", "rejected_by",
                  "reversed_at", "ordinal", "reward_policy", "reward_policy_version",
                  "reward_preset", "reward_cash", "reward_percent", "reward_percent_amount",
                  "reward_count_bonus", "reward_gift", "reward_points", "override_percent",
                  "reward_inputs", "reward_explanation", "reward_clawed_back",
                  "payment_due_on", "lines"]
        read_only_fields = fields

    @extend_schema_field(ReferralRewardLineSerializer(many=True))
    def get_lines(self, referral):
        lines = selectors.referral_lines(referral).select_related("referrer__customer",
                                                                  "referrer__staff")
        return ReferralRewardLineSerializer(lines, many=True).data


class ReferralLogSerializer(serializers.Serializer):
    # Name, phone and lengths are checked by the services, so every error comes back at once.
    referrer = serializers.IntegerField(help_text=gettext_lazy(
        "An active referrer the caller sees."))
    # Checked by the service (missing ones reach it as "": a field error, not a TypeError).
    name = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    phone = serializers.CharField(required=False, allow_blank=True, max_length=32, default="")
    id_number = serializers.CharField(required=False, allow_blank=True, max_length=32)
    gender = serializers.ChoiceField(choices=Customer.Gender.choices, required=False,
                                     allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    claim_note = serializers.CharField(required=False, allow_blank=True, max_length=2000,
                                       help_text=gettext_lazy(
                                           "Collision: your account for the manager (required "
                                           "with confirm_collision)."))
    confirm_collision = serializers.BooleanField(required=False, default=False,
                                                 help_text=gettext_lazy(
                                                     "Open the dispute when the person is "
                                                     "protected by someone else. Without it a "
                                                     "collision answers 409, nothing saved."))

    def validate(self, attrs):
        if attrs.get("confirm_collision") and not (attrs.get("claim_note") or "").strip():
            raise serializers.ValidationError(
                {"claim_note": [_("Give your account: the manager decides on it.")]})
        return attrs


class ReferralVerifySerializer(serializers.Serializer):
    id_number = serializers.CharField(required=False, allow_blank=True, max_length=32,
                                      help_text=gettext_lazy(
                                          "A public-link referral: the person's resident ID "
                                          "number, if known."))
    claim_note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    confirm_collision = serializers.BooleanField(required=False, default=False)

    validate = ReferralLogSerializer.validate


class ReferralRejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=30,
                                   help_text=", ".join(Referral.Rejection.values))
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)


class ReferralNoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)


class ReferralCollisionSerializer(serializers.Serializer):
    detail = serializers.CharField(read_only=True)
    match = CheckMatchSerializer(read_only=True, allow_null=True)


class ReferralLogResultSerializer(serializers.Serializer):
    referral = ReferralDetailSerializer(read_only=True)
    registration = serializers.CharField(
        read_only=True, help_text="registered, claimed, already_yours or collision")
    dispute_id = serializers.IntegerField(read_only=True, allow_null=True)
    message = serializers.CharField(read_only=True)


# ----------------------------------------------------------------------------- views

LIST_PARAMETERS = [
    OpenApiParameter("search", OpenApiTypes.STR,
                     description="Referrer or referred person: name, mobile number, card code."),
    OpenApiParameter("status", OpenApiTypes.STR, enum=Referral.Status.values),
    OpenApiParameter("channel", OpenApiTypes.STR, enum=Referral.Channel.values),
    OpenApiParameter("flagged", OpenApiTypes.BOOL),
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="Logged on or after."),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="Logged on or before."),
    OpenApiParameter("ready", OpenApiTypes.BOOL,
                     description="Pending rewards whose refund window has passed."),
]


def _service(call):
    """Run a lifecycle call; its refusals as DRF errors (400 by field, 403)."""
    try:
        return call()
    except DjangoValidationError as exc:
        raise drf_error(exc) from None
    except DjangoPermissionDenied as exc:
        raise PermissionDenied(str(exc) or None) from None


def _collision(result) -> Response:
    match = result.registration.match
    detail = _("This person is protected by another salesperson. Confirm (confirm_collision "
               "and claim_note) to open a dispute; nothing was saved.")
    return Response(ReferralCollisionSerializer({"detail": detail, "match": match}).data,
                    status=status.HTTP_409_CONFLICT)


@extend_schema_view(
    list=extend_schema(summary="Referrals the caller sees", parameters=LIST_PARAMETERS),
    retrieve=extend_schema(summary="One referral with its reward and reward lines",
                           responses=ReferralDetailSerializer),
)
class ReferralViewSet(TenantAPIMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                      viewsets.GenericViewSet):
    model = Referral
    serializer_class = ReferralSerializer
    filter_backends = []
    lookup_value_regex = r"\d+"

    PERMISSIONS = {"create": CanLog, "verify": CanLog, "reject": CanReject,
                   "approve": CanDecide, "pay": CanPay}

    def get_permissions(self):
        return [self.PERMISSIONS.get(self.action, CanView)()]

    def get_serializer_class(self):
        return ReferralSerializer if self.action == "list" else ReferralDetailSerializer

    def scope_queryset(self, queryset):
        return (lifecycle.visible_referrals(self.staff, queryset)
                .select_related("referrer__customer", "referrer__staff", "customer"))

    def list(self, request):
        rows = _service(lambda: selectors.referral_list(self.staff, request.query_params))
        page = self.paginate_queryset(rows)
        page = selectors.referral_rows(self.staff, page)
        return self.get_paginated_response(ReferralSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(self.detail_data(self.get_object()))

    def detail_data(self, referral) -> dict:
        selectors.referral_rows(self.staff, [referral])
        return ReferralDetailSerializer(referral).data

    @extend_schema(summary="Log a referral", request=ReferralLogSerializer,
                   responses={201: ReferralLogResultSerializer,
                              409: ReferralCollisionSerializer,
                              400: OpenApiResponse(description="Field errors."),
                              403: OpenApiResponse(description="Not a salesperson, manager or "
                                                               "administrator.")})
    def create(self, request):
        payload = ReferralLogSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        referrer = visible_referrers(self.staff).filter(pk=data.pop("referrer")).first()
        result = _service(lambda: lifecycle.referral_log(
            tenant=self.tenant, actor=self.staff, referrer=referrer, **data))
        if result.needs_confirmation:
            return _collision(result)
        return Response(self.log_result(result), status=status.HTTP_201_CREATED)

    def log_result(self, result) -> dict:
        referral, dispute = result.referral, result.registration.dispute
        if dispute is not None:
            message = _("Referral of %(name)s logged; dispute #%(id)s is open: it is verified "
                        "once a manager has decided.") % {"name": referral.name, "id": dispute.pk}
        else:
            message = _("Referral of %(name)s logged and verified.") % {"name": referral.name}
        return {"referral": self.detail_data(referral),
                "registration": result.registration.outcome,
                "dispute_id": dispute.pk if dispute is not None else None, "message": message}

    @extend_schema(summary="Verify a registered referral", request=ReferralVerifySerializer,
                   responses={200: ReferralLogResultSerializer, 409: ReferralCollisionSerializer})
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        referral = self.get_object()
        payload = ReferralVerifySerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        result = _service(lambda: lifecycle.referral_verify(
            tenant=self.tenant, actor=self.staff, referral=referral, **payload.validated_data))
        if result.needs_confirmation:
            return _collision(result)
        return Response(self.log_result(result))

    @extend_schema(summary="Reject a referral", request=ReferralRejectSerializer,
                   responses=ReferralDetailSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        referral = self.get_object()
        payload = ReferralRejectSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        referral = _service(lambda: lifecycle.referral_reject(
            tenant=self.tenant, actor=self.staff, referral=referral, **payload.validated_data))
        return Response(self.detail_data(referral))

    @extend_schema(summary="Approve a pending reward (after the refund window)",
                   request=ReferralNoteSerializer, responses=ReferralDetailSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        referral = self.get_object()
        payload = ReferralNoteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        referral = _service(lambda: lifecycle.referral_approve(
            tenant=self.tenant, actor=self.staff, referral=referral, **payload.validated_data))
        return Response(self.detail_data(referral))

    @extend_schema(summary="Record an approved reward as paid (finance)",
                   request=ReferralNoteSerializer, responses=ReferralDetailSerializer)
    @action(detail=True, methods=["post"])
    def pay(self, request, pk=None):
        referral = self.get_object()
        payload = ReferralNoteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        referral = _service(lambda: lifecycle.referral_pay(
            tenant=self.tenant, actor=self.staff, referral=referral, **payload.validated_data))
        return Response(self.detail_data(referral))


class ReferralRewardLineListAPIView(TenantAPIMixin, GenericAPIView):
    """The reward lines of the referrals the caller sees (finance, managers, admins; sales
    theirs), newest first."""

    model = RewardLine
    serializer_class = ReferralRewardLineSerializer
    permission_classes = [CanReadLines]
    filter_backends = []

    @extend_schema(summary="Reward lines", operation_id="referrals_reward_lines_list",
                   parameters=[
                       OpenApiParameter("kind", OpenApiTypes.STR, enum=RewardLine.Kind.values),
                       OpenApiParameter("month", OpenApiTypes.STR,
                                        description="YYYY-MM (the day the line occurred)."),
                       OpenApiParameter("search", OpenApiTypes.STR,
                                        description="Referrer's name, mobile number or code.")],
                   responses=ReferralRewardLineSerializer(many=True))
    def get(self, request):
        rows = _service(lambda: selectors.reward_line_list(self.staff, request.query_params))
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
