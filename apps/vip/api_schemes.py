"""API of the tier schemes and the re-evaluation of every customer (thin: schemes.py validates
and writes, tasks.py runs the re-evaluation).

GET/POST /api/v1/vip/tier-schemes/, GET /api/v1/vip/tier-schemes/<pk>/,
GET/POST /api/v1/vip/tier-schemes/recompute/ (the progress; POST, administrators: start it under
the version in force today, or join the run going on — 202 with the progress).
Administrators write; administrators, managers, customer service and finance read."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from apps.core.api_versions import (
    VERSION_FIELDS,
    VersionDetailAPIView,
    VersionListAPIView,
    VersionSerializer,
)
from apps.tenancy.api import TenantAPIMixin
from apps.tenancy.permissions import IsTenantAdmin, role_permission

from . import schemes, tasks
from .models import TierScheme
from .tiers import PRESETS

CanViewTierSchemes = role_permission(*schemes.VIEW_ROLES)


class TierSchemeSerializer(VersionSerializer):
    """A version of the tier scheme. On POST give `rules` (the tiers, format in docs/vip.md) or
    a `preset` to copy ("default"); the service checks everything and answers with field
    errors. A version in force from today starts the re-evaluation of every customer."""

    presets = PRESETS
    recomputed_at = serializers.DateTimeField(read_only=True, allow_null=True, help_text=_(
        "When every customer was re-evaluated under this version (null: not yet)."))

    class Meta(VersionSerializer.Meta):
        model = TierScheme
        fields = [*VERSION_FIELDS, "recomputed_at"]


class RecomputeSummarySerializer(serializers.Serializer):
    customers = serializers.IntegerField(required=False)
    chunks = serializers.IntegerField(required=False)
    changed = serializers.IntegerField(required=False)
    upgraded = serializers.IntegerField(required=False)
    reviews = serializers.IntegerField(required=False)
    backfilled = serializers.IntegerField(required=False)
    seconds = serializers.FloatField(required=False)


class RecomputeProgressSerializer(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=["", tasks.QUEUED, tasks.RUNNING, tasks.DONE, tasks.FAILED],
        help_text=_("Empty when no run is known; queued, running, done or failed."))
    version = serializers.IntegerField(help_text=_("The scheme version (0: the default tiers)."))
    current = serializers.IntegerField(help_text=_("Customers evaluated so far."))
    total = serializers.IntegerField(help_text=_("Customers with a tier."))
    percent = serializers.IntegerField()
    running = serializers.BooleanField()
    summary = RecomputeSummarySerializer(help_text=_("What the finished run did."))


def _in_force_pk(view) -> int | None:
    return schemes.tier_scheme_in_force_pk(view.tenant)


@extend_schema_view(
    get=extend_schema(summary="The tier scheme versions, newest first",
                      operation_id="vip_tier_schemes_list",
                      responses=TierSchemeSerializer(many=True)),
    post=extend_schema(summary="Add a version of the tier scheme (administrators)",
                       operation_id="vip_tier_schemes_create",
                       responses={201: TierSchemeSerializer}))
class TierSchemeListAPIView(VersionListAPIView):
    """Every version of the tenant's tier scheme (newest first); administrators add one."""

    model = TierScheme
    serializer_class = TierSchemeSerializer
    view_permission = CanViewTierSchemes
    in_force_pk = _in_force_pk

    def create_version(self, **data):
        return schemes.tier_scheme_create(tenant=self.tenant, actor=self.staff, **data)


@extend_schema_view(get=extend_schema(summary="One version of the tier scheme",
                                      operation_id="vip_tier_schemes_retrieve"))
class TierSchemeDetailAPIView(VersionDetailAPIView):
    model = TierScheme
    serializer_class = TierSchemeSerializer
    view_permission = CanViewTierSchemes
    in_force_pk = _in_force_pk


class TierRecomputeAPIView(TenantAPIMixin, GenericAPIView):
    """The re-evaluation of every customer: its progress; administrators start it."""

    model = TierScheme
    serializer_class = RecomputeProgressSerializer
    filter_backends = []

    def get_permissions(self):
        return [IsTenantAdmin()] if self.request.method == "POST" else [CanViewTierSchemes()]

    @extend_schema(summary="The progress of the re-evaluation of every customer",
                   operation_id="vip_tier_schemes_recompute_retrieve")
    def get(self, request):
        return Response(self.get_serializer(tasks.recompute_progress(self.tenant)).data)

    @extend_schema(summary="Re-evaluate every customer under the version in force today "
                           "(administrators)",
                   operation_id="vip_tier_schemes_recompute", request=None,
                   responses={202: RecomputeProgressSerializer})
    def post(self, request):
        progress = tasks.recompute_progress(self.tenant)
        if not progress["running"]:
            progress = tasks.recompute_start(self.tenant, actor_id=self.staff.pk, force=True)
        return Response(self.get_serializer(progress).data, status=status.HTTP_202_ACCEPTED)
