"""Dispute API (thin: the selectors read, the services write and validate).

    GET  /api/v1/disputes/                      the disputes the caller may see (filters below)
    GET  /api/v1/disputes/<pk>/                 one, with its shares and evidence
    POST /api/v1/disputes/<pk>/propose|reject|approve|decide|escalate|withdraw/
    GET  /api/v1/disputes/<pk>/evidence/        the files attached
    POST /api/v1/disputes/<pk>/evidence/        attach one (multipart: file, note)
    GET  /api/v1/disputes/<pk>/evidence/<id>/   download one
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from apps.customers.api import drf_error
from apps.tenancy.api import TenantAPIMixin

from . import rules, services
from .downloads import evidence_response
from .models import Dispute, DisputeEvidence, DisputeShare
from .selectors import could_ever, dispute_list, visible_disputes
from .serializers import (
    DecideSerializer,
    DisputeDetailSerializer,
    DisputeSerializer,
    EscalateSerializer,
    EvidenceSerializer,
    EvidenceUploadSerializer,
    NoteSerializer,
    ProposeSerializer,
)

LIST_PARAMETERS = [
    OpenApiParameter("status", OpenApiTypes.STR,
                     enum=["waiting", "active", *Dispute.Status.values],
                     description="waiting: the disputes waiting for the caller to act; active: "
                                 "not closed; or one status. Default: all."),
    OpenApiParameter("scope", OpenApiTypes.STR, enum=["mine", "team"],
                     description="mine: the caller is a party; team: the caller's team."),
]
#: The other people a dispute names (loaded with it, not one query per row).
PEOPLE = ("opened_by", "proposed_by", "escalated_by", "decided_owner", "decided_by")
STEP_RESPONSES = {200: DisputeDetailSerializer,
                  400: OpenApiResponse(description="Refused: field errors, or the state does "
                                                   "not allow the step (non_field_errors)."),
                  403: OpenApiResponse(description="The caller may not take this step."),
                  404: OpenApiResponse(description="No such dispute visible to the caller.")}


@extend_schema_view(
    list=extend_schema(summary="List the disputes the caller may see", parameters=LIST_PARAMETERS),
    retrieve=extend_schema(summary="One dispute with its shares and evidence"),
)
class DisputeViewSet(TenantAPIMixin, mixins.RetrieveModelMixin, mixins.ListModelMixin,
                     viewsets.GenericViewSet):
    """Disputes (撞单) of the caller's tenant: the parties, the managers of the dispute's team
    and the administrators see them (sales only those they are a party to)."""

    model = Dispute
    filter_backends = []
    lookup_value_regex = r"\d+"

    def get_serializer_class(self):
        return DisputeSerializer if self.action == "list" else DisputeDetailSerializer

    def scope_queryset(self, queryset):
        shares = Prefetch("shares", queryset=DisputeShare.objects.select_related("staff"))
        if self.action == "list":
            params = {"status": self.request.query_params.get("status", ""),
                      "scope": self.request.query_params.get("scope", "")}
            return (dispute_list(self.staff, params, queryset=queryset)
                    .select_related(*PEOPLE).prefetch_related(shares))
        return (visible_disputes(self.staff, queryset)
                .select_related("customer", "owner", "claimant", "team", *PEOPLE)
                .prefetch_related(shares, Prefetch(
                    "evidence", queryset=DisputeEvidence.objects.select_related("uploaded_by"))))

    # ------------------------------------------------------------------ steps

    def _step(self, step: str, payload_class, call, rename: dict | None = None):
        """Look the dispute up (404 first), refuse a role that can never take the step (403),
        parse the payload (400), then call the service with (dispute, data)."""
        dispute = self.get_object()
        if not could_ever(self.staff, dispute, step):
            raise exceptions.PermissionDenied(str(rules.ROLE_MESSAGES[step]))
        payload = payload_class(data=self.request.data)
        payload.is_valid(raise_exception=True)
        try:
            result = call(dispute, payload.validated_data)
        except DjangoPermissionDenied as exc:
            raise exceptions.PermissionDenied(str(exc) or None) from exc
        except DjangoValidationError as exc:
            raise drf_error(exc, rename) from exc
        return dispute, result

    def _answer(self, dispute, code=status.HTTP_200_OK):
        fresh = self.get_queryset().get(pk=dispute.pk)
        return Response(DisputeDetailSerializer(fresh, context=self.get_serializer_context()).data,
                        status=code)

    @staticmethod
    def _shares(rows) -> dict | None:
        if rows is None:
            return None
        shares = {}
        for row in rows:
            if row["staff_id"] in shares:
                raise exceptions.ValidationError({"shares": [_("Give each party's share once.")]})
            shares[row["staff_id"]] = row["percent"]
        return shares

    @extend_schema(summary="Propose the split both parties agreed on (a party)",
                   request=ProposeSerializer, responses=STEP_RESPONSES)
    @action(detail=True, methods=["post"])
    def propose(self, request, pk=None):
        dispute, _r = self._step(
            rules.PROPOSE, ProposeSerializer,
            lambda d, data: services.dispute_propose(
                tenant=self.tenant, actor=self.staff, dispute=d,
                shares=self._shares(data["shares"]), note=data["note"]))
        return self._answer(dispute)

    @extend_schema(summary="Reject the proposed split (the other party)",
                   request=NoteSerializer, responses=STEP_RESPONSES)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        dispute, _r = self._step(
            rules.REJECT, NoteSerializer,
            lambda d, data: services.dispute_reject_proposal(
                tenant=self.tenant, actor=self.staff, dispute=d, note=data["note"]))
        return self._answer(dispute)

    @extend_schema(summary="Approve the proposed split (the team's manager or an administrator)",
                   request=NoteSerializer, responses=STEP_RESPONSES)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        dispute, _r = self._step(
            rules.APPROVE, NoteSerializer,
            lambda d, data: services.dispute_approve(
                tenant=self.tenant, actor=self.staff, dispute=d, note=data["note"]))
        return self._answer(dispute)

    @extend_schema(summary="Decide the dispute (the team's manager; an administrator when "
                           "escalated)", request=DecideSerializer, responses=STEP_RESPONSES)
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        def call(d, data):
            params = {k: data[k] for k in (rules.WINNER, rules.REVISIT, rules.UNITS) if k in data}
            return services.dispute_decide(
                tenant=self.tenant, actor=self.staff, dispute=d, outcome=data["outcome"],
                shares=self._shares(data.get("shares")), rule=data["rule"],
                decided_owner=data.get("decided_owner_id"), note=data["note"],
                rule_params=params)

        dispute, _r = self._step(rules.DECIDE, DecideSerializer, call,
                                 rename={"decided_owner": "decided_owner_id"})
        return self._answer(dispute)

    @extend_schema(summary="Escalate the dispute to the company (a party or the team's manager)",
                   request=EscalateSerializer, responses=STEP_RESPONSES)
    @action(detail=True, methods=["post"])
    def escalate(self, request, pk=None):
        dispute, _r = self._step(
            rules.ESCALATE, EscalateSerializer,
            lambda d, data: services.dispute_escalate(
                tenant=self.tenant, actor=self.staff, dispute=d, reason=data["reason"]))
        return self._answer(dispute)

    @extend_schema(summary="Withdraw the dispute (the claimant)",
                   request=NoteSerializer, responses=STEP_RESPONSES)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        dispute, _r = self._step(
            rules.WITHDRAW, NoteSerializer,
            lambda d, data: services.dispute_withdraw(
                tenant=self.tenant, actor=self.staff, dispute=d, note=data["note"]))
        return self._answer(dispute)

    # ------------------------------------------------------------------ evidence

    @extend_schema(methods=["GET"], summary="The files attached to the dispute", request=None,
                   responses=EvidenceSerializer(many=True))
    @extend_schema(methods=["POST"], summary="Attach a file (images or PDF, checked by content)",
                   request={"multipart/form-data": EvidenceUploadSerializer},
                   responses={201: EvidenceSerializer,
                              400: OpenApiResponse(description="Refused file (errors on file)."),
                              403: OpenApiResponse(description="The caller may not add evidence.")})
    @action(detail=True, methods=["get", "post"], url_path="evidence", pagination_class=None,
            parser_classes=[MultiPartParser, FormParser])
    def evidence(self, request, pk=None):
        if request.method == "GET":
            dispute = self.get_object()
            rows = dispute.evidence.select_related("uploaded_by")
            return Response(EvidenceSerializer(rows, many=True).data)
        _d, evidence = self._step(
            rules.EVIDENCE, EvidenceUploadSerializer,
            lambda d, data: services.evidence_add(
                tenant=self.tenant, actor=self.staff, dispute=d, file=data["file"], note=data["note"]))
        return Response(EvidenceSerializer(evidence).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Download one evidence file", request=None,
                   parameters=[OpenApiParameter("evidence_id", OpenApiTypes.INT,
                                                OpenApiParameter.PATH)],
                   responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], url_path=r"evidence/(?P<evidence_id>\d+)",
            url_name="evidence-file", pagination_class=None)
    def evidence_file(self, request, pk=None, evidence_id=None):
        dispute = self.get_object()
        return evidence_response(dispute, evidence_id)
