"""Pages of the VIP benefits (thin: apps.vip.selectors read, apps.vip.services / benefits write).

* `customers/<pk>/tier/` set a tier by hand (a manager of the customer's team, an
  administrator): form → confirmation → done; `customers/<pk>/tier/keep/` close a review keeping
  the tier; `customers/<pk>/tier-history/` the full history (anyone who sees the customer);
  `reviews/` the customers flagged for review (managers their team's, administrators all).
* `deals/<pk>/voucher/` redeem a voucher against a deal (who may enter deals and sees it): form
  showing the tier's amount, used and left → confirmation → done.
* `customers/<pk>/gifts/new/` record a gift (customer service, managers, administrators).

A customer or deal the viewer may not see — or of another tenant — is a 404 for every method; a
role that may never do what the page does gets a 403."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from apps.core.forms import add_service_errors
from apps.customers.models import Customer
from apps.customers.selectors import visible_customers
from apps.deals.models import Deal
from apps.deals.selectors import deal_detail_queryset, visible_deals
from apps.deals.services import parse_money
from apps.ownership.selectors import tenant_today
from apps.tenancy.views_base import TenantObjectMixin

from . import benefits, services
from .forms_benefits import GiftForm, TierKeepForm, TierSetForm, VoucherForm
from .models import CustomerTier, VoucherUse
from .selectors import (
    can_see_reviews,
    describe_changes,
    review_queue,
    tier_history,
)

PAGE_SIZE = 25


def _page(request, queryset, size=PAGE_SIZE):
    return Paginator(queryset, size).get_page(request.GET.get("page"))


def customer_vip_url(customer_pk: int) -> str:
    return reverse("customers:detail", args=[customer_pk]) + "#vip"


class CustomerVipMixin(TenantObjectMixin):
    model = Customer

    def scope_queryset(self, queryset):
        return visible_customers(self.staff, queryset)

    def get_customer(self, pk: int) -> Customer:
        return get_object_or_404(self.get_queryset().select_related("team", "owner"), pk=pk)

    def tier_row(self, customer) -> CustomerTier | None:
        return CustomerTier.objects.filter(customer=customer).first()


# --------------------------------------------------------------------------- tier by hand


class TierSetView(CustomerVipMixin, View):
    """GET: the form; POST: checked, then a confirmation page; POST with `confirmed`: done."""

    required_roles = services.SET_ROLES

    def settable(self, pk):
        customer = self.get_customer(pk)
        if not services.may_set(self.staff, customer):
            raise PermissionDenied
        return customer

    def get(self, request, pk):
        customer = self.settable(pk)
        row = self.tier_row(customer)
        version, rules = services.scheme_for(self.tenant)
        form = TierSetForm(rules=rules, current=row.tier if row else "",
                           review=bool(row and row.review),
                           initial={"tier": row.tier if row else rules.entry.code})
        return self.render_form(customer, row, rules, form)

    def post(self, request, pk):
        customer = self.settable(pk)
        row = self.tier_row(customer)
        version, rules = services.scheme_for(self.tenant)
        form = TierSetForm(request.POST, rules=rules, current=row.tier if row else "",
                           review=bool(row and row.review))
        if "edit" in request.POST:
            form.is_valid()
            form._errors = {}
            return self.render_form(customer, row, rules, form)
        if form.is_valid():
            data = form.cleaned_data
            if not data.get("confirmed"):
                return render(request, "vip/tier_set_confirm.html", {
                    "customer": customer, "row": row, "form": form,
                    "from_name": rules.name_of(row.tier) if row else "",
                    "to_name": rules.name_of(data["tier"])})
            try:
                services.tier_set(tenant=self.tenant, actor=self.staff, customer=customer,
                                  tier=data["tier"], reason=data["reason"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Tier set to “%(tier)s”.") % {
                    "tier": rules.name_of(data["tier"])})
                return redirect(customer_vip_url(customer.pk))
        return self.render_form(customer, row, rules, form, status=400)

    def render_form(self, customer, row, rules, form, status=200):
        return render(self.request, "vip/tier_set.html", {
            "customer": customer, "row": row, "form": form,
            "tier_name": rules.name_of(row.tier) if row else ""},
            status=status)


class TierKeepView(CustomerVipMixin, View):
    """Close a review keeping the tier: the page is the confirmation (reason required)."""

    required_roles = services.SET_ROLES

    def get(self, request, pk):
        customer, row = self.load(pk)
        return self.render_form(customer, row, TierKeepForm())

    def post(self, request, pk):
        customer, row = self.load(pk)
        form = TierKeepForm(request.POST)
        if form.is_valid():
            try:
                services.tier_review_keep(tenant=self.tenant, actor=self.staff,
                                          customer=customer, reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Review closed: the customer keeps the tier."))
                return redirect(customer_vip_url(customer.pk))
        return self.render_form(customer, row, form, status=400)

    def load(self, pk):
        customer = self.get_customer(pk)
        if not services.may_set(self.staff, customer):
            raise PermissionDenied
        return customer, self.tier_row(customer)

    def render_form(self, customer, row, form, status=200):
        _version, rules = services.scheme_for(self.tenant)
        return render(self.request, "vip/tier_keep.html", {
            "customer": customer, "row": row, "form": form,
            "tier_name": rules.name_of(row.tier) if row else ""},
            status=status)


class TierHistoryView(CustomerVipMixin, View):
    def get(self, request, pk):
        customer = self.get_customer(pk)
        _version, rules = services.scheme_for(self.tenant)
        page = _page(request, tier_history(customer))
        page.object_list = describe_changes(page.object_list, rules.names())
        return render(request, "vip/tier_history.html", {
            "customer": customer, "page_obj": page, "rows": page.object_list,
            "can_set": services.may_set(self.staff, customer)})


class ReviewListView(CustomerVipMixin, View):
    required_roles = services.SET_ROLES

    def get(self, request):
        if not can_see_reviews(self.staff):
            raise PermissionDenied
        _version, rules = services.scheme_for(self.tenant)
        names = rules.names()
        rows = (review_queue(self.staff).select_related("customer", "customer__team",
                                                         "customer__owner")
                .order_by("updated_at", "id"))
        page = _page(request, rows)
        for row in page.object_list:
            row.tier_name = names.get(row.tier, row.tier)
            row.computed_name = rules.by_order(max(row.computed_order, 1)).name
        return render(request, "vip/review_list.html", {"page_obj": page})


# --------------------------------------------------------------------------- voucher


class VoucherRedeemView(TenantObjectMixin, View):
    """GET: the form with the tier's amount, used and left; POST: checked, then a confirmation;
    POST with `confirmed`: redeemed (back to the deal)."""

    model = Deal
    required_roles = benefits.REDEEM_ROLES

    def scope_queryset(self, queryset):
        return visible_deals(self.staff, queryset)

    def get_deal(self, pk):
        return get_object_or_404(deal_detail_queryset(self.staff, Deal.objects.all()), pk=pk)

    def state(self, deal):
        """(voucher state or None, why not) for the page's header."""
        row = CustomerTier.objects.filter(customer_id=deal.customer_id).first()
        if row is None:
            return None, _("%(name)s has no VIP tier yet: vouchers are a tier benefit.") % {
                "name": deal.customer.name}
        state = benefits.voucher_state(tenant=self.tenant, row=row, day=deal.signed_on)
        if state.allowance <= 0:
            return state, _("The tier “%(tier)s” has no voucher.") % {"tier": state.tier.name}
        if VoucherUse.objects.filter(deal_id=deal.pk).exists():
            return state, _("A voucher was already redeemed against this deal (one per deal).")
        return state, ""

    def get(self, request, pk):
        deal = self.get_deal(pk)
        state, why_not = self.state(deal)
        initial = {}
        if state is not None and not why_not:
            initial["amount"] = min(state.left, deal.amount - deal.refunded_amount)
        return self.render_form(deal, VoucherForm(initial=initial), state, why_not)

    def post(self, request, pk):
        deal = self.get_deal(pk)
        form = VoucherForm(request.POST)
        if "edit" in request.POST:
            form.is_valid()
            form._errors = {}
            state, why_not = self.state(deal)
            return self.render_form(deal, form, state, why_not)
        if form.is_valid():
            data = form.cleaned_data
            kwargs = {"tenant": self.tenant, "actor": self.staff, "deal": deal,
                      "amount": data["amount"], "note": data.get("note", "")}
            try:
                if not data.get("confirmed"):
                    state = benefits.voucher_check(**kwargs)
                    amount = parse_money({}, "amount", data["amount"])
                    return render(request, "vip/voucher_confirm.html", {
                        "deal": deal, "form": form, "state": state, "amount": amount,
                        "left_after": state.left - amount})
                use = benefits.voucher_redeem(**kwargs)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Voucher of %(amount)s redeemed against this deal.")
                                 % {"amount": use.amount})
                return redirect(reverse("deals:detail", args=[deal.pk]) + "#vip-voucher")
        state, why_not = self.state(deal)
        return self.render_form(deal, form, state, why_not, status=400)

    def render_form(self, deal, form, state, why_not, status=200):
        return render(self.request, "vip/voucher_redeem.html", {
            "deal": deal, "form": form, "state": state, "why_not": why_not,
            "net": deal.amount - deal.refunded_amount}, status=status)


# --------------------------------------------------------------------------- gifts


class GiftCreateView(CustomerVipMixin, View):
    required_roles = benefits.GIFT_ROLES

    def get(self, request, pk):
        customer = self.get_customer(pk)
        row, tier, due = self.load(customer)
        initial = {"given_on": tenant_today(self.tenant)}
        if tier is not None:
            initial.update({"description": tier.benefits.referral_gift,
                            "value": tier.benefits.referral_gift_value or ""})
            if due:
                initial["referral"] = due[0].pk
        return self.render_form(customer, row, tier, GiftForm(initial=initial, referrals=due))

    def post(self, request, pk):
        customer = self.get_customer(pk)
        row, tier, due = self.load(customer)
        form = GiftForm(request.POST, referrals=due)
        if form.is_valid():
            data = form.cleaned_data
            try:
                benefits.gift_record(tenant=self.tenant, actor=self.staff, customer=customer,
                                     description=data.get("description", ""),
                                     value=data.get("value"), referral=data.get("referral"),
                                     given_on=data["given_on"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Gift recorded."))
                return redirect(customer_vip_url(customer.pk))
        return self.render_form(customer, row, tier, form, status=400)

    def load(self, customer):
        row = self.tier_row(customer)
        if row is None:
            return None, None, []
        _version, rules = services.scheme_for(self.tenant)
        tier = rules.stored(row.tier, row.tier_order)
        return row, tier, list(benefits.gifts_due(customer))

    def render_form(self, customer, row, tier, form, status=200):
        return render(self.request, "vip/gift_form.html", {
            "customer": customer, "row": row, "tier": tier, "form": form}, status=status)
