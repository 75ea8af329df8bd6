"""Reads of deals that the pages, the API and the services share."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from apps.core.filters import clean_filter_form
from apps.core.identity import normalize_phone
from apps.ownership.models import OwnershipShare
from apps.tenancy.models import Staff, Team
from apps.tenancy.roles import Role

from .models import Deal, DealCredit, DealParticipant, Refund

#: Who may enter deals (a salesperson only for the customers they may change).
CREATE_ROLES = (Role.ADMIN, Role.MANAGER, Role.SALES)
#: Who may see deals at all (customer service may not: deals are money).
READ_ROLES = (Role.ADMIN, Role.MANAGER, Role.SALES, Role.FINANCE)
#: Who may refund (a manager only the deals of their team). Not finance: DOMAIN.md §1 keeps
#: finance read-only apart from the month's close, its exports and the paid marks.
REFUND_ROLES = (Role.ADMIN, Role.MANAGER)

ZERO = Decimal("0.00")


# --------------------------------------------------------------------------- who sees what


def _took_part(staff: Staff) -> Q:
    """The deals `staff` took part in, earned credit on, or that are of a customer they own."""
    participated = Exists(DealParticipant.objects.filter(deal=OuterRef("pk"), staff_id=staff.pk))
    credited = Exists(DealCredit.objects.filter(deal=OuterRef("pk"), staff_id=staff.pk,
                                                refund__isnull=True))
    return participated | credited | Q(customer__owner_id=staff.pk)


def visible_deals(staff: Staff, queryset: QuerySet | None = None) -> QuerySet:
    """The deals `staff` may see, inside the tenant in context.

    * administrators and finance: every deal of the tenant;
    * a manager: the deals of their team (the customer's team at signing), plus their own;
    * a salesperson: the deals they took part in or earned credit on, and the deals of the
      customers they own;
    * customer service and anyone else: none.

    A person with several roles sees the union. A deal outside this set answers 404, like
    one of another tenant."""
    queryset = Deal.objects.all() if queryset is None else queryset
    roles = set(staff.roles)
    if Role.ADMIN in roles or Role.FINANCE in roles:
        return queryset
    if not roles & {Role.MANAGER, Role.SALES}:
        return queryset.none()
    q = _took_part(staff)
    if Role.MANAGER in roles and staff.team_id is not None:
        q |= Q(team_id=staff.team_id)
    return queryset.filter(q)


def can_read_deals(staff: Staff) -> bool:
    return staff.has_role(*READ_ROLES)


def can_create_deals(staff: Staff) -> bool:
    return staff.has_role(*CREATE_ROLES)


def can_refund(staff: Staff, deal: Deal) -> bool:
    """Administrators any deal; a manager the deals of their own team."""
    if staff.has_role(Role.ADMIN):
        return True
    return bool(staff.is_manager and staff.team_id is not None and deal.team_id == staff.team_id)


def can_edit_notes(staff: Staff, deal: Deal) -> bool:
    """Who may change a deal's notes (the only thing of a deal that changes): whoever may
    enter deals and sees this one (the caller has checked visibility)."""
    return can_create_deals(staff)


def remaining(deal: Deal) -> Decimal:
    """What may still be refunded."""
    return deal.amount - deal.refunded_amount


# --------------------------------------------------------------------------- list and filters


class DealFilterForm(forms.Form):
    """Validates list filters (query parameters). Unknown values are field errors."""

    search = forms.CharField(label=_("Search"), required=False, max_length=50,
                             help_text=_("Contract number, customer name or mobile number"))
    kind = forms.ChoiceField(label=_("Kind"), required=False,
                             choices=[("", _("Any kind")), *Deal.Kind.choices])
    team = forms.ModelChoiceField(label=_("Team"), queryset=None, required=False)
    participant = forms.ModelChoiceField(label=_("Participant"), queryset=None, required=False)
    date_from = forms.DateField(label=_("Signed from"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    date_to = forms.DateField(label=_("Signed until"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        # Querysets are built here, with the tenant in context (never at import time).
        self.fields["team"].queryset = Team.objects.all()
        self.fields["participant"].queryset = Staff.objects.all()
        self.fields["team"].error_messages["invalid_choice"] = _("Unknown team.")
        self.fields["participant"].error_messages["invalid_choice"] = _("Unknown staff member.")

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end of the range cannot be before its start."))
        return cleaned


def clean_filters(filters: Mapping | None) -> dict:
    """Validated filters; raises ValidationError({field: [messages]}) on unknown values."""
    return clean_filter_form(DealFilterForm, filters)


def search_deals(queryset: QuerySet, term: str) -> QuerySet:
    """A mobile number: that customer's deals (or that contract number); four digits: the
    phone's last four or a contract number containing them; anything else: part of the
    contract number or of the customer's name."""
    term = (term or "").strip()
    if not term:
        return queryset
    try:
        phone = normalize_phone(term)
    except ValidationError:
        phone = None
    if phone is not None:
        return queryset.filter(Q(customer__phone=phone) | Q(contract_number=term))
    if len(term) == 4 and term.isdigit():
        return queryset.filter(Q(customer__phone_last4=term) | Q(contract_number__icontains=term))
    return queryset.filter(Q(contract_number__icontains=term) | Q(customer__name__icontains=term))


def deal_list(staff: Staff, filters: Mapping | None = None,
              queryset: QuerySet | None = None) -> QuerySet:
    """The deals `staff` sees, searched and filtered, newest signing first (customer, team and
    owner joined; participants with their staff and role prefetched).

    `filters` is a mapping (a QueryDict is fine) with any of: search, kind, team (team id),
    participant (staff id), date_from, date_to (signing dates, both included). An unknown
    value raises ValidationError keyed by the filter's name."""
    cleaned = clean_filters(filters)
    queryset = visible_deals(staff, queryset)
    queryset = search_deals(queryset, cleaned.get("search", ""))
    if cleaned.get("kind"):
        queryset = queryset.filter(kind=cleaned["kind"])
    if cleaned.get("team") is not None:
        queryset = queryset.filter(team=cleaned["team"])
    if cleaned.get("participant") is not None:
        queryset = queryset.filter(Exists(DealParticipant.objects.filter(
            deal=OuterRef("pk"), staff=cleaned["participant"])))
    if cleaned.get("date_from"):
        queryset = queryset.filter(signed_on__gte=cleaned["date_from"])
    if cleaned.get("date_to"):
        queryset = queryset.filter(signed_on__lte=cleaned["date_to"])
    return (queryset.select_related("customer", "team", "owner")
            .prefetch_related(participants_prefetch())
            .order_by("-signed_on", "-id"))


def participants_prefetch() -> Prefetch:
    return Prefetch("participants",
                    queryset=DealParticipant.objects.select_related("staff", "role")
                    .order_by("role__order", "id"))


def credits_prefetch() -> Prefetch:
    return Prefetch("credits",
                    queryset=DealCredit.objects.select_related("staff")
                    .order_by("refund_id", "id"))


def refunds_prefetch() -> Prefetch:
    return Prefetch("refunds",
                    queryset=Refund.objects.select_related("created_by").order_by("refunded_on", "id"))


def deal_detail_queryset(staff: Staff, queryset: QuerySet | None = None) -> QuerySet:
    """Visible deals with everything the detail page and the API's detail show."""
    return (visible_deals(staff, queryset)
            .select_related("customer", "team", "owner", "created_by", "contract",
                            "renews")
            .prefetch_related(participants_prefetch(), credits_prefetch(), refunds_prefetch()))


# --------------------------------------------------------------------------- who gets what


def credit_summary(deal: Deal) -> dict:
    """Who gets what of `deal` and why, from its (prefetched) credit lines.

    Returns {"shares": [original lines], "refunds": [{"refund", "lines": [reversal lines]}]
    (oldest first), "net": [{"staff", "confiscated", "role_code", "amount", "original",
    "reversed"}] (one row per person, the confiscated credit as one row), "total": the sum of
    the net amounts (= the deal's amount minus what was refunded)}."""
    lines = list(deal.credits.all())
    shares = [c for c in lines if c.refund_id is None]
    by_refund: dict[int, list[DealCredit]] = {}
    for line in lines:
        if line.refund_id is not None:
            by_refund.setdefault(line.refund_id, []).append(line)
    refunds = [{"refund": r, "lines": by_refund.get(r.pk, [])} for r in deal.refunds.all()]
    net: OrderedDict = OrderedDict()
    for line in shares + [c for c in lines if c.refund_id is not None]:
        key = ("confiscated",) if line.confiscated else ("staff", line.staff_id)
        row = net.setdefault(key, {"staff": line.staff, "confiscated": line.confiscated,
                                   "role_codes": [], "original": ZERO, "reversed": ZERO})
        if line.refund_id is None:
            row["original"] += line.amount
            if line.role_code and line.role_code not in row["role_codes"]:
                row["role_codes"].append(line.role_code)
        else:
            row["reversed"] += line.amount
    rows = []
    for row in net.values():
        row["amount"] = row["original"] + row["reversed"]
        rows.append(row)
    return {"shares": shares, "refunds": refunds, "net": rows,
            "total": sum((r["amount"] for r in rows), ZERO)}


def net_credit(deal: Deal) -> dict[int | None, Decimal]:
    """{staff id (None: confiscated): net credit} of a deal, read from the database."""
    out: dict[int | None, Decimal] = {}
    for staff_id, amount in DealCredit.objects.filter(deal=deal).values_list("staff_id", "amount"):
        out[staff_id] = out.get(staff_id, ZERO) + amount
    return out


def deal_dispute_id(deal: Deal) -> int | None:
    """The dispute whose decided shares split `deal` (source "dispute"): the latest decision
    about the customer made before the deal was entered. None for a rule split."""
    first = next((c for c in deal.credits.all() if c.refund_id is None), None)
    if first is None or first.source != DealCredit.Source.DISPUTE:
        return None
    return (OwnershipShare.objects.filter(customer_id=deal.customer_id,
                                          created_at__lte=first.created_at,
                                          dispute_id__isnull=False)
            .order_by("-created_at", "-id").values_list("dispute_id", flat=True).first())


def customer_deals_summary(customer, staff: Staff, *, limit: int = 10) -> dict:
    """The customer page's "Deals and contracts" section: the latest deals and contracts of the
    customer that `staff` may see (two queries), and whether they may enter a deal for them."""
    from .contracts import visible_contracts

    if not staff.has_role(*READ_ROLES):
        return {"visible": False}
    deals = list(visible_deals(staff, Deal.objects.filter(customer=customer))
                 .order_by("-signed_on", "-id")[:limit])
    contracts = list(visible_contracts(staff).filter(customer=customer)
                     .select_related("renewed_by").order_by("-start", "-id")[:limit])
    return {"visible": True, "deals": deals, "contracts": contracts,
            "can_create": can_create_deals(staff)}
