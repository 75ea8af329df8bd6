"""Pages of the referrer reward policy (转介绍奖励政策). Thin: reward_policies.py reads and
writes. Administrators edit; managers and finance read; others 403."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from apps.core.views_versions import VersionCreateMixin
from apps.tenancy.views_base import TenantObjectMixin

from . import reward_policies
from .forms_rewards import RewardPolicyForm
from .models import RewardPolicy
from .reward_presets import PRESET_NAMES, PRESETS

PAGE_SIZE = 25


class RewardPolicyViewMixin(TenantObjectMixin):
    model = RewardPolicy
    required_roles = reward_policies.VIEW_ROLES

    def require_admin(self):
        if not self.staff.is_admin:
            self.permission_denied()


class RewardPolicyListView(RewardPolicyViewMixin, View):
    """The policy in force (a version or the industry preset), the scheduled versions and every
    version (paginated)."""

    def get(self, request):
        overview = reward_policies.reward_policies_overview(self.tenant)
        page = Paginator(overview["history"], PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "referrals/reward_list.html", {
            **overview, "page_obj": page, "can_edit": self.staff.is_admin})


class RewardPolicyCreateView(VersionCreateMixin, RewardPolicyViewMixin, View):
    """A new version: start from a preset (?preset=home) or the latest version, edit the JSON,
    save. Errors are shown with what was typed."""

    form_class = RewardPolicyForm
    template_name = "referrals/reward_form.html"
    list_url = "referrals:reward_policy_list"
    heading = gettext_lazy("New version of the reward policy")
    detail_url = "referrals:reward_policy_detail"
    presets, preset_names = PRESETS, PRESET_NAMES

    def overview(self) -> dict:
        return reward_policies.reward_policies_overview(self.tenant)

    def preset_json(self, preset: str) -> str:
        return reward_policies.preset_json(preset)

    def version_json(self, row) -> str:
        return reward_policies.reward_policy_detail(row)["json"]

    def create(self, **kwargs):
        return reward_policies.reward_policy_create(**kwargs)

    def saved_message(self, row) -> str:
        return _("Reward policy version %(version)s saved: in force from %(day)s.") % {
            "version": row.version, "day": row.effective_from.isoformat()}


class RewardPolicyDetailView(RewardPolicyViewMixin, View):
    def get(self, request, pk):
        row = get_object_or_404(RewardPolicy.objects.select_related("created_by"), pk=pk)
        detail = reward_policies.reward_policy_detail(row)
        overview = reward_policies.reward_policies_overview(self.tenant)
        current = overview["current"]
        return render(request, "referrals/reward_detail.html", {
            **detail, "in_force": current is not None and current.pk == row.pk,
            "scheduled": row.effective_from > overview["today"]})
