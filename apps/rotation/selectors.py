"""Reads of the walk-in rotation that the board page, the API and the services share."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from apps.core.identity import mask_name, normalize_phone
from apps.customers.models import Customer
from apps.customers.selectors import visible_customers
from apps.ownership.models import Visit
from apps.ownership.selectors import local_midnight
from apps.tenancy.models import Staff, Team, Tenant
from apps.tenancy.roles import Role

from . import rules
from .models import DutySignIn

#: Who may open the board and record walk-ins (the receptionist on duty is a salesperson).
BOARD_ROLES = (Role.ADMIN, Role.MANAGER, Role.SALES)
WALK_IN_ROLES = BOARD_ROLES


def board_teams(staff: Staff) -> QuerySet:
    """The teams whose board `staff` may open: admins every active team, managers and sales
    their own team (the board shows the team's walk-ins, i.e. its customers)."""
    teams = Team.objects.filter(active=True).order_by("name", "pk")
    if staff.is_admin:
        return teams
    if staff.has_role(Role.MANAGER, Role.SALES) and staff.team_id is not None:
        return teams.filter(pk=staff.team_id)
    return teams.none()


def may_view_board(staff: Staff, team: Team) -> bool:
    return staff.is_admin or (staff.has_role(Role.MANAGER, Role.SALES)
                              and staff.team_id == team.pk)


def resolve_team(staff: Staff, team_id=None) -> Team:
    """The team a board or an action is about: `team_id` when given, else the staff member's own
    team (an admin without one: the first team). An unknown team (another tenant's included) is
    a ValidationError on `team`; a team whose board the staff may not open, PermissionDenied."""
    if team_id in (None, ""):
        team = staff.team if staff.team_id is not None else board_teams(staff).first()
        if team is None or not team.active:
            raise ValidationError({"team": [_("You are not in a team: choose one.")]})
    else:
        try:
            pk = int(team_id)
        except (TypeError, ValueError):
            pk = None
        team = Team.objects.filter(pk=pk, active=True).first() if pk is not None else None
        if team is None:
            raise ValidationError({"team": [_("Unknown team.")]})
    if not may_view_board(staff, team):
        raise PermissionDenied(_("You may not open the rotation of this team."))
    return team


def customer_by_phone(raw: str, field: str = "brought_by") -> Customer | None:
    """The customer with this mobile number (whoever owns them): '' → None; an invalid or
    unknown number → ValidationError on `field`."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        phone = normalize_phone(raw)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages})
    customer = Customer.objects.select_related("owner").filter(phone=phone).first()
    if customer is None:
        raise ValidationError({field: [_("No customer has this mobile number.")]})
    return customer


def shown_customer_name(staff: Staff, customer: Customer) -> str:
    """The name, masked (张*) unless `staff` may see the customer."""
    if visible_customers(staff).filter(pk=customer.pk).exists():
        return customer.name
    return mask_name(customer.name)


def may_record_walk_ins(staff: Staff, team: Team) -> bool:
    """Admins anywhere; managers and salespeople (the receptionist on duty) in their team."""
    return staff.is_admin or (staff.has_role(Role.MANAGER, Role.SALES)
                              and staff.team_id == team.pk)


def may_manage_team(staff: Staff, team: Team | int) -> bool:
    """May sign in members and set anyone's status in `team`: admins, the team's manager."""
    team_id = getattr(team, "pk", team)
    return staff.is_admin or (staff.is_manager and staff.team_id == team_id)


def may_set_status(staff: Staff, sign_in: DutySignIn) -> bool:
    return sign_in.staff_id == staff.pk or may_manage_team(staff, sign_in.team_id)


def rotation_members(team: Team) -> QuerySet:
    """The active salespeople of `team` (who may sign in for its rotation)."""
    return Staff.objects.filter(team=team, active=True, roles__contains=[Role.SALES]).order_by(
        "name", "pk")


def sign_ins_of_day(team: Team, day: dt.date) -> QuerySet:
    # The team too: the API shows it on every sign-in (one query per row otherwise).
    return (DutySignIn.objects.filter(team=team, day=day).select_related("staff", "team")
            .order_by("position"))


def on_duty(sign_ins) -> list[rules.OnDuty]:
    """Sign-in rows as the rules see them."""
    return [rules.OnDuty(staff=s.staff_id, position=s.position, status=s.status,
                         last_served_at=s.last_served_at) for s in sign_ins]


def next_sign_in(sign_ins: list[DutySignIn]) -> DutySignIn | None:
    """The sign-in whose turn it is (None: nobody present)."""
    turn = rules.next_in_turn(on_duty(sign_ins))
    if turn is None:
        return None
    return next(s for s in sign_ins if s.staff_id == turn.staff)


def walk_ins_of_day(tenant: Tenant, team: Team, day: dt.date) -> QuerySet:
    """The visits recorded at `team` on `day` (tenant time zone), newest first."""
    start = local_midnight(tenant, day)
    end = local_midnight(tenant, day + dt.timedelta(days=1))
    return (Visit.objects.filter(team=team, at__gte=start, at__lt=end)
            .select_related("customer", "attributed_to", "received_by", "named_staff",
                            "brought_by", "recorded_by")
            .order_by("-at", "-id"))


@dataclass
class WalkInRow:
    visit: Visit
    customer_name: str
    customer_visible: bool
    brought_by_name: str
    explanation: str


@dataclass
class Board:
    team: Team
    day: dt.date
    sign_ins: list[DutySignIn]
    next: DutySignIn | None
    walk_ins: list[WalkInRow] = field(default_factory=list)
    members: list[Staff] = field(default_factory=list)  # not signed in yet

    @property
    def signed_in_ids(self) -> set[int]:
        return {s.staff_id for s in self.sign_ins}


def walk_in_rows(staff: Staff, visits) -> list[WalkInRow]:
    """Visits with their explanation; customer names masked unless `staff` may see them."""
    visits = list(visits)
    ids = {v.customer_id for v in visits} | {v.brought_by_id for v in visits if v.brought_by_id}
    visible = set(visible_customers(staff).filter(pk__in=ids).values_list("pk", flat=True)
                  ) if ids else set()
    rows = []
    for v in visits:
        brought = ""
        if v.brought_by is not None:
            brought = v.brought_by.name if v.brought_by_id in visible else mask_name(
                v.brought_by.name)
        rows.append(WalkInRow(
            visit=v, customer_visible=v.customer_id in visible,
            customer_name=v.customer.name if v.customer_id in visible else mask_name(v.customer.name),
            brought_by_name=brought,
            explanation=rules.explain(
                v.route, attributed=v.attributed_to.name if v.attributed_to else "",
                receiver=v.received_by.name if v.received_by else "")))
    return rows


def board(staff: Staff, tenant: Tenant, team: Team, day: dt.date) -> Board:
    """Everything the board shows for `team` on `day`."""
    sign_ins = list(sign_ins_of_day(team, day))
    signed = {s.staff_id for s in sign_ins}
    members = [m for m in rotation_members(team) if m.pk not in signed]
    return Board(team=team, day=day, sign_ins=sign_ins, next=next_sign_in(sign_ins),
                 walk_ins=walk_in_rows(staff, walk_ins_of_day(tenant, team, day)),
                 members=members)
