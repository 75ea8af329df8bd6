"""Writes of single follow-ups: create one, record its result, cancel it, and the deal hook.
Each runs in one transaction with an audit entry; a task's state changes under its row lock.

State machine: open → done (a result: reached, refused, unreachable, failed) or
open → cancelled (a reason); a done or cancelled task never changes again ("completing twice"
is refused with who recorded it and when).

Effects of a result (DOMAIN.md §8, issue 8):
* reached → an effective contact with the customer (apps.ownership.services.contact_record
  restarts the owner's protection window);
* unreachable → another try after the plan's retry delay (in a calling window, not on a
  public holiday when the plan avoids them), up to its attempts;
* satisfaction 1–2 on an after-sale, complaint or repair visit → a complaint follow-up within
  the plan's working days (a complaint "reopened" when the visit was itself a complaint);
* done later than the plan's grace → the penalty the reminders job gives a task still open
  (apps.followups.reminders.penalise).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from apps.core.audit import audit_record
from apps.core.workdays import add_working_days
from apps.customers.models import Customer
from apps.customers.selectors import visible_customers
from apps.deals.models import Deal
from apps.ownership.selectors import tenant_today
from apps.ownership.services import contact_record
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Staff, Tenant
from apps.tenancy.roles import Role

from . import windows
from .models import Channel, FollowUpTask, Purpose
from .plan_versions import plan_for
from .plans import PlanRules
from .selectors import ALL_TASK_ROLES, CANCEL_ROLES, CREATE_ROLES, may_record

R = FollowUpTask.Result
S = FollowUpTask.Status
#: Purposes whose unsatisfied result (1–2) opens a complaint follow-up.
COMPLAINT_AFTER = (Purpose.AFTER_SALE, Purpose.COMPLAINT, Purpose.REPAIR)
DEADLINE_PURPOSES = (Purpose.COMPLAINT, Purpose.REPAIR)
UNSATISFIED = 2
#: How far in the past a due time typed by a person may be (a form filled a minute ago).
PAST_SLACK = dt.timedelta(minutes=5)


def _zone(tenant: Tenant) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(tenant.time_zone)


def _local(tenant: Tenant, moment: dt.datetime) -> str:
    return date_format(timezone.localtime(moment, _zone(tenant)), "Y-m-d H:i")


def complaint_deadline(tenant: Tenant, plan: PlanRules, day: dt.date) -> dt.datetime:
    """When a complaint or repair opened on `day` must be followed up: the first calling
    window of the plan's N-th Chinese working day after it."""
    return windows.at_day(add_working_days(day, plan.complaint_working_days), plan.windows,
                          tenant.time_zone)


def _default_due(tenant: Tenant, plan: PlanRules, purpose: str, channel: str,
                 now: dt.datetime) -> dt.datetime:
    if purpose in DEADLINE_PURPOSES:
        return complaint_deadline(tenant, plan, tenant_today(tenant, now))
    if channel == Channel.PHONE:
        return windows.place(now, plan.windows, tenant.time_zone)
    return now


def _check_due(errors: dict, tenant: Tenant, plan: PlanRules, *, purpose: str, channel: str,
               due_at, now: dt.datetime) -> None:
    if not isinstance(due_at, dt.datetime) or timezone.is_naive(due_at):
        errors["due_at"] = [_("Enter the date and time it is due.")]
        return
    if due_at < now - PAST_SLACK:
        errors["due_at"] = [_("The due time is in the past.")]
        return
    if channel == Channel.PHONE and not windows.is_inside(due_at, plan.windows,
                                                          tenant.time_zone):
        suggested = windows.place(due_at, plan.windows, tenant.time_zone)
        errors["due_at"] = [_("Calls are made only inside the calling windows (%(windows)s). "
                              "The nearest time is %(suggested)s.") % {
            "windows": windows.text(plan.windows), "suggested": _local(tenant, suggested)}]
        return
    if purpose in DEADLINE_PURPOSES:
        deadline = complaint_deadline(tenant, plan, tenant_today(tenant, now))
        if timezone.localtime(due_at, _zone(tenant)).date() > timezone.localtime(
                deadline, _zone(tenant)).date():
            errors["due_at"] = [_("Complaints and repairs are followed up within %(n)s working "
                                  "days: by %(deadline)s at the latest.") % {
                "n": plan.complaint_working_days, "deadline": _local(tenant, deadline)}]


def _assignee_or_error(errors: dict, actor: Staff | None, customer: Customer | None,
                       assignee) -> Staff | None:
    if assignee in (None, ""):
        if actor is not None and actor.has_role(Role.SALES, Role.CUSTOMER_SERVICE):
            return actor
        if customer is not None and customer.owner_id is not None:
            return customer.owner
        errors["assignee"] = [_("Choose who does it.")]
        return None
    pk = assignee.pk if isinstance(assignee, Staff) else assignee
    staff = Staff.objects.filter(pk=pk, active=True).select_related("team").first() \
        if str(pk).isdigit() else None
    if staff is None:
        errors["assignee"] = [_("Choose an active staff member.")]
        return None
    if actor is not None and staff.pk != actor.pk and not actor.has_role(*ALL_TASK_ROLES):
        if not (actor.has_role(Role.MANAGER) and actor.team_id is not None
                and staff.team_id == actor.team_id):
            errors["assignee"] = [_("You may assign follow-ups only to yourself or, as a "
                                    "manager, to your team.")]
            return None
    return staff


def _customer_or_error(errors: dict, actor: Staff | None, customer) -> Customer | None:
    pk = customer.pk if isinstance(customer, Customer) else customer
    qs = Customer.objects.select_related("owner")
    if actor is not None:
        qs = visible_customers(actor, qs)
    found = qs.filter(pk=pk).first() if str(pk).isdigit() else None
    if found is None:
        errors["customer"] = [_("Choose one of your customers.")]
    return found


@transaction.atomic
def task_create(*, tenant: Tenant, actor: Staff | None, customer, purpose: str, channel: str,
                due_at: dt.datetime | None = None, assignee=None, title: str = "",
                now: dt.datetime | None = None) -> FollowUpTask:
    """A follow-up typed in by a person (or made by another module: actor None).

    The customer must be one the actor sees (a customer of another tenant is not found); the
    assignee defaults to the actor (sales, customer service) or the customer's owner. The due
    time defaults to the next calling window (phone), or for complaints and repairs to the
    plan's deadline (N Chinese working days); a phone call outside the windows, a time in the
    past or a complaint later than the deadline is refused with the nearest allowed time."""
    now = now or timezone.now()
    with tenant_context(tenant):
        if actor is not None and not actor.has_role(*CREATE_ROLES):
            raise PermissionDenied(_("You may not create follow-ups."))
        errors: dict = {}
        _version, plan = plan_for(tenant, tenant_today(tenant, now))
        customer = _customer_or_error(errors, actor, customer)
        if purpose not in Purpose.values:
            errors["purpose"] = [_("Choose the purpose.")]
        if channel not in Channel.values:
            errors["channel"] = [_("Choose the channel.")]
        staff = _assignee_or_error(errors, actor, customer, assignee)
        title = (title or "").strip()
        if len(title) > 200:
            errors["title"] = [_("At most %(max)s characters.") % {"max": 200}]
        if not errors:
            if due_at is None:
                due_at = _default_due(tenant, plan, purpose, channel, now)
            else:
                _check_due(errors, tenant, plan, purpose=purpose, channel=channel,
                           due_at=due_at, now=now)
        if errors:
            raise ValidationError(errors)
        task = FollowUpTask.objects.create(
            tenant=tenant, customer=customer, assignee=staff, team_id=staff.team_id,
            channel=channel, purpose=purpose, due_at=due_at, title=title, created_by=actor,
            created_at=now)
        audit_record(tenant=tenant, actor=actor, action="followups.task.create", target=task,
                     changes={"customer": customer.pk, "assignee": staff.pk,
                              "purpose": purpose, "channel": channel, "due_at": due_at})
        return task


def _locked(task: FollowUpTask | int) -> FollowUpTask:
    pk = task.pk if isinstance(task, FollowUpTask) else task
    found = (FollowUpTask.objects.select_for_update(of=("self",))
             .select_related("customer", "completed_by").filter(pk=pk).first())
    if found is None:
        raise ValidationError({NON_FIELD_ERRORS: [_("This follow-up does not exist.")]})
    return found


def _already_closed(tenant: Tenant, task: FollowUpTask) -> ValidationError:
    who = task.completed_by.name if task.completed_by else _("the system")
    if task.status == S.CANCELLED:
        message = _("This follow-up was cancelled at %(when)s by %(who)s: nothing was "
                    "changed.")
    else:
        message = _("The result of this follow-up (%(result)s) was recorded at %(when)s by "
                    "%(who)s: nothing was changed.")
    return ValidationError({NON_FIELD_ERRORS: [message % {
        "when": _local(tenant, task.completed_at), "who": who,
        "result": task.get_result_display()}]})


def _result_errors(result: str, satisfaction, notes: str) -> tuple[dict, int | None]:
    errors: dict = {}
    if result not in R.values:
        errors["result"] = [_("Choose the result.")]
        return errors, None
    value = None
    if satisfaction not in (None, ""):
        try:
            value = int(satisfaction)
        except (TypeError, ValueError):
            value = 0
        if not 1 <= value <= 5:
            errors["satisfaction"] = [_("Give a satisfaction from 1 to 5.")]
    if result == R.REACHED and value is None and "satisfaction" not in errors:
        errors["satisfaction"] = [_("The customer was reached: give their satisfaction "
                                    "from 1 to 5.")]
    if result != R.REACHED and satisfaction not in (None, ""):
        errors["satisfaction"] = [_("Satisfaction is recorded only when the customer was "
                                    "reached.")]
    if result in (R.REFUSED, R.FAILED) and not notes:
        errors["result_notes"] = [_("Say what happened.")]
    if len(notes) > 2000:
        errors["result_notes"] = [_("At most %(max)s characters.") % {"max": 2000}]
    return errors, value


@transaction.atomic
def task_complete(*, tenant: Tenant, actor: Staff | None, task: FollowUpTask | int,
                  result: str, satisfaction=None, notes: str = "", next_step: str = "",
                  now: dt.datetime | None = None) -> FollowUpTask:
    """Record the result of an open follow-up (its assignee, a manager of its team, customer
    service or an administrator). Refused, with nothing changed: a result without what it
    needs (reached: satisfaction 1–5; refused and failed: what happened), a task already done
    or cancelled. The returned task carries `follow_ups`: the tasks its result created."""
    now = now or timezone.now()
    with tenant_context(tenant):
        task = _locked(task)
        if actor is not None and not may_record(actor, task):
            raise PermissionDenied(_("You may not record this follow-up."))
        if task.status != S.OPEN:
            raise _already_closed(tenant, task)
        notes = (notes or "").strip()
        next_step = (next_step or "").strip()
        errors, value = _result_errors(result, satisfaction, notes)
        if len(next_step) > 200:
            errors["next_step"] = [_("At most %(max)s characters.") % {"max": 200}]
        if errors:
            raise ValidationError(errors)
        task.status, task.result, task.satisfaction = S.DONE, result, value
        task.result_notes, task.next_step = notes, next_step
        task.completed_at, task.completed_by = now, actor
        task.save(update_fields=["status", "result", "satisfaction", "result_notes",
                                 "next_step", "completed_at", "completed_by"])
        _version, plan = plan_for(tenant, tenant_today(tenant, now))
        created = _effects(tenant, plan, task, now)
        audit_record(tenant=tenant, actor=actor, action="followups.task.complete", target=task,
                     changes={"result": result, "satisfaction": value,
                              "created": [t.pk for t in created]},
                     reason=notes[:200])
        task.follow_ups = created
        return task


def _effects(tenant: Tenant, plan: PlanRules, task: FollowUpTask,
             now: dt.datetime) -> list[FollowUpTask]:
    from .reminders import penalise

    created: list[FollowUpTask] = []
    if task.result == R.REACHED:
        contact_record(tenant=tenant, customer=task.customer_id, at=now,
                       visit=task.channel == Channel.VISIT)
    if task.result == R.UNREACHABLE and task.attempt < plan.max_attempts:
        due = now + dt.timedelta(hours=plan.retry_after_hours)
        if task.channel == Channel.PHONE:
            due = windows.place(due, plan.windows, tenant.time_zone)
        day = due.astimezone(_zone(tenant)).date()
        if plan.due_day(day) != day:  # not on a public holiday: the first window after it
            due = windows.at_day(plan.due_day(day), plan.windows, tenant.time_zone)
        created.append(_child(tenant, task, purpose=task.purpose, channel=task.channel,
                              due_at=due, attempt=task.attempt + 1, key=f"retry:{task.pk}",
                              title=task.title, now=now))
    if (task.result == R.REACHED and task.satisfaction <= UNSATISFIED
            and task.purpose in COMPLAINT_AFTER):
        due = complaint_deadline(tenant, plan, tenant_today(tenant, now))
        title = _("Unsatisfied (%(n)s/5) at the %(purpose)s follow-up of %(day)s") % {
            "n": task.satisfaction, "purpose": task.get_purpose_display(),
            "day": _local(tenant, task.due_at)}
        created.append(_child(tenant, task, purpose=Purpose.COMPLAINT, channel=Channel.PHONE,
                              due_at=due, attempt=1, key=f"complaint:{task.pk}",
                              title=title[:200], now=now))
    if plan.penalty and task.penalty_id is None and (
            now > task.due_at + dt.timedelta(hours=plan.penalty_grace_hours)):
        penalise(tenant, plan, [task])
    return [t for t in created if t is not None]


def _child(tenant: Tenant, parent: FollowUpTask, *, purpose: str, channel: str,
           due_at: dt.datetime, attempt: int, key: str, title: str,
           now: dt.datetime) -> FollowUpTask | None:
    child = FollowUpTask(tenant=tenant, customer_id=parent.customer_id,
                         assignee_id=parent.assignee_id, team_id=parent.team_id,
                         channel=channel, purpose=purpose, due_at=due_at, title=title,
                         deal_id=parent.deal_id, contract_id=parent.contract_id, parent=parent,
                         attempt=attempt, source_key=key, created_at=now)
    created = FollowUpTask.objects.bulk_create([child], ignore_conflicts=True)
    return created[0] if created and created[0].pk else (
        FollowUpTask.objects.filter(source_key=key).first())


@transaction.atomic
def task_cancel(*, tenant: Tenant, actor: Staff | None, task: FollowUpTask | int,
                reason: str, now: dt.datetime | None = None) -> FollowUpTask:
    """Cancel an open follow-up with a reason (managers of its team, customer service,
    administrators): it stays in the records, marked cancelled."""
    now = now or timezone.now()
    with tenant_context(tenant):
        task = _locked(task)
        if actor is not None and not (actor.has_role(*CANCEL_ROLES) and may_record(actor, task)):
            raise PermissionDenied(_("You may not cancel this follow-up."))
        if task.status != S.OPEN:
            raise _already_closed(tenant, task)
        reason = (reason or "").strip()
        if not reason:
            raise ValidationError({"reason": [_("Say why the follow-up is cancelled.")]})
        if len(reason) > 200:
            raise ValidationError({"reason": [_("At most %(max)s characters.") % {"max": 200}]})
        task.status, task.cancel_reason = S.CANCELLED, reason
        task.completed_at, task.completed_by = now, actor
        task.save(update_fields=["status", "cancel_reason", "completed_at", "completed_by"])
        audit_record(tenant=tenant, actor=actor, action="followups.task.cancel", target=task,
                     changes={"status": [S.OPEN, S.CANCELLED]}, reason=reason)
        return task


# --------------------------------------------------------------------------- the deal hook

def _add_months(day: dt.date, months: int) -> dt.date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def after_deal_due(tenant: Tenant, plan: PlanRules, deal: Deal, offset) -> dt.datetime:
    """When the visit at `offset` after the deal is due: hours from when it was entered, days
    and months from its signing day (at a calling window, spread by the deal's id)."""
    if offset.unit == "h":
        due = deal.created_at + dt.timedelta(hours=offset.amount)
        return windows.place(due, plan.windows, tenant.time_zone) \
            if offset.channel == Channel.PHONE else due
    day = (deal.signed_on + dt.timedelta(days=offset.amount) if offset.unit == "d"
           else _add_months(deal.signed_on, offset.amount))
    return windows.at_day(plan.due_day(day), plan.windows, tenant.time_zone, slot=deal.pk)


def followups_after_deal(deal: Deal, *, now: dt.datetime | None = None) -> int:
    """The after-sale visits of a new deal at the plan's offsets, for the deal's owner (or
    the customer's); offsets already past are left out. Called by the deal service inside
    its transaction (one INSERT); idempotent (a key per deal and offset: those made before
    are left as they are). Returns how many offsets were still ahead."""
    now = now or timezone.now()
    tenant = deal.tenant
    assignee_id = deal.owner_id or Customer.objects.filter(pk=deal.customer_id).values_list(
        "owner_id", flat=True).first()
    if assignee_id is None:
        return 0
    _version, plan = plan_for(tenant, tenant_today(tenant, now))
    team_id = deal.team_id if deal.owner_id else Staff.objects.filter(
        pk=assignee_id).values_list("team_id", flat=True).first()
    rows = []
    for offset in plan.after_deal:
        due = after_deal_due(tenant, plan, deal, offset)
        if due < now - PAST_SLACK:
            continue
        rows.append(FollowUpTask(
            tenant=tenant, customer_id=deal.customer_id, assignee_id=assignee_id,
            team_id=team_id, channel=offset.channel, purpose=Purpose.AFTER_SALE, due_at=due,
            deal=deal, source_key=f"deal:{deal.pk}:{offset.after}", created_at=now))
    FollowUpTask.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
