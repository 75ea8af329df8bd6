"""Pages of contracts and renewals: contract list, detail (renewal chain, reminders sent),
entry of a contract without a deal, its edit and hours, contracts expiring soon, the renewal
policy and the renewal rates (thin: selectors read, services write)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.dates import MONTHS
from django.utils.translation import gettext as _
from django.views import View

from apps.core.audit import history_of
from apps.core.forms import add_service_errors
from apps.customers.selectors import visible_customers
from apps.deals import contracts
from apps.deals.models import Contract, Deal
from apps.ownership.selectors import tenant_today
from apps.tenancy.views_base import StaffRequiredMixin, TenantObjectMixin

from . import selectors, services
from .forms import (
    ContractEditForm,
    ContractFilterForm,
    ContractForm,
    ExpiringFilterForm,
    HoursForm,
    PolicyForm,
    RateFilterForm,
)

PAGE_SIZE = selectors.PAGE_SIZE


def deal_url(deal: Deal | None) -> str:
    """The deal's page, when the deals app has one."""
    if deal is None:
        return ""
    try:
        return reverse("deals:detail", args=[deal.pk])
    except NoReverseMatch:
        return ""


def history_labels() -> dict:
    return {"contract.create": _("Contract entered"), "contract.update": _("End or notes changed"),
            "contract.hours": _("Hours recorded"), "contract.renew": _("Renewed")}


# --------------------------------------------------------------------------- contracts

class ContractListView(StaffRequiredMixin, View):
    required_roles = selectors.EXPIRING_ROLES

    def get(self, request):
        form = ContractFilterForm(request.GET or None, staff=self.staff)
        today = tenant_today(self.tenant)
        status = 200
        if form.is_bound and not form.is_valid():
            rows, status = Contract.objects.none(), 400
        else:
            data = form.cleaned_data if form.is_bound else {}
            rows = contracts.contract_list(
                self.staff, today=today, search=data.get("search", ""), team=data.get("team"),
                owner=data.get("owner"), status=data.get("status", ""))
        page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "renewals/contract_list.html", {
            "form": form, "page": page, "contracts": page.object_list, "today": today,
            "can_filter": selectors.sees_all_contracts(self.staff) or self.staff.is_manager,
            "can_create": contracts.may_create_contracts(self.staff)}, status=status)


class ContractCreateView(StaffRequiredMixin, View):
    required_roles = contracts.CREATE_ROLES

    def get(self, request):
        initial = {}
        customer_id = request.GET.get("customer", "")
        if customer_id.isdigit():
            customer = visible_customers(self.staff).filter(pk=int(customer_id)).first()
            if customer is not None:
                initial["customer"] = customer.phone
        return self.render_page(ContractForm(staff=self.staff, initial=initial))

    def post(self, request):
        form = ContractForm(request.POST, staff=self.staff)
        if form.is_valid():
            try:
                contract = contracts.contract_create(tenant=self.tenant, actor=self.staff,
                                                     **form.service_kwargs())
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Contract %(number)s saved.")
                                 % {"number": contract.number})
                return redirect("renewals:contract_detail", pk=contract.pk)
        return self.render_page(form, status=400)

    def render_page(self, form, status=200):
        return render(self.request, "renewals/contract_form.html", {"form": form},
                      status=status)


class ContractObjectMixin(TenantObjectMixin):
    """A contract the viewer may see (404 otherwise, as for another tenant's)."""

    model = Contract

    def scope_queryset(self, queryset):
        return contracts.visible_contracts(self.staff, queryset).select_related(
            "customer", "owner", "team", "renewed_by", "created_by")

    def get_contract(self, pk) -> Contract:
        return get_object_or_404(self.get_queryset(), pk=pk)


class ContractDetailView(ContractObjectMixin, View):
    def get(self, request, pk):
        contract = self.get_contract(pk)
        return render_detail(request, self.staff, contract)


def render_detail(request, staff, contract: Contract, *, hours_form=None, status=200):
    today = tenant_today(request.tenant)
    created_by_deal = Deal.objects.filter(contract=contract).first()
    renewal_deals = list(Deal.objects.filter(renews=contract).order_by("signed_on", "id"))
    labels = history_labels()
    history = [(entry, labels.get(entry.action, entry.action))
               for entry in history_of(contract, limit=50)]
    can_hours = contracts.may_record_hours(staff, contract) and contract.hours_bought is not None
    chain = contracts.renewal_chain(contract)
    linkable = set(contracts.visible_contracts(staff).filter(pk__in=[c.pk for c in chain])
                   .values_list("pk", flat=True)) if len(chain) > 1 else {contract.pk}
    return render(request, "renewals/contract_detail.html", {
        "contract": contract, "today": today, "days_left": (contract.end - today).days,
        "chain": [(c, c.pk in linkable) for c in chain],
        "reminders": list(selectors.contract_reminders(contract)),
        "deal": created_by_deal, "deal_url": deal_url(created_by_deal),
        "renewal_deals": [(d, deal_url(d)) for d in renewal_deals],
        "customer_visible": visible_customers(staff).filter(pk=contract.customer_id).exists(),
        "can_edit": contracts.may_change_contract(staff, contract),
        "hours_form": (hours_form or HoursForm()) if can_hours else None,
        "hours_left": (contract.hours_bought - contract.hours_consumed)
        if contract.hours_bought is not None else None,
        "history": history}, status=status)


class ContractEditView(ContractObjectMixin, View):
    def get_editable(self, pk) -> Contract:
        contract = self.get_contract(pk)
        if not contracts.may_change_contract(self.staff, contract):
            self.permission_denied()
        return contract

    def get(self, request, pk):
        contract = self.get_editable(pk)
        form = ContractEditForm(initial={"end": contract.end, "notes": contract.notes})
        return self.render_page(contract, form)

    def post(self, request, pk):
        contract = self.get_editable(pk)
        form = ContractEditForm(request.POST)
        if form.is_valid():
            try:
                contracts.contract_update(tenant=self.tenant, actor=self.staff, contract=contract,
                                          end=form.cleaned_data["end"],
                                          notes=form.cleaned_data["notes"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Contract %(number)s updated.")
                                 % {"number": contract.number})
                return redirect("renewals:contract_detail", pk=contract.pk)
        return self.render_page(contract, form, status=400)

    def render_page(self, contract, form, status=200):
        return render(self.request, "renewals/contract_edit.html",
                      {"contract": contract, "form": form}, status=status)


class ContractHoursView(ContractObjectMixin, View):
    """POST: record hours consumed (the form is on the contract page)."""

    def post(self, request, pk):
        contract = self.get_contract(pk)
        if not contracts.may_record_hours(self.staff, contract):
            self.permission_denied()
        form = HoursForm(request.POST)
        if form.is_valid():
            try:
                contract = contracts.contract_hours_consume(
                    tenant=self.tenant, actor=self.staff, contract=contract,
                    hours=form.cleaned_data["hours"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Hours recorded: %(consumed)s of %(bought)s "
                                            "consumed.") % {"consumed": contract.hours_consumed,
                                                            "bought": contract.hours_bought})
                return redirect("renewals:contract_detail", pk=contract.pk)
        return render_detail(request, self.staff, contract, hours_form=form, status=400)


# --------------------------------------------------------------------------- expiring soon

class ExpiringView(StaffRequiredMixin, View):
    required_roles = selectors.EXPIRING_ROLES

    def get(self, request):
        staff = self.staff
        form = ExpiringFilterForm(request.GET or None, staff=staff)
        lead_days = selectors.lead_days_for(self.tenant)
        today = tenant_today(self.tenant)
        status, within = 200, lead_days[0]
        if form.is_bound and not form.is_valid():
            rows, status = Contract.objects.none(), 400
        else:
            data = form.cleaned_data if form.is_bound else {}
            within = data.get("within") or within
            rows = selectors.contracts_expiring(staff, today=today, within_days=within,
                                                team=data.get("team"), owner=data.get("owner"))
        page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "renewals/expiring.html", {
            "form": form, "page": page, "contracts": page.object_list, "today": today,
            "within": within, "lead_days": lead_days,
            "can_filter": selectors.sees_all_contracts(staff) or staff.is_manager},
            status=status)


# --------------------------------------------------------------------------- policy

class PolicyView(StaffRequiredMixin, View):
    required_roles = selectors.POLICY_ROLES

    def get(self, request):
        policy = selectors.renewal_policy(self.tenant)
        form = PolicyForm(initial={"lead_days": selectors.lead_days_for(self.tenant)}) \
            if self.staff.is_admin else None
        return self.render_page(form, policy)

    def post(self, request):
        if not self.staff.is_admin:
            self.permission_denied()
        form = PolicyForm(request.POST)
        if form.is_valid():
            try:
                policy = services.renewal_policy_update(
                    tenant=self.tenant, actor=self.staff, lead_days=form.cleaned_data["lead_days"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Renewal reminders now go out %(days)s days before "
                                            "a contract's end.")
                                 % {"days": "、".join(str(d) for d in policy.lead_days)})
                return redirect("renewals:policy")
        return self.render_page(form, selectors.renewal_policy(self.tenant), status=400)

    def render_page(self, form, policy, status=200):
        return render(self.request, "renewals/policy.html", {
            "form": form, "policy": policy, "lead_days": selectors.lead_days_for(self.tenant),
            "can_edit": self.staff.is_admin}, status=status)


# --------------------------------------------------------------------------- rates

class RatesView(StaffRequiredMixin, View):
    required_roles = selectors.RATE_ROLES

    def get(self, request):
        staff = self.staff
        form = RateFilterForm(request.GET or None, staff=staff)
        today = tenant_today(self.tenant)
        year, status, rows = today.year, 200, []
        if form.is_bound and not form.is_valid():
            status = 400
        else:
            data = form.cleaned_data if form.is_bound else {}
            year = data.get("year") or today.year
            rows = selectors.renewal_rate(staff, year=year, month=data.get("month"),
                                          team=data.get("team"))
        return render(request, "renewals/rates.html", {
            "form": form, "year": year, **rate_table(rows)}, status=status)


def rate_table(rows: list[selectors.RateRow]) -> dict:
    """The page's table (per month: its team rows, then the month's total when there are
    several teams) and the chart's data (one dataset per team, the rate per month)."""
    totals = {t.month: t for t in selectors.rate_totals(rows)}
    months = sorted({r.month for r in rows})
    no_team = _("No team")
    teams: list[tuple[int | None, str]] = []
    for r in rows:
        key = (r.team_id, r.team_name or no_team)
        if key not in teams:
            teams.append(key)
    table = []
    for month in months:
        month_rows = [r for r in rows if r.month == month]
        table.append({"month": month, "label": MONTHS[month], "rows": month_rows,
                      "total": totals[month] if len(month_rows) > 1 else None})
    rates = {(r.team_id, r.month): r.rate for r in rows}
    chart = {"labels": [str(MONTHS[m]) for m in months], "datasets": [
        {"label": name, "data": [float(rates[(tid, m)]) if rates.get((tid, m)) is not None
                                 else None for m in months]}
        for tid, name in teams], "axis": _("Renewal rate (%)")} if rows else None
    return {"table": table, "chart": chart, "no_team": no_team}

