"""Pages of the ownership policy, the public pool, the "about to be released" list, returning a
customer to the pool and reassignment (thin: selectors read, services write)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View

from apps.core.forms import add_service_errors, style_fields
from apps.customers.models import Customer
from apps.customers.selectors import visible_customers
from apps.tenancy.roles import Role
from apps.tenancy.views_base import StaffRequiredMixin, TenantObjectMixin

from . import services
from .forms import (
    ExpiringFilterForm,
    PolicyForm,
    ReassignForm,
    ReassignSourceForm,
    ReturnForm,
)
from .models import OwnershipPolicy
from .registration import can_register, customer_claim
from .selectors import (
    EXPIRING_ROLES,
    PAGE_SIZE,
    REASSIGN_ROLES,
    PoolFilterForm,
    expiring_customers,
    may_return_to_pool,
    owned_customers,
    policy_overview,
    pool_customers,
    pool_rows,
    tenant_today,
)

REASSIGN_PAGE_SIZE = 50


def _messages_of(exc: ValidationError) -> list[str]:
    return [str(m) for m in exc.messages]


# --------------------------------------------------------------------------- policy

class PolicyView(TenantObjectMixin, View):
    """The version in force, the scheduled ones, the history; admins add a version."""

    model = OwnershipPolicy
    required_roles = (Role.ADMIN, Role.MANAGER)

    def get(self, request):
        overview = policy_overview(self.tenant)
        form = self.blank_form(overview) if self.staff.is_admin else None
        return self.render_page(form, overview=overview)

    def post(self, request):
        if not self.staff.is_admin:
            self.permission_denied()
        form = PolicyForm(request.POST)
        if form.is_valid():
            try:
                policy = services.policy_create(tenant=self.tenant, actor=self.staff,
                                                **form.service_kwargs())
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Policy version %(version)s saved: in force from "
                                            "%(day)s.") % {"version": policy.version,
                                                           "day": policy.effective_from.isoformat()})
                return redirect("ownership:policy")
        return self.render_page(form, status=400)

    @staticmethod
    def blank_form(overview: dict) -> PolicyForm:
        day = overview["today"]
        taken = {row.effective_from for row in overview["history"]}
        while day in taken:
            day += dt.timedelta(days=1)
        # Prefilled from the latest version (a scheduled one if any), else from the rules in force.
        latest = overview["scheduled"][-1] if overview["scheduled"] else None
        rules = overview["rules"] if latest is None else latest
        return PolicyForm(initial=PolicyForm.initial_from(rules, day))

    def render_page(self, form, status=200, overview: dict | None = None):
        context = {**(overview or policy_overview(self.tenant)), "form": form,
                   "can_edit": self.staff.is_admin}
        return render(self.request, "ownership/policy.html", context, status=status)


# --------------------------------------------------------------------------- about to be released

class ExpiringView(StaffRequiredMixin, View):
    required_roles = EXPIRING_ROLES

    def get(self, request):
        staff = self.staff
        can_filter = staff.is_admin or staff.is_manager
        form = ExpiringFilterForm(request.GET or None, staff=staff) if can_filter else None
        owner, status = None, 200
        if form is not None and form.is_bound:
            if form.is_valid():
                owner = form.cleaned_data["owner"]
            else:
                status = 400
        today = tenant_today(self.tenant)
        customers = expiring_customers(staff, today=today, owner=owner) if status == 200 \
            else Customer.objects.none()
        page = Paginator(customers, PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "ownership/expiring.html", {
            "form": form, "page": page, "customers": page.object_list, "today": today,
            "show_owner": can_filter}, status=status)


# --------------------------------------------------------------------------- public pool

class PoolView(StaffRequiredMixin, View):
    def get(self, request):
        form = PoolFilterForm(request.GET or None)
        style_fields(form)
        status, errors = 200, {}
        try:
            customers = pool_customers(self.staff, request.GET)
        except ValidationError as exc:
            errors = exc.message_dict
            customers = Customer.objects.none()
            status = 400
        page = Paginator(customers, PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "ownership/pool.html", {
            "form": form, "filter_errors": errors, "page": page,
            "customers": pool_rows(self.staff, page.object_list),
            "can_claim": can_register(self.staff)}, status=status)


class PoolClaimView(TenantObjectMixin, View):
    """POST: claim a customer of the pool (the registration rules: caps, the former owner's
    wait). Any customer of the tenant may be named; the rules refuse the ones not claimable."""

    model = Customer

    def post(self, request, pk):
        customer = get_object_or_404(self.get_queryset(), pk=pk)
        try:
            customer = customer_claim(tenant=self.tenant, actor=self.staff, customer=customer,
                                      note=request.POST.get("note", ""))
        except ValidationError as exc:
            for message in _messages_of(exc):
                messages.error(request, message)
            return redirect(self.back_url())
        messages.success(request, _("%(name)s is now your customer.") % {"name": customer.name})
        return redirect("customers:detail", pk=customer.pk)

    def back_url(self) -> str:
        url = reverse("ownership:pool")
        back = self.request.POST.get("next", "")
        return back if back.startswith(url) else url


# --------------------------------------------------------------------------- return to the pool

class ReturnView(TenantObjectMixin, View):
    """Confirm, with a reason, that a customer goes back to the public pool."""

    model = Customer

    def scope_queryset(self, queryset):
        return visible_customers(self.staff, queryset).select_related("owner", "team")

    def get_customer(self, pk) -> Customer | None:
        customer = get_object_or_404(self.get_queryset(), pk=pk)
        if customer.owner_id is not None and not may_return_to_pool(self.staff, customer):
            self.permission_denied()
        return customer

    def get(self, request, pk):
        customer = self.get_customer(pk)
        if customer.owner_id is None:
            messages.info(request, _("This customer is already in the public pool."))
            return redirect("customers:detail", pk=customer.pk)
        return self.render_page(customer, ReturnForm())

    def post(self, request, pk):
        customer = self.get_customer(pk)
        form = ReturnForm(request.POST)
        if form.is_valid():
            try:
                services.customer_return_to_pool(tenant=self.tenant, actor=self.staff,
                                                 customer=customer,
                                                 reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("%(name)s is back in the public pool.")
                                 % {"name": customer.name})
                if visible_customers(self.staff).filter(pk=customer.pk).exists():
                    return redirect("customers:detail", pk=customer.pk)
                return redirect("ownership:pool")
        return self.render_page(customer, form, status=400)

    def render_page(self, customer, form, status=200):
        return render(self.request, "ownership/return_confirm.html",
                      {"customer": customer, "form": form}, status=status)


# --------------------------------------------------------------------------- reassignment

#: Service error keys shown on top of the reassignment form (its fields are hidden there).
REASSIGN_ERROR_FIELDS = {"customer_ids": "__all__", "from_owner": "__all__"}


class ReassignView(StaffRequiredMixin, View):
    """Pick whose customers, all or some, to whom and why; confirm; done."""

    required_roles = REASSIGN_ROLES

    def get(self, request):
        source = ReassignSourceForm(request.GET or None, staff=self.staff)
        from_owner = source.cleaned_data["from_owner"] if source.is_bound and source.is_valid() \
            else None
        form = None
        if from_owner is not None:
            form = ReassignForm(staff=self.staff, initial={
                "from_owner": from_owner.pk, "scope": ReassignForm.SCOPE_ALL})
        return self.render_step(source, from_owner, form,
                                status=400 if source.is_bound and from_owner is None else 200)

    def post(self, request):
        form = ReassignForm(request.POST, staff=self.staff)
        valid = form.is_valid()
        from_owner = form.cleaned_data.get("from_owner") if valid or "from_owner" not in form.errors \
            else None
        source = ReassignSourceForm({"from_owner": from_owner.pk} if from_owner else None,
                                    staff=self.staff)
        if valid:
            kwargs = form.service_kwargs()
            if form.cleaned_data.get("confirm"):
                try:
                    counts = services.customers_reassign(tenant=self.tenant, actor=self.staff,
                                                         **kwargs)
                except ValidationError as exc:
                    add_service_errors(form, exc, REASSIGN_ERROR_FIELDS)
                else:
                    total = sum(counts.values())
                    messages.success(request, ngettext(
                        "%(count)s customer of %(name)s reassigned.",
                        "%(count)s customers of %(name)s reassigned.", total) % {
                            "count": total, "name": kwargs["from_owner"].name})
                    return redirect(f"{reverse('ownership:reassign')}?from_owner="
                                    f"{kwargs['from_owner'].pk}")
            else:
                preview = self.preview(form, kwargs)
                if preview is not None:
                    return render(request, "ownership/reassign_confirm.html", preview)
        return self.render_step(source, from_owner, form, status=400)

    def preview(self, form, kwargs) -> dict | None:
        """The confirmation step (checked by the service, nothing written), or None with the
        service's errors put on the form."""
        try:
            counts = services.reassign_preview(tenant=self.tenant, actor=self.staff, **kwargs)
        except ValidationError as exc:
            add_service_errors(form, exc, REASSIGN_ERROR_FIELDS)
            return None
        targets = [t for t in kwargs["to_owners"] if t.pk in counts]
        return {"form": form, "from_owner": kwargs["from_owner"], "total": sum(counts.values()),
                "shares": [(t, counts[t.pk]) for t in targets],
                "selected": kwargs["customer_ids"] is not None, "note": kwargs["note"]}

    def render_step(self, source, from_owner, form, status=200):
        context = {"source": source, "from_owner": from_owner, "form": form}
        if from_owner is not None:
            owned = owned_customers(from_owner).select_related("team")
            page = Paginator(owned, REASSIGN_PAGE_SIZE).get_page(self.request.GET.get("page"))
            ticked = set()
            if form is not None and form.is_bound:
                ticked = {str(v) for v in self.request.POST.getlist("customer_ids")}
            context.update(page=page, customers=page.object_list, total=page.paginator.count,
                           ticked=ticked)
        return render(self.request, "ownership/reassign.html", context, status=status)
