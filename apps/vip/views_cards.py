"""Membership card pages (thin: apps.vip.cards reads and writes).

* /vip/cards/to-issue/ — 发卡: the buyers due a card (first card, or the new tier's card after a
  tier change), filters (team, tier, search), oldest first; each row has a small form to issue
  the card with the suggested number (customer service, administrators).
* /vip/customers/<pk>/card/new/ — issue a customer's card: the tier, the card it replaces, the
  number (the suggestion prefilled), the date; a refusal keeps the input and says why.
* /vip/vip-cards/ — every card the viewer sees: filters status / kind / tier / team, search by
  number, name or mobile; paginated.
* /vip/vip-cards/<pk>/ — a card: customer, tier, who issued it, why it is void, the customer's
  card history (what it replaces and what replaced it), the actions the viewer may take.
* /vip/vip-cards/<pk>/reissue/ and /void/ — confirmation pages (GET) and the action (POST).
* /vip/cards/stats/?month=YYYY-MM — the month's statistics per team with a totals row;
  /vip/cards/stats/export/?month= the same as .xlsx.

Customer service, administrators and finance see every card; managers their team's
customers' cards, sales their own customers' (read only). Issuing and reissuing: customer
service and administrators; voiding: administrators."""

from __future__ import annotations

import tempfile

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View

from apps.core.filters import clean_filter_form
from apps.core.forms import add_service_errors
from apps.core.xlsx import XLSX_CONTENT_TYPE, attachment_disposition
from apps.customers.models import Customer
from apps.customers.selectors import visible_customers
from apps.ownership.selectors import tenant_today
from apps.tenancy.models import Team
from apps.tenancy.views_base import StaffRequiredMixin, TenantObjectMixin

from . import cards as svc
from .forms_cards import (
    CardFilterForm,
    CardIssueForm,
    CardReissueForm,
    CardStatsForm,
    CardVoidForm,
    ToIssueFilterForm,
    choice_filters,
)
from .models import CustomerTier, VipCard

PAGE_SIZE = 25


def filter_errors(exc: ValidationError, form_class) -> list[dict]:
    labels = {k: f.label for k, f in form_class.base_fields.items()}
    return [{"label": labels.get(k, k), "messages": v} for k, v in exc.message_dict.items()]


def team_options(staff) -> list[tuple[int, str]] | None:
    """The teams a viewer may narrow a list by (None: no team filter): every team for the
    tenant-wide roles and managers (their customers may sit in other teams), none for sales."""
    if not (svc.sees_all_cards(staff) or staff.is_manager):
        return None
    return list(Team.objects.order_by("name", "id").values_list("pk", "name"))


def nav(staff) -> dict:
    """What the tabs of the card pages need."""
    return {"can_issue": svc.may_issue(staff), "can_stats": staff.has_role(*svc.STATS_ROLES)}


def name_tiers(rows, names: dict[str, str], attr: str = "tier") -> None:
    for row in rows:
        code = getattr(row, attr)
        row.tier_name = names.get(code, code)


class CardMixin(TenantObjectMixin):
    model = VipCard
    required_roles = svc.VIEW_ROLES

    def scope_queryset(self, queryset):
        return svc.visible_cards(self.staff, queryset)

    def get_card(self, pk: int) -> VipCard:
        return get_object_or_404(self.get_queryset().select_related(
            "customer", "customer__team", "customer__owner", "team", "issued_by", "voided_by",
            "replaces"), pk=pk)


class CardListView(CardMixin, View):
    def get(self, request):
        errors, status = [], 200
        try:
            filters = clean_filter_form(CardFilterForm, request.GET)
        except ValidationError as exc:
            errors, filters, status = filter_errors(exc, CardFilterForm), {}, 400
        cards = svc.card_list(self.staff, filters, self.get_queryset())
        if errors:
            cards = cards.none()
        page = Paginator(cards, PAGE_SIZE).get_page(request.GET.get("page"))
        names = svc.tier_names(self.tenant)
        name_tiers(page.object_list, names)
        form = choice_filters(CardFilterForm(request.GET), tiers=list(names.items()),
                              teams=team_options(self.staff))
        return render(request, "vip/card_list.html", {
            "page_obj": page, "filter_form": form, "filter_errors": errors,
            **nav(self.staff)}, status=status)


class CardDetailView(CardMixin, View):
    def get(self, request, pk):
        card = self.get_card(pk)
        names = svc.tier_names(self.tenant)
        chain = svc.card_chain(card)
        name_tiers([card, *chain], names)
        replaced_by = next((c.replaced_by for c in chain if c.pk == card.pk), None)
        tier = CustomerTier.objects.filter(customer_id=card.customer_id).first()
        staff = self.staff
        active = card.status == VipCard.Status.ACTIVE
        return render(request, "vip/card_detail.html", {
            "card": card, "chain": chain, "replaced_by": replaced_by,
            "current_tier": names.get(tier.tier, tier.tier) if tier else None,
            "customer_visible": visible_customers(staff).filter(pk=card.customer_id).exists(),
            "can_reissue": active and svc.may_issue(staff),
            "can_void": active and svc.may_void(staff),
            "can_issue_new": (tier is not None and svc.may_issue(staff)
                              and not active and replaced_by is None)})


class _CardActionView(CardMixin, View):
    """GET: a confirmation page with its form; POST: the service (a refusal: 400, the reason,
    nothing changed)."""

    form_class = CardReissueForm
    template = "vip/card_confirm.html"

    def get(self, request, pk):
        card = self.get_card(pk)
        return self.render_page(card, self.make_form(card))

    def post(self, request, pk):
        card = self.get_card(pk)
        form = self.make_form(card, request.POST)
        if form.is_valid():
            try:
                result = self.act(card, form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            except PermissionDenied:
                raise
            else:
                return self.done(result)
        return self.render_page(card, form, status=400)

    def render_page(self, card, form, status=200):
        name_tiers([card], svc.tier_names(self.tenant))
        return render(self.request, self.template, {
            "card": card, "form": form, "action": self.action_name,
            "active": card.status == VipCard.Status.ACTIVE}, status=status)


class CardReissueView(_CardActionView):
    required_roles = svc.ISSUE_ROLES
    action_name = "reissue"

    def make_form(self, card, data=None):
        return CardReissueForm(data, initial={"number": svc.next_card_number(self.tenant)})

    def act(self, card, data):
        return svc.card_reissue(tenant=self.tenant, actor=self.staff, card=card,
                                number=data["number"], note=data["note"])

    def done(self, new):
        messages.success(self.request, _("Card %(old)s is void; card %(new)s was issued in its "
                                         "place.") % {"old": new.replaces.number,
                                                      "new": new.number})
        return redirect("vip:card_detail", pk=new.pk)


class CardVoidView(_CardActionView):
    required_roles = svc.VOID_ROLES
    action_name = "void"

    def make_form(self, card, data=None):
        return CardVoidForm(data)

    def act(self, card, data):
        return svc.card_void(tenant=self.tenant, actor=self.staff, card=card, note=data["note"])

    def done(self, card):
        messages.success(self.request, _("Card %(number)s is void.") % {"number": card.number})
        return redirect("vip:card_detail", pk=card.pk)


class CardToIssueView(StaffRequiredMixin, View):
    required_roles = svc.ISSUE_ROLES

    def get(self, request):
        errors, status = [], 200
        try:
            filters = clean_filter_form(ToIssueFilterForm, request.GET)
        except ValidationError as exc:
            errors, filters, status = filter_errors(exc, ToIssueFilterForm), {}, 400
        rows = svc.cards_to_issue(self.staff, team=filters.get("team"),
                                  tier=filters.get("tier", ""), search=filters.get("search", ""))
        if errors:
            rows = rows.none()
        page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
        names = svc.tier_names(self.tenant)
        name_tiers(page.object_list, names)
        for row in page.object_list:
            row.card_tier_name = names.get(row.card_tier, row.card_tier) if row.card_tier else ""
        form = choice_filters(ToIssueFilterForm(request.GET), tiers=list(names.items()),
                              teams=team_options(self.staff))
        return render(request, "vip/card_to_issue.html", {
            "page_obj": page, "filter_form": form, "filter_errors": errors,
            "suggestion": svc.next_card_number(self.tenant) if page.object_list else "",
            "here": request.get_full_path(), **nav(self.staff)}, status=status)


class CardIssueView(TenantObjectMixin, View):
    """Issue the card of a customer's current tier (customer service, administrators)."""

    model = Customer
    required_roles = svc.ISSUE_ROLES

    def scope_queryset(self, queryset):
        return visible_customers(self.staff, queryset)

    def get(self, request, pk):
        customer = get_object_or_404(self.get_queryset().select_related("team", "owner"), pk=pk)
        form = CardIssueForm(initial={"number": svc.next_card_number(self.tenant),
                                      "issued_on": tenant_today(self.tenant)})
        return self.render_page(customer, form, request.GET.get("next", ""))

    def post(self, request, pk):
        customer = get_object_or_404(self.get_queryset().select_related("team", "owner"), pk=pk)
        back = request.POST.get("next", "")
        form = CardIssueForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                card = svc.card_issue(tenant=self.tenant, actor=self.staff, customer=customer,
                                      number=data["number"], issued_on=data["issued_on"],
                                      note=data["note"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Card %(number)s was issued to %(name)s.") % {
                    "number": card.number, "name": customer.name})
                if self._safe_back(back):
                    return redirect(back)
                return redirect("vip:card_detail", pk=card.pk)
        return self.render_page(customer, form, back, status=400)

    def _safe_back(self, url: str) -> bool:
        """Only back to the to-issue list (the row forms send it with its filters)."""
        return bool(url) and url.startswith(reverse("vip:card_to_issue")) and \
            url_has_allowed_host_and_scheme(url, allowed_hosts={self.request.get_host()})

    def render_page(self, customer, form, back, status=200):
        names = svc.tier_names(self.tenant)
        tier = CustomerTier.objects.filter(customer=customer).first()
        active = (VipCard.objects.filter(customer=customer, status=VipCard.Status.ACTIVE)
                  .first())
        if active is not None:
            name_tiers([active], names)
        return render(self.request, "vip/card_issue.html", {
            "customer": customer, "form": form, "tier": tier,
            "tier_name": names.get(tier.tier, tier.tier) if tier else "",
            "active": active, "already": active is not None and tier is not None
            and active.tier == tier.tier,
            "next": back if self._safe_back(back) else ""}, status=status)


class _StatsMixin(StaffRequiredMixin):
    required_roles = svc.STATS_ROLES

    def month(self):
        """(month, form, errors) from ?month= (default: this month of the tenant)."""
        form = CardStatsForm(self.request.GET)
        if not form.is_valid():
            return None, form, [e for errs in form.errors.values() for e in errs]
        month = form.cleaned_data.get("month") or tenant_today(self.tenant).replace(day=1)
        return month, form, []


class CardStatsView(_StatsMixin, View):
    def get(self, request):
        month, form, errors = self.month()
        if month is None:
            return render(request, "vip/card_stats.html", {"form": form, "errors": errors,
                                                           **nav(self.staff)}, status=400)
        team = svc.stats_team(self.staff)
        stats = svc.card_stats(self.tenant, month, team=team)
        form = CardStatsForm(initial={"month": month})
        return render(request, "vip/card_stats.html", {
            "form": form, "stats": stats, "month": month, "one_team": team is not None,
            "export_url": reverse("vip:card_stats_export") + f"?month={month:%Y-%m}",
            **nav(self.staff)})


class CardStatsExportView(_StatsMixin, View):
    def get(self, request):
        month, form, errors = self.month()
        if month is None:
            return render(request, "vip/card_stats.html", {"form": form, "errors": errors,
                                                           **nav(self.staff)}, status=400)
        handle = tempfile.TemporaryFile()
        svc.card_stats_xlsx(self.tenant, month, handle, team=svc.stats_team(self.staff))
        handle.seek(0)
        response = FileResponse(handle, content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = attachment_disposition(
            svc.stats_filename(month), svc.stats_ascii_filename(month))
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response
