"""Pages of the follow-up plan (回访计划; thin: plan_versions.py reads and writes).
Administrators, managers and customer service read (plan_versions.VIEW_ROLES); administrators
add a version (anyone else: 403, nothing saved).

* /followups/plans/ — the plan in force as sentences (or the default preset), the scheduled
  versions, every version (paginated).
* /followups/plans/new/ — from a preset (?preset=default) or the latest version, JSON editing;
  errors listed in the site language with the input kept.
* /followups/plans/<pk>/ — one version: its rules as sentences, the JSON.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from apps.core.views_versions import VersionCreateMixin
from apps.ownership.selectors import tenant_today
from apps.tenancy.views_base import TenantObjectMixin

from . import plan_versions
from .forms_plans import FollowUpPlanForm
from .models import FollowUpPlan
from .plans import PRESET_NAMES, PRESETS

PAGE_SIZE = 25


class PlanViewMixin(TenantObjectMixin):
    model = FollowUpPlan
    required_roles = plan_versions.VIEW_ROLES

    def require_admin(self):
        if not self.staff.is_admin:
            self.permission_denied()


class PlanListView(PlanViewMixin, View):
    def get(self, request):
        overview = plan_versions.plans_overview(self.tenant)
        page = Paginator(overview["history"], PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "followups/plan_list.html", {
            **overview, "page_obj": page, "can_edit": self.staff.is_admin})


class PlanCreateView(VersionCreateMixin, PlanViewMixin, View):
    form_class = FollowUpPlanForm
    template_name = "followups/plan_form.html"
    list_url = "followups:plan_list"
    detail_url = "followups:plan_detail"
    heading = gettext_lazy("New version of the follow-up plan")
    presets = PRESETS
    preset_names = {code: gettext_lazy(name) for code, name in PRESET_NAMES.items()}

    def overview(self) -> dict:
        return plan_versions.plans_overview(self.tenant)

    def preset_json(self, preset: str) -> str:
        return plan_versions.plan_preset_json(preset)

    def version_json(self, row) -> str:
        return plan_versions.plan_version_json(row)

    def create(self, **kwargs):
        return plan_versions.plan_create(**kwargs)

    def saved_message(self, row) -> str:
        params = {"version": row.version, "day": row.effective_from.isoformat()}
        if row.effective_from == tenant_today(self.tenant):
            return _("Follow-up plan version %(version)s saved: in force from today.") % params
        return _("Follow-up plan version %(version)s saved: in force from %(day)s.") % params


class PlanDetailView(PlanViewMixin, View):
    def get(self, request, pk):
        row = get_object_or_404(FollowUpPlan.objects.select_related("created_by"), pk=pk)
        in_force = plan_versions.plan_in_force(self.tenant)
        return render(request, "followups/plan_detail.html", {
            **plan_versions.plan_detail(row),
            "in_force": in_force is not None and in_force.pk == row.pk,
            "scheduled": row.effective_from > tenant_today(self.tenant),
            "preset_name": _(PRESET_NAMES[row.preset]) if row.preset in PRESET_NAMES else ""})
