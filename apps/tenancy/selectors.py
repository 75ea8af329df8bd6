"""Reads shared by the tenancy pages and API: sign-in checks, staff lists, home-page panels.

Everything here runs inside the caller's tenant context (the request's), except
`active_membership`, which is what finds the tenant in the first place."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from .context import set_db_user
from .models import Staff, Team
from .roles import Role

LOGIN_ERRORS = {
    "invalid_login": _("The username or password is wrong. Both are case-sensitive."),
    "inactive": _("This account has been deactivated. Ask your company's administrator."),
    "no_membership": _("This account is not an active member of any company (it or its company "
                       "has been deactivated). Ask your company's administrator."),
}


def active_membership(user) -> Staff | None:
    """The user's active Staff row in an active tenant, or None. Call inside a transaction.

    No tenant is known yet: row-level security lets the user read their own Staff row once
    `app.user_id` is set. Only the (global) tenant row is joined; anything tenant-owned joined
    here would be hidden, so `staff.team` loads lazily once the tenant is entered."""
    set_db_user(user.pk)
    return (Staff.unscoped_objects.select_related("tenant")
            .filter(user_id=user.pk, active=True, tenant__active=True).first())


def authenticate_member(request, *, username: str, password: str) -> Staff:
    """Check a username and password and that the login may work; return the membership.

    Raises ValidationError with code `invalid_login`, `inactive` or `no_membership`. A correct
    password for a deactivated account gets the clear "deactivated" message; a wrong one never
    tells whether the account exists."""
    user = authenticate(request, username=username, password=password)
    if user is None:
        user_model = get_user_model()
        try:
            known = user_model._default_manager.get_by_natural_key(username)
        except user_model.DoesNotExist:
            known = None
        if known is not None and not known.is_active and known.check_password(password):
            raise ValidationError(LOGIN_ERRORS["inactive"], code="inactive")
        raise ValidationError(LOGIN_ERRORS["invalid_login"], code="invalid_login")
    staff = active_membership(user)
    if staff is None:
        raise ValidationError(LOGIN_ERRORS["no_membership"], code="no_membership")
    staff.user = user  # authenticate()'s instance: it names the backend login() must record
    return staff


# --------------------------------------------------------------------------- teams and staff

def team_list() -> QuerySet[Team]:
    return Team.objects.annotate(
        active_members=Count("members", filter=Q(members__active=True)),
    ).order_by("-active", "name")


def team_choices(*, include: Team | None = None) -> QuerySet[Team]:
    """Teams a member may be put in: the tenant's active teams (plus the current one)."""
    condition = Q(active=True)
    if include is not None:
        condition |= Q(pk=include.pk)
    return Team.objects.filter(condition).order_by("name")


NO_TEAM = "none"


def staff_list(*, team: str = "", role: str = "", active: str = "active",
               q: str = "") -> QuerySet[Staff]:
    """The tenant's staff, filtered. `team` is a team id or NO_TEAM; `active` is
    'active', 'inactive' or 'all'; `q` matches name, username or phone."""
    qs = Staff.objects.select_related("team", "user")
    if team == NO_TEAM:
        qs = qs.filter(team__isnull=True)
    elif team:
        qs = qs.filter(team_id=team)
    if role:
        qs = qs.filter(roles__contains=[role])
    if active == "active":
        qs = qs.filter(active=True)
    elif active == "inactive":
        qs = qs.filter(active=False)
    q = q.strip()
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(user__username__icontains=q) | Q(phone__contains=q))
    return qs.order_by("-active", "name", "pk")


# --------------------------------------------------------------------------- home page

def home_panels(staff: Staff) -> dict:
    """What the home page shows `staff`, one entry per panel their roles give them."""
    from apps.customers.models import Customer

    panels: dict = {}
    if staff.has_role(Role.SALES):
        mine = Customer.objects.filter(owner=staff)
        panels["sales"] = {
            "count": mine.count(),
            "latest": list(mine.order_by("-created_at", "-id")[:10]),
        }
    if staff.has_role(Role.MANAGER, Role.ADMIN):
        panels["teams"] = _team_panel(staff)
    if staff.has_role(Role.CUSTOMER_SERVICE, Role.FINANCE):
        total = Customer.objects.count()
        if staff.has_role(Role.CUSTOMER_SERVICE):
            panels["customer_service"] = {"customers": total}
        if staff.has_role(Role.FINANCE):
            panels["finance"] = {"customers": total}
    if staff.has_role(Role.ADMIN):
        panels["admin"] = {
            **Staff.objects.aggregate(staff_active=Count("pk", filter=Q(active=True)),
                                      staff_inactive=Count("pk", filter=Q(active=False))),
            **Team.objects.aggregate(teams_active=Count("pk", filter=Q(active=True)),
                                     teams_inactive=Count("pk", filter=Q(active=False))),
        }
    return panels


def app_home_panels(staff: Staff) -> list[dict]:
    """The home-page panels other apps contribute (settings.HOME_PANELS: dotted paths of
    `provider(staff) -> dict | None`; a dict has "template" plus that template's context)."""
    panels = []
    for path in settings.HOME_PANELS:
        panel = import_string(path)(staff)
        if panel:
            panels.append(panel)
    return panels


def _team_panel(staff: Staff) -> dict:
    """The latest nightly counts of an admin (all teams) or a manager (their own team):
    {"day", "rows": [{"team", "customers"}], "scope": "all"|"team"|"none" (manager, no team)}."""
    from apps.customers.selectors import team_customer_counts

    scope = "all" if staff.is_admin else "team" if staff.team_id is not None else "none"
    rows = team_customer_counts(staff)
    return {
        "day": rows[0].day if rows else None,
        "rows": [{"team": str(r.team) if r.team else str(_("No team")), "customers": r.customers}
                 for r in rows],
        "scope": scope,
    }
