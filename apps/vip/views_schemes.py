"""Pages of the tier schemes (会员等级方案; thin: schemes.py reads and writes, tasks.py runs the
re-evaluation). Administrators, managers, customer service and finance read; administrators add
a version and start a re-evaluation of every customer by hand (with a confirmation).

* /vip/tier-schemes/ — the tiers in force as sentences (or the default preset), the scheduled
  versions, every version (paginated), and the re-evaluation: "x / y" with a bar while a run
  goes on (an htmx poll of /vip/tier-schemes/progress/), or when the last one finished.
* /vip/tier-schemes/new/ — from a preset (?preset=default) or the latest version, JSON editing;
  errors listed in the site language with the input kept.
* /vip/tier-schemes/<pk>/ — one version: its tiers, benefits, the JSON, when it was re-evaluated.
* /vip/tier-schemes/recompute/ — GET: what it does, the button; POST: start (or join) the run.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from apps.core.views_versions import VersionCreateMixin
from apps.ownership.selectors import tenant_today
from apps.tenancy.views_base import TenantObjectMixin

from . import schemes, tasks
from .forms_schemes import TierSchemeForm
from .models import TierScheme
from .tiers import PRESET_NAMES, PRESETS

PAGE_SIZE = 25


class TierSchemeViewMixin(TenantObjectMixin):
    model = TierScheme
    required_roles = schemes.VIEW_ROLES

    def require_admin(self):
        if not self.staff.is_admin:
            self.permission_denied()


def progress_context(tenant, staff, current: TierScheme | None = None) -> dict:
    """What the progress fragment shows: the run's state and the version in force today (with
    when it was re-evaluated)."""
    if current is None:
        current = schemes.tier_scheme_in_force(tenant)
    return {"progress": tasks.recompute_progress(tenant), "in_force_scheme": current,
            "can_edit": staff.is_admin}


class TierSchemeListView(TierSchemeViewMixin, View):
    def get(self, request):
        overview = schemes.tier_schemes_overview(self.tenant)
        page = Paginator(overview["history"], PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "vip/scheme_list.html", {
            **overview, "page_obj": page, "can_edit": self.staff.is_admin,
            **progress_context(self.tenant, self.staff, overview["current"])})


class TierSchemeProgressView(TierSchemeViewMixin, View):
    """The progress fragment the list page polls while a run goes on; it starts nothing."""

    def get(self, request):
        return render(request, "vip/scheme_progress.html",
                      progress_context(self.tenant, self.staff))


class TierSchemeCreateView(VersionCreateMixin, TierSchemeViewMixin, View):
    form_class = TierSchemeForm
    template_name = "vip/scheme_form.html"
    list_url = "vip:scheme_list"
    detail_url = "vip:scheme_detail"
    heading = gettext_lazy("New version of the tier scheme")
    presets = PRESETS
    preset_names = {code: gettext_lazy(name) for code, name in PRESET_NAMES.items()}

    def overview(self) -> dict:
        return schemes.tier_schemes_overview(self.tenant)

    def preset_json(self, preset: str) -> str:
        return schemes.tier_preset_json(preset)

    def version_json(self, row) -> str:
        return schemes.tier_scheme_detail(row)["json"]

    def create(self, **kwargs):
        return schemes.tier_scheme_create(**kwargs)

    def saved_message(self, row) -> str:
        params = {"version": row.version, "day": row.effective_from.isoformat()}
        if row.effective_from == tenant_today(self.tenant):
            return _("Tier scheme version %(version)s saved: in force from today; every "
                     "customer is being re-evaluated.") % params
        return _("Tier scheme version %(version)s saved: in force from %(day)s; every customer "
                 "is re-evaluated on that day.") % params


class TierSchemeDetailView(TierSchemeViewMixin, View):
    def get(self, request, pk):
        row = get_object_or_404(TierScheme.objects.select_related("created_by"), pk=pk)
        detail = schemes.tier_scheme_detail(row)
        return render(request, "vip/scheme_detail.html", {
            **detail, "in_force": schemes.tier_scheme_in_force_pk(self.tenant) == row.pk,
            "scheduled": row.effective_from > tenant_today(self.tenant),
            "preset_name": _(PRESET_NAMES[row.preset]) if row.preset in PRESET_NAMES else ""})


class TierSchemeRecomputeView(TierSchemeViewMixin, View):
    """GET: what a re-evaluation does, with the button (administrators); POST: start it under
    the version in force today, or join the run going on."""

    def get(self, request):
        self.require_admin()
        return render(request, "vip/scheme_recompute_confirm.html",
                      progress_context(self.tenant, self.staff))

    def post(self, request):
        self.require_admin()
        if tasks.recompute_progress(self.tenant)["running"]:
            messages.info(request, _("A re-evaluation is already going on: this page shows its "
                                     "progress."))
            return redirect("vip:scheme_list")
        progress = tasks.recompute_start(self.tenant, actor_id=self.staff.pk, force=True)
        messages.success(request, _("The re-evaluation of every customer under version "
                                    "%(version)s has started; this page shows its progress.")
                         % {"version": progress["version"]})
        return redirect("vip:scheme_list")
