"""Reads of customers that views, the API, services and the admin share."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _

from apps.core.filters import clean_filter_form
from apps.core.identity import mask_name, normalize_phone
from apps.tenancy.models import Staff, Team
from apps.tenancy.roles import Role

from .models import Customer, CustomerRelation, TeamCustomerCount

#: Roles that may register and change customers (finance is read-only).
WRITE_ROLES = (Role.ADMIN, Role.MANAGER, Role.SALES, Role.CUSTOMER_SERVICE)

ORDERINGS = {
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "created_at": ("created_at", "id"),
    "-created_at": ("-created_at", "-id"),
}


def _visibility_q(staff: Staff, *, for_write: bool) -> Q | None:
    """The filter of the visibility rule; None means "the whole tenant"; Q(pk__in=[]) nothing."""
    roles = set(staff.roles)
    if Role.ADMIN in roles or Role.CUSTOMER_SERVICE in roles:
        return None
    if Role.FINANCE in roles and not for_write:
        return None
    q = Q(pk__in=[])
    if Role.MANAGER in roles:
        q |= Q(owner_id=staff.pk)
        if staff.team_id is not None:
            q |= Q(team_id=staff.team_id)
    if Role.SALES in roles:
        q |= Q(owner_id=staff.pk)
    return q


def visible_customers(staff: Staff, queryset: QuerySet | None = None, *,
                      team: Team | None = None) -> QuerySet:
    """The customers `staff` may see, inside the tenant in context.

    Visibility rule (a person with several roles sees the union of what each role sees):

    * administrator, customer service and finance: every customer of the tenant
      (finance only reads: it can neither register nor change customers);
    * manager: the customers whose team is the manager's team, plus the customers the manager
      owns (a manager without a team sees only their own);
    * sales: the customers they own;
    * any other staff member: none.

    Everything else about a customer (detail page, edit, relations, API) starts from this set:
    a customer of the same tenant outside it answers 404, exactly as one of another tenant.

    `team` narrows the set to one team's customers. For the manager of that team the rule
    then adds no condition: `team = X AND (owner = me OR team = X)` means the same as
    `team = X`, but PostgreSQL cannot see it, underestimates the rows by far and picks a slow
    plan for the team's list.
    """
    queryset = Customer.objects.all() if queryset is None else queryset
    if team is not None:
        queryset = queryset.filter(team=team)
        if staff.is_manager and staff.team_id == team.pk:
            return queryset
    q = _visibility_q(staff, for_write=False)
    return queryset if q is None else queryset.filter(q)


def editable_customers(staff: Staff, queryset: QuerySet | None = None) -> QuerySet:
    """The customers `staff` may change: the visibility rule without the finance role."""
    queryset = Customer.objects.all() if queryset is None else queryset
    q = _visibility_q(staff, for_write=True)
    return queryset if q is None else queryset.filter(q)


def can_write_customers(staff: Staff) -> bool:
    return staff.has_role(*WRITE_ROLES)


def can_see_full_id_number(staff: Staff | None) -> bool:
    """Only tenant administrators see resident ID numbers unmasked."""
    return staff is not None and staff.is_admin


def assignable_owners(staff: Staff) -> QuerySet:
    """Whom `staff` may make the owner of a customer: admin anyone active in the tenant,
    a manager the active members of their team; sales and customer service nobody else."""
    qs = Staff.objects.filter(active=True)
    if staff.is_admin:
        return qs
    if staff.is_manager and staff.team_id is not None:
        return qs.filter(team_id=staff.team_id)
    return qs.none()


def assignable_teams(staff: Staff) -> QuerySet:
    """Which team `staff` may put a customer in: admin any active team, a manager their own."""
    qs = Team.objects.filter(active=True)
    if staff.is_admin:
        return qs
    if staff.is_manager and staff.team_id is not None:
        return qs.filter(pk=staff.team_id)
    return qs.none()


class CustomerFilterForm(forms.Form):
    """Validates list filters (query parameters). Unknown values are field errors."""

    search = forms.CharField(label=_("Search"), required=False, max_length=50,
                             help_text=_("Name, mobile number, or its last four digits"))
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=None, required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=None, required=False)
    source = forms.ChoiceField(label=_("Source"), required=False,
                               choices=[("", _("Any source")), *Customer.Source.choices])
    grade = forms.ChoiceField(label=_("Grade"), required=False,
                              choices=[("", _("Any grade")),
                                       *[c for c in Customer.Grade.choices if c[0]]])
    tag = forms.CharField(label=_("Tag"), required=False, max_length=20)
    ordering = forms.ChoiceField(label=_("Order by"), required=False, choices=[
        ("-created_at", _("Newest first")), ("created_at", _("Oldest first")),
        ("name", _("Name A–Z")), ("-name", _("Name Z–A"))])

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        # Querysets are built here, with the tenant in context (never at import time).
        self.fields["owner"].queryset = Staff.objects.all()
        self.fields["team"].queryset = Team.objects.all()
        self.fields["owner"].error_messages["invalid_choice"] = _("Unknown staff member.")
        self.fields["team"].error_messages["invalid_choice"] = _("Unknown team.")


def clean_filters(filters: Mapping | None) -> dict:
    """Validated filters; raises ValidationError({field: [messages]}) on unknown values."""
    return clean_filter_form(CustomerFilterForm, filters)


def search_customers(queryset: QuerySet, term: str) -> QuerySet:
    """4 digits: the phone's last four; a valid mobile: that phone; otherwise the name."""
    term = (term or "").strip()
    if not term:
        return queryset
    if len(term) == 4 and term.isdigit():
        return queryset.filter(phone_last4=term)
    try:
        phone = normalize_phone(term)
    except ValidationError:
        return queryset.filter(name__icontains=term)
    return queryset.filter(phone=phone)


def _apply_filters(queryset: QuerySet, cleaned: dict) -> QuerySet:
    queryset = search_customers(queryset, cleaned.get("search", ""))
    if cleaned.get("owner") is not None:
        queryset = queryset.filter(owner=cleaned["owner"])
    if cleaned.get("source"):
        queryset = queryset.filter(source=cleaned["source"])
    if cleaned.get("grade"):
        queryset = queryset.filter(grade=cleaned["grade"])
    if cleaned.get("tag"):
        queryset = queryset.filter(tags__contains=[cleaned["tag"]])
    ordering = ORDERINGS.get(cleaned.get("ordering") or "-created_at")
    return queryset.order_by(*ordering)


def customer_list(staff: Staff, filters: Mapping | None = None,
                  queryset: QuerySet | None = None) -> QuerySet:
    """The customers `staff` sees, searched, filtered and ordered (owner and team joined).

    `filters` is a mapping (a QueryDict is fine) with any of: search, owner (staff id),
    team (team id), source, grade, tag, ordering (name, -name, created_at, -created_at).
    An unknown value raises ValidationError keyed by the filter's name. `queryset` is the
    tenant-scoped starting point (the base view's); the visibility rule is applied here."""
    cleaned = clean_filters(filters)
    queryset = visible_customers(staff, queryset, team=cleaned.get("team"))
    return _apply_filters(queryset, cleaned).select_related("owner", "team")


def relations_of(customer: Customer) -> QuerySet:
    """The relations recorded on `customer` or on another customer about them."""
    return CustomerRelation.objects.filter(Q(customer_id=customer.pk) | Q(related_id=customer.pk))


def customer_relations(customer: Customer, staff: Staff) -> list[dict]:
    """Both directions of a customer's relations, each described from `customer`'s side.

    Each row: relation, other (the other Customer), kind (what the other person is to this
    customer), kind_label, direction (outgoing: recorded on this customer), visible (may
    `staff` see the other customer) and display_name (masked when not visible)."""
    rows = []
    outgoing = (CustomerRelation.objects.filter(customer=customer)
                .select_related("related").order_by("created_at", "id"))
    for rel in outgoing:
        # "customer is the <kind> of related": the related person is the inverse to customer.
        rows.append({"relation": rel, "other": rel.related, "direction": "outgoing",
                     "kind": CustomerRelation.INVERSE[rel.kind]})
    incoming = (CustomerRelation.objects.filter(related=customer)
                .select_related("customer").order_by("created_at", "id"))
    for rel in incoming:
        rows.append({"relation": rel, "other": rel.customer, "direction": "incoming",
                     "kind": rel.kind})
    rows.sort(key=lambda r: (r["relation"].created_at, r["relation"].pk))
    labels = dict(CustomerRelation.Kind.choices)
    visible = set(visible_customers(staff).filter(pk__in=[r["other"].pk for r in rows])
                  .values_list("pk", flat=True)) if rows else set()
    for row in rows:
        row["kind_label"] = labels[row["kind"]]
        row["visible"] = row["other"].pk in visible
        row["display_name"] = row["other"].name if row["visible"] else mask_name(row["other"].name)
    return rows


def team_customer_counts(staff: Staff) -> list[TeamCustomerCount]:
    """The latest nightly snapshot (one query): every team (and unassigned, team None) for
    admins, the manager's own team for managers, nothing for anyone else."""
    if staff.is_admin:
        qs = TeamCustomerCount.objects.all()
    elif staff.is_manager and staff.team_id is not None:
        qs = TeamCustomerCount.objects.filter(team_id=staff.team_id)
    else:
        return []
    latest_day = Subquery(qs.order_by("-day").values("day")[:1])
    return list(qs.filter(day=latest_day).select_related("team").order_by("team__name", "id"))
