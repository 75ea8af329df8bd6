"""Follow-up reports (apps.followups.reports): on a constructed month of follow-ups — done on
time, done late (also across midnight in Shanghai, on time in UTC), cancelled, open and
overdue, open not yet due, satisfaction, a complaint opened by an unsatisfied visit and
reopened by an unsatisfied complaint visit, days at both ends of the month — the figures by
person, by team and in total equal the hand-computed ones; a manager sees their team only,
another tenant nothing; the team overview gives today's and this week's completion and the
overdue list, oldest first.

The month (`march`) is built through the services (task_create, task_complete, task_cancel)
with explicit `now=` values in March 2026, so the complaint follow-ups are the ones the
services open. The team overview's set (`team_week`) is written with
FollowUpTask.objects.create inside `world.context()`: it needs due times and results at fixed
moments of one week, some of them outside the calling windows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.followups import reports, services
from apps.followups.models import FollowUpTask
from tests.followups.helpers import at, customer, local, zh

MARCH = (dt.date(2026, 3, 1), dt.date(2026, 4, 1))
NOW = at(2026, 3, 20, 12)        # when the March figures are read (overdue: due before this)


@dataclass
class March:
    world: object
    tasks: dict                   # name -> FollowUpTask
    other: FollowUpTask           # world_b's follow-up of March


def _create(w, actor, cust, when, due, *, channel="phone", purpose="after_sale", **kw):
    return services.task_create(tenant=w.tenant, actor=actor, customer=cust, purpose=purpose,
                                channel=channel, due_at=due, now=when, **kw)


def _done(w, actor, task, when, result="reached", satisfaction=None, notes=""):
    return services.task_complete(tenant=w.tenant, actor=actor, task=task, result=result,
                                  satisfaction=satisfaction, notes=notes, now=when)


def _cancel(w, actor, task, when):
    return services.task_cancel(tenant=w.tenant, actor=actor, task=task, reason="客户出差",
                                now=when)


def build_march(world_a, world_b) -> March:
    """The follow-ups of March 2026 (see the module docstring and the expected figures)."""
    w = world_a
    created = at(2026, 2, 27, 9)
    mine, mine2 = customer(w, "sales"), customer(w, "sales2")
    theirs, any_ = customer(w, "sales_other_team"), customer(w, "sales")
    s, s2, s3, cs = w.sales, w.sales2, w.sales_other_team, w.cs
    t: dict = {}
    # sales (team 1)
    t["t1"] = _create(w, s, mine, created, at(2026, 3, 1, 0, 10), channel="sms")
    _done(w, s, t["t1"], at(2026, 3, 1, 9), satisfaction=5)                 # on time
    t["t2"] = _create(w, s, mine, created, at(2026, 3, 3, 10))
    c1 = _done(w, s, t["t2"], at(2026, 3, 4, 9), satisfaction=2).follow_ups  # late, unsatisfied
    t["c1"] = c1[0]
    c2 = _done(w, s, t["c1"], at(2026, 3, 9, 10, 30), satisfaction=1).follow_ups  # on time
    t["c2"] = c2[0]                                                          # open, overdue
    t["t3"] = _create(w, s, mine, created, at(2026, 3, 5, 10))
    _cancel(w, w.manager, t["t3"], at(2026, 3, 4, 12))
    t["t4"] = _create(w, s, mine, created, at(2026, 3, 10, 10))              # open, overdue
    t["t5"] = _create(w, s, mine, created, at(2026, 3, 25, 10))              # open, not yet
    t["t8"] = _create(w, s, mine, created, at(2026, 3, 31, 23, 30), channel="sms")
    _done(w, s, t["t8"], at(2026, 4, 1, 0, 10), result="refused", notes="不需要")  # late
    t["t9"] = _create(w, s, mine, created, at(2026, 4, 1, 0, 30), channel="sms")  # April
    t["t0"] = _create(w, s, mine, at(2026, 2, 26, 9), at(2026, 2, 28, 23, 50),
                      channel="sms")                                         # February
    # sales2 (team 1)
    t["t10"] = _create(w, s2, mine2, created, at(2026, 3, 12, 15))
    _done(w, s2, t["t10"], at(2026, 3, 12, 15, 30), satisfaction=4)
    t["t11"] = _create(w, s2, mine2, created, at(2026, 3, 13, 15))
    _done(w, s2, t["t11"], at(2026, 3, 13, 16), result="refused", notes="=2+3 不要再打")
    # sales3 (team 2)
    t["t12"] = _create(w, s3, theirs, created, at(2026, 3, 15, 10))          # open, overdue
    t["t13"] = _create(w, s3, theirs, created, at(2026, 3, 16, 10))
    _cancel(w, w.admin, t["t13"], at(2026, 3, 14, 9))
    # customer service (no team)
    t["t14"] = _create(w, cs, any_, created, at(2026, 3, 18, 10), purpose="periodic")
    _done(w, cs, t["t14"], at(2026, 3, 18, 11), satisfaction=3)
    b = world_b
    other = _create(b, b.sales, customer(b, "sales"), created, at(2026, 3, 2, 10))
    return March(world=w, tasks=t, other=other)


@pytest.fixture
def march(world_a, world_b) -> March:
    return build_march(world_a, world_b)


def figures(f) -> dict:
    return {"due": f.due, "done": f.done, "cancelled": f.cancelled, "open": f.open,
            "overdue": f.overdue, "on_time": f.on_time, "completion": f.completion_rate,
            "on_time_rate": f.on_time_rate, "satisfaction": f.satisfaction_average,
            "satisfied_n": f.satisfaction_count, "complaints": f.complaints_opened,
            "reopened": f.complaints_reopened}


def expect(due, done, cancelled, open_, overdue, on_time, completion, on_time_rate,
           satisfaction, satisfied_n, complaints=0, reopened=0) -> dict:
    def dec(value):
        return None if value is None else Decimal(value)

    return {"due": due, "done": done, "cancelled": cancelled, "open": open_,
            "overdue": overdue, "on_time": on_time, "completion": dec(completion),
            "on_time_rate": dec(on_time_rate), "satisfaction": dec(satisfaction),
            "satisfied_n": satisfied_n, "complaints": complaints, "reopened": reopened}


# Hand-computed (see build_march). sales: due t1 t2 c1 c2 t3 t4 t5 t8; done t1 t2 c1 t8; on
# time t1 (00:10 → 09:00) and c1; t8 done at 00:10 the next day in Shanghai is late (same day
# in UTC); expected 8 − 1 = 7: 4/7 = 57.1 %, 2/7 = 28.6 %; satisfaction (5 + 2 + 1) / 3.
SALES = expect(8, 4, 1, 3, 2, 2, "57.1", "28.6", "2.7", 3, complaints=2, reopened=1)
SALES2 = expect(2, 2, 0, 0, 0, 2, "100.0", "100.0", "4.0", 1)
SALES3 = expect(2, 0, 1, 1, 1, 0, "0.0", "0.0", None, 0)
CS = expect(1, 1, 0, 0, 0, 1, "100.0", "100.0", "3.0", 1)
TEAM1 = expect(10, 6, 1, 3, 2, 4, "66.7", "44.4", "3.0", 4, complaints=2, reopened=1)
TOTAL = expect(13, 7, 2, 4, 3, 5, "63.6", "45.5", "3.0", 5, complaints=2, reopened=1)


def test_the_complaints_are_the_ones_the_services_opened(march):
    t = march.tasks
    assert (t["c1"].purpose, t["c1"].parent_id, local(t["c1"].due_at)) == (
        "complaint", t["t2"].pk, at(2026, 3, 9, 10))        # 3 working days after 4 March
    assert (t["c2"].purpose, t["c2"].parent_id, local(t["c2"].due_at)) == (
        "complaint", t["c1"].pk, at(2026, 3, 12, 10))


def test_figures_by_person_team_and_in_total(march, django_assert_max_num_queries):
    w = march.world
    with w.context(), django_assert_max_num_queries(4):
        report = reports.followup_report(w.admin, start=MARCH[0], end=MARCH[1], now=NOW)
    people = {row.staff_id: row for row in report.people}
    assert [row.name for row in report.people] == [
        w.sales.name, w.sales2.name, w.sales_other_team.name, w.cs.name]  # 一组, 二组, none
    assert people[w.sales.pk].team_name == w.team1.name
    assert figures(people[w.sales.pk].figures) == SALES
    assert figures(people[w.sales2.pk].figures) == SALES2
    assert figures(people[w.sales_other_team.pk].figures) == SALES3
    assert figures(people[w.cs.pk].figures) == CS
    assert [(row.team_id, row.team_name) for row in report.teams] == [
        (w.team1.pk, "一组"), (w.team2.pk, "二组"), (None, zh("No team"))]
    assert [figures(row.figures) for row in report.teams] == [TEAM1, SALES3, CS]
    assert figures(report.totals) == TOTAL
    assert (report.start, report.last, report.all_teams) == (
        dt.date(2026, 3, 1), dt.date(2026, 3, 31), True)


def test_one_team_and_a_shorter_range(march):
    w = march.world
    with w.context():
        report = reports.followup_report(w.cs, start=MARCH[0], end=MARCH[1], team=w.team2,
                                         now=NOW)
        days = reports.followup_report(w.admin, start=dt.date(2026, 3, 1),
                                       end=dt.date(2026, 3, 4), now=NOW)
    assert [row.staff_id for row in report.people] == [w.sales_other_team.pk]
    assert [row.team_id for row in report.teams] == [w.team2.pk]
    assert figures(report.totals) == SALES3
    # 1–3 March: t1 (on time) and t2 (done late the 4th): 2 due, 2 done, 1 on time.
    assert figures(days.totals) == expect(2, 2, 0, 0, 0, 1, "100.0", "50.0", "3.5", 2)


def test_a_manager_sees_their_team_only(march):
    w = march.world
    with w.context():
        report = reports.followup_report(w.manager, start=MARCH[0], end=MARCH[1], now=NOW)
    assert [row.staff_id for row in report.people] == [w.sales.pk, w.sales2.pk]
    assert [row.team_id for row in report.teams] == [w.team1.pk]
    assert figures(report.totals) == TEAM1
    assert report.all_teams is False


def test_another_tenant_sees_nothing_of_this_one(march, world_b):
    with world_b.context():
        report = reports.followup_report(world_b.admin, start=MARCH[0], end=MARCH[1],
                                         now=NOW)
    assert [row.staff_id for row in report.people] == [world_b.sales.pk]
    assert figures(report.totals) == expect(1, 0, 0, 1, 1, 0, "0.0", "0.0", None, 0)


def test_nothing_due_gives_no_rates(world_a):
    with world_a.context():
        report = reports.followup_report(world_a.admin, start=MARCH[0], end=MARCH[1], now=NOW)
    assert report.people == []
    assert [row.team_name for row in report.teams] == ["一组", "二组"]
    assert figures(report.totals) == expect(0, 0, 0, 0, 0, 0, None, None, None, 0)


@pytest.mark.parametrize("role", ["sales", "finance"])
def test_sales_and_finance_get_no_report(world_a, role):
    with world_a.context(), pytest.raises(PermissionDenied):
        reports.followup_report(getattr(world_a, role), start=MARCH[0], end=MARCH[1])
    with world_a.context(), pytest.raises(PermissionDenied):
        reports.team_overview(getattr(world_a, role))


# --------------------------------------------------------------------------- filters


def _filters(world, staff, **params):
    with world.context():
        return reports.report_filters(params, staff=staff, tenant=world.tenant)


def test_filters_month_range_and_team(world_a):
    w = world_a
    assert _filters(w, w.admin, month="2026-02") == {
        "start": dt.date(2026, 2, 1), "end": dt.date(2026, 3, 1), "team": None}
    got = _filters(w, w.admin, month="2026-02", **{"from": "2026-03-05", "to": "2026-03-09"},
                   team=str(w.team2.pk))
    assert (got["start"], got["end"], got["team"].pk) == (
        dt.date(2026, 3, 5), dt.date(2026, 3, 10), w.team2.pk)
    assert _filters(w, w.admin, **{"from": "2026-02-10"})["end"] == dt.date(2026, 3, 1)
    assert _filters(w, w.admin, to="2026-02-10")["start"] == dt.date(2026, 2, 1)
    year = _filters(w, w.admin, **{"from": "2025-01-01", "to": "2026-01-01"})  # 366 days
    assert (year["start"], year["end"]) == (dt.date(2025, 1, 1), dt.date(2026, 1, 2))


def test_bad_filters_are_field_errors(world_a):
    w = world_a
    with pytest.raises(ValidationError) as caught:
        _filters(w, w.admin, **{"from": "2026-03-09", "to": "2026-03-05"})
    assert caught.value.message_dict == {"to": [zh("The last day is before the first day.")]}
    with pytest.raises(ValidationError) as caught:
        _filters(w, w.admin, **{"from": "2025-01-01", "to": "2026-01-02"})  # 367 days
    assert caught.value.message_dict == {"to": [zh("Choose at most %(days)s days.", days=366)]}
    with pytest.raises(ValidationError) as caught:
        _filters(w, w.admin, month="March")
    assert list(caught.value.message_dict) == ["month"]
    # A manager may not pick another team.
    with pytest.raises(ValidationError) as caught:
        _filters(w, w.manager, team=str(w.team2.pk))
    assert list(caught.value.message_dict) == ["team"]
    assert _filters(w, w.manager, team=str(w.team1.pk))["team"].pk == w.team1.pk


# --------------------------------------------------------------------------- the team overview

WEEK_NOW = at(2026, 3, 20, 14)   # a Friday: the week runs from Monday 16 March


def _task(w, staff, cust, due, status="open", done_at=None, **kw):
    if status == "done":
        kw.setdefault("result", "reached")
        kw.setdefault("satisfaction", 5)
    return FollowUpTask.objects.create(
        tenant=w.tenant, customer=cust, assignee=staff, team_id=staff.team_id, channel="phone",
        purpose="periodic", due_at=due, status=status, completed_at=done_at, **kw)


@pytest.fixture
def team_week(world_a):
    w = world_a
    mine, mine2, theirs = customer(w, "sales"), customer(w, "sales2"), customer(
        w, "sales_other_team")
    t = {}
    with w.context():
        t["a"] = _task(w, w.sales, mine, at(2026, 3, 20, 10), "done", at(2026, 3, 20, 10, 30))
        t["b"] = _task(w, w.sales, mine, at(2026, 3, 20, 15))                 # later today
        t["c"] = _task(w, w.sales, mine, at(2026, 3, 20, 11))                 # overdue today
        t["d"] = _task(w, w.sales, mine, at(2026, 3, 17, 10), "done", at(2026, 3, 18, 9))
        t["e"] = _task(w, w.sales, mine, at(2026, 3, 16, 10), "cancelled",
                       at(2026, 3, 15, 9), cancel_reason="改期")
        t["f"] = _task(w, w.sales, mine, at(2026, 3, 2, 10))                  # long overdue
        t["g"] = _task(w, w.sales, mine, at(2026, 3, 21, 10))                 # tomorrow
        t["h"] = _task(w, w.sales2, mine2, at(2026, 3, 18, 10))               # overdue
        t["i"] = _task(w, w.sales_other_team, theirs, at(2026, 3, 19, 10))   # team 2
    return t


def member_figures(row) -> tuple:
    return (row.today.due, row.today.done, row.today.completion_rate,
            row.week.due, row.week.done, row.week.cancelled, row.week.completion_rate,
            row.overdue)


def test_team_overview_today_week_and_overdue(world_a, team_week):
    w, t = world_a, team_week
    with w.context():
        overview = reports.team_overview(w.manager, now=WEEK_NOW)
        overdue = list(overview.overdue)
    assert (overview.team, overview.day, overview.week_start) == (
        w.team1, dt.date(2026, 3, 20), dt.date(2026, 3, 16))
    rows = {row.staff_id: row for row in overview.members}
    assert [row.name for row in overview.members] == sorted(
        [w.manager.name, w.sales.name, w.sales2.name])
    # sales: today a b c (a done) = 1/3; week a b c d e (a d done, e cancelled) = 2/4.
    assert member_figures(rows[w.sales.pk]) == (3, 1, Decimal("33.3"), 5, 2, 1,
                                                Decimal("50.0"), 2)
    assert member_figures(rows[w.sales2.pk]) == (0, 0, None, 1, 0, 0, Decimal("0.0"), 1)
    assert member_figures(rows[w.manager.pk]) == (0, 0, None, 0, 0, 0, None, 0)
    assert (overview.today.due, overview.today.done, overview.today.completion_rate,
            overview.week.due, overview.week.completion_rate, overview.overdue_count) == (
        3, 1, Decimal("33.3"), 6, Decimal("40.0"), 3)
    assert [task.pk for task in overdue] == [t["f"].pk, t["h"].pk, t["c"].pk]
    assert all(task.customer_visible for task in overdue)


def test_admins_pick_a_team_managers_keep_theirs(world_a, world_b, team_week):
    w, t = world_a, team_week
    with w.context():
        picked = reports.team_overview(w.admin, w.team2, now=WEEK_NOW)
        default = reports.team_overview(w.cs, now=WEEK_NOW)
        with pytest.raises(PermissionDenied):
            reports.team_overview(w.manager, w.team2, now=WEEK_NOW)
        picked_overdue = [task.pk for task in picked.overdue]
    assert picked_overdue == [t["i"].pk]
    assert [row.staff_id for row in picked.members] == [w.sales_other_team.pk]
    assert default.team == w.team1                       # the first team by name
    with world_b.context():
        theirs = reports.team_overview(world_b.manager, now=WEEK_NOW)
        assert list(theirs.overdue) == [] and theirs.overdue_count == 0
