"""Pages of the credit rule sets (业绩分配规则) and the deal roles (thin: rulesets.py reads and
writes). Administrators edit; managers and finance read."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from apps.core.forms import add_service_errors
from apps.core.views_versions import VersionCreateMixin
from apps.tenancy.views_base import TenantObjectMixin

from . import rulesets
from .engine import KINDS
from .forms_rules import DealRoleCreateForm, DealRoleEditForm, RuleSetForm
from .models import CreditRuleSet, Deal, DealRole
from .rules import PRESET_NAMES, PRESETS

PAGE_SIZE = 25


def _kind_rows(described: dict | None) -> list[tuple[str, list[str]]]:
    if described is None:
        return []
    labels = dict(Deal.Kind.choices)
    return [(labels[kind], described[kind]) for kind in KINDS]


class RulesViewMixin(TenantObjectMixin):
    required_roles = rulesets.VIEW_ROLES

    def require_admin(self):
        if not self.staff.is_admin:
            self.permission_denied()


# --------------------------------------------------------------------------- rule sets

class RuleSetListView(RulesViewMixin, View):
    """The rules in force (a version or the industry preset), the scheduled versions and every
    version (paginated)."""

    model = CreditRuleSet

    def get(self, request):
        overview = rulesets.rule_sets_overview(self.tenant)
        page = Paginator(overview["history"], PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "deals/rules_list.html", {
            **overview, "page_obj": page, "kind_rows": _kind_rows(overview["described"]),
            "can_edit": self.staff.is_admin})


class RuleSetCreateView(VersionCreateMixin, RulesViewMixin, View):
    """A new version: start from a preset (?preset=education) or the rules in force, edit the
    JSON, save. Errors are shown with what was typed."""

    model = CreditRuleSet
    form_class = RuleSetForm
    template_name = "deals/rules_form.html"
    list_url = "deals:rule_set_list"
    heading = gettext_lazy("New version of the credit rules")
    detail_url = "deals:rule_set_detail"
    presets, preset_names = PRESETS, PRESET_NAMES

    def overview(self) -> dict:
        return rulesets.rule_sets_overview(self.tenant)

    def preset_json(self, preset: str) -> str:
        return rulesets.preset_json(preset)

    def version_json(self, row) -> str:
        return rulesets.rule_set_detail(row)["json"]

    def create(self, **kwargs):
        return rulesets.rule_set_create(**kwargs)

    def saved_message(self, row) -> str:
        return _("Credit rules version %(version)s saved: in force from %(day)s.") % {
            "version": row.version, "day": row.effective_from.isoformat()}


class RuleSetDetailView(RulesViewMixin, View):
    model = CreditRuleSet

    def get(self, request, pk):
        row = get_object_or_404(CreditRuleSet.objects.select_related("created_by"), pk=pk)
        detail = rulesets.rule_set_detail(row)
        overview = rulesets.rule_sets_overview(self.tenant)
        current = overview["current"]
        return render(request, "deals/rules_detail.html", {
            **detail, "kind_rows": _kind_rows(detail["described"]),
            "in_force": current is not None and current.pk == row.pk,
            "scheduled": row.effective_from > overview["today"],
            "preset_name": PRESET_NAMES.get(row.preset, "")})


# --------------------------------------------------------------------------- roles

class DealRoleListView(RulesViewMixin, View):
    """Every role (defaults created on the first visit); administrators add one here."""

    model = DealRole

    def get(self, request):
        form = DealRoleCreateForm() if self.staff.is_admin else None
        return self.render_page(form)

    def post(self, request):
        self.require_admin()
        form = DealRoleCreateForm(request.POST)
        if form.is_valid():
            try:
                role = rulesets.deal_role_create(tenant=self.tenant, actor=self.staff,
                                                 **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Role “%(role)s” added.") % {"role": role.name})
                return redirect("deals:role_list")
        return self.render_page(form, status=400)

    def render_page(self, form, status=200):
        return render(self.request, "deals/rules_roles.html", {
            "roles": rulesets.deal_roles(self.tenant), "form": form,
            "can_edit": self.staff.is_admin}, status=status)


class DealRoleEditView(RulesViewMixin, View):
    model = DealRole
    required_roles = rulesets.VIEW_ROLES

    def get_object(self, pk) -> DealRole:
        return get_object_or_404(DealRole.objects.all(), pk=pk)

    def get(self, request, pk):
        role = self.get_object(pk)
        self.require_admin()
        form = DealRoleEditForm(initial={"name": role.name, "order": role.order,
                                         "active": role.active})
        return self.render_page(role, form)

    def post(self, request, pk):
        role = self.get_object(pk)
        self.require_admin()
        form = DealRoleEditForm(request.POST)
        if form.is_valid():
            try:
                role = rulesets.deal_role_update(tenant=self.tenant, actor=self.staff, role=role,
                                                 **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Role “%(role)s” saved.") % {"role": role.name})
                return redirect("deals:role_list")
        return self.render_page(role, form, status=400)

    def render_page(self, role, form, status=200):
        return render(self.request, "deals/rules_role_form.html", {"object": role, "form": form},
                      status=status)
