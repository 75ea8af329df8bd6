"""Referrer and card pages (thin: apps.referrals.referrers reads and writes)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views import View

from apps.core.forms import add_service_errors
from apps.core.identity import normalize_phone
from apps.customers.selectors import visible_customers
from apps.tenancy.models import Staff
from apps.tenancy.views_base import TenantObjectMixin

from . import referrers as svc
from .forms_referrers import (
    CustomerReferrerForm,
    PartnerReferrerForm,
    ReferrerFilterForm,
    StaffReferrerForm,
)
from .models import ReferralCard, Referrer

PAGE_SIZE = 25


class ReferrerMixin(TenantObjectMixin):
    model = Referrer
    required_roles = svc.VIEW_ROLES

    def scope_queryset(self, queryset):
        return svc.visible_referrers(self.staff, queryset)

    def get_referrer(self, pk: int) -> Referrer:
        return get_object_or_404(svc.with_customer_visibility(
            self.staff, self.get_queryset().select_related("customer", "staff")), pk=pk)


class CardMixin(TenantObjectMixin):
    model = ReferralCard
    required_roles = svc.VIEW_ROLES

    def scope_queryset(self, queryset):
        return queryset.filter(referrer__in=svc.visible_referrers(self.staff))

    def get_card(self, pk: int) -> ReferralCard:
        return get_object_or_404(
            self.get_queryset().select_related("referrer__customer", "referrer__staff"), pk=pk)


class ReferrerListView(ReferrerMixin, View):
    def get(self, request):
        form = ReferrerFilterForm(request.GET)
        form.is_valid()
        data = getattr(form, "cleaned_data", {})
        rows = svc.referrer_list(self.staff, search=data.get("search", ""),
                                 kind=data.get("kind", ""))
        page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
        for referrer in page.object_list:
            referrer.display_name = svc.referrer_name(referrer)
            referrer.display_phone = svc.referrer_phone(referrer)
        return render(request, "referrals/referrer_list.html", {
            "filter_form": form, "page": page, "referrers": page.object_list,
            "can_register": self.staff.has_role(*svc.REGISTER_ROLES),
            "can_manage": self.staff.has_role(*svc.MANAGE_ROLES)})


class _RegisterView(ReferrerMixin, View):
    form_class = None
    title = ""

    def get(self, request):
        return self.render_form(self.make_form())

    def post(self, request):
        form = self.make_form(request.POST)
        if form.is_valid():
            try:
                referrer = self.register(form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Referrer %(name)s registered.")
                                 % {"name": svc.referrer_name(referrer)})
                return redirect("referrals:referrer_detail", pk=referrer.pk)
        return self.render_form(form)

    def make_form(self, data=None):
        return self.form_class(data)

    def render_form(self, form):
        return render(self.request, "referrals/referrer_form.html",
                      {"form": form, "title": self.title})


class CustomerReferrerCreateView(_RegisterView):
    required_roles = svc.REGISTER_ROLES
    form_class = CustomerReferrerForm

    @property
    def title(self):
        return _("Register a customer as a referral member")

    def register(self, data):
        try:
            phone = normalize_phone(data["phone"])
        except ValidationError as exc:
            raise ValidationError({"phone": exc.messages})
        customer = visible_customers(self.staff).filter(phone=phone).first()
        if customer is None:
            raise ValidationError({"phone": [_("No customer of yours has this mobile phone.")]})
        try:
            return svc.referrer_register_customer(tenant=self.tenant, actor=self.staff,
                                                  customer=customer, id_number=data["id_number"])
        except PermissionDenied as exc:
            raise ValidationError({"phone": [str(exc) or _("You may not register referrers.")]})


class StaffReferrerCreateView(_RegisterView):
    required_roles = svc.MANAGE_ROLES
    form_class = StaffReferrerForm

    @property
    def title(self):
        return _("Register a staff member as a referrer")

    def make_form(self, data=None):
        choices = list(Staff.objects.filter(active=True, referrer__isnull=True)
                       .order_by("name").values_list("pk", "name"))
        return StaffReferrerForm(data, staff_choices=choices)

    def register(self, data):
        staff = Staff.objects.filter(pk=data["staff"]).first()
        if staff is None:
            raise ValidationError({"staff": [_("Choose a staff member.")]})
        return svc.referrer_register_staff(tenant=self.tenant, actor=self.staff, staff=staff)


class PartnerReferrerCreateView(_RegisterView):
    required_roles = svc.MANAGE_ROLES
    form_class = PartnerReferrerForm

    @property
    def title(self):
        return _("Register an outside partner")

    def register(self, data):
        return svc.referrer_register_partner(tenant=self.tenant, actor=self.staff, **data)


class ReferrerDetailView(ReferrerMixin, View):
    def get(self, request, pk):
        referrer = self.get_referrer(pk)
        cards = list(referrer.cards.all())
        for card in cards:
            card.link = svc.card_link(request, self.tenant, card)
        return render(request, "referrals/referrer_detail.html", {
            "referrer": referrer, "name": svc.referrer_name(referrer),
            "phone": svc.referrer_phone(referrer), "cards": cards,
            "cap": svc.card_cap(self.tenant),
            "can_issue": self.staff.has_role(*svc.REGISTER_ROLES),
            "can_manage": self.staff.has_role(*svc.MANAGE_ROLES)})


class _ReferrerActionView(ReferrerMixin, View):
    action = None
    done = ""

    def post(self, request, pk):
        referrer = self.get_referrer(pk)
        try:
            self.action(tenant=self.tenant, actor=self.staff, referrer=referrer)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, self.message())
        return redirect("referrals:referrer_detail", pk=referrer.pk)


class ReferrerDeactivateView(_ReferrerActionView):
    required_roles = svc.MANAGE_ROLES
    action = staticmethod(svc.referrer_deactivate)

    def message(self):
        return _("The referrer was deactivated: their links no longer work.")


class ReferrerReactivateView(_ReferrerActionView):
    required_roles = svc.MANAGE_ROLES
    action = staticmethod(svc.referrer_reactivate)

    def message(self):
        return _("The referrer was reactivated.")


class CardIssueView(_ReferrerActionView):
    required_roles = svc.REGISTER_ROLES

    def post(self, request, pk):
        referrer = self.get_referrer(pk)
        try:
            card = svc.card_issue(tenant=self.tenant, actor=self.staff, referrer=referrer)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Card %(code)s issued.") % {"code": card.code})
        return redirect("referrals:referrer_detail", pk=referrer.pk)


class CardDetailView(CardMixin, View):
    """The printable card: tenant name, referrer's masked name, QR code, code."""

    def get(self, request, pk):
        card = self.get_card(pk)
        return render(request, "referrals/card_detail.html", {
            "card": card, "tenant_name": self.tenant.name,
            "masked_name": svc.referrer_masked_name(card.referrer),
            "link": svc.card_link(request, self.tenant, card)})


class CardQrView(CardMixin, View):
    kind = "png"

    def get(self, request, pk):
        card = self.get_card(pk)
        link = svc.card_link(request, self.tenant, card)
        if self.kind == "svg":
            response = HttpResponse(svc.card_qr_svg(link), content_type="image/svg+xml")
        else:
            response = HttpResponse(svc.card_qr_png(link), content_type="image/png")
        response["Content-Disposition"] = f'inline; filename="card-{card.code}.{self.kind}"'
        response["Cache-Control"] = "private, max-age=3600"
        return response


class CardDeactivateView(CardMixin, View):
    """GET: the confirmation step; POST: deactivate (cannot be undone)."""

    required_roles = svc.REGISTER_ROLES

    def get(self, request, pk):
        card = self.get_card(pk)
        return render(request, "referrals/card_confirm_deactivate.html", {"card": card})

    def post(self, request, pk):
        card = self.get_card(pk)
        try:
            svc.card_deactivate(tenant=self.tenant, actor=self.staff, card=card)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Card %(code)s deactivated.") % {"code": card.code})
        return redirect("referrals:referrer_detail", pk=card.referrer_id)
