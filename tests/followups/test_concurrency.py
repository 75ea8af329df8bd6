"""Follow-ups at the same moment, each call in its own thread and connection on committed rows:
two runs of the hourly job send each reminder, escalation and penalty once; two results recorded
for one task at once: one is kept, the other refused with nothing changed."""

from __future__ import annotations

import datetime as dt

from django.core import mail
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from apps.commissions.models import PenaltyEvent
from apps.core.models import AuditEntry
from apps.followups import services
from apps.followups.reminders import remind
from apps.notifications import sms
from apps.notifications.models import Notification
from apps.tenancy.roles import Role
from apps.tenancy.services import team_create
from tests.concurrency import committed, run_together
from tests.followups.helpers import at, customer, reload

DUE = at(2026, 9, 30, 10, 0)


def staffed(world):
    team = team_create(tenant=world.tenant, actor=None, name="三组")
    boss = world.make_staff("boss", [Role.MANAGER], team, email="boss@example.com",
                            phone="13800138001")
    rep = world.make_staff("rep", [Role.SALES], team, email="rep@example.com",
                           phone="13800138000")
    return boss, rep


def a_task(world, assignee, name):
    return services.task_create(tenant=world.tenant, actor=world.admin,
                                customer=customer(world, owner=assignee, name=name),
                                purpose="after_sale", channel="phone", due_at=DUE,
                                now=at(2026, 9, 29, 9, 0))


@committed
def test_two_reminder_runs_at_once_send_everything_once(world_a):
    w = world_a
    boss, rep = staffed(w)
    tasks = [a_task(w, rep, "王一"), a_task(w, rep, "王二")]
    sms.outbox.clear()
    mail.outbox = []
    now = DUE + dt.timedelta(days=3)   # past the reminder, the escalation and the grace
    results = run_together(lambda: remind(w.tenant, now=now), lambda: remind(w.tenant, now=now))
    assert [kind for kind, _ in results] == ["ok", "ok"], results
    totals = {key: sum(value[key] for _, value in results)
              for key in ("reminded", "escalated", "penalised")}
    assert totals == {"reminded": 2, "escalated": 2, "penalised": 2}
    with w.context():
        inbox = sorted(Notification.objects.values_list("recipient_id", "kind"))
        penalties = sorted(PenaltyEvent.objects.values_list("source", flat=True))
    assert inbox == sorted([(rep.pk, "follow_up"), (boss.pk, "follow_up")])
    assert penalties == sorted(f"followup:{t.pk}" for t in tasks)
    assert sorted(m.to[0] for m in mail.outbox) == ["boss@example.com", "rep@example.com"]
    assert [m.phone for m in sms.outbox] == ["13800138000"]
    sms.outbox.clear()


@committed
def test_two_results_for_one_task_at_once_keep_one(world_a):
    w = world_a
    _boss, rep = staffed(w)
    task = a_task(w, rep, "李一")
    done_at = at(2026, 9, 30, 10, 20)
    results = run_together(
        lambda: services.task_complete(tenant=w.tenant, actor=rep, task=task.pk,
                                       result="reached", satisfaction=5, now=done_at),
        lambda: services.task_complete(tenant=w.tenant, actor=w.cs, task=task.pk,
                                       result="unreachable", now=done_at))
    assert sorted(kind for kind, _ in results) == ["error", "ok"], results
    kept = next(value for kind, value in results if kind == "ok")
    error = next(value for kind, value in results if kind == "error")
    assert isinstance(error, ValidationError)
    assert list(error.message_dict) == [NON_FIELD_ERRORS]
    row = reload(w, task)
    assert (row.status, row.result, row.completed_by_id) == (
        "done", kept.result, kept.completed_by_id)
    with w.context():
        assert AuditEntry.objects.filter(action="followups.task.complete").count() == 1
        # The refused one left nothing behind either (no retry of an "unreachable" call).
        assert len(kept.follow_ups) == type(row).objects.filter(parent_id=task.pk).count()
