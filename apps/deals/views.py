"""Deal pages (thin: selectors read, services write).

Every page with a deal in the URL looks it up among the deals the viewer may see (another
tenant's, or one of this tenant the viewer may not see, is a 404); a role that may never do
what the page does gets a 403."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from apps.core.audit import history_of, history_rows
from apps.core.forms import add_service_errors, narrow_people_and_teams, style_fields
from apps.core.identity import normalize_phone
from apps.core.views import is_htmx
from apps.customers.models import Customer
from apps.customers.selectors import editable_customers, visible_customers
from apps.disputes.selectors import visible_disputes
from apps.ownership.selectors import tenant_today
from apps.tenancy.models import Staff, Team
from apps.tenancy.roles import Role
from apps.tenancy.views_base import TenantObjectMixin
from apps.vip.selectors import deal_vip_summary

from . import services
from .forms import DealForm, NotesForm, RefundForm, participant_formset
from .models import Contract, CreditRuleSet, Deal, DealCredit, DealRole
from .rulesets import VIEW_ROLES as RULE_VIEW_ROLES
from .rulesets import deal_roles_ensure
from .selectors import (
    CREATE_ROLES,
    READ_ROLES,
    REFUND_ROLES,
    DealFilterForm,
    can_create_deals,
    can_edit_notes,
    can_refund,
    credit_summary,
    deal_detail_queryset,
    deal_dispute_id,
    deal_list,
    remaining,
    visible_deals,
)

PAGE_SIZE = 25

ACTION_LABELS = {
    "deal.create": gettext_lazy("Deal entered"),
    "deal.refund": gettext_lazy("Refunded"),
    "deal.notes": gettext_lazy("Notes changed"),
}
HISTORY_LABELS = {
    "kind": gettext_lazy("kind"), "amount": gettext_lazy("amount"),
    "signed_on": gettext_lazy("signing date"), "contract_number": gettext_lazy("contract number"),
    "units": gettext_lazy("units"), "renews": gettext_lazy("renews contract"),
    "days_since_contract_start": gettext_lazy("days since the contract start"),
    "contract": gettext_lazy("contract"), "credit_source": gettext_lazy("credit from"),
    "rule_version": gettext_lazy("credit rule version"), "refunded_on": gettext_lazy("refund date"),
    "refunded_amount": gettext_lazy("refunded in all"), "notes": gettext_lazy("notes"),
}


def rule_set_url(staff: Staff, version: int | None) -> str:
    """The page of a credit rule version, for those who may read the rule sets ("" else)."""
    if version is None or not staff.has_role(*RULE_VIEW_ROLES):
        return ""
    pk = CreditRuleSet.objects.filter(version=version).values_list("pk", flat=True).first()
    return reverse("deals:rule_set_detail", args=[pk]) if pk is not None else ""


class DealMixin(TenantObjectMixin):
    model = Deal
    required_roles = READ_ROLES

    def scope_queryset(self, queryset):
        return visible_deals(self.staff, queryset)

    def get_deal(self, pk: int) -> Deal:
        return get_object_or_404(deal_detail_queryset(self.staff, self.model.objects.all()),
                                 pk=pk)


# --------------------------------------------------------------------------- list


class DealListView(DealMixin, View):
    def get(self, request):
        staff = self.staff
        filter_form = self.filter_form()
        partial = is_htmx(request)
        status, filter_errors = 200, []
        try:
            deals = deal_list(staff, request.GET, queryset=self.model.objects.all())
        except ValidationError as exc:
            labels = {k: f.label for k, f in DealFilterForm.base_fields.items()}
            filter_errors = [{"label": labels.get(field, field), "messages": msgs}
                             for field, msgs in exc.message_dict.items()]
            deals = Deal.objects.none()
            status = 200 if partial else 400  # htmx does not swap 4xx answers in
        page = Paginator(deals, PAGE_SIZE).get_page(request.GET.get("page"))
        context = {"filter_form": filter_form, "filter_errors": filter_errors, "page": page,
                   "deals": page.object_list, "can_create": can_create_deals(staff)}
        template = "deals/_results.html" if partial else "deals/list.html"
        response = render(request, template, context, status=status)
        patch_vary_headers(response, ["HX-Request"])
        return response

    def filter_form(self) -> DealFilterForm:
        """The filters shown: team and participant only where they narrow what the viewer sees
        (admins and finance: every team and person; a manager: their team's people). Their
        options come from one query (a UNION of staff and teams)."""
        staff = self.staff
        form = DealFilterForm(self.request.GET)
        if staff.has_role(Role.ADMIN, Role.FINANCE):
            people, teams = Staff.objects.all(), Team.objects.all()
        elif staff.is_manager and staff.team_id:
            people, teams = Staff.objects.filter(team_id=staff.team_id), None
        else:
            people = teams = None
        narrow_people_and_teams(form, people=people, teams=teams, people_field="participant",
                                any_person=_("Anyone"), any_team=_("Any team"))
        style_fields(form)
        return form


# --------------------------------------------------------------------------- entry


class DealCreateView(DealMixin, View):
    """GET: the form (?customer=<id> picks the customer); POST: the deal, or the form again
    with what was typed and the errors. "Add a row" re-shows the form with one more
    participant row (without JavaScript too)."""

    required_roles = CREATE_ROLES

    def get(self, request):
        deal_roles_ensure(self.tenant)
        initial = {"signed_on": tenant_today(self.tenant), "units": 1, "teacher_raised": True,
                   "kind": Deal.Kind.NEW}
        customer_pk = request.GET.get("customer", "")
        customer = None
        if customer_pk.isdigit():
            customer = editable_customers(self.staff).filter(pk=int(customer_pk)).first()
            if customer is not None:
                initial["customer_phone"] = customer.phone
        kind = request.GET.get("kind", "")
        if kind in Deal.Kind.values:
            initial["kind"] = kind
        form = DealForm(staff=self.staff, initial=initial)
        formset = participant_formset(initial=[{"staff": self.staff.pk, "role": "closer"}]
                                      if self.staff.has_role(Role.SALES) else None)
        formset.extra = 3 if self.staff.has_role(Role.SALES) else 4
        return self.render_form(form, formset, customer=customer)

    def post(self, request):
        adding = "add_row" in request.POST
        form = DealForm(request.POST, staff=self.staff)
        formset = participant_formset(request.POST, extra_rows=1 if adding else 0)
        if adding:
            form.is_valid()
            form._errors = {}  # re-shown with one more row: no errors before it is sent
            return self.render_form(form, formset, customer=self.typed_customer(form),
                                    validate=False)
        forms_ok = form.is_valid()
        rows_ok = formset.is_valid()
        if forms_ok and rows_ok:
            try:
                deal = services.deal_create(tenant=self.tenant, actor=self.staff,
                                            participants=formset.rows(), **form.service_kwargs())
            except ValidationError as exc:
                add_service_errors(form, exc, DealForm.SERVICE_FIELDS)
            else:
                messages.success(request, _("Deal %(number)s entered.") % {
                    "number": deal.contract_number})
                return redirect("deals:detail", pk=deal.pk)
        return self.render_form(form, formset, customer=form.customer, status=400)

    def typed_customer(self, form) -> Customer | None:
        try:
            phone = normalize_phone(form.data.get("customer_phone", ""))
        except ValidationError:
            return None
        return editable_customers(self.staff).filter(phone=phone).first()

    def render_form(self, form, formset, *, customer=None, status=200, validate=True):
        if not validate:
            for f in formset.forms:
                f._errors = {}
            formset._non_form_errors = formset.error_class()
        participant_errors = form.errors.get("participants") if form.is_bound else None
        context = {"form": form, "formset": formset, "customer": customer,
                   "contracts": self.contracts_of(customer),
                   "participant_errors": participant_errors,
                   "title": _("Enter a deal")}
        return render(self.request, "deals/form.html", context, status=status)

    @staticmethod
    def contracts_of(customer) -> list[Contract]:
        if customer is None:
            return []
        return list(Contract.objects.filter(customer=customer, renewed_by__isnull=True)
                    .order_by("-start", "-id")[:20])


class CustomerLookupView(DealMixin, View):
    """htmx: who the typed mobile number is (among the viewer's own customers) and the
    contracts a renewal of theirs can renew."""

    required_roles = CREATE_ROLES

    def get(self, request):
        customer, message = None, ""
        raw = request.GET.get("customer_phone", "")
        if raw.strip():
            try:
                phone = normalize_phone(raw)
            except ValidationError as exc:
                message = exc.messages[0]
            else:
                customer = editable_customers(self.staff).filter(phone=phone).first()
                if customer is None:
                    message = _("None of your customers has this number.")
        response = render(request, "deals/_customer_pick.html",
                          {"customer": customer, "message": message,
                           "contracts": DealCreateView.contracts_of(customer)})
        patch_vary_headers(response, ["HX-Request"])
        return response


# --------------------------------------------------------------------------- detail


def _history(deal: Deal) -> list[dict]:
    entries = history_of(deal)
    kinds = dict(Deal.Kind.choices)
    sources = dict(DealCredit.Source.choices)
    contract_ids = {v for e in entries for k, v in e.changes.items()
                    if k in ("renews", "contract") and isinstance(v, int)}
    numbers = dict(Contract.objects.filter(pk__in=contract_ids).values_list("pk", "number")) \
        if contract_ids else {}

    def show(key, value):
        if key == "kind":
            return kinds.get(value, value)
        if key == "credit_source":
            return sources.get(value, value)
        if key in ("renews", "contract"):
            return numbers.get(value, f"#{value}")
        return value

    return history_rows(entries, action_labels=ACTION_LABELS,
                        label=lambda key: HISTORY_LABELS.get(key, key), show=show,
                        skip=("customer", "participants", "credit", "reversed", "refund"))


class DealDetailView(DealMixin, View):
    def get(self, request, pk):
        return self.render_detail(self.get_deal(pk))

    def render_detail(self, deal, *, notes_form=None, status=200):
        staff = self.staff
        summary = credit_summary(deal)
        role_names = dict(DealRole.objects.values_list("code", "name"))
        for line in summary["shares"]:
            line.role_name = role_names.get(line.role_code, line.role_code)
        for block in summary["refunds"]:
            for line in block["lines"]:
                line.role_name = role_names.get(line.role_code, line.role_code)
        for row in summary["net"]:
            row["roles"] = "、".join(role_names.get(c, c) for c in row["role_codes"])
        dispute_id = deal_dispute_id(deal)
        dispute_url = ""
        if dispute_id is not None and visible_disputes(staff).filter(pk=dispute_id).exists():
            dispute_url = reverse("disputes:detail", args=[dispute_id])
        may_edit_notes = can_edit_notes(staff, deal)
        if notes_form is None and may_edit_notes:
            notes_form = NotesForm(initial={"notes": deal.notes})
        context = {
            "deal": deal, "summary": summary,
            "participants": list(deal.participants.all()),
            "source": summary["shares"][0].source if summary["shares"] else "",
            "dispute_id": dispute_id, "dispute_url": dispute_url,
            "rules_url": rule_set_url(staff, deal.credit_rule_version),
            "customer_visible": visible_customers(staff).filter(pk=deal.customer_id).exists(),
            "can_refund": can_refund(staff, deal) and remaining(deal) > 0,
            "remaining": remaining(deal),
            "notes_form": notes_form if may_edit_notes else None,
            "history": _history(deal),
            "vip": deal_vip_summary(deal, staff),
        }
        return render(self.request, "deals/detail.html", context, status=status)


class DealNotesView(DealDetailView):
    required_roles = CREATE_ROLES

    def get(self, request, pk):
        return redirect("deals:detail", pk=self.get_deal(pk).pk)

    def post(self, request, pk):
        deal = self.get_deal(pk)
        form = NotesForm(request.POST)
        if form.is_valid():
            try:
                services.deal_notes_update(tenant=self.tenant, actor=self.staff, deal=deal,
                                           notes=form.cleaned_data["notes"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Notes saved."))
                return redirect("deals:detail", pk=deal.pk)
        return self.render_detail(deal, notes_form=form, status=400)


# --------------------------------------------------------------------------- refund


class DealRefundView(DealMixin, View):
    """GET: the refund form; POST: checked, then a confirmation page showing whose credit is
    reversed by how much; POST with `confirmed`: the refund."""

    required_roles = REFUND_ROLES

    def get_refundable(self, pk: int) -> Deal:
        deal = self.get_deal(pk)
        if not can_refund(self.staff, deal):
            raise PermissionDenied
        return deal

    def get(self, request, pk):
        deal = self.get_refundable(pk)
        left = remaining(deal)
        form = RefundForm(initial={"amount": left if left > 0 else "",
                                   "refunded_on": tenant_today(self.tenant)})
        return self.render_form(deal, form)

    def post(self, request, pk):
        deal = self.get_refundable(pk)
        form = RefundForm(request.POST)
        if "edit" in request.POST:
            form.is_valid()
            form._errors = {}
            return self.render_form(deal, form)
        if form.is_valid():
            kwargs = form.service_kwargs()
            try:
                if form.cleaned_data.get("confirmed"):
                    refund = services.deal_refund(tenant=self.tenant, actor=self.staff,
                                                  deal=deal, **kwargs)
                else:
                    lines = services.refund_check(tenant=self.tenant, actor=self.staff,
                                                  deal=deal, **kwargs)
                    return self.render_confirm(deal, form, lines)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Refund of %(amount)s recorded; the credit was "
                                            "reversed in proportion.") % {"amount": refund.amount})
                return redirect("deals:detail", pk=deal.pk)
        return self.render_form(deal, form, status=400)

    def render_form(self, deal, form, status=200):
        return render(self.request, "deals/refund.html",
                      {"deal": deal, "form": form, "remaining": remaining(deal)}, status=status)

    def render_confirm(self, deal, form, lines):
        staff_ids = {line.staff_id for line in lines if line.staff_id}
        names = dict(Staff.objects.filter(pk__in=staff_ids).values_list("pk", "name"))
        role_names = dict(DealRole.objects.values_list("code", "name"))
        rows = [{"name": names.get(line.staff_id, "") if line.staff_id else None,
                 "confiscated": line.confiscated,
                 "role": role_names.get(line.role, line.role), "amount": line.amount}
                for line in lines]
        amount = -sum((line.amount for line in lines), Decimal("0"))
        return render(self.request, "deals/refund_confirm.html",
                      {"deal": deal, "form": form, "rows": rows, "amount": amount,
                       "left_after": remaining(deal) - amount})
