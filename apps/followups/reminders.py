"""Overdue follow-ups (the hourly job `followups.remind`, per tenant): remind the assignee, then
tell the team's managers, then record the penalty — each at most once per task.

"Once" is kept by the task's own columns, set by a conditional UPDATE in the same transaction
as the notifications (`reminded_at IS NULL` → now, RETURNING the rows): a second run, or two
runs at once, find nothing left to do (a concurrent UPDATE waits for the first and re-checks
the condition). E-mail and SMS copies go out after the commit.

The delays are the plan's (apps.followups.plans): `remind_after_hours` past the due time for
the assignee, `escalate_after_hours` for the managers (the tenant's administrators when the
team has none), `penalty_grace_hours` for the penalty (code "missed_follow_up" for the
commission engine, the plan's amount or the commission rules' default −50)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import Counter, defaultdict

from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy, ngettext_lazy

from apps.core.i18n import lazy_format
from apps.notifications.models import Notification
from apps.notifications.services import notify, notify_each
from apps.ownership.selectors import tenant_today
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff, Tenant
from apps.tenancy.roles import Role

from .models import FollowUpTask
from .plan_versions import plan_for
from .plans import PlanRules

PENALTY_CODE = "missed_follow_up"
KIND = Notification.Kind.FOLLOW_UP

OVERDUE_TITLE = ngettext_lazy("%(n)s follow-up is overdue", "%(n)s follow-ups are overdue", "n")
OVERDUE_BODY = gettext_lazy("Please call or visit today: %(customers)s.")
TEAM_TITLE = ngettext_lazy("%(n)s follow-up of your team is overdue",
                           "%(n)s follow-ups of your team are overdue", "n")
TEAM_BODY = gettext_lazy("Overdue for longer than the plan allows: %(people)s.")
PENALTY_NOTE = gettext_lazy("Follow-up of %(customer)s due %(due)s not done in time")


def _claim(tenant: Tenant, column: str, cutoff: dt.datetime,
           now: dt.datetime) -> list[tuple[int, int, int | None, str]]:
    """Set `column` = now on the open tasks due before `cutoff` that have none; returns
    (task, assignee, team, customer name) of those."""
    with connection.cursor() as cur:  # `column` is one of two names, never input
        cur.execute(f"""
            UPDATE followups_followuptask t SET {column} = %s
              FROM customers_customer c
             WHERE t.tenant_id = %s AND t.status = 'open' AND t.due_at < %s
               AND t.{column} IS NULL AND c.id = t.customer_id
            RETURNING t.id, t.assignee_id, t.team_id, c.name, t.due_at""",  # noqa: S608
                    [now, tenant.pk, cutoff])
        # Oldest first, so the names a reminder lists are the most overdue ones.
        return [row[:4] for row in sorted(cur.fetchall(), key=lambda r: (r[4], r[0]))]


def _names(names: list[str], limit: int = 5) -> str:
    shown = "、".join(names[:limit])
    return shown + ("…" if len(names) > limit else "")


def remind_assignees(tenant: Tenant, plan: PlanRules, now: dt.datetime) -> int:
    rows = _claim(tenant, "reminded_at", now - dt.timedelta(hours=plan.remind_after_hours), now)
    by_assignee: dict[int, list[str]] = defaultdict(list)
    for _task, assignee, _team, customer in rows:
        by_assignee[assignee].append(customer)
    people = Staff.objects.filter(pk__in=by_assignee, active=True).select_related("user")
    # One call for everybody: one read of the preferences, one insert of the notifications.
    notify_each(tenant=tenant, kind=KIND, url=reverse("followups:my_day"), email=True, sms=True,
                messages=[(staff, lazy_format(OVERDUE_TITLE, {"n": len(by_assignee[staff.pk])}),
                           lazy_format(OVERDUE_BODY,
                                       {"customers": _names(by_assignee[staff.pk])}))
                          for staff in people])
    return len(rows)


def escalate(tenant: Tenant, plan: PlanRules, now: dt.datetime) -> int:
    rows = _claim(tenant, "escalated_at", now - dt.timedelta(hours=plan.escalate_after_hours),
                  now)
    if not rows:
        return 0
    by_team: dict[int | None, Counter] = defaultdict(Counter)
    for _task, assignee, team, _customer in rows:
        by_team[team][assignee] += 1
    names = dict(Staff.objects.filter(pk__in={r[1] for r in rows}).values_list("pk", "name"))
    managers: dict[int | None, list[Staff]] = defaultdict(list)
    for staff in (Staff.objects.filter(team_id__in=[t for t in by_team if t is not None],
                                       active=True, roles__contains=[Role.MANAGER])
                  .select_related("user").order_by("pk")):
        managers[staff.team_id].append(staff)
    admins = list(Staff.objects.filter(active=True, roles__contains=[Role.ADMIN])
                  .select_related("user").order_by("pk"))
    url = reverse("followups:team")
    for team, counts in by_team.items():
        people = _names([f"{names.get(pk, pk)} {n}" for pk, n in counts.most_common()])
        notify(tenant=tenant, recipients=managers.get(team) or admins, kind=KIND,
               title=lazy_format(TEAM_TITLE, {"n": sum(counts.values())}),
               body=lazy_format(TEAM_BODY, {"people": people}), url=url, email=True)
    return len(rows)


def penalise(tenant: Tenant, plan: PlanRules, tasks: list[FollowUpTask]) -> int:
    """A penalty for each task (locked by the caller, without one yet) for its assignee, on
    the task's due day. Call in the tenant's transaction."""
    from apps.commissions.settlements import penalty_record

    zone = zoneinfo.ZoneInfo(tenant.time_zone)
    customers = dict(FollowUpTask.objects.filter(pk__in=[t.pk for t in tasks])
                     .values_list("pk", "customer__name"))
    for task in tasks:
        day = task.due_at.astimezone(zone).date()
        assignee = task.assignee if "assignee" in task._state.fields_cache else Staff.objects.get(
            pk=task.assignee_id)
        penalty = penalty_record(
            tenant=tenant, actor=None, staff=assignee, code=PENALTY_CODE, occurred_on=day,
            amount=plan.penalty_amount, source=f"followup:{task.pk}",
            note=str(lazy_format(PENALTY_NOTE, {"customer": customers.get(task.pk, ""),
                                                "due": day.isoformat()}))[:200])
        task.penalty = penalty
        FollowUpTask.objects.filter(pk=task.pk).update(penalty=penalty)
    return len(tasks)


def penalise_missed(tenant: Tenant, plan: PlanRules, now: dt.datetime) -> int:
    if not plan.penalty:
        return 0
    tasks = list(FollowUpTask.objects.select_for_update(skip_locked=True, of=("self",))
                 .filter(status=FollowUpTask.Status.OPEN, penalty__isnull=True,
                         due_at__lt=now - dt.timedelta(hours=plan.penalty_grace_hours))
                 .select_related("assignee").order_by("pk"))
    return penalise(tenant, plan, tasks) if tasks else 0


def remind(tenant: Tenant | int, *, now: dt.datetime | None = None) -> dict[str, int]:
    """The hourly job's body for one tenant: {"reminded", "escalated", "penalised"} counts."""
    now = now or timezone.now()
    if not isinstance(tenant, Tenant):
        tenant = Tenant.objects.get(pk=tenant)
    with tenant_context(tenant):
        _version, plan = plan_for(tenant, tenant_today(tenant, now))
        return {"reminded": remind_assignees(tenant, plan, now),
                "escalated": escalate(tenant, plan, now),
                "penalised": penalise_missed(tenant, plan, now)}
