"""Follow-up plans: the default preset (DOMAIN §8) parses into the rules people expect; public
holidays (法定节假日 from chinese_calendar: not ordinary weekends, not make-up working days, none
known for a year not covered) and the day a visit is due when the plan avoids them; the plan's
description says so; every kind of bad plan data is refused with a readable message naming where
the problem is; plan
versions are written by administrators only, from today on, one per day, audited, and
plan_for picks the version in force on a day (the preset, version 0, before the first)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation
from pydantic import ValidationError as PydanticError

from apps.core.models import AuditEntry
from apps.core.workdays import is_public_holiday, next_non_holiday
from apps.followups.models import FollowUpPlan
from apps.followups.plan_versions import plan_create, plan_for, plan_in_force
from apps.followups.plans import (
    PRESETS,
    describe_plan_errors,
    describe_plan_rules,
    parse_plan_rules,
)
from apps.ownership.selectors import tenant_today
from tests.followups.helpers import AFTER_NATIONAL_DAY, MAKE_UP_SATURDAY, plan_data, zh, zh_at

# --------------------------------------------------------------------------- the preset


def test_the_default_preset_is_the_domain_plan():
    rules = parse_plan_rules(PRESETS["default"])
    assert [(o.after, o.amount, o.unit, o.channel) for o in rules.after_deal] == [
        ("2h", 2, "h", "phone"), ("1d", 1, "d", "phone"), ("7d", 7, "d", "phone"),
        ("1m", 1, "m", "phone"), ("3m", 3, "m", "phone")]
    assert rules.every_days() == {"A": 10, "B": 15, "C": 30}
    assert rules.windows == ((dt.time(10, 0), dt.time(11, 30)), (dt.time(15, 0), dt.time(17, 30)))
    assert (rules.complaint_working_days, rules.vip_care, rules.birthday, rules.renewal,
            rules.avoid_holidays) == (3, True, "vip", True, True)
    assert (rules.retry_after_hours, rules.max_attempts, rules.escalate_after_hours,
            rules.penalty, rules.penalty_grace_hours, rules.penalty_amount) == (
        24, 3, 24, True, 48, None)
    assert rules.script("after_sale").startswith("您好")
    assert rules.script("unknown") == ""
    # Stored data parses back to the same rules.
    assert parse_plan_rules(rules.as_data()) == rules


@pytest.mark.parametrize(("units", "grade"), [
    (1000, "A"), (100, "A"), (99, "B"), (50, "B"), (49, "C"), (10, "C"), (9, "D"), (0, "D")])
def test_grades_from_yearly_units_follow_the_thresholds(units, grade):
    assert parse_plan_rules(PRESETS["default"]).grade_for(units) == grade


def test_a_grade_without_an_interval_gets_no_scheduled_visits():
    rules = parse_plan_rules(plan_data(grades=[
        {"grade": "A", "min_units": 20, "every_days": 7},
        {"grade": "B", "min_units": 5, "every_days": 0}]))
    assert rules.every_days() == {"A": 7}
    assert (rules.grade_for(20), rules.grade_for(5), rules.grade_for(4)) == ("A", "B", "D")


# --------------------------------------------------------------------------- public holidays


@pytest.mark.parametrize(("day", "holiday"), [
    (dt.date(2026, 10, 1), True),         # National Day, 1–7 October
    (dt.date(2026, 10, 4), True),         # a Sunday inside the holiday
    (dt.date(2026, 10, 7), True),
    (dt.date(2026, 10, 8), False),
    (dt.date(2026, 10, 10), False),       # the make-up Saturday (调休): a working day
    (dt.date(2026, 10, 11), False),       # a plain Sunday: a rest day, not a holiday
    (dt.date(2026, 9, 20), False),        # the make-up Sunday before it
    (dt.date(2026, 9, 25), True),         # Mid-Autumn Festival
    (dt.date(2026, 2, 14), False),        # the Spring Festival's make-up Saturday
    (dt.date(2026, 2, 15), True),         # Spring Festival, 15–23 February
    (dt.date(2026, 2, 23), True),
    (dt.date(2026, 1, 1), True),          # New Year's Day
    (dt.date(2027, 10, 1), False),        # 2027: not covered yet, no known holidays
    (dt.date(2027, 2, 6), False),
])
def test_public_holidays_are_the_statutory_ones(day, holiday):
    assert is_public_holiday(day) is holiday


@pytest.mark.parametrize(("day", "expected"), [
    (dt.date(2026, 10, 1), AFTER_NATIONAL_DAY),
    (dt.date(2026, 10, 7), AFTER_NATIONAL_DAY),
    (dt.date(2026, 9, 30), dt.date(2026, 9, 30)),       # not a holiday: the day itself
    (AFTER_NATIONAL_DAY, AFTER_NATIONAL_DAY),
    (MAKE_UP_SATURDAY, MAKE_UP_SATURDAY),
    (dt.date(2026, 10, 11), dt.date(2026, 10, 11)),     # a plain Sunday stays
    (dt.date(2026, 9, 25), dt.date(2026, 9, 28)),       # Mid-Autumn Fri–Sun → Monday
    (dt.date(2026, 2, 15), dt.date(2026, 2, 24)),       # Spring Festival
    (dt.date(2027, 10, 1), dt.date(2027, 10, 1)),       # 2027: not covered
])
def test_the_next_day_that_is_not_a_public_holiday(day, expected):
    assert next_non_holiday(day) == expected


def test_the_plan_gives_the_due_day_of_a_visit_on_a_holiday():
    avoids = parse_plan_rules(PRESETS["default"])
    allows = parse_plan_rules(plan_data(avoid_holidays=False))
    assert [avoids.due_day(d) for d in (dt.date(2026, 10, 1), dt.date(2026, 10, 3),
                                        MAKE_UP_SATURDAY, dt.date(2026, 10, 11),
                                        dt.date(2027, 10, 1))] == [
        AFTER_NATIONAL_DAY, AFTER_NATIONAL_DAY, MAKE_UP_SATURDAY, dt.date(2026, 10, 11),
        dt.date(2027, 10, 1)]
    assert allows.due_day(dt.date(2026, 10, 1)) == dt.date(2026, 10, 1)
    # The default is left out of the stored data; "false" is kept.
    assert "avoid_holidays" not in avoids.as_data()
    assert parse_plan_rules({k: v for k, v in PRESETS["default"].items()
                             if k != "avoid_holidays"}).avoid_holidays is True
    assert allows.as_data()["avoid_holidays"] is False
    assert parse_plan_rules(allows.as_data()) == allows


def test_the_plans_description_says_whether_holidays_are_avoided():
    def other_rules(**changes) -> list[str]:
        with translation.override("zh-hans"):
            return dict(describe_plan_rules(parse_plan_rules(plan_data(**changes))))[
                zh("Other rules")]

    avoided = zh("Visits the rules put on a public holiday move to the next day that is not "
                 "one.")
    allowed = zh("Visits may fall on public holidays.")
    assert avoided in other_rules() and allowed not in other_rules()
    assert allowed in other_rules(avoid_holidays=False)
    assert avoided not in other_rules(avoid_holidays=False)


# --------------------------------------------------------------------------- refusals


def problems(**changes) -> list[str]:
    with pytest.raises(PydanticError) as caught:
        parse_plan_rules(plan_data(**changes))
    return describe_plan_errors(caught.value)


WINDOWS = "Calling windows"
ORDER = "List the calling windows in order of the day, without overlaps."


@pytest.mark.parametrize("windows", [
    [["10:00", "12:00"], ["11:30", "13:00"]],      # overlapping
    [["10:00", "11:00"], ["11:00", "12:00"]],      # touching: 11:00 would be in both
    [["15:00", "17:30"], ["10:00", "11:30"]],      # not in the order of the day
])
def test_overlapping_or_unsorted_windows_are_refused(windows):
    assert problems(calling_windows=windows) == [zh_at(zh(WINDOWS), zh(ORDER))]


def test_a_window_ending_before_it_starts_is_refused_naming_it():
    assert problems(calling_windows=[["11:30", "10:00"]]) == [zh_at(zh(WINDOWS), zh(
        "A calling window must end after it starts (%(start)s–%(end)s).", start="11:30",
        end="10:00"))]
    assert problems(calling_windows=[["10:00", "10:00"]]) == [zh_at(zh(WINDOWS), zh(
        "A calling window must end after it starts (%(start)s–%(end)s).", start="10:00",
        end="10:00"))]


@pytest.mark.parametrize("clock", ["9:00", "24:00", "10:60", "10h", "", "ten"])
def test_clock_text_must_be_hh_mm(clock):
    assert problems(calling_windows=[["08:00", "09:00"], [clock, "23:00"]]) == [
        zh_at(zh(WINDOWS), zh("Write times as HH:MM, e.g. 10:00."))]


def test_at_least_one_window():
    assert problems(calling_windows=[]) == [
        zh_at(zh(WINDOWS), zh("Give at least %(min_length)s entries.", min_length=1))]


def test_grades_must_need_fewer_units_going_down():
    grades = [{"grade": "A", "min_units": 100, "every_days": 10},
              {"grade": "B", "min_units": 100, "every_days": 15}]
    assert problems(grades=grades) == [zh_at(zh("Grades"), zh(
        "Grade %(lower)s needs fewer units (%(n)s) than grade %(higher)s (%(m)s).",
        lower="B", n=100, higher="A", m=100))]
    grades[1]["min_units"] = 150
    assert problems(grades=grades) == [zh_at(zh("Grades"), zh(
        "Grade %(lower)s needs fewer units (%(n)s) than grade %(higher)s (%(m)s).",
        lower="B", n=150, higher="A", m=100))]


@pytest.mark.parametrize("order", [["B", "A"], ["A", "A"], ["A", "C", "B"]])
def test_grades_once_each_in_order(order):
    grades = [{"grade": g, "min_units": 100 - 10 * i, "every_days": 10}
              for i, g in enumerate(order)]
    assert problems(grades=grades) == [
        zh_at(zh("Grades"), zh("List each grade once, A first, then B, then C."))]


def test_an_offset_listed_twice_is_refused_naming_it():
    assert problems(after_deal=[{"after": "2h"}, {"after": "7d"}, {"after": "7d"}]) == [
        zh_at(zh("After a deal"), zh("The offset “%(after)s” is listed twice.", after="7d"))]


@pytest.mark.parametrize("after", ["2w", "0d", "7", "d7", "1000d", "-1d", "1.5m"])
def test_bad_offset_text_is_refused_with_how_to_write_it(after):
    where = " › ".join([zh("After a deal"), zh("entry %(n)s", n=2), zh("After")])
    assert problems(after_deal=[{"after": "2h"}, {"after": after}]) == [zh_at(where, zh(
        "Write an offset as a number and h (hours), d (days) or m (months), e.g. 2h, 7d, 3m."))]


def test_out_of_range_numbers_are_each_reported():
    assert problems(days_ahead=40, max_attempts=0, complaint_working_days=0,
                    retry_after_hours=0) == [
        zh_at(zh("Complaints within (working days)"), zh("Must be at least %(ge)s.", ge=1)),
        zh_at(zh("Days ahead"), zh("Must be at most %(le)s.", le=31)),
        zh_at(zh("Retry after (hours)"), zh("Must be at least %(ge)s.", ge=1)),
        zh_at(zh("Attempts at most"), zh("Must be at least %(ge)s.", ge=1)),
    ]
    where = " › ".join([zh("Grades"), zh("entry %(n)s", n=1)])
    assert problems(grades=[{"grade": "A", "min_units": 0, "every_days": 400}]) == [
        zh_at(where + " › " + zh("Units a year from"), zh("Must be at least %(ge)s.", ge=1)),
        zh_at(where + " › " + zh("Every (days)"), zh("Must be at most %(le)s.", le=366))]


@pytest.mark.parametrize("amount", ["0", "-5"])
def test_a_penalty_amount_must_be_more_than_zero(amount):
    assert problems(penalty_amount=amount) == [
        zh_at(zh("Penalty amount"), zh("Must be more than %(gt)s.", gt=0))]


def test_a_penalty_amount_is_money():
    assert problems(penalty_amount="12.345") == [zh_at(zh("Penalty amount"), zh(
        "At most %(decimal_places)s decimal places.", decimal_places=2))]
    assert parse_plan_rules(plan_data(penalty_amount="30")).penalty_amount == Decimal("30")


def test_avoid_holidays_is_true_or_false():
    assert problems(avoid_holidays="sometimes") == [
        zh_at(zh("Not on public holidays"), zh("Must be true or false."))]


def test_unknown_keys_and_choices_are_refused():
    assert problems(birthday="sometimes") == [zh_at(zh("Birthday greetings"), zh(
        "Must be one of: %(expected)s.", expected="'vip', 'all', 'off'"))]
    assert problems(colour="red") == [zh_at("colour", zh("Unknown key."))]


# --------------------------------------------------------------------------- versions


def versions(world) -> list[tuple]:
    with world.context():
        return list(FollowUpPlan.objects.order_by("version")
                    .values_list("version", "effective_from", "name"))


def create(world, actor="admin", **kw):
    kwargs = {"effective_from": tenant_today(world.tenant), "name": "回访计划",
              "preset": "default", **kw}
    return plan_create(tenant=world.tenant, actor=getattr(world, actor) if actor else None,
                       **kwargs)


def test_before_any_version_the_default_preset_is_in_force(world_a):
    version, rules = plan_for(world_a.tenant, dt.date(2026, 10, 1))
    assert (version, rules) == (0, parse_plan_rules(PRESETS["default"]))
    assert plan_in_force(world_a.tenant) is None


def test_admin_adds_versions_and_plan_for_picks_the_one_in_force(world_a):
    w = world_a
    today = tenant_today(w.tenant)
    first = create(w, note="按制度")
    own = copy.deepcopy(PRESETS["default"])
    own["grades"][0]["every_days"] = 7
    second = create(w, effective_from=today + dt.timedelta(days=5), name="A 级每周",
                    preset="", rules=json.dumps(own))
    assert (first.version, second.version) == (1, 2)
    assert versions(w) == [(1, today, "回访计划"), (2, today + dt.timedelta(days=5), "A 级每周")]
    assert plan_for(w.tenant, today - dt.timedelta(days=1))[0] == 0
    assert plan_for(w.tenant, today) == (1, parse_plan_rules(PRESETS["default"]))
    assert plan_for(w.tenant, today + dt.timedelta(days=4))[0] == 1
    version, rules = plan_for(w.tenant, today + dt.timedelta(days=5))
    assert (version, rules.every_days()["A"]) == (2, 7)
    assert plan_for(w.tenant, today + dt.timedelta(days=400))[0] == 2
    with w.context():
        audit = list(AuditEntry.objects.filter(action="followups.plan.create").order_by("id")
                     .values_list("actor_id", "target_id"))
    assert audit == [(w.admin.pk, first.pk), (w.admin.pk, second.pk)]


@pytest.mark.parametrize("who", ["manager", "cs", "sales", "finance"])
def test_only_administrators_change_the_plan(world_a, who):
    with pytest.raises(PermissionDenied):
        create(world_a, actor=who)
    assert versions(world_a) == []


def test_a_past_day_or_a_day_taken_is_refused_and_nothing_saved(world_a):
    w = world_a
    today = tenant_today(w.tenant)
    with pytest.raises(ValidationError) as caught:
        create(w, effective_from=today - dt.timedelta(days=1))
    assert caught.value.message_dict["effective_from"] == [zh(
        "The plan cannot take effect in the past: pick today or a later day.")]
    create(w)
    with pytest.raises(ValidationError) as caught:
        create(w, name="第二个")
    assert caught.value.message_dict["effective_from"] == [zh(
        "A version already takes effect on %(day)s: pick another day.", day=today.isoformat())]
    assert versions(w) == [(1, today, "回访计划")]


def test_bad_rules_are_refused_with_every_problem_and_nothing_saved(world_a):
    rules = plan_data(calling_windows=[["11:30", "10:00"]],
                      after_deal=[{"after": "7d"}, {"after": "7d"}])
    with pytest.raises(ValidationError) as caught:
        create(world_a, preset="", rules=rules)
    assert caught.value.message_dict["rules"] == [
        zh_at(zh("After a deal"), zh("The offset “%(after)s” is listed twice.", after="7d")),
        zh_at(zh(WINDOWS), zh("A calling window must end after it starts (%(start)s–%(end)s).",
                              start="11:30", end="10:00"))]
    assert versions(world_a) == []
    with world_a.context():
        assert not AuditEntry.objects.filter(action="followups.plan.create").exists()
