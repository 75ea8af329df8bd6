"""Pages of the referrer reward policy (转介绍奖励政策). Thin: reward_policies.py reads and
writes. Administrators edit; managers and finance read; others 403."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views import View

from apps.core.forms import add_service_errors
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


class RewardPolicyCreateView(RewardPolicyViewMixin, View):
    """A new version: start from a preset (?preset=home) or the latest version, edit the JSON,
    save. Errors are shown with what was typed."""

    def get(self, request):
        self.require_admin()
        overview = reward_policies.reward_policies_overview(self.tenant)
        day = overview["today"]
        taken = {row.effective_from for row in overview["history"]}
        while day in taken:
            day += dt.timedelta(days=1)
        preset = request.GET.get("preset", "")
        if preset in PRESETS:
            text, name = reward_policies.preset_json(preset), str(PRESET_NAMES[preset])
        else:
            latest = overview["scheduled"][-1] if overview["scheduled"] else overview["current"]
            if latest is not None:
                text, name, preset = (reward_policies.reward_policy_detail(latest)["json"],
                                      latest.name, "")
            else:
                preset = overview["fallback_preset"]
                text, name = reward_policies.preset_json(preset), str(PRESET_NAMES[preset])
        form = RewardPolicyForm(initial={"effective_from": day, "name": name, "preset": preset,
                                         "rules": text})
        return self.render_page(form)

    def post(self, request):
        self.require_admin()
        form = RewardPolicyForm(request.POST)
        if form.is_valid():
            try:
                row = reward_policies.reward_policy_create(
                    tenant=self.tenant, actor=self.staff, **form.service_kwargs())
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Reward policy version %(version)s saved: in force "
                                            "from %(day)s.") % {
                    "version": row.version, "day": row.effective_from.isoformat()})
                return redirect("referrals:reward_policy_detail", pk=row.pk)
        return self.render_page(form, status=400)

    def render_page(self, form, status=200):
        return render(self.request, "referrals/reward_form.html", {
            "form": form, "presets": list(PRESET_NAMES.items())}, status=status)


class RewardPolicyDetailView(RewardPolicyViewMixin, View):
    def get(self, request, pk):
        row = get_object_or_404(RewardPolicy.objects.select_related("created_by"), pk=pk)
        detail = reward_policies.reward_policy_detail(row)
        overview = reward_policies.reward_policies_overview(self.tenant)
        current = overview["current"]
        return render(request, "referrals/reward_detail.html", {
            **detail, "in_force": current is not None and current.pk == row.pk,
            "scheduled": row.effective_from > overview["today"]})
