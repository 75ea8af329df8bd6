"""Pages of the referrals themselves (thin: apps.referrals.lifecycle writes, .selectors reads).

* /referrals/ — the referrals the viewer sees: status tabs with counts, filters, 25 a page.
* /referrals/log/ — log a referral (sales, managers, admins): pick the referrer (htmx search
  from /referrals/referrer-search/, or ?referrer=<pk>), enter the new person with the live
  registration check; a collision asks for confirmation (the account) before the dispute.
* /referrals/<pk>/ — the referral: the person, the referrer, the steps, the reward and its
  lines, the history, and the buttons of the actions the viewer may take.
* /referrals/<pk>/verify/, reject/, approve/, pay/ — a page each, confirmed by a POST.
* /referrals/reward-lines/ — the reward-line ledger (finance, managers, admins; sales the
  lines of the referrals they see), filtered, with totals per kind.
Service refusals are shown on the page; PermissionDenied is a 403; a referral the viewer does
not see (or of another tenant) is a 404.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from apps.core.audit import history_of, history_rows
from apps.core.forms import add_service_errors
from apps.core.views import is_htmx
from apps.ownership.registration import registration_check
from apps.ownership.selectors import tenant_today
from apps.tenancy.views_base import StaffRequiredMixin, TenantObjectMixin

from . import lifecycle, selectors
from .forms_referrals import (
    ReferralDecisionForm,
    ReferralListFilterForm,
    ReferralLogForm,
    ReferralRejectForm,
    ReferralVerifyForm,
    RewardLineListFilterForm,
)
from .models import Referral, RewardLine

PAGE_SIZE = 25
S = Referral.Status

ACTION_LABELS = {
    "referral.log": gettext_lazy("Referral logged"),
    "referral.link_customer": gettext_lazy("Person registered (ownership disputed)"),
    "referral.verify": gettext_lazy("Verified"),
    "referral.convert": gettext_lazy("Converted: first deal"),
    "referral.hold": gettext_lazy("Reward held for the refund window"),
    "referral.reject": gettext_lazy("Rejected"),
    "referral.expire": gettext_lazy("Expired: no purchase in time"),
    "referral.approve": gettext_lazy("Reward approved"),
    "referral.pay": gettext_lazy("Reward paid"),
    "referral.reverse": gettext_lazy("Reversed after a refund"),
    "referral.refund_adjust": gettext_lazy("Reward adjusted after a partial refund"),
    "referral.refund_kept": gettext_lazy("Refund: the referrer keeps the reward"),
    "referral.override": gettext_lazy("Override on a later purchase"),
}
HISTORY_LABELS = {
    "status": gettext_lazy("Status"), "reason": gettext_lazy("Reason"),
    "deal": gettext_lazy("Deal"), "ordinal": gettext_lazy("Referral no."),
    "hold_until": gettext_lazy("Held until"), "amount": gettext_lazy("Amount"),
    "customer": gettext_lazy("Customer"), "dispute": gettext_lazy("Dispute"),
    "referrer": gettext_lazy("Referrer"), "registration": gettext_lazy("Registration"),
    "policy_version": gettext_lazy("Reward policy version"), "preset": gettext_lazy("Preset"),
    "reward_voided": gettext_lazy("Reward voided"), "kept": gettext_lazy("Kept"),
    "refund": gettext_lazy("Refund"), "line": gettext_lazy("Reward line"),
    "clawed_back": gettext_lazy("Clawed back"), "conversion_days": gettext_lazy("Days"),
}
HISTORY_SKIP = ("reward", "reward_before", "reward_after", "inputs", "action")


def _history(referral: Referral) -> list[dict]:
    statuses = dict(S.choices)
    reasons = dict(Referral.Rejection.choices)

    def show(key, value):
        if key == "status":
            if isinstance(value, list):
                return " → ".join(str(statuses.get(v, v)) for v in value)
            return statuses.get(value, value)
        if key == "reason":
            return reasons.get(value, value)
        if key in ("deal", "customer", "dispute", "referrer", "refund", "line"):
            return f"#{value}"
        return value

    rows = []
    for row in history_rows(history_of(referral), action_labels=ACTION_LABELS,
                            label=lambda key: HISTORY_LABELS.get(key, key), show=show,
                            skip=HISTORY_SKIP):
        for line in row["lines"]:  # a status [from, to] is one line "from → to"
            if line["old"] is not None and line["label"] == HISTORY_LABELS["status"]:
                line["old"], line["new"] = None, f'{line["old"]} → {line["new"]}'
        rows.append(row)
    return rows


class ReferralMixin(TenantObjectMixin):
    model = Referral
    required_roles = selectors.VIEW_ROLES

    def scope_queryset(self, queryset):
        return lifecycle.visible_referrals(self.staff, queryset)

    def get_referral(self, pk: int) -> Referral:
        try:
            referral = selectors.referral_detail(self.staff, pk)
        except Referral.DoesNotExist:
            raise Http404 from None
        selectors.referral_rows(self.staff, [referral])
        return referral

    def to_detail(self, referral):
        return redirect("referrals:referral_detail", pk=referral.pk)


# ----------------------------------------------------------------------------- list

class ReferralListView(ReferralMixin, View):
    def get(self, request):
        staff = self.staff
        form = ReferralListFilterForm(request.GET)
        form.is_valid()
        partial = is_htmx(request)
        status, filter_errors, counts = 200, [], []
        try:
            rows = selectors.referral_list(staff, request.GET)
            counts = selectors.referral_status_counts(staff, request.GET)
        except ValidationError as exc:
            labels = {k: f.label for k, f in ReferralListFilterForm.base_fields.items()}
            filter_errors = [{"label": labels.get(field, field), "messages": msgs}
                             for field, msgs in exc.message_dict.items()]
            rows = Referral.objects.none()
            status = 200 if partial else 400  # htmx does not swap 4xx answers in
        page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
        context = {"filter_form": form, "filter_errors": filter_errors, "page": page,
                   "referrals": selectors.referral_rows(staff, page.object_list),
                   "counts": counts, "current_status": request.GET.get("status", ""),
                   "can_log": staff.has_role(*lifecycle.LOG_ROLES)}
        template = ("referrals/referral_results.html" if partial
                    else "referrals/referral_list.html")
        response = render(request, template, context, status=status)
        patch_vary_headers(response, ["HX-Request"])
        return response


# ----------------------------------------------------------------------------- log

class ReferrerSearchView(StaffRequiredMixin, View):
    """The referrer picker of the log page (htmx fragments): `?q=` lists at most 10 active
    referrers the caller sees; `?pick=<id>` answers the chosen referrer (with the hidden
    input the log form posts); `?change=1` the empty search box again."""

    required_roles = lifecycle.LOG_ROLES

    def get(self, request):
        if "pick" in request.GET or "change" in request.GET:
            referrer = selectors.picked_referrer(self.staff, request.GET.get("pick"))
            response = render(request, "referrals/referral_referrer_picker.html",
                              {"referrer": referrer})
        else:
            term = request.GET.get("q", "")
            response = render(request, "referrals/referral_referrer_results.html", {
                "term": term.strip(), "results": selectors.referrer_choices(self.staff, term)})
        patch_vary_headers(response, ["HX-Request"])
        return response


def _claim_required(form) -> bool:
    """A confirmed collision needs the salesperson's account (for the manager)."""
    if not (form.cleaned_data.get("claim_note") or "").strip():
        form.add_error("claim_note", _("Give your account: the manager decides on it."))
        return False
    return True


class ReferralLogView(StaffRequiredMixin, View):
    required_roles = lifecycle.LOG_ROLES

    def get(self, request):
        referrer = selectors.picked_referrer(self.staff, request.GET.get("referrer"))
        form = ReferralLogForm(initial={"referrer": referrer.pk if referrer else None})
        return self.render_form(form, referrer)

    def post(self, request):
        form = ReferralLogForm(request.POST)
        confirmed = request.POST.get("confirm") == "1"
        referrer = selectors.picked_referrer(self.staff, request.POST.get("referrer"))
        if form.is_valid() and (not confirmed or _claim_required(form)):
            try:
                result = lifecycle.referral_log(
                    tenant=self.tenant, actor=self.staff, referrer=referrer,
                    confirm_collision=confirmed, **form.service_kwargs())
            except ValidationError as exc:
                add_service_errors(form, exc, ReferralLogForm.SERVICE_FIELDS)
            else:
                if result.needs_confirmation:
                    return self.render_confirm(form, result.registration.match, referrer)
                return self.done(result)
        if confirmed and set(form.errors) <= {"claim_note"}:
            # Only the account was missing or wrong: stay on the confirmation step.
            return self.render_confirm(form, self.check(form.data).primary, referrer)
        return self.render_form(form, referrer, status=400)

    def check(self, data):
        return registration_check(self.staff, phone=data.get("phone", ""),
                                  id_number=data.get("id_number", ""),
                                  name=data.get("name", ""))

    def done(self, result):
        referral = result.referral
        dispute = result.registration.dispute
        if dispute is not None:
            messages.warning(self.request, _(
                "Referral of %(name)s logged. %(name)s is protected by another salesperson: "
                "dispute #%(id)s is open, and the referral will be verified once a manager has "
                "decided.") % {"name": referral.name, "id": dispute.pk})
        else:
            messages.success(self.request, _("Referral of %(name)s logged and verified.")
                             % {"name": referral.name})
        return redirect("referrals:referral_detail", pk=referral.pk)

    def render_form(self, form, referrer, status=200):
        check = self.check(form.data) if form.is_bound else None
        return render(self.request, "referrals/referral_log.html", {
            "form": form, "check": check, "referrer": referrer}, status=status)

    def render_confirm(self, form, match, referrer):
        hidden = [form[name] for name in form.fields if name != "claim_note"]
        return render(self.request, "referrals/referral_log_confirm.html", {
            "form": form, "hidden_fields": hidden, "match": match, "referrer": referrer})


# ----------------------------------------------------------------------------- detail

class ReferralDetailView(ReferralMixin, View):
    def get(self, request, pk):
        referral = self.get_referral(pk)
        staff = self.staff
        return render(request, "referrals/referral_detail.html", {
            "referral": referral,
            "timeline": selectors.referral_timeline(referral),
            "actions": selectors.referral_actions(staff, referral, tenant_today(self.tenant)),
            "lines": list(selectors.referral_lines(referral)),
            "history": _history(referral),
            "has_reward": referral.status in (*Referral.SUCCESS_STATUSES, S.REVERSED)
            or bool(referral.reward_explanation),
            "inputs": sorted((referral.reward_inputs or {}).items()),
        })


# ----------------------------------------------------------------------------- actions

class ReferralVerifyView(ReferralMixin, View):
    """Verify a registered referral; a public-link referral's person is registered now (an
    optional ID number; a collision asks for confirmation first)."""

    required_roles = lifecycle.LOG_ROLES

    def get(self, request, pk):
        referral = self.get_referral(pk)
        form = ReferralVerifyForm(register=referral.customer_id is None)
        return self.render_page(referral, form)

    def post(self, request, pk):
        referral = self.get_referral(pk)
        form = ReferralVerifyForm(request.POST, register=referral.customer_id is None)
        confirmed = request.POST.get("confirm") == "1"
        if form.is_valid() and (not confirmed or _claim_required(form)):
            try:
                result = lifecycle.referral_verify(
                    tenant=self.tenant, actor=self.staff, referral=referral,
                    id_number=form.cleaned_data.get("id_number", ""),
                    claim_note=form.cleaned_data.get("claim_note", ""),
                    confirm_collision=confirmed)
            except ValidationError as exc:
                add_service_errors(form, exc, {"claim": "claim_note"})
            else:
                if result.needs_confirmation:
                    return self.render_page(referral, form, confirm=True,
                                            match=result.registration.match)
                return self.done(result)
        if confirmed and set(form.errors) <= {"claim_note"}:
            match = registration_check(self.staff, phone=referral.phone, name=referral.name,
                                       id_number=form.data.get("id_number", "")).primary
            return self.render_page(referral, form, confirm=True, match=match, status=400)
        return self.render_page(referral, form, status=400)

    def done(self, result):
        referral = result.referral
        if referral.status == S.VERIFIED:
            messages.success(self.request, _("Referral of %(name)s verified.")
                             % {"name": referral.name})
        else:
            messages.warning(self.request, _(
                "%(name)s is registered, but protected by another salesperson: dispute "
                "#%(id)s is open. Verify the referral once a manager has decided.")
                % {"name": referral.name, "id": result.registration.dispute.pk})
        return self.to_detail(referral)

    def render_page(self, referral, form, *, confirm=False, match=None, status=200):
        return render(self.request, "referrals/referral_verify.html", {
            "referral": referral, "form": form, "confirm": confirm, "match": match,
            "open": referral.status == S.REGISTERED}, status=status)


class ReferralRejectView(ReferralMixin, View):
    required_roles = tuple(dict.fromkeys(lifecycle.LOG_ROLES + lifecycle.DECIDE_ROLES))

    def get(self, request, pk):
        referral = self.get_referral(pk)
        self.check_allowed(referral)
        return self.render_page(referral, ReferralRejectForm())

    def post(self, request, pk):
        referral = self.get_referral(pk)
        self.check_allowed(referral)
        form = ReferralRejectForm(request.POST)
        if form.is_valid():
            try:
                lifecycle.referral_reject(tenant=self.tenant, actor=self.staff,
                                          referral=referral, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Referral of %(name)s rejected.")
                                 % {"name": referral.name})
                return self.to_detail(referral)
        return self.render_page(referral, form, status=400)

    def check_allowed(self, referral):
        """403 for someone who may not reject it; a referral that can no longer be rejected
        shows why (the service refuses it too)."""
        if S.REJECTED in lifecycle.allowed_transitions(referral) and not lifecycle.may_reject(
                self.staff, referral):
            raise PermissionDenied

    def render_page(self, referral, form, status=200):
        return render(self.request, "referrals/referral_reject.html", {
            "referral": referral, "form": form,
            "open": S.REJECTED in lifecycle.allowed_transitions(referral)}, status=status)


class _DecisionView(ReferralMixin, View, metaclass=ABCMeta):
    """A confirmation page with the amount (GET), then the service (POST)."""

    action = ""

    @abstractmethod
    def call(self, referral, note):
        """The service the decision runs."""

    @abstractmethod
    def success_message(self, referral) -> str:
        """What the user is told after it."""

    def get(self, request, pk):
        return self.render_page(self.get_referral(pk), ReferralDecisionForm())

    def post(self, request, pk):
        referral = self.get_referral(pk)
        form = ReferralDecisionForm(request.POST)
        if form.is_valid():
            try:
                referral = self.call(referral, form.cleaned_data["note"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, self.success_message(referral))
                return self.to_detail(referral)
        return self.render_page(referral, form, status=400)

    def render_page(self, referral, form, status=200):
        today = tenant_today(self.tenant)
        return render(self.request, "referrals/referral_decide.html", {
            "referral": referral, "form": form, "action": self.action,
            "ready": lifecycle.ready_to_approve(referral, today),
            "open": (referral.status == S.REWARD_PENDING if self.action == "approve"
                     else referral.status == S.APPROVED)}, status=status)


class ReferralApproveView(_DecisionView):
    required_roles = lifecycle.DECIDE_ROLES
    action = "approve"

    def call(self, referral, note):
        return lifecycle.referral_approve(tenant=self.tenant, actor=self.staff,
                                          referral=referral, note=note)

    def success_message(self, referral):
        return _("Reward for the referral of %(name)s approved.") % {"name": referral.name}


class ReferralPayView(_DecisionView):
    required_roles = lifecycle.PAY_ROLES
    action = "pay"

    def call(self, referral, note):
        return lifecycle.referral_pay(tenant=self.tenant, actor=self.staff, referral=referral,
                                      note=note)

    def success_message(self, referral):
        return _("Reward for the referral of %(name)s recorded as paid (%(amount)s).") % {
            "name": referral.name, "amount": referral.reward_total}


# ----------------------------------------------------------------------------- reward lines

class RewardLineListView(TenantObjectMixin, View):
    model = RewardLine
    required_roles = selectors.LINE_ROLES

    def get(self, request):
        staff = self.staff
        form = RewardLineListFilterForm(request.GET)
        form.is_valid()
        status, filter_errors = 200, []
        try:
            rows = selectors.reward_line_list(staff, request.GET)
        except ValidationError as exc:
            labels = {k: f.label for k, f in RewardLineListFilterForm.base_fields.items()}
            filter_errors = [{"label": labels.get(field, field), "messages": msgs}
                             for field, msgs in exc.message_dict.items()]
            rows, status = RewardLine.objects.none(), 400
        page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "referrals/reward_lines.html", {
            "filter_form": form, "filter_errors": filter_errors, "page": page,
            "lines": selectors.line_rows(page.object_list),
            "totals": selectors.reward_line_totals(rows)}, status=status)
