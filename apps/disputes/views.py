"""Dispute pages (thin: selectors read, services write).

Every page looks the dispute up among those the viewer may see (another tenant's, or one the
viewer is not allowed to see, is a 404); a step the viewer's role can never take is a 403; a
step the state machine does not allow now sends back to the dispute with the reason."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from apps.core.audit import history_of, history_rows
from apps.core.forms import add_service_errors
from apps.core.views import is_htmx
from apps.customers.selectors import visible_customers
from apps.tenancy.models import Staff, Team
from apps.tenancy.views_base import TenantObjectMixin

from . import rules, services
from .downloads import evidence_response
from .forms import DecideForm, EvidenceForm, NoteForm, ProposeForm, ReasonForm, RulePickForm
from .models import Dispute, DisputeShare
from .selectors import (
    DisputeFilterForm,
    allowed_actions,
    could_ever,
    default_status,
    dispute_list,
    dispute_shares,
    relations_to,
    visible_disputes,
)

PAGE_SIZE = 25

ACTION_LABELS = {
    "dispute.open": gettext_lazy("Dispute opened"),
    "dispute.propose": gettext_lazy("Split proposed"),
    "dispute.reject": gettext_lazy("Proposed split rejected"),
    "dispute.approve": gettext_lazy("Split approved"),
    "dispute.decide": gettext_lazy("Decided"),
    "dispute.escalate": gettext_lazy("Escalated to the company"),
    "dispute.withdraw": gettext_lazy("Withdrawn"),
    "dispute.evidence_add": gettext_lazy("Evidence added"),
}
HISTORY_LABELS = {
    "status": gettext_lazy("status"), "customer": gettext_lazy("customer"),
    "owner": gettext_lazy("current owner"), "claimant": gettext_lazy("claimant"),
    "team": gettext_lazy("team"), "shares": gettext_lazy("shares"),
    "outcome": gettext_lazy("outcome"), "decided_owner": gettext_lazy("owner after decision"),
    "rule": gettext_lazy("rule applied"), "file": gettext_lazy("file"),
    "size": gettext_lazy("size (bytes)"), rules.WINNER: rules.PARAM_LABELS[rules.WINNER],
    rules.REVISIT: rules.PARAM_LABELS[rules.REVISIT], rules.UNITS: rules.PARAM_LABELS[rules.UNITS],
}


def forbidden(request, message) -> object:
    """403 with the reason (the site's 403 page says only that the role does not allow it)."""
    return render(request, "disputes/forbidden.html", {"message": message}, status=403)


class DisputeMixin(TenantObjectMixin):
    model = Dispute

    def scope_queryset(self, queryset):
        return visible_disputes(self.staff, queryset)

    def get_dispute(self, pk: int) -> Dispute:
        return get_object_or_404(
            self.get_queryset().select_related("customer", "owner", "claimant", "team",
                                               "opened_by", "proposed_by", "escalated_by",
                                               "decided_owner", "decided_by"),
            pk=pk)


# --------------------------------------------------------------------------- queue


class DisputeListView(DisputeMixin, View):
    def get(self, request):
        staff = self.staff
        params = request.GET.copy()
        if "status" not in params:
            params["status"] = default_status(staff)
        form = DisputeFilterForm(params)
        form.is_valid()
        disputes = dispute_list(staff, params, queryset=self.model.objects.all())
        page = Paginator(disputes, PAGE_SIZE).get_page(request.GET.get("page"))
        context = {"filter_form": form, "page": page, "disputes": page.object_list}
        template = "disputes/_results.html" if is_htmx(request) else "disputes/list.html"
        response = render(request, template, context)
        patch_vary_headers(response, ["HX-Request"])
        return response


# --------------------------------------------------------------------------- detail


def _timeline(dispute: Dispute) -> list[dict]:
    entries = history_of(dispute)
    staff_ids, team_ids = {dispute.owner_id, dispute.claimant_id}, set()
    for e in entries:
        for key, value in e.changes.items():
            if key in ("owner", "claimant", "decided_owner") and value:
                staff_ids.add(value)
            elif key == "team" and value:
                team_ids.add(value)
            elif key == "shares" and isinstance(value, dict):
                staff_ids.update(int(k) for k in value)
    names = dict(Staff.objects.filter(pk__in=staff_ids).values_list("pk", "name"))
    teams = dict(Team.objects.filter(pk__in=team_ids).values_list("pk", "name"))
    sides = {rules.OWNER: dispute.owner.name, rules.CLAIMANT: dispute.claimant.name}

    def show(key, value):
        if key == "status":
            return rules.STATUS_LABELS.get(value, value)
        if key == "outcome":
            return rules.OUTCOME_LABELS.get(value, value)
        if key in ("owner", "claimant", "decided_owner"):
            return names.get(value, f"#{value}")
        if key == "team":
            return teams.get(value, f"#{value}")
        if key == "customer":
            return dispute.customer.name
        if key == "shares" and isinstance(value, dict):
            return "、".join(f"{names.get(int(k), '#' + k)} {rules.parse_percent(v).normalize():f}%"
                            for k, v in value.items()) or "—"
        if key == "rule":
            rule = rules.DEFAULT_RULES.get(value)
            return rule.label if rule else value
        if key == rules.WINNER:
            return sides.get(value, value)
        if key == rules.REVISIT:
            return rules.REVISIT_LABELS.get(value, value)
        return value

    return history_rows(entries, action_labels=ACTION_LABELS,
                        label=lambda key: HISTORY_LABELS.get(key, key), show=show,
                        skip=("evidence",))


class DetailMixin(DisputeMixin):
    def render_detail(self, dispute, *, evidence_form=None, propose_form=None, status=200):
        staff = self.staff
        actions = allowed_actions(staff, dispute)
        if propose_form is None and rules.PROPOSE in actions:
            propose_form = ProposeForm(dispute=dispute)
        if evidence_form is None and rules.EVIDENCE in actions:
            evidence_form = EvidenceForm()
        rule = rules.DEFAULT_RULES.get(dispute.rule)
        context = {
            "dispute": dispute,
            "relations": relations_to(staff, dispute),
            "customer_visible": visible_customers(staff).filter(pk=dispute.customer_id).exists(),
            "actions": actions,
            "proposed_shares": dispute_shares(dispute, DisputeShare.Stage.PROPOSED),
            "decided_shares": dispute_shares(dispute, DisputeShare.Stage.DECIDED),
            "evidence": list(dispute.evidence.select_related("uploaded_by")),
            "evidence_form": evidence_form,
            "propose_form": propose_form,
            "rule_label": rule.label if rule else dispute.rule,
            "timeline": _timeline(dispute),
        }
        return render(self.request, "disputes/detail.html", context, status=status)


class DisputeDetailView(DetailMixin, View):
    def get(self, request, pk):
        return self.render_detail(self.get_dispute(pk))


# --------------------------------------------------------------------------- steps


class StepMixin(DetailMixin):
    """A step on one dispute: 404 if not visible, 403 if the viewer's relation can never take
    it, back to the dispute with the reason if the state does not allow it now."""

    action: str = ""

    def check(self, dispute):
        """None when the step may go ahead, else the response refusing it."""
        if not could_ever(self.staff, dispute, self.action):
            raise PermissionDenied
        error = rules.transition_error(self.action, dispute.status)
        if error is not None:
            messages.error(self.request, error)
            return redirect("disputes:detail", pk=dispute.pk)
        error = rules.role_error(self.action, dispute.status, relations_to(self.staff, dispute))
        if error is not None:
            return forbidden(self.request, error)
        return None

    def refused(self, dispute, exc: ValidationError):
        """A step refused by the service because the state changed meanwhile."""
        for message in exc.messages:
            messages.error(self.request, message)
        return redirect("disputes:detail", pk=dispute.pk)


class ProposeView(StepMixin, View):
    action = rules.PROPOSE

    def get(self, request, pk):
        dispute = self.get_dispute(pk)
        return self.check(dispute) or self.render_form(dispute, ProposeForm(dispute=dispute))

    def post(self, request, pk):
        dispute = self.get_dispute(pk)
        refusal = self.check(dispute)
        if refusal is not None:
            return refusal
        form = ProposeForm(request.POST, dispute=dispute)
        if form.is_valid():
            try:
                services.dispute_propose(tenant=self.tenant, actor=self.staff, dispute=dispute,
                                         shares=form.shares(), note=form.cleaned_data["note"])
            except PermissionDenied as exc:
                return forbidden(request, str(exc))
            except ValidationError as exc:
                add_service_errors(form, exc, {"shares": NON_FIELD_ERRORS})
                if "shares" in getattr(exc, "error_dict", {}):
                    form.mark_shares_invalid()
            else:
                messages.success(request, _("Split proposed. The other party and the manager "
                                            "have been notified."))
                return redirect("disputes:detail", pk=dispute.pk)
        return self.render_form(dispute, form, status=400)

    def render_form(self, dispute, form, status=200):
        return render(self.request, "disputes/propose.html",
                      {"dispute": dispute, "form": form}, status=status)


class ConfirmStepView(StepMixin, View, metaclass=ABCMeta):
    """GET: the confirmation page; POST: the step."""

    form_class = NoteForm
    title = ""
    explanation: tuple = ()
    button = ""
    button_class = "btn-primary"
    success = ""

    @abstractmethod
    def service(self, dispute, form):
        """The service the step runs."""

    def get(self, request, pk):
        dispute = self.get_dispute(pk)
        return self.check(dispute) or self.render_form(dispute, self.form_class())

    def post(self, request, pk):
        dispute = self.get_dispute(pk)
        refusal = self.check(dispute)
        if refusal is not None:
            return refusal
        form = self.form_class(request.POST)
        if form.is_valid():
            try:
                self.service(dispute, form)
            except PermissionDenied as exc:
                return forbidden(request, str(exc))
            except ValidationError as exc:
                if not hasattr(exc, "error_dict") or set(exc.error_dict) <= {NON_FIELD_ERRORS}:
                    return self.refused(dispute, exc)
                add_service_errors(form, exc)
            else:
                messages.success(request, self.success)
                return redirect("disputes:detail", pk=dispute.pk)
        return self.render_form(dispute, form, status=400)

    def render_form(self, dispute, form, status=200):
        context = {"dispute": dispute, "form": form, "title": self.title,
                   "explanation": self.explanation, "button": self.button,
                   "button_class": self.button_class,
                   "proposed_shares": dispute_shares(dispute, DisputeShare.Stage.PROPOSED)}
        return render(self.request, "disputes/confirm.html", context, status=status)


class RejectView(ConfirmStepView):
    action = rules.REJECT
    title = gettext_lazy("Reject the proposed split?")
    explanation = (gettext_lazy("The dispute goes back to open: you can negotiate again, "
                                "propose another split, or let the manager decide."),)
    button = gettext_lazy("Reject the split")
    button_class = "btn-warning"
    success = gettext_lazy("Proposed split rejected.")

    def service(self, dispute, form):
        services.dispute_reject_proposal(tenant=self.tenant, actor=self.staff, dispute=dispute,
                                         note=form.cleaned_data["note"])


class ApproveView(ConfirmStepView):
    action = rules.APPROVE
    title = gettext_lazy("Approve the proposed split?")
    explanation = (gettext_lazy("The split becomes the customer's credit shares and the "
                                "dispute is closed."),
                   gettext_lazy("This cannot be undone."))
    button = gettext_lazy("Approve the split")
    button_class = "btn-success"
    success = gettext_lazy("Split approved.")

    def service(self, dispute, form):
        services.dispute_approve(tenant=self.tenant, actor=self.staff, dispute=dispute,
                                 note=form.cleaned_data["note"])


class EscalateView(ConfirmStepView):
    action = rules.ESCALATE
    form_class = ReasonForm
    title = gettext_lazy("Escalate the dispute to the company?")
    explanation = (gettext_lazy("From then on only an administrator can decide it; the "
                                "company may confiscate the credit (nobody earns it)."),
                   gettext_lazy("This cannot be undone."))
    button = gettext_lazy("Escalate")
    button_class = "btn-danger"
    success = gettext_lazy("Dispute escalated to the company. The administrators have been "
                           "notified.")

    def service(self, dispute, form):
        services.dispute_escalate(tenant=self.tenant, actor=self.staff, dispute=dispute,
                                  reason=form.cleaned_data["reason"])


class WithdrawView(ConfirmStepView):
    action = rules.WITHDRAW
    title = gettext_lazy("Withdraw the dispute?")
    explanation = (gettext_lazy("The customer stays with the current owner and the dispute is "
                                "closed."),
                   gettext_lazy("This cannot be undone."))
    button = gettext_lazy("Withdraw")
    button_class = "btn-danger"
    success = gettext_lazy("Dispute withdrawn.")

    def service(self, dispute, form):
        services.dispute_withdraw(tenant=self.tenant, actor=self.staff, dispute=dispute,
                                  note=form.cleaned_data["note"])


class DecideView(StepMixin, View):
    """GET: the decision form (?rule= pre-fills it); POST: checked, then a confirmation page
    showing the resolved decision; POST with `confirmed`: the decision."""

    action = rules.DECIDE

    def get(self, request, pk):
        dispute = self.get_dispute(pk)
        refusal = self.check(dispute)
        if refusal is not None:
            return refusal
        code = request.GET.get("rule", "")
        form = DecideForm(dispute=dispute, initial=DecideForm.initial_for(dispute, code))
        return self.render_form(dispute, form)

    def post(self, request, pk):
        dispute = self.get_dispute(pk)
        refusal = self.check(dispute)
        if refusal is not None:
            return refusal
        form = DecideForm(request.POST, dispute=dispute)
        if "edit" in request.POST:
            return self.render_form(dispute, form, validate=False)
        if form.is_valid():
            kwargs = form.service_kwargs()
            try:
                if form.cleaned_data.get("confirmed"):
                    services.dispute_decide(tenant=self.tenant, actor=self.staff,
                                            dispute=dispute, **kwargs)
                else:
                    decision = services.decision_check(tenant=self.tenant, actor=self.staff,
                                                       dispute=dispute, **kwargs)
                    return render(request, "disputes/decide_confirm.html",
                                  {"dispute": dispute, "form": form,
                                   "decision": decision,
                                   "outcome_label": rules.OUTCOME_LABELS[decision.outcome],
                                   "rule_label": (rules.DEFAULT_RULES[decision.rule].label
                                                  if decision.rule else ""),
                                   "staff_shares": decision.staff_shares(dispute),
                                   "record_owner": (decision.record_owner_staff(dispute)
                                                    or dispute.customer.owner)})
            except PermissionDenied as exc:
                return forbidden(request, str(exc))
            except ValidationError as exc:
                add_service_errors(form, exc, {"shares": NON_FIELD_ERRORS})
                if "shares" in getattr(exc, "error_dict", {}):
                    form.mark_shares_invalid()
            else:
                messages.success(request, _("Dispute decided. The parties have been notified."))
                return redirect("disputes:detail", pk=dispute.pk)
        return self.render_form(dispute, form, status=400)

    def render_form(self, dispute, form, status=200, validate=True):
        if not validate:
            form._errors = {}  # re-shown for changing: no errors before it is submitted again
        pick = RulePickForm(initial={"rule": form["rule"].value() or ""})
        context = {"dispute": dispute, "form": form, "pick_form": pick,
                   "rule": form.rule,
                   "rules": list(rules.DEFAULT_RULES.values()),
                   "proposed_shares": dispute_shares(dispute, DisputeShare.Stage.PROPOSED),
                   "evidence_count": dispute.evidence.count()}
        return render(self.request, "disputes/decide.html", context, status=status)


# --------------------------------------------------------------------------- evidence


class EvidenceAddView(StepMixin, View):
    action = rules.EVIDENCE

    def post(self, request, pk):
        dispute = self.get_dispute(pk)
        refusal = self.check(dispute)
        if refusal is not None:
            return refusal
        form = EvidenceForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                evidence = services.evidence_add(
                    tenant=self.tenant, actor=self.staff, dispute=dispute,
                    file=form.cleaned_data.get("file"), note=form.cleaned_data["note"])
            except PermissionDenied as exc:
                return forbidden(request, str(exc))
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Evidence “%(name)s” attached.")
                                 % {"name": evidence.original_name})
                return redirect("disputes:detail", pk=dispute.pk)
        return self.render_detail(dispute, evidence_form=form, status=400)


class EvidenceDownloadView(DisputeMixin, View):
    """The file, only to who may see the dispute (never through a public media URL)."""

    def get(self, request, pk, evidence_pk):
        dispute = self.get_dispute(pk)
        return evidence_response(dispute, evidence_pk)

