"""Reads of the renewals pages and API: the renewal policy, contracts expiring soon, the
reminders of a contract and the renewal rate per month and team."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Func, IntegerField, Q, QuerySet, Value
from django.db.models.fields import DateField
from django.db.models.functions import ExtractMonth
from django.utils.translation import gettext as _

from apps.deals.contracts import visible_contracts
from apps.deals.models import Contract
from apps.ownership.selectors import tenant_today
from apps.tenancy.models import Staff, Team, Tenant
from apps.tenancy.roles import Role

from .models import RenewalPolicy, RenewalReminder, default_lead_days

#: Who sees the "expiring soon" list and the contracts (their own, their team's, or all).
EXPIRING_ROLES = (Role.SALES, Role.MANAGER, Role.ADMIN, Role.CUSTOMER_SERVICE, Role.FINANCE)
#: Who sees the renewal policy (administrators change it).
POLICY_ROLES = (Role.ADMIN, Role.MANAGER)
#: Who sees renewal rates: managers their team, administrators and finance every team.
RATE_ROLES = (Role.ADMIN, Role.FINANCE, Role.MANAGER)
PAGE_SIZE = 25
MAX_WITHIN_DAYS = 365


# --------------------------------------------------------------------------- policy

def renewal_policy(tenant: Tenant) -> RenewalPolicy | None:
    """The tenant's policy row (None until an administrator saves one: the defaults apply)."""
    return RenewalPolicy.objects.select_related("updated_by").first()


#: The lead days are cached (the home panel reads them on every visit); saving the policy
#: clears the entry once its transaction commits (services.renewal_policy_update).
LEAD_DAYS_CACHE_SECONDS = 300


def lead_days_cache_key(tenant_id: int) -> str:
    return f"renewals:lead_days:{tenant_id}"


def lead_days_for(tenant: Tenant) -> list[int]:
    """The tenant's reminder lead days, largest first (default [30, 7]). Call inside the
    tenant's context."""
    key = lead_days_cache_key(tenant.pk)
    days = cache.get(key)
    if days is None:
        row = RenewalPolicy.objects.values_list("lead_days", flat=True).first()
        days = sorted(row if row else default_lead_days(), reverse=True)
        cache.set(key, days, LEAD_DAYS_CACHE_SECONDS)
    return list(days)


def reminder_windows(lead_days: list[int]) -> list[tuple[int, int]]:
    """[(lead, low)]: the lead-L reminder is due while the days left until the end are in
    [low, L], low being the next smaller lead day + 1 (0 for the smallest). [30, 7] ->
    [(7, 0), (30, 8)]: a contract 20 days from its end gets the 30-day reminder (late, if the
    job missed day 30), one 5 days from its end the 7-day one only."""
    leads = sorted(set(lead_days))
    return [(lead, leads[i - 1] + 1 if i else 0) for i, lead in enumerate(leads)]


# --------------------------------------------------------------------------- expiring soon

def with_days_left(queryset: QuerySet, today: dt.date) -> QuerySet:
    """Annotate `days_left` = end - today (0: ends today)."""
    return queryset.annotate(days_left=Func(
        F("end"), Value(today, output_field=DateField()), template="(%(expressions)s)",
        arg_joiner=" - ", output_field=IntegerField()))


def contracts_expiring(staff: Staff, *, today: dt.date | None = None,
                       within_days: int | None = None, team: Team | None = None,
                       owner: Staff | None = None) -> QuerySet:
    """Contracts not yet renewed whose end is between today and `within_days` days from today
    (tenant time zone; default the largest lead day of the renewal policy), soonest first,
    with `days_left` annotated and customer/owner/team joined.

    A salesperson sees their own, a manager their team's (and their own), administrators,
    customer service and finance all (`apps.deals.contracts.visible_contracts`); `team` and
    `owner` narrow further (callers check they are among `filter_teams`/`filter_owners`)."""
    tenant = staff.tenant
    today = today or tenant_today(tenant)
    if within_days is None:
        within_days = lead_days_for(tenant)[0]
    queryset = visible_contracts(staff).filter(
        renewed_by__isnull=True, end__gte=today, end__lte=today + dt.timedelta(days=within_days))
    if team is not None:
        queryset = queryset.filter(team=team)
    if owner is not None:
        queryset = queryset.filter(owner=owner)
    return (with_days_left(queryset, today).select_related("customer", "owner", "team")
            .order_by("end", "id"))


def sees_all_contracts(staff: Staff) -> bool:
    return staff.has_role(Role.ADMIN, Role.CUSTOMER_SERVICE, Role.FINANCE)


def filter_teams(staff: Staff) -> QuerySet:
    """Teams `staff` may filter contract lists by: all for those who see all, a manager's own."""
    if sees_all_contracts(staff):
        return Team.objects.all()
    if staff.is_manager and staff.team_id is not None:
        return Team.objects.filter(pk=staff.team_id)
    return Team.objects.none()


def filter_owners(staff: Staff) -> QuerySet:
    """Salespeople `staff` may filter contract lists by: everyone for those who see all, a
    manager's team; nobody for a salesperson (they see their own only)."""
    if sees_all_contracts(staff):
        return Staff.objects.all()
    if staff.is_manager and staff.team_id is not None:
        return Staff.objects.filter(team_id=staff.team_id)
    return Staff.objects.none()


def contract_reminders(contract: Contract) -> QuerySet:
    """The renewal reminders sent for a contract, newest first."""
    return RenewalReminder.objects.filter(contract=contract).order_by("-sent_at", "-id")


# --------------------------------------------------------------------------- renewal rate

@dataclass(frozen=True)
class RateRow:
    """Contracts ending in a month for one team (team None: no team; in `rate_totals` None
    means every team), how many of them were renewed, and the rate in % (None: none ended)."""

    year: int
    month: int
    team_id: int | None
    team_name: str
    expiring: int
    renewed: int

    @property
    def rate(self) -> Decimal | None:
        return percent(self.renewed, self.expiring)


def percent(part: int, whole: int) -> Decimal | None:
    """part / whole in %, one decimal, rounded half up; None when whole is 0."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def rate_scope_team(staff: Staff, team: Team | None) -> tuple[bool, Team | None]:
    """(sees anything, the team to narrow to). Sales and customer service: PermissionDenied;
    a manager always their own team (another team: PermissionDenied; no team: nothing)."""
    if staff.has_role(Role.ADMIN, Role.FINANCE):
        return True, team
    if not staff.is_manager:
        raise PermissionDenied(_("Only managers, finance and administrators see renewal rates."))
    if team is not None and team.pk != staff.team_id:
        raise PermissionDenied(_("Managers see the renewal rate of their own team only."))
    if staff.team_id is None:
        return False, None
    return True, staff.team


def renewal_rate(staff: Staff, *, year: int, month: int | None = None,
                 team: Team | None = None) -> list[RateRow]:
    """The renewal rate per month and team: among the contracts whose end falls in the month
    (`end`, a calendar date), how many have been renewed (`renewed_by` set, whenever the
    renewal was signed -- before or after the end -- up to the moment of the report).

    Teams are the contracts' teams (the deal's team at signing). One row per month and team
    that has contracts ending, ordered by month then team name (no team last); `month` narrows
    to one month, `team` to one team. Managers see their own team only (PermissionDenied for
    another), administrators and finance every team; anyone else PermissionDenied. One query."""
    sees, team = rate_scope_team(staff, team)
    if not sees:
        return []
    queryset = Contract.objects.filter(end__year=year)
    if month is not None:
        queryset = queryset.filter(end__month=month)
    if team is not None:
        queryset = queryset.filter(team=team)
    rows = (queryset.annotate(month=ExtractMonth("end"))
            .values("month", "team_id", "team__name")
            .annotate(expiring=Count("id"), renewed=Count("id", filter=Q(renewed_by__isnull=False)))
            .order_by("month", F("team__name").asc(nulls_last=True), "team_id"))
    return [RateRow(year=year, month=r["month"], team_id=r["team_id"],
                    team_name=r["team__name"] or "", expiring=r["expiring"],
                    renewed=r["renewed"]) for r in rows]


def rate_totals(rows: list[RateRow]) -> list[RateRow]:
    """One row per month over every team of `rows` (team_id None, team_name "")."""
    by_month: dict[tuple[int, int], list[int]] = {}
    for row in rows:
        acc = by_month.setdefault((row.year, row.month), [0, 0])
        acc[0] += row.expiring
        acc[1] += row.renewed
    return [RateRow(year=y, month=m, team_id=None, team_name="", expiring=e, renewed=r)
            for (y, m), (e, r) in sorted(by_month.items())]
