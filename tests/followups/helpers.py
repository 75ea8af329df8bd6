"""Shared helpers of the follow-up tests (plans, windows, generation, services, reminders, the
deal hook): fixed moments in Asia/Shanghai, plan versions in force on a fixed day, customers and
the tasks of a world.

Every test passes its own `now`/`today` (the services and jobs take them), so nothing depends on
the hour or the day the suite runs. The fixed days are in 2026, the last year the installed
chinese_calendar covers (National Day 1–7 October with the make-up Sunday 20 September and
Saturday 10 October; Mid-Autumn Festival 25–27 September; Spring Festival 15–23 February with
the make-up Saturdays 14 and 28 February); 2027 is the fallback (Monday to Friday working days,
no known public holidays).

The default plan avoids public holidays (`avoid_holidays`): what the rules put on 1–7 October
2026 is due on Thursday 8 October; the make-up Saturday and ordinary weekends are ordinary
days."""

from __future__ import annotations

import copy
import datetime as dt
import zoneinfo

from django.db.models import Max
from django.utils import translation

from apps.followups.models import FollowUpPlan, FollowUpTask
from apps.followups.plans import PRESETS, parse_plan_rules
from tests.customers.factories import CustomerFactory

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
UTC = dt.UTC
WINDOW_STARTS = (dt.time(10, 0), dt.time(15, 0))
#: The 2026 National Day holiday, the first day after it, its make-up working Saturday.
NATIONAL_DAY = tuple(dt.date(2026, 10, d) for d in range(1, 8))
AFTER_NATIONAL_DAY = dt.date(2026, 10, 8)
MAKE_UP_SATURDAY = dt.date(2026, 10, 10)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
       second: int = 0) -> dt.datetime:
    """An aware moment of the tenant's day (Asia/Shanghai)."""
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=TZ)


def local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(TZ)


def zh(msgid: str, **params) -> str:
    """A message as a zh-hans user reads it (the catalog's text, English until translated)."""
    with translation.override("zh-hans"):
        text = translation.gettext(msgid)
    return text % params if params else text


def zh_at(where: str, message: str) -> str:
    """A plan problem as describe_plan_errors lists it ("<where>: <message>")."""
    return zh("%(where)s: %(message)s", where=where, message=message)


def plan_data(**changes) -> dict:
    data = copy.deepcopy(PRESETS["default"])
    data.update(changes)
    return data


def use_plan(world, day: dt.date, name: str = "测试计划", **changes) -> FollowUpPlan:
    """A plan version in force from `day`: the default preset with `changes` (validated).

    Written around plan_create on purpose: that service refuses a day before the real today,
    and these tests work on fixed days of 2026 (plan_create has its own tests)."""
    rules = parse_plan_rules(plan_data(**changes)).as_data()
    with world.context():
        version = (FollowUpPlan.objects.aggregate(v=Max("version"))["v"] or 0) + 1
        return FollowUpPlan.objects.create(tenant=world.tenant, version=version,
                                           effective_from=day, name=name, rules=rules)


def customer(world, owner="sales", **kw):
    """A customer registered through the service, owned by `owner` (a world attribute name, a
    Staff, or None: the public pool)."""
    if isinstance(owner, str):
        owner = getattr(world, owner)
    return CustomerFactory(tenant=world.tenant, actor=world.admin, owner=owner, **kw)


def tasks(world, **filters) -> list[FollowUpTask]:
    with world.context():
        return list(FollowUpTask.objects.filter(**filters).order_by("due_at", "id"))


def count(world, **filters) -> int:
    with world.context():
        return FollowUpTask.objects.filter(**filters).count()


def reload(world, task: FollowUpTask) -> FollowUpTask:
    with world.context():
        return FollowUpTask.objects.get(pk=task.pk)


def state(world, task: FollowUpTask) -> tuple:
    """What a result changes on a task (to assert that nothing changed)."""
    t = reload(world, task)
    return (t.status, t.result, t.satisfaction, t.result_notes, t.next_step, t.completed_at,
            t.completed_by_id, t.cancel_reason, t.penalty_id)
