"""Reads about ownership shared by pages, the API and the other services."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django import forms
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import DateField, ExpressionWrapper, F, Func, IntegerField, Q, QuerySet, Value
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.identity import mask_name, mask_phone
from apps.customers.models import Customer, OwnershipChange
from apps.customers.selectors import search_customers, visible_customers
from apps.tenancy.models import Staff, Team, Tenant
from apps.tenancy.roles import Role

from .models import OwnershipPolicy, OwnershipShare, Visit
from .rules import DEFAULT_POLICY, PolicyRules, protection_end, warn_from


def tenant_today(tenant: Tenant, now: dt.datetime | None = None) -> dt.date:
    return local_date(tenant, now or timezone.now())


def local_date(tenant: Tenant, moment: dt.datetime | None) -> dt.date | None:
    if moment is None:
        return None
    return moment.astimezone(zoneinfo.ZoneInfo(tenant.time_zone)).date()


def local_midnight(tenant: Tenant, day: dt.date) -> dt.datetime:
    """The aware start of `day` in the tenant's time zone."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=zoneinfo.ZoneInfo(tenant.time_zone))


def policy_rules(row: OwnershipPolicy | None) -> PolicyRules:
    if row is None:
        return DEFAULT_POLICY
    return PolicyRules(
        version=row.version, effective_from=row.effective_from,
        release_after_days=row.release_after_days, revisit_window_days=row.revisit_window_days,
        warn_before_days=row.warn_before_days, max_customers_per_owner=row.max_customers_per_owner,
        daily_claim_cap=row.daily_claim_cap, reclaim_after_days=row.reclaim_after_days)


#: The tenant's policy versions are cached (the registration check reads the policy on every
#: keystroke); saving a version clears the entry (apps.ownership.apps, on save and on commit).
POLICY_CACHE_SECONDS = 300


def policy_cache_key(tenant_id: int) -> str:
    return f"ownership:policies:{tenant_id}"


def policy_for(tenant: Tenant, day: dt.date | None = None) -> PolicyRules:
    """The policy in force on `day` (default: today in the tenant's time zone): the version with
    the latest `effective_from` on or before it, else the defaults. Call inside the tenant's
    context."""
    day = day or tenant_today(tenant)
    key = policy_cache_key(tenant.pk)
    versions = cache.get(key)
    if versions is None:
        versions = [policy_rules(row).model_dump()
                    for row in OwnershipPolicy.objects.order_by("effective_from", "version")]
        cache.set(key, versions, POLICY_CACHE_SECONDS)
    in_force = [v for v in versions if v["effective_from"] <= day]
    return PolicyRules(**in_force[-1]) if in_force else DEFAULT_POLICY


# --------------------------------------------------------------------------- pool and lists
# Everything below is read by the pages and the API of the pool, the "about to be released"
# list, reassignment and the customer page's ownership section (one place, one rule).

#: Roles that see the "about to be released" list (their own, their team's, or all).
EXPIRING_ROLES = (Role.SALES, Role.MANAGER, Role.ADMIN)
#: Roles that may move customers between salespeople (managers: within their team).
REASSIGN_ROLES = (Role.MANAGER, Role.ADMIN)
PAGE_SIZE = 25


def policy_overview(tenant: Tenant, today: dt.date | None = None) -> dict:
    """What the policy page shows: the rules in force (defaults when no version exists yet),
    the row in force, the versions scheduled after today and the whole history, newest first."""
    today = today or tenant_today(tenant)
    rows = list(OwnershipPolicy.objects.select_related("created_by")
                .order_by("-effective_from", "-version"))
    current = next((r for r in rows if r.effective_from <= today), None)
    scheduled = sorted((r for r in rows if r.effective_from > today), key=lambda r: r.effective_from)
    return {"today": today, "rules": policy_rules(current), "current": current,
            "scheduled": scheduled, "history": rows}


def _owned_scope_q(staff: Staff) -> Q | None:
    """Whose customers `staff` watches for release: admin all (None), a manager their team's
    and their own, a salesperson their own; Q(pk__in=[]) for anyone else."""
    if staff.is_admin:
        return None
    q = Q(pk__in=[])
    if staff.is_manager:
        q |= Q(owner_id=staff.pk)
        if staff.team_id is not None:
            q |= Q(team_id=staff.team_id)
    if staff.has_role(Role.SALES):
        q |= Q(owner_id=staff.pk)
    return q


def watched_owners(staff: Staff) -> QuerySet:
    """The salespeople whose lists `staff` may filter by: all staff for an admin, the team
    for a manager, nobody for anyone else."""
    if staff.is_admin:
        return Staff.objects.all()
    if staff.is_manager and staff.team_id is not None:
        return Staff.objects.filter(team_id=staff.team_id)
    return Staff.objects.none()


def with_protection(queryset: QuerySet, tenant: Tenant, policy: PolicyRules,
                    today: dt.date) -> QuerySet:
    """Annotate `last_contact_day` (tenant time zone), `protection_end` (the last day the owner
    keeps the customer) and `days_left` (protection_end - today: 0 is the last protected day,
    negative means due for the next nightly release)."""
    tz = zoneinfo.ZoneInfo(tenant.time_zone)
    return queryset.annotate(
        last_contact_day=TruncDate("last_contact_at", tzinfo=tz),
    ).annotate(
        protection_end=ExpressionWrapper(F("last_contact_day") + Value(policy.release_after_days),
                                         output_field=DateField()),
    ).annotate(
        days_left=Func(F("protection_end"), Value(today, output_field=DateField()),
                       template="(%(expressions)s)", arg_joiner=" - ",
                       output_field=IntegerField()),
    )


def expiring_customers(staff: Staff, *, today: dt.date | None = None,
                       owner: Staff | None = None, policy: PolicyRules | None = None) -> QuerySet:
    """Owned customers whose protection ends within the policy's `warn_before_days` (or has
    already ended and the nightly job has not run yet), soonest first, with `protection_end`
    and `days_left` annotated (see `with_protection`).

    A salesperson sees their own, a manager their team's (and their own), an admin all;
    `owner` narrows to one salesperson (callers check it is one of `watched_owners`);
    `policy` saves reading the one in force on `today` again."""
    tenant = staff.tenant
    today = today or tenant_today(tenant)
    policy = policy or policy_for(tenant, today)
    # Protection ends on or before warn_from(today) <=> last contact day <= that - release days.
    last_day = warn_from(today, policy) - dt.timedelta(days=policy.release_after_days)
    queryset = Customer.objects.filter(owner__isnull=False,
                                       last_contact_at__lt=local_midnight(tenant, last_day
                                                                         + dt.timedelta(days=1)))
    q = _owned_scope_q(staff)
    if q is not None:
        queryset = queryset.filter(q)
    if owner is not None:
        queryset = queryset.filter(owner=owner)
    return (with_protection(queryset, tenant, policy, today)
            .select_related("owner", "team").order_by("last_contact_at", "id"))


class PoolFilterForm(forms.Form):
    """Filters of the pool list (query parameters); unknown values are field errors."""

    search = forms.CharField(label=_("Search"), required=False, max_length=50,
                             help_text=_("Name, mobile number, or its last four digits"))
    team = forms.ModelChoiceField(label=_("Team"), queryset=None, required=False,
                                  empty_label=_("Any team"))
    source = forms.ChoiceField(label=_("Source"), required=False,
                               choices=[("", _("Any source")), *Customer.Source.choices])

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        self.fields["team"].queryset = Team.objects.order_by("name")
        self.fields["team"].error_messages["invalid_choice"] = _("Unknown team.")


def pool_customers(staff: Staff, filters=None) -> QuerySet:
    """The public pool (customers without an owner), newest release first, searched (name,
    mobile number or its last four digits) and filtered by team and source. Raises
    ValidationError({filter: [messages]}) for unknown values.

    Every staff member sees the whole pool: it is there to be claimed. Who may read a pool
    customer's name and number in full is the visibility rule of the customers app (see
    `pool_rows`), so the pool never shows more than the customer page would."""
    data = {}
    for key in PoolFilterForm.base_fields:
        if filters and key in filters:
            value = filters.getlist(key)[-1] if hasattr(filters, "getlist") else filters[key]
            data[key] = "" if value is None else str(value).strip()
    form = PoolFilterForm(data)
    if not form.is_valid():
        raise ValidationError({k: list(v) for k, v in form.errors.items()})
    cleaned = form.cleaned_data
    queryset = search_customers(Customer.objects.filter(owner__isnull=True), cleaned["search"])
    if cleaned.get("team") is not None:
        queryset = queryset.filter(team=cleaned["team"])
    if cleaned.get("source"):
        queryset = queryset.filter(source=cleaned["source"])
    return queryset.select_related("team", "previous_owner").order_by("-released_at", "-id")


def pool_rows(staff: Staff, customers) -> list[Customer]:
    """The pool customers of one page, each with `display_name`, `display_phone` and
    `visible` (may `staff` open the customer's page).

    Decision: a pool customer's name and mobile number are shown in full only to someone who
    may see the customer anyway (apps.customers.selectors.visible_customers: admins, customer
    service and finance the whole tenant, a manager their team's); a salesperson sees 张* and
    139****5678 — enough to recognise a customer and to find them by the last four digits —
    and gets the full record by claiming it. The pool is not a way around the visibility rule."""
    customers = list(customers)
    visible = set(visible_customers(staff).filter(pk__in=[c.pk for c in customers])
                  .values_list("pk", flat=True)) if customers else set()
    for c in customers:
        c.visible = c.pk in visible
        c.display_name = c.name if c.visible else mask_name(c.name)
        c.display_phone = c.phone if c.visible else mask_phone(c.phone)
    return customers


def may_return_to_pool(staff: Staff, customer: Customer) -> bool:
    """The owner, the manager of the customer's team, or an admin (an owned customer)."""
    if customer.owner_id is None:
        return False
    if staff.is_admin or customer.owner_id == staff.pk:
        return True
    return staff.is_manager and staff.team_id is not None and customer.team_id == staff.team_id


def reassignable_owners(staff: Staff) -> QuerySet:
    """Whose customers `staff` may move: an admin anyone's, a manager their team members'."""
    if staff.is_admin:
        return Staff.objects.all()
    if staff.is_manager and staff.team_id is not None:
        return Staff.objects.filter(team_id=staff.team_id)
    return Staff.objects.none()


def reassign_targets(staff: Staff) -> QuerySet:
    """Who may receive customers: active salespeople (an admin's choice: the whole tenant;
    a manager's: their team)."""
    qs = Staff.objects.filter(active=True, roles__contains=[Role.SALES])
    if staff.is_admin:
        return qs
    if staff.is_manager and staff.team_id is not None:
        return qs.filter(team_id=staff.team_id)
    return qs.none()


def owned_customers(owner: Staff) -> QuerySet:
    return Customer.objects.filter(owner=owner).order_by("id")


def ownership_history(customer: Customer | int) -> QuerySet:
    """The customer's changes of owner, newest first, with who moved it."""
    pk = getattr(customer, "pk", customer)
    return (OwnershipChange.objects.filter(customer_id=pk)
            .select_related("from_owner", "to_owner", "actor").order_by("-at", "-id"))


def ownership_summary(customer: Customer, staff: Staff, *, today: dt.date | None = None) -> dict:
    """The customer page's ownership section: owner, since when, last effective contact,
    protection end and days left (owned customers), in the pool since and the previous owner,
    the active credit shares, the latest visits and the history of owners (newest first)."""
    tenant = staff.tenant
    today = today or tenant_today(tenant)
    policy = policy_for(tenant, today)
    last_day = local_date(tenant, customer.last_contact_at)
    end = protection_end(last_day, policy) if customer.owner_id and last_day else None
    shares = list(OwnershipShare.objects.filter(customer=customer, active=True)
                  .select_related("staff").order_by("-percent", "id"))
    visits = list(Visit.objects.filter(customer=customer)
                  .select_related("attributed_to", "received_by").order_by("-at", "-id")[:5])
    return {
        "owner": customer.owner if customer.owner_id else None,
        "owned_since": customer.owned_since,
        "last_contact_at": customer.last_contact_at,
        "last_visit_at": customer.last_visit_at,
        "protection_end": end,
        "days_left": (end - today).days if end else None,
        "in_pool": customer.owner_id is None,
        "released_at": customer.released_at if customer.owner_id is None else None,
        "previous_owner": customer.previous_owner,
        "shares": shares,
        "visits": visits,
        "history": list(ownership_history(customer)[:50]),
        "policy": policy,
        "can_return": may_return_to_pool(staff, customer),
    }
