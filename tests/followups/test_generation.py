"""The daily generation (apps.followups.generation.generate, with a fixed `today` and `now`):
each plan rule — grade visits every 10/15/30 days on the days the docstring's formula gives,
grades refreshed from the last 365 days' units, VIP care from the tier frequencies, birthday
greetings, renewal reminders at the renewal lead days — only for customers with an active owner,
every phone call at the start of a calling window; a second run, or a run over overlapping days,
creates nothing new.

Across the 2026 National Day holiday (1–7 October) the default plan (`avoid_holidays`) makes a
visit whose rule day is a public holiday due on the next day that is not one (8 October), the
source_key keeping the rule day; the make-up Saturday 10 October and ordinary weekends are
ordinary days, birthdays stay on the birthday, and 2027 (not covered by the calendar) has no
known holidays. With `avoid_holidays` false the visits stay on the holiday."""
# ruff: noqa: F811 - the imported `edu` fixture is an argument of the tests

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from apps.core.workdays import is_public_holiday
from apps.customers.models import Customer
from apps.deals import services as deals
from apps.deals.models import Contract
from apps.followups.generation import EPOCH, generate
from apps.followups.models import FollowUpTask
from apps.followups.plans import parse_plan_rules
from apps.renewals.selectors import lead_days_for
from apps.tenancy.roles import Role
from apps.tenancy.services import staff_set_active
from apps.vip.models import CustomerTier
from tests.deals.conftest import edu, make_contract, make_deal  # noqa: F401 - the fixture
from tests.followups.helpers import (
    AFTER_NATIONAL_DAY,
    MAKE_UP_SATURDAY,
    NATIONAL_DAY,
    TZ,
    WINDOW_STARTS,
    at,
    count,
    customer,
    local,
    plan_data,
    tasks,
    use_plan,
)

#: Monday 28 September 2026: with 30 days ahead, up to 28 October, across National Day.
TODAY = dt.date(2026, 9, 28)
NOW = at(2026, 9, 28, 1, 30)
#: The default plan (it avoids public holidays).
DEFAULT = parse_plan_rules(plan_data())


def days(start: dt.date, ahead: int) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range(ahead + 1)]


def due_days(pk: int, every: int, span: list[dt.date]) -> list[dt.date]:
    """generation.py's formula: the days d with (d − 2000-01-01 + id) mod N = 0."""
    return [d for d in span if ((d - EPOCH).days + pk) % every == 0]


def local_days(rows: list[FollowUpTask]) -> list[dt.date]:
    return [local(t.due_at).date() for t in rows]


def at_window_start(rows: list[FollowUpTask], slot: int) -> bool:
    """Every task of `rows` at the start of window `slot` (its customer's or contract's id)."""
    return all(local(t.due_at).time() == WINDOW_STARTS[slot % 2] for t in rows)


def all_calls_at_window_starts(world) -> None:
    calls = tasks(world, channel="phone", source_key__regex=r"^(grade|vip_|renewal|birthday)")
    assert all(local(t.due_at).time() in WINDOW_STARTS for t in calls), [
        (t.source_key, local(t.due_at)) for t in calls]


def rule_day(task: FollowUpTask) -> dt.date:
    """The day the rule gave (the last part of a grade visit's source_key)."""
    return dt.date.fromisoformat(task.source_key.rsplit(":", 1)[1])


def set_grade(world, cust, grade):
    with world.context():
        Customer.objects.filter(pk=cust.pk).update(grade=grade)


# --------------------------------------------------------------------------- grades


def test_grade_visits_every_10_15_30_days_for_customers_with_an_active_owner(world_a):
    """Over November 2026 (no public holiday: every visit is on its rule day)."""
    w = world_a
    use_plan(w, dt.date(2026, 9, 1), days_ahead=30)
    today = dt.date(2026, 11, 2)
    span = days(today, 30)
    assert not any(is_public_holiday(day) for day in span)
    a, b, c = (customer(w, grade=g) for g in "ABC")
    d = customer(w, grade="D")
    ungraded = customer(w)
    pool = customer(w, owner=None, grade="A")
    leaver = w.make_staff("leaver", [Role.SALES], w.team2)
    left = customer(w, owner=leaver, grade="A")
    staff_set_active(tenant=w.tenant, actor=w.admin, staff=leaver, active=False, reason="离职")
    other_team = customer(w, owner="sales_other_team", grade="A")

    now = at(2026, 11, 2, 1, 30)
    out = generate(w.tenant, today=today, now=now)

    made = 0
    for cust, every in ((a, 10), (b, 15), (c, 30), (other_team, 10)):
        rows = tasks(w, customer_id=cust.pk)
        expected = due_days(cust.pk, every, span)
        assert local_days(rows) == expected
        assert len(expected) >= 31 // every
        assert {(y - x).days for x, y in zip(expected, expected[1:], strict=False)} <= {every}
        assert at_window_start(rows, cust.pk)
        assert {(t.channel, t.purpose, t.status, t.assignee_id, t.team_id) for t in rows} == {
            ("phone", "periodic", "open", cust.owner_id,
             w.team2.pk if cust is other_team else w.team1.pk)}
        assert [t.source_key for t in rows] == [f"grade:{cust.pk}:{day.isoformat()}"
                                                for day in expected]
        assert {t.created_at for t in rows} == {now}
        made += len(expected)
    # D: at the salesperson's discretion; the pool and a leaver's customers: nobody to call.
    for cust in (d, ungraded, pool, left):
        assert count(w, customer_id=cust.pk) == 0
    assert (out.created["periodic"], out.total) == (made, made)
    all_calls_at_window_starts(w)


def visits_by_rule_day(world, custs, every: int, span: list[dt.date]) -> dict:
    """{rule day: due day} of the grade visits of `custs` (one every `every` days), checking
    that each customer's visits are keyed by the rule days the formula gives."""
    out = {}
    for cust in custs:
        rows = tasks(world, customer_id=cust.pk)
        assert [t.source_key for t in rows] == [f"grade:{cust.pk}:{day.isoformat()}"
                                                for day in due_days(cust.pk, every, span)]
        out.update({rule_day(t): local(t.due_at).date() for t in rows})
    return out


def test_grade_visits_on_a_public_holiday_are_due_the_next_day_that_is_not_one(world_a):
    """The default plan: a visit whose rule day is in the National Day week is due on Thursday
    8 October, its source_key keeping the rule day (the interval still counts calendar days
    from it); the make-up Saturday 10 October and the ordinary Sunday 11 October stay."""
    w = world_a
    use_plan(w, dt.date(2026, 9, 1), days_ahead=30)
    # Ten grade A customers (consecutive ids): one of them is due on each day of the span.
    custs = [customer(w, grade="A") for _ in range(10)]
    generate(w.tenant, today=TODAY, now=NOW)

    span = days(TODAY, 30)
    moved = visits_by_rule_day(w, custs, 10, span)
    assert sorted(moved) == span
    assert [(day, moved[day]) for day in days(dt.date(2026, 9, 29), 13)] == [
        (dt.date(2026, 9, 29), dt.date(2026, 9, 29)),
        (dt.date(2026, 9, 30), dt.date(2026, 9, 30)),
        *[(day, AFTER_NATIONAL_DAY) for day in NATIONAL_DAY],
        (AFTER_NATIONAL_DAY, AFTER_NATIONAL_DAY),
        (dt.date(2026, 10, 9), dt.date(2026, 10, 9)),
        (MAKE_UP_SATURDAY, MAKE_UP_SATURDAY),                     # a working day
        (dt.date(2026, 10, 11), dt.date(2026, 10, 11)),           # an ordinary Sunday
        (dt.date(2026, 10, 12), dt.date(2026, 10, 12))]
    assert {moved[day] for day in span if day not in NATIONAL_DAY} == (
        set(span) - set(NATIONAL_DAY))
    # The customer due on 1 October: on the 8th, then ten days after the rule day.
    [first] = [c for c in custs if due_days(c.pk, 10, [NATIONAL_DAY[0]])]
    rows = tasks(w, customer_id=first.pk)
    assert [(t.source_key, local(t.due_at).date()) for t in rows] == [
        (f"grade:{first.pk}:2026-10-01", AFTER_NATIONAL_DAY),
        (f"grade:{first.pk}:2026-10-11", dt.date(2026, 10, 11)),
        (f"grade:{first.pk}:2026-10-21", dt.date(2026, 10, 21))]
    all_calls_at_window_starts(w)


@pytest.mark.parametrize(("today", "changes"), [
    (TODAY, {"avoid_holidays": False}),            # the plan allows holidays
    (dt.date(2027, 9, 28), {}),                    # 2027: not covered, no known holidays
], ids=["avoid_holidays_false", "2027"])
def test_grade_visits_stay_on_the_rule_day_when_no_holiday_is_avoided(world_a, today, changes):
    w = world_a
    use_plan(w, dt.date(2026, 9, 1), days_ahead=30, **changes)
    custs = [customer(w, grade="A") for _ in range(10)]
    generate(w.tenant, today=today, now=dt.datetime.combine(today, dt.time(1, 30), TZ))

    span = days(today, 30)
    by_day = visits_by_rule_day(w, custs, 10, span)
    assert sorted(by_day) == span
    assert by_day == {day: day for day in span}
    assert by_day[today.replace(month=10, day=1)] == today.replace(month=10, day=1)
    all_calls_at_window_starts(w)


def test_generating_twice_or_over_overlapping_days_creates_nothing_new(world_a):
    """With the default plan (7 days ahead) across National Day: the key keeps the rule day,
    so a visit moved off the holiday is never made a second time."""
    w = world_a
    # Ten grade A customers (consecutive ids): one is due on each day; and a few B and C.
    custs = [customer(w, grade=g) for g in "AAAAAAAAAABBC"]
    first = generate(w.tenant, today=TODAY, now=NOW)
    keys = [t.source_key for t in tasks(w)]
    assert first.total == len(keys) > 0
    again = generate(w.tenant, today=TODAY, now=NOW)
    assert (again.total, again.grades_changed) == (0, 0)
    assert [t.source_key for t in tasks(w)] == keys
    # The next day's run (days 29 September – 6 October) adds only the visits whose rule day
    # is 6 October (a holiday: due on the 8th).
    nxt = generate(w.tenant, today=TODAY + dt.timedelta(days=1), now=NOW + dt.timedelta(days=1))
    new_day = dt.date(2026, 10, 6)
    expected = sorted(c.pk for c in custs
                      if due_days(c.pk, {"A": 10, "B": 15, "C": 30}[c.grade], [new_day]))
    assert nxt.total == len(expected) >= 1
    rows = tasks(w)
    new = [t for t in rows if t.source_key not in keys]
    assert sorted(t.customer_id for t in new) == expected
    assert {(rule_day(t), local(t.due_at).date()) for t in new} == {
        (new_day, AFTER_NATIONAL_DAY)}
    assert len({t.source_key for t in rows}) == len(rows) == len(keys) + len(expected)
    assert max(rule_day(t) for t in rows) == new_day
    # A run during the holiday (3 – 10 October) makes 7 – 10 October's rule days only.
    during = generate(w.tenant, today=dt.date(2026, 10, 3), now=at(2026, 10, 3, 1, 30))
    later = [t for t in tasks(w) if t.source_key not in keys and t not in new]
    assert during.total == len(later)
    assert {rule_day(t) for t in later} == set(days(dt.date(2026, 10, 7), 3))
    assert generate(w.tenant, today=dt.date(2026, 10, 3), now=at(2026, 10, 3, 2)).total == 0


def test_grades_are_refreshed_from_the_units_of_the_last_365_days(edu):
    w = edu.world
    today = dt.date(2026, 11, 20)
    recent = today - dt.timedelta(days=10)

    def buyer(*deals_, grade=""):
        cust = customer(w, grade=grade)
        made = [make_deal(edu, customer=cust, units=units, signed_on=signed_on,
                          amount="1000.00") for units, signed_on in deals_]
        return cust, made

    a, _ = buyer((100, recent), grade="D")
    b, _ = buyer((30, recent), (20, today - dt.timedelta(days=200)))
    c, _ = buyer((10, today))
    dropped, _ = buyer((9, recent), grade="A")
    old, _ = buyer((100, today - dt.timedelta(days=365)), (10, today - dt.timedelta(days=364)))
    refunded, (big, _small) = buyer((100, recent), (10, recent))
    partly, (partial,) = buyer((100, recent))
    never = customer(w, grade="B")
    never_ungraded = customer(w)
    deals.deal_refund(tenant=w.tenant, actor=w.admin, deal=big, amount=Decimal("1000.00"),
                      refunded_on=recent, reason="全额退款")
    deals.deal_refund(tenant=w.tenant, actor=w.admin, deal=partial, amount=Decimal("999.99"),
                      refunded_on=recent, reason="部分退款")

    out = generate(w.tenant, today=today, now=at(2026, 11, 20, 1, 30))

    with w.context():
        grades = dict(Customer.objects.values_list("pk", "grade"))
    # 100 → A; 30 + 20 → B; 10 → C; 9 → D (the hand-set A goes); a deal of 365 days ago does
    # not count, one of 364 does; a fully refunded deal does not count, a partly refunded does.
    assert [grades[x.pk] for x in (a, b, c, dropped, old, refunded, partly)] == [
        "A", "B", "C", "D", "C", "C", "A"]
    # Who never bought keeps the grade given by hand.
    assert (grades[never.pk], grades[never_ungraded.pk]) == ("B", "")
    assert out.grades_changed == 7
    assert generate(w.tenant, today=today, now=at(2026, 11, 20, 2, 30)).grades_changed == 0


# --------------------------------------------------------------------------- VIP care


def vip(edu, amount):
    cust = customer(edu.world)
    make_deal(edu, customer=cust, amount=amount, signed_on=dt.date(2026, 1, 5))
    return cust


def test_vip_care_from_the_tier_frequencies_over_a_year(edu):
    """Default scheme: Diamond a phone visit every 3 months, Gold every 6, both an SMS every
    month; Silver nothing. The day is 1 + id mod 28 of the months the docstring's formula
    gives — or, when that is a public holiday (2026 has several), the next day that is not one;
    the key keeps the month."""
    w = edu.world
    use_plan(w, dt.date(2025, 12, 1), days_ahead=30)
    diamond, gold = vip(edu, "120000.00"), vip(edu, "60000.00")
    silver, plain = vip(edu, "1000.00"), customer(w)
    with w.context():
        tiers = dict(CustomerTier.objects.values_list("customer_id", "tier"))
    assert tiers == {diamond.pk: "diamond", gold.pk: "gold", silver.pk: "silver"}

    for month in range(1, 13):
        generate(w.tenant, today=dt.date(2026, month, 1), now=at(2026, month, 1, 1, 30))

    def care(cust, channel):
        return [t for t in tasks(w, customer_id=cust.pk, purpose="vip_care", channel=channel)
                if t.due_at.astimezone(TZ).year == 2026]

    for cust, every in ((diamond, 3), (gold, 6)):
        day = 1 + cust.pk % 28
        months = [m for m in range(1, 13) if (2026 * 12 + m - 1 + cust.pk) % every == 0]
        assert len(months) == 12 // every
        phone = care(cust, "phone")
        assert local_days(phone) == [DEFAULT.due_day(dt.date(2026, m, day)) for m in months]
        assert at_window_start(phone, cust.pk)
        assert [t.source_key for t in phone] == [f"vip_phone:{cust.pk}:2026-{m:02d}"
                                                 for m in months]
        sms = care(cust, "sms")
        assert local_days(sms) == [DEFAULT.due_day(dt.date(2026, m, day)) for m in range(1, 13)]
        assert [t.source_key for t in sms] == [f"vip_sms:{cust.pk}:2026-{m:02d}"
                                               for m in range(1, 13)]
        assert {t.assignee_id for t in phone + sms} == {w.sales.pk}
    for cust in (silver, plain):
        assert count(w, customer_id=cust.pk, purpose="vip_care") == 0
    all_calls_at_window_starts(w)


def test_vip_care_on_a_public_holiday_is_due_the_next_day_that_is_not_one(edu):
    """A Diamond member whose care day (1 + id mod 28) is in 1–7 October: the October SMS (and
    the call, in a month of its calls) is due on 8 October, keyed by October; in October 2027
    (not covered by the calendar) it stays on the day."""
    w = edu.world
    for _ in range(28):  # customers until one's care day is in the first week of a month
        cust = customer(w)
        if cust.pk % 28 < 7:
            break
    make_deal(edu, customer=cust, amount="120000.00", signed_on=dt.date(2026, 1, 5))
    day = 1 + cust.pk % 28
    assert dt.date(2026, 10, day) in NATIONAL_DAY

    def care(year):
        generate(w.tenant, today=dt.date(year, 10, 1), now=at(year, 10, 1, 1, 30))
        return sorted((t.channel, local(t.due_at).date(), t.source_key)
                      for t in tasks(w, customer_id=cust.pk, purpose="vip_care")
                      if local(t.due_at).year == year)

    def expected(year, due):
        calls = (year * 12 + 9 + cust.pk) % 3 == 0           # Diamond: every 3 months
        return sorted([("sms", due, f"vip_sms:{cust.pk}:{year}-10")]
                      + ([("phone", due, f"vip_phone:{cust.pk}:{year}-10")] if calls else []))

    assert care(2026) == expected(2026, AFTER_NATIONAL_DAY)
    assert care(2027) == expected(2027, dt.date(2027, 10, day))


def test_no_vip_care_when_the_plan_says_so(edu):
    w = edu.world
    use_plan(w, dt.date(2025, 12, 1), vip_care=False, days_ahead=31)
    diamond = vip(edu, "120000.00")
    generate(w.tenant, today=dt.date(2026, 3, 1), now=at(2026, 3, 1, 1, 30))
    assert count(w, customer_id=diamond.pk, purpose="vip_care") == 0


# --------------------------------------------------------------------------- birthdays


def test_birthday_greetings_on_the_day_for_vip_tiers(edu):
    w = edu.world
    holiday = vip(edu, "60000.00")
    leap = vip(edu, "120000.00")
    silver = vip(edu, "1000.00")
    plain = customer(w, birthday=dt.date(1991, 10, 2))
    with w.context():
        Customer.objects.filter(pk=holiday.pk).update(birthday=dt.date(1990, 10, 3))
        Customer.objects.filter(pk=leap.pk).update(birthday=dt.date(1988, 2, 29))
        Customer.objects.filter(pk=silver.pk).update(birthday=dt.date(1985, 10, 1))

    generate(w.tenant, today=TODAY, now=NOW)                        # to 5 October
    generate(w.tenant, today=dt.date(2026, 2, 24), now=at(2026, 2, 24, 1))
    generate(w.tenant, today=dt.date(2028, 2, 24), now=at(2028, 2, 24, 1))

    greetings = tasks(w, purpose="birthday")
    assert [(t.customer_id, local(t.due_at).date(), t.channel, t.source_key)
            for t in greetings] == [
        (leap.pk, dt.date(2026, 2, 28), "sms", f"birthday:{leap.pk}:2026"),   # not a leap year
        (holiday.pk, dt.date(2026, 10, 3), "sms", f"birthday:{holiday.pk}:2026"),  # holiday
        (leap.pk, dt.date(2028, 2, 29), "sms", f"birthday:{leap.pk}:2028"),   # a leap year
    ]
    assert {t.assignee_id for t in greetings} == {w.sales.pk}
    assert plain.pk not in {t.customer_id for t in greetings}


def test_birthday_greetings_for_everyone_or_no_one_as_the_plan_says(world_a):
    w = world_a
    use_plan(w, dt.date(2026, 9, 1), birthday="all")
    use_plan(w, dt.date(2026, 11, 1), birthday="off")
    owned = customer(w, birthday=dt.date(1990, 10, 3))
    pool = customer(w, owner=None, birthday=dt.date(1990, 10, 4))
    nov = customer(w, birthday=dt.date(1990, 11, 3))
    generate(w.tenant, today=TODAY, now=NOW)
    generate(w.tenant, today=dt.date(2026, 11, 1), now=at(2026, 11, 1, 1))
    assert [(t.customer_id, local(t.due_at).date()) for t in tasks(w, purpose="birthday")] == [
        (owned.pk, dt.date(2026, 10, 3))]
    assert count(w, customer_id__in=[pool.pk, nov.pk]) == 0


# --------------------------------------------------------------------------- renewals


def test_renewal_reminders_at_the_lead_days_for_contracts_not_renewed(edu):
    w = edu.world
    with w.context():
        assert lead_days_for(w.tenant) == [30, 7]
    start = dt.date(2025, 10, 1)
    thirty = make_contract(edu, start=start, end=dt.date(2026, 10, 28))    # 30 days: today
    seven = make_contract(edu, start=start, end=dt.date(2026, 10, 10))     # 7 days: 3 Oct
    renewed = make_contract(edu, start=start, end=dt.date(2026, 10, 28))
    make_deal(edu, kind="renewal", renews=renewed, signed_on=dt.date(2026, 9, 20))
    orphan = customer(w, owner=None)
    unowned = make_contract(edu, customer=orphan, start=start, end=dt.date(2026, 10, 28))
    theirs = make_contract(edu, customer=edu.other_customer, start=start,
                           end=dt.date(2026, 10, 30))                      # 30 days: 30 Sep
    left = make_contract(edu, start=start, end=dt.date(2026, 10, 9))      # 7 days: 2 Oct
    leaver = w.make_staff("leaver", [Role.SALES], w.team1)
    with w.context():  # the contract's own owner, when active, before the customer's
        Contract.objects.filter(pk=theirs.pk).update(owner=w.sales2)
        Contract.objects.filter(pk=left.pk).update(owner=leaver)
    staff_set_active(tenant=w.tenant, actor=w.admin, staff=leaver, active=False, reason="离职")

    out = generate(w.tenant, today=TODAY, now=NOW)

    rows = tasks(w, purpose="renewal")
    assert {t.contract_id: (local(t.due_at).date(), t.assignee_id, t.source_key)
            for t in rows} == {
        thirty.pk: (dt.date(2026, 9, 28), w.sales.pk, f"renewal:{thirty.pk}:30"),
        theirs.pk: (dt.date(2026, 9, 30), w.sales2.pk, f"renewal:{theirs.pk}:30"),
        # 2 and 3 October are National Day: due on the 8th (the owner of `left` left).
        left.pk: (AFTER_NATIONAL_DAY, w.sales.pk, f"renewal:{left.pk}:7"),
        seven.pk: (AFTER_NATIONAL_DAY, w.sales.pk, f"renewal:{seven.pk}:7"),
    }
    for t in rows:
        assert at_window_start([t], t.contract_id)
        assert (t.channel, t.customer_id) == (
            "phone", edu.other_customer.pk if t.contract_id == theirs.pk else edu.customer.pk)
    assert out.created["renewal"] == 4
    assert unowned.pk not in {t.contract_id for t in rows}
    assert generate(w.tenant, today=TODAY, now=NOW).total == 0


def test_no_renewal_reminders_when_the_plan_says_so(edu):
    w = edu.world
    use_plan(w, dt.date(2026, 9, 1), renewal=False)
    make_contract(edu, start=dt.date(2025, 10, 1), end=dt.date(2026, 10, 28))
    generate(w.tenant, today=TODAY, now=NOW)
    assert count(w, purpose="renewal") == 0


@pytest.mark.parametrize("day", [dt.date(2026, 2, 13), dt.date(2026, 9, 20)])
def test_every_generated_call_is_at_a_window_start_around_holidays(world_a, day):
    w = world_a
    for grade in "AABBCC":
        customer(w, grade=grade)
    use_plan(w, day - dt.timedelta(days=1), days_ahead=20)
    assert generate(w.tenant, today=day, now=dt.datetime.combine(day, dt.time(1), TZ)).total
    all_calls_at_window_starts(w)
