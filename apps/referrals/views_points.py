"""Pages of the referrer points (thin: apps.referrals.points reads and writes).

* /referrals/points/ — managers, administrators (and finance, read-only): the redemptions queue
  (pending by default) and the recent ledger rows of the tenant, filtered and paginated.
* /referrals/referrers/<pk>/points/ — one referrer's balance and ledger (newest first, running
  balance), the redemption request form (sales for their referrers, managers, admins) and the
  adjustment form (managers, admins). Finance reads; customer service gets 403.
* /referrals/redemptions/<pk>/decide/ — confirm, then approve or reject (managers, admins).
* /referrals/points/items/ and /referrals/points/items/<pk>/edit/ — the items (admins edit).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views import View

from apps.core.forms import add_service_errors
from apps.tenancy.views_base import TenantObjectMixin

from . import points
from .forms_points import (
    LedgerFilterForm,
    PointsAdjustForm,
    PointsFilterForm,
    PointsItemForm,
    RedemptionDecideForm,
    RedemptionRequestForm,
)
from .models import PointsItem, PointsRedemption, Referrer
from .referrers import referrer_name

PAGE_SIZE = 25


class PointsOverviewView(TenantObjectMixin, View):
    """The pending redemptions queue and the recent ledger rows."""

    model = PointsRedemption
    required_roles = points.OVERVIEW_ROLES

    def get(self, request):
        data = request.GET.copy()
        if "status" not in data:
            data["status"] = PointsRedemption.Status.REQUESTED
        form = PointsFilterForm(data)
        form.is_valid()
        status = form.cleaned_data.get("status", PointsRedemption.Status.REQUESTED)
        kind = form.cleaned_data.get("kind", "")
        queue = Paginator(points.redemptions(status=status), PAGE_SIZE).get_page(
            request.GET.get("rpage"))
        ledger = Paginator(points.recent_entries(kind=kind), PAGE_SIZE).get_page(
            request.GET.get("page"))
        for row in queue:
            row.referrer_display = referrer_name(row.referrer)
        for row in ledger:
            row.referrer_display = referrer_name(row.referrer)
        return render(request, "referrals/points_overview.html", {
            "form": form, "queue": queue, "page_obj": ledger,
            "can_decide": self.staff.has_role(*points.DECIDE_ROLES),
            "is_admin": self.staff.is_admin})


class ReferrerPointsView(TenantObjectMixin, View):
    """One referrer's balance and ledger, with the request (and adjustment) forms."""

    model = Referrer
    required_roles = points.VIEW_ROLES

    def scope_queryset(self, queryset):
        return points.points_visible_referrers(self.staff, queryset).select_related("customer", "staff")

    def get_object(self, pk) -> Referrer:
        return get_object_or_404(self.get_queryset(), pk=pk)

    def get(self, request, pk):
        referrer = self.get_object(pk)
        return self.render_page(referrer)

    def post(self, request, pk):
        referrer = self.get_object(pk)
        action = request.POST.get("action", "request")
        if action == "adjust":
            return self.adjust(referrer)
        if not self.staff.has_role(*points.REQUEST_ROLES):
            raise PermissionDenied
        form = RedemptionRequestForm(request.POST, items=points.points_items(active_only=True))
        if form.is_valid():
            try:
                row = points.redemption_request(
                    tenant=self.tenant, actor=self.staff, referrer=referrer,
                    item=form.cleaned_data["item"], note=form.cleaned_data["note"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Redemption of “%(item)s” requested: a manager "
                                            "will decide.") % {"item": row.item.name})
                return redirect("referrals:referrer_points", pk=referrer.pk)
        return self.render_page(referrer, request_form=form, status=400)

    def adjust(self, referrer):
        if not self.staff.has_role(*points.DECIDE_ROLES):
            raise PermissionDenied
        form = PointsAdjustForm(self.request.POST)
        if form.is_valid():
            try:
                points.points_adjust(tenant=self.tenant, actor=self.staff, referrer=referrer,
                                     **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(self.request, _("Points adjusted."))
                return redirect("referrals:referrer_points", pk=referrer.pk)
        return self.render_page(referrer, adjust_form=form, status=400)

    def render_page(self, referrer, *, request_form=None, adjust_form=None, status=200):
        staff = self.staff
        items = points.points_items(active_only=True)
        can_request = staff.has_role(*points.REQUEST_ROLES)
        can_adjust = staff.has_role(*points.DECIDE_ROLES)
        if can_request and request_form is None:
            request_form = RedemptionRequestForm(items=items)
        if can_adjust and adjust_form is None:
            adjust_form = PointsAdjustForm()
        filters = LedgerFilterForm(self.request.GET)
        filters.is_valid()
        kind = filters.cleaned_data.get("kind", "")
        page = Paginator(points.referrer_ledger(referrer, kind=kind), PAGE_SIZE).get_page(
            self.request.GET.get("page"))
        balance = points.points_balance(referrer)
        held = points.points_held(referrer)
        pending = list(points.redemptions(referrer=referrer))
        return render(self.request, "referrals/points_referrer.html", {
            "referrer": referrer, "referrer_display": referrer_name(referrer),
            "balance": balance, "held": held, "available": balance - held,
            "page_obj": page, "filters": filters, "pending": pending,
            "request_form": request_form if can_request else None,
            "adjust_form": adjust_form if can_adjust else None,
            "can_decide": can_adjust}, status=status)


class RedemptionDecideView(TenantObjectMixin, View):
    """A confirmation page (GET), then the decision (POST with decision=approve|reject)."""

    model = PointsRedemption
    required_roles = points.DECIDE_ROLES

    def get_object(self, pk) -> PointsRedemption:
        return get_object_or_404(
            PointsRedemption.objects.select_related("referrer__customer", "referrer__staff",
                                                    "item", "requested_by", "decided_by"), pk=pk)

    def get(self, request, pk):
        redemption = self.get_object(pk)
        return self.render_page(redemption, RedemptionDecideForm())

    def post(self, request, pk):
        redemption = self.get_object(pk)
        form = RedemptionDecideForm(request.POST)
        decision = request.POST.get("decision")
        if decision not in ("approve", "reject"):
            form.add_error(None, _("Choose to approve or to reject."))
        if form.is_valid():
            try:
                row = points.redemption_decide(tenant=self.tenant, actor=self.staff,
                                               redemption=redemption,
                                               approve=decision == "approve",
                                               note=form.cleaned_data["note"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                if row.status == PointsRedemption.Status.APPROVED:
                    messages.success(request, _("Redemption approved: %(points)s points "
                                                "deducted.") % {"points": row.points})
                else:
                    messages.success(request, _("Redemption rejected."))
                return redirect("referrals:points")
        return self.render_page(redemption, form, status=400)

    def render_page(self, redemption, form, status=200):
        balance = points.points_balance(redemption.referrer)
        return render(self.request, "referrals/points_decide.html", {
            "redemption": redemption, "form": form, "balance": balance,
            "referrer_display": referrer_name(redemption.referrer),
            "pending": redemption.status == PointsRedemption.Status.REQUESTED},
            status=status)


class PointsItemListView(TenantObjectMixin, View):
    """The items; administrators add one here."""

    model = PointsItem
    required_roles = points.VIEW_ROLES

    def get(self, request):
        return self.render_page(PointsItemForm() if self.staff.is_admin else None)

    def post(self, request):
        if not self.staff.is_admin:
            raise PermissionDenied
        form = PointsItemForm(request.POST)
        if form.is_valid():
            try:
                item = points.points_item_create(tenant=self.tenant, actor=self.staff,
                                                 **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Item “%(name)s” added.") % {"name": item.name})
                return redirect("referrals:points_items")
        return self.render_page(form, status=400)

    def render_page(self, form, status=200):
        page = Paginator(points.points_items(), PAGE_SIZE).get_page(self.request.GET.get("page"))
        return render(self.request, "referrals/points_items.html", {
            "page_obj": page, "form": form, "can_edit": self.staff.is_admin}, status=status)


class PointsItemEditView(TenantObjectMixin, View):
    model = PointsItem
    required_roles = points.VIEW_ROLES

    def get_object(self, pk) -> PointsItem:
        item = get_object_or_404(PointsItem.objects.all(), pk=pk)
        if not self.staff.is_admin:
            raise PermissionDenied
        return item

    def get(self, request, pk):
        item = self.get_object(pk)
        form = PointsItemForm(initial={"name": item.name, "points": item.points,
                                       "active": item.active})
        return self.render_page(item, form)

    def post(self, request, pk):
        item = self.get_object(pk)
        form = PointsItemForm(request.POST)
        if form.is_valid():
            try:
                item = points.points_item_update(tenant=self.tenant, actor=self.staff, item=item,
                                                 **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Item “%(name)s” saved.") % {"name": item.name})
                return redirect("referrals:points_items")
        return self.render_page(item, form, status=400)

    def render_page(self, item, form, status=200):
        return render(self.request, "referrals/points_item_form.html",
                      {"object": item, "form": form}, status=status)
