"""Reads of follow-ups that pages, the API, services and the reports share."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.tenancy.models import Staff
from apps.tenancy.roles import Role

from .models import FollowUpTask

#: Roles that see and act on every follow-up of the tenant.
ALL_TASK_ROLES = (Role.ADMIN, Role.CUSTOMER_SERVICE)
#: Roles that may create follow-ups.
CREATE_ROLES = (Role.ADMIN, Role.MANAGER, Role.SALES, Role.CUSTOMER_SERVICE)
#: Roles that may cancel a follow-up (with a reason).
CANCEL_ROLES = (Role.ADMIN, Role.MANAGER, Role.CUSTOMER_SERVICE)
#: Roles that see the team pages and reports.
REPORT_ROLES = (Role.ADMIN, Role.MANAGER, Role.CUSTOMER_SERVICE)


def _visibility_q(staff: Staff) -> Q | None:
    """None: the whole tenant. A manager sees their team's and their own; anyone else their
    own (the tasks assigned to them)."""
    if staff.has_role(*ALL_TASK_ROLES):
        return None
    q = Q(assignee_id=staff.pk)
    if staff.has_role(Role.MANAGER) and staff.team_id is not None:
        q |= Q(team_id=staff.team_id)
    return q


def visible_tasks(staff: Staff, queryset: QuerySet | None = None) -> QuerySet:
    """The follow-ups `staff` may see, inside the tenant in context."""
    qs = FollowUpTask.objects.all() if queryset is None else queryset
    q = _visibility_q(staff)
    return qs if q is None else qs.filter(q)


def may_record(staff: Staff, task: FollowUpTask) -> bool:
    """Whether `staff` may record the result of (or cancel, with the role) the task: its
    assignee, a manager of its team, customer service, an administrator."""
    if staff.has_role(*ALL_TASK_ROLES) or task.assignee_id == staff.pk:
        return True
    return (staff.has_role(Role.MANAGER) and staff.team_id is not None
            and task.team_id == staff.team_id)


def sees_team(staff: Staff) -> bool:
    return staff.has_role(*REPORT_ROLES)


def filter_tasks(queryset: QuerySet, *, status: str = "", purpose: str = "", channel: str = "",
                 assignee=None, team=None, customer=None, due_from=None, due_to=None,
                 overdue: bool = False, now=None) -> QuerySet:
    """The follow-ups list filters, with values already cleaned (the page's form and the
    API's serializer clean them): status/purpose/channel codes, assignee/team/customer
    (objects or ids), due_from/due_to aware datetimes (to: exclusive), overdue (open and due
    before `now`)."""
    if status:
        queryset = queryset.filter(status=status)
    if purpose:
        queryset = queryset.filter(purpose=purpose)
    if channel:
        queryset = queryset.filter(channel=channel)
    if assignee:
        queryset = queryset.filter(assignee=assignee)
    if team:
        queryset = queryset.filter(team=team)
    if customer:
        queryset = queryset.filter(customer=customer)
    if due_from is not None:
        queryset = queryset.filter(due_at__gte=due_from)
    if due_to is not None:
        queryset = queryset.filter(due_at__lt=due_to)
    if overdue:
        queryset = queryset.filter(status=FollowUpTask.Status.OPEN,
                                   due_at__lt=now or timezone.now())
    return queryset
