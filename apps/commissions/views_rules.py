"""Pages of the commission rule sets (提成规则) and the settlement settings (thin: rulesets.py reads
and writes). Administrators edit; managers and finance read; the "Preview" button of the new
version page shows what last month would have paid under the draft (nothing saved)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from apps.core.forms import add_service_errors
from apps.core.views_versions import VersionCreateMixin
from apps.ownership.selectors import tenant_today
from apps.tenancy.views_base import StaffRequiredMixin, TenantObjectMixin

from . import rulesets
from .forms_rules import CommissionRuleSetForm, CommissionSettingsForm
from .models import CommissionRuleSet
from .presets import PRESET_NAMES, PRESETS

PAGE_SIZE = 25


class CommissionRulesViewMixin(TenantObjectMixin):
    model = CommissionRuleSet
    required_roles = rulesets.VIEW_ROLES

    def require_admin(self):
        if not self.staff.is_admin:
            self.permission_denied()


class CommissionRuleSetListView(CommissionRulesViewMixin, View):
    """The rules in force (a version or the industry preset) as sentences, the scheduled
    versions and every version (paginated)."""

    def get(self, request):
        overview = rulesets.commission_rule_sets_overview(self.tenant)
        page = Paginator(overview["history"], PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "commissions/rules_list.html", {
            **overview, "page_obj": page, "can_edit": self.staff.is_admin})


class CommissionRuleSetCreateView(VersionCreateMixin, CommissionRulesViewMixin, View):
    """A new version: start from a preset (?preset=home) or the latest version, edit the JSON,
    save, or "Preview" (a second submit button): last month under the draft next to the rules
    in force, nothing saved."""

    form_class = CommissionRuleSetForm
    template_name = "commissions/rules_form.html"
    list_url = "commissions:rule_set_list"
    detail_url = "commissions:rule_set_detail"
    heading = gettext_lazy("New version of the commission rules")
    presets, preset_names = PRESETS, PRESET_NAMES
    preview = None

    def overview(self) -> dict:
        return rulesets.commission_rule_sets_overview(self.tenant)

    def preset_json(self, preset: str) -> str:
        return rulesets.commission_preset_json(preset)

    def version_json(self, row) -> str:
        return rulesets.commission_rule_set_detail(row)["json"]

    def create(self, **kwargs):
        return rulesets.commission_rule_set_create(**kwargs)

    def saved_message(self, row) -> str:
        return _("Commission rules version %(version)s saved: in force from %(day)s.") % {
            "version": row.version, "day": row.effective_from.isoformat()}

    def post(self, request):
        if "preview" not in request.POST:
            return super().post(request)
        self.require_admin()
        form = self.form_class(request.POST)
        form.is_valid()   # the other fields do not matter to a preview: keep what was typed
        try:
            self.preview = rulesets.commission_rules_preview(
                tenant=self.tenant, actor=self.staff, rules=request.POST.get("rules", ""))
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.render_page(form, status=400)
        return self.render_page(form)

    def render_page(self, form, status=200):
        return render(self.request, self.template_name, {
            "form": form, "presets": list(self.preset_names.items()), "heading": self.heading,
            "list_url": reverse(self.list_url), "preview": self.preview}, status=status)


class CommissionRuleSetDetailView(CommissionRulesViewMixin, View):
    def get(self, request, pk):
        row = get_object_or_404(CommissionRuleSet.objects.select_related("created_by"), pk=pk)
        detail = rulesets.commission_rule_set_detail(row)
        in_force_pk = rulesets.commission_in_force_pk(self.tenant)
        return render(request, "commissions/rules_detail.html", {
            **detail, "in_force": in_force_pk == row.pk,
            "scheduled": row.effective_from > tenant_today(self.tenant),
            "preset_name": PRESET_NAMES.get(row.preset, "")})


class CommissionSettingsView(StaffRequiredMixin, View):
    """The calculation day: administrators change it, finance and managers read it."""

    required_roles = rulesets.VIEW_ROLES

    def get(self, request):
        row = rulesets.commission_settings_for(self.tenant)
        form = CommissionSettingsForm(initial={"calculation_day": row.calculation_day}) \
            if self.staff.is_admin else None
        return self.render_page(form, row)

    def post(self, request):
        if not self.staff.is_admin:
            raise PermissionDenied
        form = CommissionSettingsForm(request.POST)
        if form.is_valid():
            try:
                row = rulesets.commission_settings_update(
                    tenant=self.tenant, actor=self.staff, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Last month is now calculated on day %(day)s of "
                                            "each month.") % {"day": row.calculation_day})
                return redirect("commissions:settings")
        return self.render_page(form, rulesets.commission_settings_for(self.tenant), status=400)

    def render_page(self, form, row, status=200):
        return render(self.request, "commissions/settings.html", {
            "form": form, "settings_row": row, "can_edit": self.staff.is_admin}, status=status)
