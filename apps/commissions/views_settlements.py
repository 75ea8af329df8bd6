"""Pages of the monthly settlement (月结) (thin: apps.commissions.settlements reads and writes).

* /commissions/settlements/ — the months with their status, total, lines, people and who did
  each step; finance and administrators calculate a month there (default last month). Finance,
  administrators and managers read; sales and customer service get 403.
* /commissions/settlements/<pk>/ — the steps (who, when), the warnings, the per-person summary
  (managers: their team's people) with a totals row, the teams to approve, and the buttons the
  viewer may use; each leads to a confirmation page:
  /commissions/settlements/<pk>/<recalculate|submit|approve-team|approve|close|mark-paid>/
  (GET: confirm; POST: do it; a refused step shows the service's reason, nothing changes).
* /commissions/settlements/<pk>/commission-lines/ — the lines the viewer may see, filtered and
  paginated, each with its rule, figures, explanation and the deal or event behind it.

`line_sources` is THE reader of a line's `ref` / `adjusts` (pages, statements and the API)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from apps.core.bands import plain_number
from apps.core.filters import clean_filter_form
from apps.core.forms import add_service_errors, narrow_people_and_teams, style_fields
from apps.ownership.selectors import tenant_today
from apps.referrals.reports import add_months, month_start
from apps.tenancy.models import Staff, Team
from apps.tenancy.roles import Role
from apps.tenancy.views_base import TenantObjectMixin

from . import settlements
from .engine import COMMISSION_KINDS
from .forms_settlements import (
    SettlementCalculateForm,
    SettlementLineFilterForm,
    SettlementNoteForm,
    TeamApproveForm,
)
from .models import CommissionLine, PenaltyEvent, Settlement
from .rules import kind_name

PAGE_SIZE = 25
LINES_PAGE_SIZE = 50
#: Who reads the settlement pages (sales and customer service read their statements only).
PAGE_ROLES = (Role.ADMIN, Role.FINANCE, Role.MANAGER)
STEP_USERS = ("calculated_by", "submitted_by", "approved_by", "closed_by", "paid_by")


# --------------------------------------------------------------------------- a line's sources


@dataclass(frozen=True)
class Source:
    """What a line comes from or adjusts: a deal, a referral, a refund (→ its deal), a penalty,
    or a period (a month's referrals, a ranking, a cap), with the page to open when there is
    one."""

    kind: str
    ident: str
    label: str
    url: str = ""
    adjusted: bool = False   # from `adjusts`: what the line corrects


_TOKEN = re.compile(r"\b([a-z_]+):([0-9A-Za-z-]+)")
_SOURCE_LABELS = {
    "deal": gettext_lazy("Deal %(id)s"),
    "credit": gettext_lazy("Deal %(id)s"),
    "participant": gettext_lazy("Deal %(id)s"),
    "refund": gettext_lazy("Refund %(id)s"),
    "referral": gettext_lazy("Referral #%(id)s"),
    "penalty": gettext_lazy("Penalty #%(id)s"),
    "retention": gettext_lazy("Customer #%(id)s bought again"),
    "referrals": gettext_lazy("Referrals of %(id)s"),
    "cap": gettext_lazy("Cap of %(id)s"),
    "ranking": gettext_lazy("Ranking of %(id)s"),
    "closed": gettext_lazy("Closed month %(id)s"),
}


def line_sources(line: CommissionLine) -> list[Source]:
    """The deal or events behind a line, read from its `ref` and `adjusts` ("credit:5",
    "participant:6", "referral:9", "refund:7", "penalty:3", "retention:<customer id>",
    "referrals:2026-10", "cap:2026-10", adjusts "deal:12 of 2026-10 (closed)"). A credit, a
    participant, a refund and a deal open the deal page (the line's deal when it has one); a
    referral its referral page; a retention the customer; the rest are shown as text. Needs
    `line.deal` selected when the line has a deal (for its contract number)."""
    found: list[Source] = []
    seen: set[tuple[str, str]] = set()
    deal = line.deal if line.deal_id else None
    for text, adjusted in ((line.ref, False), (line.adjusts, True)):
        for kind, ident in _TOKEN.findall(text or ""):
            if (kind, ident) in seen or kind not in _SOURCE_LABELS:
                continue
            seen.add((kind, ident))
            url, label = "", _SOURCE_LABELS[kind] % {"id": ident}
            if kind == "referral" and ident.isdigit():
                url = reverse("referrals:referral_detail", args=[int(ident)])
            elif kind == "deal" and ident.isdigit():
                url = reverse("deals:detail", args=[int(ident)])
                if deal is not None and deal.pk == int(ident):
                    label = _("Deal %(id)s") % {"id": deal.contract_number}
            elif kind == "retention" and ident.isdigit():
                url = reverse("customers:detail", args=[int(ident)])
            elif kind in ("credit", "participant", "refund") and deal is not None:
                url = reverse("deals:detail", args=[deal.pk])
                if kind != "refund":
                    label = _("Deal %(id)s") % {"id": deal.contract_number}
                    seen.add(("deal", str(deal.pk)))
            found.append(Source(kind, ident, str(label), url, adjusted))
    if deal is not None and not any(s.url == reverse("deals:detail", args=[deal.pk])
                                    for s in found):
        found.insert(0, Source("deal", str(deal.pk),
                               _("Deal %(id)s") % {"id": deal.contract_number},
                               reverse("deals:detail", args=[deal.pk])))
    return found


def decorate_lines(lines) -> list[CommissionLine]:
    """The lines with `.sources` (line_sources) and `.kind_label` set, for the templates. A
    penalty has no page: its source says the code, the day and the note (the penalties of the
    lines read in one query), and opens what the penalty's own `source` names, if anything."""
    lines = list(lines)
    for line in lines:
        line.sources = line_sources(line)
        line.kind_label = kind_name(line.kind)
        line.rate_shown = plain_number(line.rate) if line.rate is not None else ""
        line.share_shown = plain_number(line.share) if line.share is not None else ""
    ids = {int(s.ident) for line in lines for s in line.sources
           if s.kind == "penalty" and s.ident.isdigit()}
    if not ids:
        return lines
    penalties = {p.pk: p for p in PenaltyEvent.objects.filter(pk__in=ids)}
    for line in lines:
        line.sources = [_penalty_source(s, penalties) if s.kind == "penalty" else s
                        for s in line.sources]
    return lines


def _penalty_source(source: Source, penalties: dict) -> Source:
    penalty = penalties.get(int(source.ident)) if source.ident.isdigit() else None
    if penalty is None:
        return source
    label = " · ".join(part for part in (source.label, penalty.code,
                                         penalty.occurred_on.isoformat(), penalty.note) if part)
    behind = CommissionLine(ref=penalty.source)
    urls = [s.url for s in line_sources(behind) if s.url]
    return replace(source, label=label, url=urls[0] if urls else "")


# --------------------------------------------------------------------------- summary table


def summary_columns(rows) -> list[tuple[str, str]]:
    """The commission kinds some row holds, as (kind, label), in the engine's order."""
    return [(kind, kind_name(kind)) for kind in COMMISSION_KINDS
            if any(row.by_kind.get(kind) for row in rows)]


def summary_table(rows) -> dict:
    """The per-person rows with their commission-kind cells, and a totals row (sums of the
    rows, to the cent)."""
    columns = summary_columns(rows)
    zero = Decimal("0.00")
    for row in rows:
        row.kind_cells = [row.by_kind.get(kind, zero) for kind, _label in columns]
    fields = ("base_salary", "commissions", "bonuses", "penalties", "adjustments", "cap",
              "total")
    totals = {name: sum((getattr(r, name) or zero for r in rows), zero) for name in fields}
    totals["kind_cells"] = [sum((r.by_kind.get(kind, zero) for r in rows), zero)
                            for kind, _label in columns]
    return {"rows": rows, "columns": columns, "totals": totals}


def visible_summaries(staff, settlement):
    """person_summaries for what `staff` may see: everyone for finance and administrators, the
    people of the lines visible to a manager (their team)."""
    if staff.has_role(Role.ADMIN, Role.FINANCE):
        return settlements.person_summaries(settlement)
    ids = sorted({pk for pk in settlements.visible_lines(staff, settlement)
                  .values_list("staff_id", flat=True).distinct() if pk is not None})
    return settlements.person_summaries(settlement, staff_ids=ids) if ids else []


# --------------------------------------------------------------------------- steps and actions


@dataclass(frozen=True)
class Action:
    name: str           # the URL segment
    roles: tuple
    title: object
    button: object
    warning: object
    done: object
    css: str = "btn-primary"


ACTIONS = {a.name: a for a in (
    Action("recalculate", settlements.CALC_ROLES, gettext_lazy("Recalculate the month"),
           gettext_lazy("Recalculate"),
           gettext_lazy("The lines of this month are calculated again from the deals, referrals "
                        "and penalties as they are now; the result replaces the current lines."),
           gettext_lazy("The month was calculated again."), "btn-outline-primary"),
    Action("submit", settlements.CALC_ROLES, gettext_lazy("Submit for approval"),
           gettext_lazy("Submit"),
           gettext_lazy("Once submitted, the month can no longer be recalculated; the team "
                        "managers are asked to approve their teams."),
           gettext_lazy("The month was submitted for approval.")),
    Action("approve-team", settlements.TEAM_APPROVE_ROLES, gettext_lazy("Approve a team"),
           gettext_lazy("Approve the team"),
           gettext_lazy("You confirm that the lines of this team are right. An approval cannot "
                        "be withdrawn."),
           gettext_lazy("The team's lines were approved."), "btn-success"),
    Action("approve", settlements.FINAL_APPROVE_ROLES, gettext_lazy("Approve the month"),
           gettext_lazy("Approve the month"),
           gettext_lazy("Every team has approved its lines. Approving the month hands it to "
                        "finance to close."),
           gettext_lazy("The month was approved."), "btn-success"),
    Action("close", settlements.CALC_ROLES, gettext_lazy("Close the month"),
           gettext_lazy("Close"),
           gettext_lazy("Closing is irreversible: the lines of a closed month can never change. "
                        "Anything that arrives later becomes an adjustment in the next open "
                        "month."),
           gettext_lazy("The month was closed."), "btn-danger"),
    Action("mark-paid", settlements.CALC_ROLES, gettext_lazy("Mark the month as paid"),
           gettext_lazy("Mark paid"),
           gettext_lazy("Confirm that payroll has paid these amounts. This cannot be undone."),
           gettext_lazy("The month was marked as paid."), "btn-danger"),
)}


def approvable_teams(staff, settlement, teams) -> list[Team]:
    """The teams `staff` may approve now: the not yet approved teams of a submitted month
    (administrators: any; a manager: their own)."""
    if settlement.status != Settlement.Status.SUBMITTED:
        return []
    if not staff.has_role(*settlements.TEAM_APPROVE_ROLES):
        return []
    return [team for team, approval in teams if approval is None
            and (staff.is_admin or team.pk == staff.team_id)]


def available_actions(staff, settlement, teams) -> list[Action]:
    """The buttons `staff` may use on `settlement` now (`teams`: teams_to_approve)."""
    status, Status = settlement.status, Settlement.Status
    names = []
    if staff.has_role(*settlements.CALC_ROLES):
        if status == Status.CALCULATED:
            names += ["recalculate", "submit"]
        elif status == Status.APPROVED:
            names.append("close")
        elif status == Status.CLOSED:
            names.append("mark-paid")
    if approvable_teams(staff, settlement, teams):
        names.append("approve-team")
    if (status == Status.SUBMITTED and staff.has_role(*settlements.FINAL_APPROVE_ROLES)
            and all(approval is not None for _team, approval in teams)):
        names.append("approve")
    return [ACTIONS[name] for name in names]


def run_action(name: str, *, tenant, actor, settlement, team=None, note: str = ""):
    """Do the step `name` through the settlement services (ValidationError when refused)."""
    kw = {"tenant": tenant, "actor": actor}
    if name == "recalculate":
        return settlements.settlement_calculate(**kw, month=settlement.month)
    if name == "submit":
        return settlements.settlement_submit(**kw, settlement=settlement)
    if name == "approve-team":
        return settlements.settlement_approve_team(**kw, settlement=settlement, team=team,
                                                   note=note)
    if name == "approve":
        return settlements.settlement_approve(**kw, settlement=settlement, note=note)
    if name == "close":
        return settlements.settlement_close(**kw, settlement=settlement)
    if name == "mark-paid":
        return settlements.settlement_mark_paid(**kw, settlement=settlement)
    raise ValueError(name)


def action_url(name: str, settlement) -> str:
    return reverse(f"commissions:settlement_{name.replace('-', '_')}", args=[settlement.pk])


def settlement_steps(settlement) -> list[dict]:
    """The steps of the month in order, with who did each and when (None: not yet)."""
    labels = ((Settlement.Status.CALCULATED, "calculated"), (Settlement.Status.SUBMITTED,
              "submitted"), (Settlement.Status.APPROVED, "approved"),
              (Settlement.Status.CLOSED, "closed"), (Settlement.Status.PAID, "paid"))
    return [{"status": status, "label": status.label,
             "at": getattr(settlement, f"{field}_at"), "by": getattr(settlement, f"{field}_by")}
            for status, field in labels]


def default_calculate_month(tenant):
    return add_months(month_start(tenant_today(tenant)), -1)


# --------------------------------------------------------------------------- pages


class SettlementMixin(TenantObjectMixin):
    model = Settlement
    required_roles = PAGE_ROLES

    def get_object(self, pk) -> Settlement:
        return get_object_or_404(self.get_queryset().select_related(*STEP_USERS), pk=pk)


class SettlementListView(SettlementMixin, View):
    """The months, newest first; finance and administrators calculate a month here."""

    def get(self, request):
        form = None
        if self.staff.has_role(*settlements.CALC_ROLES):
            form = SettlementCalculateForm(initial={"month": default_calculate_month(
                self.tenant)})
        return self.render_page(form)

    def post(self, request):
        if not self.staff.has_role(*settlements.CALC_ROLES):
            raise PermissionDenied
        form = SettlementCalculateForm(request.POST)
        if form.is_valid():
            try:
                settlement = settlements.settlement_calculate(
                    tenant=self.tenant, actor=self.staff, month=form.cleaned_data["month"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("%(month)s calculated: %(lines)s lines, total "
                                            "%(total)s.") % {
                    "month": settlement, "lines": settlement.line_count,
                    "total": settlement.total})
                return redirect("commissions:settlement_detail", pk=settlement.pk)
        return self.render_page(form, status=400)

    def render_page(self, form, status=200):
        page = Paginator(self.get_queryset().select_related(*STEP_USERS),
                         PAGE_SIZE).get_page(self.request.GET.get("page"))
        return render(self.request, "commissions/settlement_list.html", {
            "page_obj": page, "form": form}, status=status)


class SettlementDetailView(SettlementMixin, View):
    def get(self, request, pk):
        settlement = self.get_object(pk)
        staff = self.staff
        teams = settlements.teams_to_approve(settlement)
        summary = summary_table(visible_summaries(staff, settlement))
        return render(request, "commissions/settlement_detail.html", {
            "settlement": settlement, "steps": settlement_steps(settlement),
            "teams": teams, "summary": summary,
            "actions": [(action, action_url(action.name, settlement))
                        for action in available_actions(staff, settlement, teams)],
            "sees_everyone": staff.has_role(Role.ADMIN, Role.FINANCE)})


class SettlementActionView(SettlementMixin, View):
    """GET: what the step does, with the confirmation button; POST: do it (refusals show the
    reason with status 400, nothing changes)."""

    action: str = ""

    def dispatch(self, request, *args, **kwargs):
        self.required_roles = ACTIONS[self.action].roles
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, pk):
        settlement = self.get_object(pk)
        return self.render_page(settlement, self.make_form(settlement))

    def post(self, request, pk):
        settlement = self.get_object(pk)
        form = self.make_form(settlement, request.POST)
        if form.is_valid():
            try:
                run_action(self.action, tenant=self.tenant, actor=self.staff,
                           settlement=settlement, team=form.cleaned_data.get("team"),
                           note=form.cleaned_data.get("note", ""))
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, str(ACTIONS[self.action].done))
                return redirect("commissions:settlement_detail", pk=settlement.pk)
        return self.render_page(settlement, form, status=400)

    def make_form(self, settlement, data=None):
        if self.action == "approve-team":
            teams = approvable_teams(self.staff, settlement,
                                     settlements.teams_to_approve(settlement))
            if not teams and self.staff.is_manager and not self.staff.is_admin:
                # Not their turn (or nothing to approve): the service says why on POST.
                teams = Team.objects.filter(pk=self.staff.team_id)
            else:
                teams = Team.objects.filter(pk__in=[t.pk for t in teams])
            return TeamApproveForm(data, teams=teams)
        if self.action == "approve":
            return SettlementNoteForm(data)
        return _EmptyForm(data)

    def render_page(self, settlement, form, status=200):
        return render(self.request, "commissions/settlement_confirm.html", {
            "settlement": settlement, "action": ACTIONS[self.action], "form": form,
            "action_url": action_url(self.action, settlement)}, status=status)


class _EmptyForm(SettlementNoteForm):
    """A confirmation without a note."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["note"]


class SettlementLinesView(SettlementMixin, View):
    """The lines of the month the viewer may see, filtered and paginated (50)."""

    def get(self, request, pk):
        settlement = self.get_object(pk)
        staff = self.staff
        lines = settlements.visible_lines(staff, settlement)
        errors, status = [], 200
        try:
            filters = clean_filter_form(SettlementLineFilterForm, request.GET)
        except ValidationError as exc:
            labels = {k: f.label for k, f in SettlementLineFilterForm.base_fields.items()}
            errors = [{"label": labels.get(k, k), "messages": v}
                      for k, v in exc.message_dict.items()]
            filters, status = {}, 400
            lines = lines.none()
        lines = filter_lines(lines, filters)
        page = Paginator(lines, LINES_PAGE_SIZE).get_page(request.GET.get("page"))
        page.object_list = decorate_lines(page.object_list)
        return render(request, "commissions/settlement_lines.html", {
            "settlement": settlement, "page_obj": page, "filter_errors": errors,
            "filter_form": self.filter_form(settlement)}, status=status)

    def filter_form(self, settlement) -> SettlementLineFilterForm:
        """Person and team options only where they narrow what the viewer sees (one query)."""
        staff = self.staff
        form = SettlementLineFilterForm(self.request.GET)
        if staff.has_role(Role.ADMIN, Role.FINANCE):
            people, teams = Staff.objects.all(), Team.objects.all()
        elif staff.is_manager and staff.team_id:
            people, teams = Staff.objects.filter(team_id=staff.team_id), None
        else:
            people = teams = None
        narrow_people_and_teams(form, people=people, teams=teams, people_field="staff",
                                any_person=_("Anyone"), any_team=_("Any team"))
        style_fields(form)
        return form


def filter_lines(lines, filters: dict):
    """The lines narrowed by the cleaned SettlementLineFilterForm values, in their order, with
    what their rows show selected."""
    if filters.get("staff"):
        lines = lines.filter(staff_id=filters["staff"])
    if filters.get("team"):
        lines = lines.filter(team_id=filters["team"])
    if filters.get("kind"):
        lines = lines.filter(kind=filters["kind"])
    if filters.get("adjustments"):
        lines = lines.filter(is_adjustment=True)
    return lines.select_related("staff", "team", "deal").order_by("position", "id")
