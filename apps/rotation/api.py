"""Rotation API (thin: the selectors read, the services write and validate)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response

from apps.customers.api import drf_error
from apps.ownership.selectors import tenant_today
from apps.tenancy.api import TenantAPIMixin
from apps.tenancy.models import Staff
from apps.tenancy.permissions import IsActiveStaff, role_permission

from . import selectors, services
from .models import DutySignIn
from .serializers import (
    BoardSerializer,
    SignInCreateSerializer,
    SignInSerializer,
    StatusSerializer,
    WalkInCreateSerializer,
    WalkInResultSerializer,
)

CanUseBoard = role_permission(*selectors.BOARD_ROLES)
CanRecordWalkIns = role_permission(*selectors.WALK_IN_ROLES)


class RotationAPIView(TenantAPIMixin, generics.GenericAPIView):
    model = DutySignIn
    pagination_class = None
    filter_backends: list = []

    def team(self, team_id):
        try:
            return selectors.resolve_team(self.staff, team_id)
        except DjangoValidationError as exc:
            raise drf_error(exc, {"team": "team_id"})

    def staff_by_id(self, staff_id, field: str):
        if staff_id is None:
            return None
        staff = Staff.objects.filter(pk=staff_id).first()
        if staff is None:
            raise drf_error(DjangoValidationError({field: [_("Unknown staff member.")]}))
        return staff


class BoardAPIView(RotationAPIView):
    """Today's rotation board of a team: the order, whose turn it is, and the day's walk-ins."""

    permission_classes = [CanUseBoard]
    serializer_class = BoardSerializer

    @extend_schema(summary="Today's rotation board of a team", parameters=[
        OpenApiParameter("team", OpenApiTypes.INT, description="Team id (default: the caller's).")])
    def get(self, request):
        team = self.team(request.query_params.get("team"))
        board = selectors.board(self.staff, self.tenant, team, tenant_today(self.tenant))
        next_id = board.next.pk if board.next else None
        data = {"team": team, "day": board.day, "next_sign_in_id": next_id,
                "sign_ins": board.sign_ins, "walk_ins": board.walk_ins}
        return Response(BoardSerializer(data, context={"next_id": next_id}).data)


class SignInCreateAPIView(RotationAPIView):
    permission_classes = [CanUseBoard]
    serializer_class = SignInCreateSerializer

    @extend_schema(summary="Sign in for today's rotation", request=SignInCreateSerializer,
                   responses={201: SignInSerializer})
    def post(self, request):
        payload = SignInCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        team = self.team(payload.validated_data.get("team_id"))
        staff = self.staff_by_id(payload.validated_data.get("staff_id"), "staff_id")
        try:
            sign_in = services.duty_sign_in(tenant=self.tenant, actor=self.staff, team=team,
                                            staff=staff)
        except DjangoValidationError as exc:
            raise drf_error(exc, {"staff": "staff_id", "team": "team_id"})
        return Response(SignInSerializer(sign_in).data, status=status.HTTP_201_CREATED)


class SignInStatusAPIView(RotationAPIView):
    permission_classes = [IsActiveStaff]
    serializer_class = StatusSerializer

    @extend_schema(summary="Set a sign-in present, away or signed out", request=StatusSerializer,
                   responses={200: SignInSerializer})
    def post(self, request, pk):
        sign_in = self.get_object()
        value = request.data.get("status", "") if hasattr(request.data, "get") else ""
        try:
            # The service checks the role before the value (a stranger's sign-in: 403).
            sign_in = services.duty_set_status(tenant=self.tenant, actor=self.staff,
                                               sign_in=sign_in, status=str(value or ""))
        except DjangoValidationError as exc:
            raise drf_error(exc)
        return Response(SignInSerializer(sign_in).data)


class WalkInAPIView(RotationAPIView):
    permission_classes = [CanRecordWalkIns]
    serializer_class = WalkInCreateSerializer

    @extend_schema(summary="Record a walk-in and route it", request=WalkInCreateSerializer,
                   responses={201: WalkInResultSerializer})
    def post(self, request):
        payload = WalkInCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        team = self.team(data.get("team_id"))
        named = self.staff_by_id(data.get("named_staff_id"), "named_staff_id")
        rename = {"named_staff": "named_staff_id", "brought_by": "brought_by_phone",
                  "team": "team_id"}
        try:
            brought_by = selectors.customer_by_phone(data["brought_by_phone"])
            result = services.walk_in_receive(
                tenant=self.tenant, actor=self.staff, team=team, name=data["name"],
                phone=data["phone"], named_staff=named, brought_by=brought_by,
                id_number=data["id_number"], notes=data["notes"])
        except DjangoValidationError as exc:
            raise drf_error(exc, rename)
        route = result.route
        body = {
            "visit_id": result.visit.pk,
            "customer": {"id": result.customer.pk,
                         "name": selectors.shown_customer_name(self.staff, result.customer)},
            "created": result.created,
            "route": {"code": route.code, "explanation": route.explanation,
                      "attributed_to": result.visit.attributed_to,
                      "received_by": result.visit.received_by, "courtesy": route.courtesy,
                      "consumes_turn": route.consumes_turn},
        }
        return Response(WalkInResultSerializer(body).data, status=status.HTTP_201_CREATED)
