"""API of the follow-up plan versions (thin: plan_versions.py validates and writes).

GET/POST /api/v1/followups/plans/, GET /api/v1/followups/plans/<pk>/.
Administrators write; administrators, managers and customer service read (sales and finance
403); another tenant's version 404."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view

from apps.core.api_versions import (
    VERSION_FIELDS,
    VersionDetailAPIView,
    VersionListAPIView,
    VersionSerializer,
)
from apps.tenancy.permissions import role_permission

from . import plan_versions
from .models import FollowUpPlan
from .plans import PRESETS

CanViewPlans = role_permission(*plan_versions.VIEW_ROLES)


class FollowUpPlanSerializer(VersionSerializer):
    """A version of the follow-up plan. On POST give `rules` (the plan, format in
    docs/followups.md and apps.followups.plans) or a `preset` to copy ("default"); the service
    checks everything and answers with field errors ("rules" lists every problem)."""

    presets = PRESETS

    class Meta(VersionSerializer.Meta):
        model = FollowUpPlan
        fields = VERSION_FIELDS


def _in_force_pk(view) -> int | None:
    row = plan_versions.plan_in_force(view.tenant)
    return row.pk if row is not None else None


@extend_schema_view(
    get=extend_schema(summary="The follow-up plan versions, newest first",
                      operation_id="followups_plans_list",
                      responses=FollowUpPlanSerializer(many=True)),
    post=extend_schema(summary="Add a version of the follow-up plan (administrators)",
                       operation_id="followups_plans_create",
                       responses={201: FollowUpPlanSerializer}))
class FollowUpPlanListAPIView(VersionListAPIView):
    """Every version of the tenant's follow-up plan (newest first); administrators add one."""

    model = FollowUpPlan
    serializer_class = FollowUpPlanSerializer
    view_permission = CanViewPlans
    in_force_pk = _in_force_pk

    def create_version(self, **data):
        return plan_versions.plan_create(tenant=self.tenant, actor=self.staff, **data)


@extend_schema_view(get=extend_schema(summary="One version of the follow-up plan",
                                      operation_id="followups_plans_retrieve"))
class FollowUpPlanDetailAPIView(VersionDetailAPIView):
    model = FollowUpPlan
    serializer_class = FollowUpPlanSerializer
    view_permission = CanViewPlans
    in_force_pk = _in_force_pk
