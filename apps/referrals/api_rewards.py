"""API of the referrer reward policies (thin: reward_policies.py validates and writes).

GET/POST /api/v1/referrals/reward-policies/, GET /api/v1/referrals/reward-policies/<pk>/.
Administrators write; managers and finance read."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers

from apps.core.api_versions import VersionDetailAPIView, VersionListAPIView, VersionSerializer
from apps.tenancy.permissions import role_permission

from . import reward_policies
from .models import RewardPolicy
from .reward_presets import PRESETS
from .rewards import describe_reward_rules

CanViewRewardPolicies = role_permission(*reward_policies.VIEW_ROLES)


class RewardPolicySerializer(VersionSerializer):
    """A version of the reward policy. On POST give `rules` (format in docs/referrals.md
    "Reward rules") or a `preset` to copy; the service checks everything and answers with field
    errors (in Chinese, saying where)."""

    presets = PRESETS
    described = serializers.SerializerMethodField()

    class Meta(VersionSerializer.Meta):
        model = RewardPolicy
        fields = [*VersionSerializer.Meta.fields, "described"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["preset"].write_only = True  # a policy does not remember its preset

    def get_described(self, row) -> list[dict]:
        parsed = reward_policies.parsed_policy(row)
        if parsed is None:
            return []
        return [{"part": part, "lines": lines} for part, lines in describe_reward_rules(parsed)]


def _in_force_pk(view) -> int | None:
    row, _rules = reward_policies.reward_policy_for(view.tenant)
    return row.pk if row else None


@extend_schema_view(
    get=extend_schema(summary="The reward policy versions, newest first",
                      operation_id="referrals_reward_policies_list",
                      responses=RewardPolicySerializer(many=True)),
    post=extend_schema(summary="Add a version of the reward policy (administrators)",
                       operation_id="referrals_reward_policies_create",
                       responses={201: RewardPolicySerializer}))
class RewardPolicyListAPIView(VersionListAPIView):
    """Every version of the tenant's reward policy (newest first); administrators add one."""

    model = RewardPolicy
    serializer_class = RewardPolicySerializer
    view_permission = CanViewRewardPolicies
    in_force_pk = _in_force_pk

    def create_version(self, **data):
        return reward_policies.reward_policy_create(tenant=self.tenant, actor=self.staff, **data)


@extend_schema_view(get=extend_schema(summary="One version of the reward policy",
                                      operation_id="referrals_reward_policies_retrieve"))
class RewardPolicyDetailAPIView(VersionDetailAPIView):
    model = RewardPolicy
    serializer_class = RewardPolicySerializer
    view_permission = CanViewRewardPolicies
    in_force_pk = _in_force_pk
