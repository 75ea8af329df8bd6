"""Single follow-ups (apps.followups.services): the complaint deadline in Chinese working days
(holidays skipped, make-up days counted, Monday–Friday for a year the calendar does not cover);
creating a task (defaults, and each refusal with nothing created); recording a result (each
refusal with nothing changed, completing twice, who may); the effects of a result — a retry
after an unreachable call (in a calling window, moved off a public holiday to the first window of
the next day that is not one), the owner's protection window, the penalty of a late follow-up,
the complaint opened by an unsatisfied customer; cancelling with a reason."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError

from apps.commissions.models import PenaltyEvent
from apps.core.models import AuditEntry
from apps.core.workdays import add_working_days, is_working_day
from apps.customers.models import Customer
from apps.followups import services
from apps.followups.models import FollowUpTask
from apps.followups.plans import PRESETS, parse_plan_rules
from apps.followups.reminders import remind
from apps.tenancy.roles import Role
from tests.followups.helpers import (
    at,
    count,
    customer,
    local,
    reload,
    state,
    tasks,
    use_plan,
    zh,
)

DEFAULT = parse_plan_rules(PRESETS["default"])
#: Wednesday 30 September 2026, 09:00: the day before the National Day holiday (1–7 October;
#: Saturday 10 October is a make-up working day).
NOW = at(2026, 9, 30, 9, 0)

# --------------------------------------------------------------------------- working days


@pytest.mark.parametrize(("day", "count_", "expected"), [
    # National Day: 8 and 9 October, then the make-up Saturday the 10th.
    (dt.date(2026, 9, 30), 3, dt.date(2026, 10, 10)),
    (dt.date(2026, 10, 3), 3, dt.date(2026, 10, 10)),     # opened during the holiday
    (dt.date(2026, 9, 30), 4, dt.date(2026, 10, 12)),     # Sunday the 11th is a rest day
    # Mid-Autumn Festival (Friday 25 September) and the make-up Sunday 20 September.
    (dt.date(2026, 9, 18), 1, dt.date(2026, 9, 20)),
    (dt.date(2026, 9, 24), 1, dt.date(2026, 9, 28)),
    # Spring Festival (15–23 February): the make-up Saturday the 14th counts, the week does not.
    (dt.date(2026, 2, 12), 3, dt.date(2026, 2, 24)),
    (dt.date(2026, 2, 13), 1, dt.date(2026, 2, 14)),
    (dt.date(2026, 2, 23), 5, dt.date(2026, 2, 28)),      # the make-up Saturday the 28th
    # A year the calendar does not cover yet: Monday to Friday.
    (dt.date(2027, 9, 30), 3, dt.date(2027, 10, 5)),
    (dt.date(2027, 2, 5), 1, dt.date(2027, 2, 8)),
    (dt.date(2026, 12, 30), 3, dt.date(2027, 1, 4)),      # across the covered year's end
    (dt.date(2026, 10, 3), 0, dt.date(2026, 10, 3)),      # 0: the day itself
])
def test_working_days_skip_holidays_and_count_make_up_days(day, count_, expected):
    assert add_working_days(day, count_) == expected


def test_the_fallback_for_a_year_not_covered_is_monday_to_friday():
    assert [is_working_day(dt.date(2027, 10, d)) for d in range(1, 8)] == [
        True, False, False, True, True, True, True]          # Fri 1 … Thu 7
    assert not is_working_day(dt.date(2026, 10, 1)) and is_working_day(dt.date(2026, 10, 10))


def test_the_complaint_deadline_is_the_third_working_day_at_the_first_window(world_a):
    t = world_a.tenant
    assert services.complaint_deadline(t, DEFAULT, dt.date(2026, 9, 30)) == at(2026, 10, 10, 10)
    assert services.complaint_deadline(t, DEFAULT, dt.date(2026, 2, 12)) == at(2026, 2, 24, 10)
    assert services.complaint_deadline(t, DEFAULT, dt.date(2027, 9, 30)) == at(2027, 10, 5, 10)


# --------------------------------------------------------------------------- creating


@pytest.fixture
def mine(world_a):
    """A customer of world_a.sales (team1)."""
    return customer(world_a, name="李先生")


def create(world, actor="sales", **kw):
    kwargs = {"purpose": "after_sale", "channel": "phone", "now": NOW, **kw}
    return services.task_create(tenant=world.tenant,
                                actor=getattr(world, actor) if isinstance(actor, str) else actor,
                                **kwargs)


def audits(world, action: str) -> int:
    with world.context():
        return AuditEntry.objects.filter(action=action).count()


def refused(world, field: str, **kw) -> list[str]:
    before = (count(world), audits(world, "followups.task.create"))
    with pytest.raises(ValidationError) as caught:
        create(world, **kw)
    assert (count(world), audits(world, "followups.task.create")) == before
    return caught.value.message_dict[field]


def test_a_salesperson_creates_a_call_for_their_customer(world_a, mine):
    w = world_a
    task = create(w, customer=mine, due_at=at(2026, 10, 8, 15, 30), title="问问安装情况")
    row = reload(w, task)
    assert (row.customer_id, row.assignee_id, row.team_id, row.channel, row.purpose,
            row.status, row.title, row.created_by_id, row.source_key, row.attempt) == (
        mine.pk, w.sales.pk, w.team1.pk, "phone", "after_sale", "open", "问问安装情况",
        w.sales.pk, "", 1)
    assert row.due_at == at(2026, 10, 8, 15, 30)
    assert audits(w, "followups.task.create") == 1


def test_defaults_next_window_for_a_call_deadline_for_a_complaint_owner_for_admin(world_a, mine):
    w = world_a
    call = create(w, customer=mine)
    assert call.due_at == at(2026, 9, 30, 10, 0)          # 09:00 → the first window
    complaint = create(w, customer=mine, purpose="complaint")
    assert complaint.due_at == at(2026, 10, 10, 10, 0)    # 3rd working day: make-up Saturday
    sms = create(w, customer=mine, channel="sms")
    assert sms.due_at == NOW                              # no window for a text message
    by_admin = create(w, actor="admin", customer=mine)
    assert by_admin.assignee_id == w.sales.pk             # the customer's owner
    by_manager = create(w, actor="manager", customer=mine, assignee=w.sales2.pk)
    assert (by_manager.assignee_id, by_manager.team_id) == (w.sales2.pk, w.team1.pk)


def test_a_call_outside_the_windows_is_refused_naming_the_nearest_time(world_a, mine):
    expected = "Calls are made only inside the calling windows (%(windows)s). The nearest " \
               "time is %(suggested)s."
    assert refused(world_a, "due_at", customer=mine, due_at=at(2026, 10, 8, 12, 0)) == [
        zh(expected, windows="10:00–11:30、15:00–17:30", suggested="2026-10-08 15:00")]
    assert refused(world_a, "due_at", customer=mine, due_at=at(2026, 10, 8, 20, 0)) == [
        zh(expected, windows="10:00–11:30、15:00–17:30", suggested="2026-10-09 10:00")]
    # The same moment given in UTC (04:00Z = 12:00 in Shanghai) is refused the same way.
    utc = dt.datetime(2026, 10, 8, 4, 0, tzinfo=dt.UTC)
    assert refused(world_a, "due_at", customer=mine, due_at=utc) == [
        zh(expected, windows="10:00–11:30、15:00–17:30", suggested="2026-10-08 15:00")]
    # Another channel at that time is fine.
    assert create(world_a, customer=mine, channel="wechat", due_at=utc).due_at == utc


def test_a_due_time_in_the_past_or_missing_is_refused(world_a, mine):
    now = at(2026, 10, 8, 10, 30)
    assert refused(world_a, "due_at", customer=mine, now=now,
                   due_at=at(2026, 10, 8, 10, 0)) == [zh("The due time is in the past.")]
    assert refused(world_a, "due_at", customer=mine, now=now,
                   due_at=dt.datetime(2026, 10, 8, 10, 45)) == [
        zh("Enter the date and time it is due.")]
    # A form filled a few minutes ago is still accepted.
    assert create(world_a, customer=mine, now=now, due_at=at(2026, 10, 8, 10, 27)).pk


def test_a_complaint_later_than_the_deadline_is_refused(world_a, mine):
    expected = ("Complaints and repairs are followed up within %(n)s working days: by "
                "%(deadline)s at the latest.")
    for purpose in ("complaint", "repair"):
        assert refused(world_a, "due_at", customer=mine, purpose=purpose,
                       due_at=at(2026, 10, 12, 10, 0)) == [
            zh(expected, n=3, deadline="2026-10-10 10:00")]
    # The deadline's day is still in time.
    assert create(world_a, customer=mine, purpose="repair",
                  due_at=at(2026, 10, 10, 17, 30)).due_at == at(2026, 10, 10, 17, 30)


def test_a_customer_of_another_tenant_or_another_salesperson_is_not_found(world_a, world_b,
                                                                        mine):
    theirs = customer(world_b, name="外部客户")
    colleague = customer(world_a, owner="sales2")
    for pk in (theirs.pk, colleague.pk, 10**9, "x"):
        assert refused(world_a, "customer", customer=pk) == [zh("Choose one of your customers.")]
    with world_b.context():
        assert FollowUpTask.objects.count() == 0


def test_who_may_be_assigned(world_a, world_b, mine):
    w = world_a
    for stranger in (world_b.sales, world_b.sales.pk):
        assert refused(w, "assignee", actor="admin", customer=mine, assignee=stranger) == [
            zh("Choose an active staff member.")]
    assert refused(w, "assignee", actor="admin", customer=customer(w, owner=None)) == [
        zh("Choose who does it.")]
    rule = zh("You may assign follow-ups only to yourself or, as a manager, to your team.")
    assert refused(w, "assignee", customer=mine, assignee=w.sales2) == [rule]
    assert refused(w, "assignee", actor="manager", customer=mine,
                   assignee=w.sales_other_team) == [rule]
    assert refused(w, "assignee", actor="admin", customer=mine, assignee=10**9) == [
        zh("Choose an active staff member.")]
    # Customer service assigns anyone.
    assert create(w, actor="cs", customer=mine, assignee=w.sales_other_team).assignee_id == \
        w.sales_other_team.pk


def test_finance_may_not_create_follow_ups(world_a, mine):
    with pytest.raises(PermissionDenied):
        create(world_a, actor="finance", customer=mine)
    assert count(world_a) == 0


def test_bad_purpose_and_channel_are_field_errors(world_a, mine):
    with pytest.raises(ValidationError) as caught:
        create(world_a, customer=mine, purpose="gossip", channel="pigeon")
    assert caught.value.message_dict["purpose"] == [zh("Choose the purpose.")]
    assert caught.value.message_dict["channel"] == [zh("Choose the channel.")]
    assert count(world_a) == 0


# --------------------------------------------------------------------------- results


DUE = at(2026, 9, 30, 10, 0)
DONE_AT = at(2026, 9, 30, 10, 20)


def a_task(world, owner="sales", due=DUE, purpose="after_sale", channel="phone", cust=None):
    cust = cust or customer(world, owner=owner)
    return services.task_create(tenant=world.tenant, actor=world.admin, customer=cust,
                                purpose=purpose, channel=channel, due_at=due, now=NOW)


def complete(world, task, actor="sales", now=DONE_AT, **kw):
    return services.task_complete(tenant=world.tenant,
                                  actor=getattr(world, actor) if actor else None,
                                  task=task, now=now, **kw)


@pytest.mark.parametrize(("kw", "field", "message"), [
    ({"result": "reached"}, "satisfaction",
     "The customer was reached: give their satisfaction from 1 to 5."),
    ({"result": "reached", "satisfaction": 0}, "satisfaction", "Give a satisfaction from 1 to 5."),
    ({"result": "reached", "satisfaction": 6}, "satisfaction", "Give a satisfaction from 1 to 5."),
    ({"result": "reached", "satisfaction": "很好"}, "satisfaction",
     "Give a satisfaction from 1 to 5."),
    ({"result": "unreachable", "satisfaction": 3}, "satisfaction",
     "Satisfaction is recorded only when the customer was reached."),
    ({"result": "refused"}, "result_notes", "Say what happened."),
    ({"result": "failed", "notes": "   "}, "result_notes", "Say what happened."),
    ({"result": "maybe"}, "result", "Choose the result."),
])
def test_a_result_without_what_it_needs_is_refused_and_nothing_changes(world_a, kw, field,
                                                                      message):
    w = world_a
    task = a_task(w)
    before = (state(w, task), count(w), audits(w, "followups.task.complete"))
    with pytest.raises(ValidationError) as caught:
        complete(w, task, **kw)
    assert caught.value.message_dict[field] == [zh(message)]
    assert (state(w, task), count(w), audits(w, "followups.task.complete")) == before
    assert state(w, task)[0] == "open"


def test_completing_twice_says_who_recorded_it_and_when(world_a):
    w = world_a
    task = a_task(w)
    done = complete(w, task, result="reached", satisfaction=5, notes="很满意", next_step="月底再约")
    assert (done.status, done.result, done.satisfaction, done.result_notes, done.next_step,
            done.completed_at, done.completed_by_id) == (
        "done", "reached", 5, "很满意", "月底再约", at(2026, 9, 30, 10, 20), w.sales.pk)
    before = state(w, task)
    with pytest.raises(ValidationError) as caught:
        complete(w, task, actor="manager", result="refused", notes="又打了一次",
                 now=at(2026, 9, 30, 15, 0))
    assert caught.value.message_dict[NON_FIELD_ERRORS] == [zh(
        "The result of this follow-up (%(result)s) was recorded at %(when)s by %(who)s: "
        "nothing was changed.", result=zh("Reached"), when="2026-09-30 10:20",
        who=w.sales.name)]
    assert state(w, task) == before
    assert audits(w, "followups.task.complete") == 1


def test_who_may_record_a_result(world_a):
    w = world_a
    theirs = a_task(w, owner="sales2")
    for who in ("sales", "sales_other_team", "finance"):
        before = state(w, theirs)
        with pytest.raises(PermissionDenied):
            complete(w, theirs, actor=who, result="reached", satisfaction=4)
        assert state(w, theirs) == before
    # The team's manager, customer service and administrators may.
    for who in ("manager", "cs", "admin"):
        task = a_task(w, owner="sales2")
        assert complete(w, task, actor=who, result="failed", notes="号码错误").completed_by_id \
            == getattr(w, who).pk
    other_manager = w.make_staff("manager2", [Role.MANAGER], w.team2)
    with pytest.raises(PermissionDenied):
        services.task_complete(tenant=w.tenant, actor=other_manager, task=theirs,
                               result="reached", satisfaction=4, now=NOW)
    assert state(w, theirs)[0] == "open"


def test_a_task_of_another_tenant_does_not_exist(world_a, world_b):
    theirs = a_task(world_b)
    with pytest.raises(ValidationError) as caught:
        complete(world_a, theirs.pk, actor="admin", result="reached", satisfaction=5)
    assert caught.value.message_dict[NON_FIELD_ERRORS] == [zh("This follow-up does not exist.")]
    assert state(world_b, theirs)[0] == "open"


# --------------------------------------------------------------------------- retries


def test_unreachable_schedules_a_retry_after_the_delay_inside_a_window_up_to_three(world_a):
    """After National Day: Thursday 8 October, Friday the 9th, the make-up Saturday the 10th
    (a working day like any other)."""
    w = world_a
    first = a_task(w, due=at(2026, 10, 8, 10, 0))
    done = complete(w, first, result="unreachable", now=at(2026, 10, 8, 10, 20))
    [second] = done.follow_ups
    row = reload(w, second)
    assert (row.customer_id, row.assignee_id, row.team_id, row.purpose, row.channel,
            row.attempt, row.parent_id, row.source_key, row.status) == (
        first.customer_id, w.sales.pk, w.team1.pk, "after_sale", "phone", 2, first.pk,
        f"retry:{first.pk}", "open")
    assert row.due_at == at(2026, 10, 9, 10, 20)          # 24 hours later, inside a window
    # Unreachable again at 17:10: 24 hours later is 17:10 on the 10th (inside, end 17:30).
    [third] = complete(w, second, result="unreachable", now=at(2026, 10, 9, 17, 10)).follow_ups
    assert (third.attempt, third.parent_id, third.due_at) == (3, second.pk,
                                                              at(2026, 10, 10, 17, 10))
    # The third attempt was the last one.
    assert complete(w, third, result="unreachable", now=at(2026, 10, 10, 17, 15)).follow_ups == []
    assert [t.attempt for t in tasks(w, customer_id=first.customer_id)] == [1, 2, 3]


@pytest.mark.parametrize(("done_at", "retry_at"), [
    (at(2026, 10, 8, 12, 5), at(2026, 10, 9, 15, 0)),     # 12:05 + 24 h: lunch rest → 15:00
    (at(2026, 10, 8, 17, 45), at(2026, 10, 10, 10, 0)),   # 17:45 + 24 h: evening → next morning
    (at(2026, 10, 9, 17, 45), at(2026, 10, 11, 10, 0)),   # … an ordinary Sunday: kept
])
def test_a_retry_outside_the_windows_moves_to_the_next_window(world_a, done_at, retry_at):
    task = a_task(world_a, due=at(2026, 10, 8, 10, 0))
    [retry] = complete(world_a, task, result="unreachable", now=done_at).follow_ups
    assert local(retry.due_at) == retry_at


@pytest.mark.parametrize(("channel", "done_at", "retry_at"), [
    # 1 October 10:20 (National Day): the first window of Thursday 8 October.
    ("phone", at(2026, 9, 30, 10, 20), at(2026, 10, 8, 10, 0)),
    # 17:45 + 24 h is after the windows: 2 October 10:00, still the holiday.
    ("phone", at(2026, 9, 30, 17, 45), at(2026, 10, 8, 10, 0)),
    # 6 October 15:30 + 24 h: 7 October, the holiday's last day.
    ("phone", at(2026, 10, 6, 15, 30), at(2026, 10, 8, 10, 0)),
    # A text is not placed in a window, but is moved off the holiday all the same.
    ("sms", at(2026, 9, 30, 12, 5), at(2026, 10, 8, 10, 0)),
    # 2027 is not covered by the calendar: no known holiday, 1 October stays.
    ("phone", at(2027, 9, 30, 10, 20), at(2027, 10, 1, 10, 20)),
])
def test_a_retry_on_a_public_holiday_moves_to_the_first_window_after_it(world_a, channel,
                                                                        done_at, retry_at):
    task = a_task(world_a, channel=channel, due=done_at.replace(hour=10, minute=0))
    [retry] = complete(world_a, task, result="unreachable", now=done_at).follow_ups
    assert local(retry.due_at) == retry_at
    assert (retry.attempt, retry.channel) == (2, channel)


def test_a_retry_stays_on_the_holiday_when_the_plan_allows_it(world_a):
    w = world_a
    use_plan(w, dt.date(2026, 9, 1), avoid_holidays=False)
    task = a_task(w, due=at(2026, 9, 30, 10, 0))
    [retry] = complete(w, task, result="unreachable", now=at(2026, 9, 30, 10, 20)).follow_ups
    assert local(retry.due_at) == at(2026, 10, 1, 10, 20)


def test_other_results_and_channels(world_a):
    w = world_a
    sms = a_task(w, channel="sms", due=at(2026, 10, 8, 12, 0))
    [retry] = complete(w, sms, result="unreachable", now=at(2026, 10, 8, 12, 5)).follow_ups
    assert retry.due_at == at(2026, 10, 9, 12, 5)         # a text is not placed in a window
    for result, notes in (("refused", "不想聊"), ("failed", "空号")):
        task = a_task(w)
        assert complete(w, task, result=result, notes=notes).follow_ups == []
    assert count(w, attempt=2) == 1


# --------------------------------------------------------------------------- effects


def last_contact(world, cust) -> dt.datetime:
    with world.context():
        return Customer.objects.get(pk=cust.pk).last_contact_at


def set_last_contact(world, cust, moment):
    with world.context():
        Customer.objects.filter(pk=cust.pk).update(last_contact_at=moment)


def test_reached_is_an_effective_contact_and_never_moves_the_clock_back(world_a):
    w = world_a
    task = a_task(w)
    set_last_contact(w, task.customer, at(2026, 9, 1, 9, 0))
    complete(w, a_task(w, cust=task.customer), result="unreachable")
    complete(w, a_task(w, cust=task.customer), result="refused", notes="忙")
    assert last_contact(w, task.customer) == at(2026, 9, 1, 9, 0)
    complete(w, task, result="reached", satisfaction=4, now=at(2026, 9, 30, 10, 20))
    assert last_contact(w, task.customer) == at(2026, 9, 30, 10, 20)
    # A result recorded late for an earlier call does not move it backwards.
    later = a_task(w, cust=task.customer)
    set_last_contact(w, task.customer, at(2026, 10, 5, 16, 0))
    complete(w, later, result="reached", satisfaction=5, now=at(2026, 10, 1, 10, 0))
    assert last_contact(w, task.customer) == at(2026, 10, 5, 16, 0)


def penalties(world) -> list[tuple]:
    with world.context():
        return list(PenaltyEvent.objects.order_by("id").values_list(
            "staff_id", "code", "amount", "occurred_on", "source"))


def test_a_follow_up_done_after_the_grace_costs_the_assignee_a_penalty_once(world_a):
    w = world_a
    in_time = a_task(w, due=at(2026, 9, 30, 10, 0))
    complete(w, in_time, result="reached", satisfaction=5, now=at(2026, 10, 2, 10, 0))
    assert penalties(w) == []                             # exactly 48 hours: in time
    late = a_task(w, owner="sales2", due=at(2026, 9, 30, 15, 0))
    done = complete(w, late, actor="manager", result="reached", satisfaction=5,
                    now=at(2026, 10, 2, 15, 1))
    assert penalties(w) == [(w.sales2.pk, "missed_follow_up", None, dt.date(2026, 9, 30),
                             f"followup:{late.pk}")]
    assert reload(w, late).penalty_id == done.penalty.pk
    # The hourly job later finds nothing more to penalise.
    remind(w.tenant, now=at(2026, 10, 9, 10, 0))
    assert len(penalties(w)) == 1


def test_a_task_already_penalised_by_the_job_is_not_penalised_again_when_done(world_a):
    w = world_a
    task = a_task(w, due=at(2026, 9, 30, 10, 0))
    with w.context():  # the reminders also notify; the links need the pages' URLs
        FollowUpTask.objects.filter(pk=task.pk).update(reminded_at=NOW, escalated_at=NOW)
    assert remind(w.tenant, now=at(2026, 10, 3, 9, 0))["penalised"] == 1
    complete(w, task, result="reached", satisfaction=3, now=at(2026, 10, 3, 10, 0))
    assert len(penalties(w)) == 1


@pytest.mark.parametrize(("purpose", "satisfaction", "opens"), [
    ("after_sale", 1, True), ("after_sale", 2, True), ("after_sale", 3, False),
    ("after_sale", 5, False), ("repair", 2, True), ("complaint", 1, True),
    ("complaint", 3, False), ("periodic", 1, False), ("vip_care", 2, False)])
def test_an_unsatisfied_customer_opens_a_complaint_follow_up(world_a, purpose, satisfaction,
                                                            opens):
    w = world_a
    due = at(2026, 10, 8, 10, 0) if purpose in ("repair", "complaint") else at(2026, 9, 30, 10)
    task = a_task(w, purpose=purpose, due=due)
    done = complete(w, task, result="reached", satisfaction=satisfaction,
                    now=at(2026, 9, 30, 10, 20))
    opened = tasks(w, parent_id=task.pk)
    assert [t.pk for t in done.follow_ups] == [t.pk for t in opened]
    if not opens:
        assert opened == []
        return
    [complaint] = opened
    assert (complaint.purpose, complaint.channel, complaint.assignee_id, complaint.customer_id,
            complaint.source_key, complaint.status) == (
        "complaint", "phone", w.sales.pk, task.customer_id, f"complaint:{task.pk}", "open")
    # Within 3 working days of the result: the make-up Saturday after National Day.
    assert complaint.due_at == at(2026, 10, 10, 10, 0)
    assert str(satisfaction) in complaint.title


# --------------------------------------------------------------------------- cancelling


CANCEL_AT = at(2026, 9, 30, 11, 0)


def cancel(world, task, actor="manager", reason="客户已退货", now=CANCEL_AT):
    return services.task_cancel(tenant=world.tenant,
                                actor=getattr(world, actor) if actor else None,
                                task=task, reason=reason, now=now)


def test_cancelling_needs_a_reason_and_a_manager_cs_or_admin(world_a):
    w = world_a
    task = a_task(w)
    before = state(w, task)
    with pytest.raises(ValidationError) as caught:
        cancel(w, task, reason="  ")
    assert caught.value.message_dict["reason"] == [zh("Say why the follow-up is cancelled.")]
    for who in ("sales", "sales2", "finance"):
        with pytest.raises(PermissionDenied):
            cancel(w, task, actor=who)
    assert state(w, task) == before
    done = cancel(w, task)
    assert (done.status, done.cancel_reason, done.completed_by_id, done.completed_at) == (
        "cancelled", "客户已退货", w.manager.pk, at(2026, 9, 30, 11, 0))
    for who in ("cs", "admin"):
        assert cancel(w, a_task(w), actor=who).status == "cancelled"
    # Closed is closed: neither a result nor a second cancel.
    with pytest.raises(ValidationError) as caught:
        complete(w, task, result="reached", satisfaction=5)
    assert caught.value.message_dict[NON_FIELD_ERRORS] == [zh(
        "This follow-up was cancelled at %(when)s by %(who)s: nothing was changed.",
        when="2026-09-30 11:00", who=w.manager.name)]
    with pytest.raises(ValidationError):
        cancel(w, task, actor="admin", reason="再取消一次")
    assert reload(w, task).cancel_reason == "客户已退货"
