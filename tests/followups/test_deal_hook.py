"""The deal hook: entering a deal (apps.deals.services.deal_create) makes its after-sale visits
at the plan's offsets (2 hours after it was entered, placed in a calling window; 1 day, 7 days,
1 month, 3 months after the signing day, at a window's start; the month's last day when the day
does not exist) for the deal's owner, with a key per deal and offset; offsets already past are
left out; a deal nobody owns gets none. A day or month offset landing on a public holiday is due
on the next day that is not one (the default plan's `avoid_holidays`; not the hour offset, not
the make-up Saturday, not in 2027, which the calendar does not cover). With a fixed `now`, the
hook is called on a deal entered with the hook switched off."""
# ruff: noqa: F811 - the imported `edu` fixture is an argument of the tests

from __future__ import annotations

import calendar
import datetime as dt

import pytest
from django.utils import timezone

from apps.deals.models import Deal
from apps.followups import services, windows
from apps.followups.plans import PRESETS, parse_plan_rules
from tests.deals.conftest import edu, make_deal  # noqa: F401 - the fixture
from tests.followups.helpers import (
    AFTER_NATIONAL_DAY,
    MAKE_UP_SATURDAY,
    WINDOW_STARTS,
    at,
    count,
    customer,
    local,
    plan_data,
    tasks,
    use_plan,
)

DEFAULT = parse_plan_rules(PRESETS["default"])
OFFSETS = ["2h", "1d", "7d", "1m", "3m"]


def hook(world, deal, **kw) -> int:
    """The hook as the deal service calls it: inside the tenant's transaction."""
    with world.context():
        return services.followups_after_deal(deal, **kw)


def months_later(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (the month's last day when it does not exist)."""
    year, month0 = divmod(day.month - 1 + months, 12)
    year += day.year
    return dt.date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


def by_offset(world, deal) -> dict[str, object]:
    return {t.source_key.rsplit(":", 1)[1]: t for t in tasks(world, deal_id=deal.pk)}


# --------------------------------------------------------------------------- through deal_create


def test_a_new_deal_gets_its_after_sale_visits_for_its_owner(edu):
    w = edu.world
    before = timezone.now()
    deal = make_deal(edu)
    visits = by_offset(w, deal)
    assert sorted(visits, key=OFFSETS.index) == OFFSETS
    for offset, task in visits.items():
        assert (task.customer_id, task.assignee_id, task.team_id, task.purpose, task.channel,
                task.status, task.source_key, task.created_by_id) == (
            edu.customer.pk, w.sales.pk, w.team1.pk, "after_sale", "phone", "open",
            f"deal:{deal.pk}:{offset}", None)
        assert windows.is_inside(task.due_at, DEFAULT.windows, "Asia/Shanghai"), offset
    two_hours = visits["2h"].due_at
    assert two_hours >= before + dt.timedelta(hours=2)
    assert two_hours == windows.place(deal.created_at + dt.timedelta(hours=2), DEFAULT.windows,
                                      "Asia/Shanghai")
    signed = deal.signed_on   # the real today: the days are moved off any public holiday
    assert {o: local(visits[o].due_at).date() for o in ("1d", "7d", "1m", "3m")} == {
        "1d": DEFAULT.due_day(signed + dt.timedelta(days=1)),
        "7d": DEFAULT.due_day(signed + dt.timedelta(days=7)),
        "1m": DEFAULT.due_day(months_later(signed, 1)),
        "3m": DEFAULT.due_day(months_later(signed, 3))}
    assert {local(visits[o].due_at).time() for o in ("1d", "7d", "1m", "3m")} == {
        WINDOW_STARTS[deal.pk % 2]}
    # The hook is idempotent: called again, nothing new.
    hook(w, deal)
    assert count(w, deal_id=deal.pk) == 5


def test_a_deal_nobody_owns_gets_no_visits(edu):
    w = edu.world
    orphan = customer(w, owner=None, name="公海客户")
    deal = make_deal(edu, customer=orphan)
    assert deal.owner_id is None
    assert count(w, deal_id=deal.pk) == 0
    assert count(w, customer_id=orphan.pk) == 0


def test_a_deal_entered_late_gets_only_the_visits_still_ahead(edu):
    w = edu.world
    deal = make_deal(edu, signed_on=edu.today - dt.timedelta(days=120))
    # Days and months count from the signing day: all past. Hours count from the entry.
    assert list(by_offset(w, deal)) == ["2h"]


# --------------------------------------------------------------------------- at a fixed moment


@pytest.fixture
def quiet(monkeypatch):
    """Deals entered without the hook (it is called by the test at a moment of its choice)."""
    monkeypatch.setattr("apps.deals.services.followups_after_deal", lambda deal, **kw: 0)


def entered(edu, signed_on, moment, **kw) -> Deal:
    deal = make_deal(edu, signed_on=signed_on, **kw)
    assert count(edu.world, deal_id=deal.pk) == 0
    deal.created_at = moment
    return deal


def test_month_offsets_end_on_the_months_last_day(edu, quiet):
    w = edu.world
    deal = entered(edu, dt.date(2026, 1, 31), at(2026, 1, 31, 16, 50))
    assert hook(w, deal, now=at(2026, 1, 31, 16, 50)) == 5
    visits = by_offset(w, deal)
    assert {o: local(t.due_at).date() for o, t in visits.items()} == {
        "2h": dt.date(2026, 2, 1),        # 18:50 is after the windows: the next morning
        "1d": dt.date(2026, 2, 1), "7d": dt.date(2026, 2, 7),
        "1m": dt.date(2026, 2, 28),       # 31 January + 1 month in a common year
        "3m": dt.date(2026, 4, 30)}
    assert local(visits["2h"].due_at).time() == dt.time(10, 0)


def due_on(signed_on: dt.date, offset, plan=DEFAULT) -> dt.date:
    """The day after_deal_due gives (no database: a deal and a tenant with what it reads)."""
    deal = Deal(pk=8, signed_on=signed_on, created_at=at(2028, 1, 1))
    return local(services.after_deal_due(_Tenant(), plan, deal, offset)).date()


def test_a_leap_year_february_and_other_month_ends():
    [m1, m3] = [o for o in DEFAULT.after_deal if o.unit == "m"]
    assert due_on(dt.date(2028, 1, 31), m1) == dt.date(2028, 2, 29)
    assert due_on(dt.date(2028, 1, 30), m1) == dt.date(2028, 2, 29)
    assert due_on(dt.date(2026, 1, 29), m1) == dt.date(2026, 2, 28)
    assert due_on(dt.date(2026, 3, 31), m1) == dt.date(2026, 4, 30)
    assert due_on(dt.date(2026, 11, 30), m3) == dt.date(2027, 2, 28)
    assert due_on(dt.date(2026, 12, 31), m1) == dt.date(2027, 1, 31)
    assert due_on(dt.date(2026, 10, 15), m3) == dt.date(2027, 1, 15)


class _Tenant:
    time_zone = "Asia/Shanghai"


@pytest.mark.parametrize(("created", "due"), [
    (at(2026, 10, 8, 8, 30), at(2026, 10, 8, 10, 30)),      # 10:30: inside, kept
    (at(2026, 10, 8, 10, 5), at(2026, 10, 8, 15, 0)),       # 12:05: lunch → 15:00
    (at(2026, 10, 8, 13, 10), at(2026, 10, 8, 15, 10)),     # 15:10: inside
    (at(2026, 10, 8, 15, 31), at(2026, 10, 9, 10, 0)),      # 17:31: just after → next day
])
def test_the_two_hour_visit_is_placed_in_a_calling_window(edu, quiet, created, due):
    deal = entered(edu, dt.date(2026, 10, 8), created)
    hook(edu.world, deal, now=created)
    assert by_offset(edu.world, deal)["2h"].due_at == due


def test_offsets_already_past_are_skipped(edu, quiet):
    w = edu.world
    deal = entered(edu, dt.date(2026, 1, 31), at(2026, 1, 31, 16, 50))
    assert hook(w, deal, now=at(2026, 3, 15, 9, 0)) == 1
    assert list(by_offset(w, deal)) == ["3m"]
    # A later run (e.g. the deal re-sent) adds nothing that is past and nothing twice.
    hook(w, deal, now=at(2026, 3, 16, 9, 0))
    assert count(w, deal_id=deal.pk) == 1


def test_the_plans_offsets_and_channels_in_force_are_used(edu, quiet):
    w = edu.world
    use_plan(w, dt.date(2026, 9, 1), after_deal=[{"after": "3d", "channel": "wechat"},
                                                 {"after": "2m", "channel": "phone"}])
    deal = entered(edu, dt.date(2026, 9, 30), at(2026, 9, 30, 11, 0))
    hook(w, deal, now=at(2026, 9, 30, 11, 0))
    visits = by_offset(w, deal)
    assert {o: (t.channel, local(t.due_at).date()) for o, t in visits.items()} == {
        "3d": ("wechat", AFTER_NATIONAL_DAY),        # 3 October is National Day
        "2m": ("phone", dt.date(2026, 11, 30))}


@pytest.mark.parametrize(("changes", "one_day", "seven_days"), [
    ({}, AFTER_NATIONAL_DAY, AFTER_NATIONAL_DAY),
    ({"avoid_holidays": False}, dt.date(2026, 10, 1), dt.date(2026, 10, 7)),
], ids=["default", "avoid_holidays_false"])
def test_day_offsets_on_a_public_holiday_move_to_the_next_day_that_is_not_one(
        edu, quiet, changes, one_day, seven_days):
    """Signed Wednesday 30 September, entered at 17:00: 1 day and 7 days after fall on 1 and
    7 October (National Day); 1 month (30 October) and 3 months (30 December) are ordinary
    days. The 2-hour visit (19:00, after the windows) is only placed in a window: 10:00 on
    1 October, a holiday or not."""
    w = edu.world
    use_plan(w, dt.date(2026, 9, 1), **changes)
    deal = entered(edu, dt.date(2026, 9, 30), at(2026, 9, 30, 17, 0))
    assert hook(w, deal, now=at(2026, 9, 30, 17, 0)) == 5
    visits = by_offset(w, deal)
    assert {o: local(t.due_at).date() for o, t in visits.items()} == {
        "2h": dt.date(2026, 10, 1), "1d": one_day, "7d": seven_days,
        "1m": dt.date(2026, 10, 30), "3m": dt.date(2026, 12, 30)}
    assert local(visits["2h"].due_at).time() == dt.time(10, 0)
    assert {local(visits[o].due_at).time() for o in ("1d", "7d", "1m", "3m")} == {
        WINDOW_STARTS[deal.pk % 2]}


def test_holidays_only_move_what_lands_on_them():
    [d1, d7] = [o for o in DEFAULT.after_deal if o.unit == "d"]
    [m1, m3] = [o for o in DEFAULT.after_deal if o.unit == "m"]
    assert due_on(dt.date(2026, 9, 2), m1) == AFTER_NATIONAL_DAY           # 2 October
    assert due_on(dt.date(2026, 7, 1), m3) == AFTER_NATIONAL_DAY           # 1 October
    assert due_on(dt.date(2026, 2, 14), d1) == dt.date(2026, 2, 24)        # Spring Festival
    assert due_on(dt.date(2026, 10, 3), d7) == MAKE_UP_SATURDAY            # a working day
    assert due_on(dt.date(2026, 10, 4), d7) == dt.date(2026, 10, 11)       # a plain Sunday
    assert due_on(dt.date(2027, 9, 30), d1) == dt.date(2027, 10, 1)        # 2027: not covered
    allowed = parse_plan_rules(plan_data(avoid_holidays=False))
    assert due_on(dt.date(2026, 9, 2), m1, allowed) == dt.date(2026, 10, 2)


def test_without_an_owner_at_signing_the_customers_owner_now_gets_them(edu, quiet):
    w = edu.world
    cust = customer(w, owner=None)
    deal = entered(edu, dt.date(2026, 10, 8), at(2026, 10, 8, 10, 0), customer=cust)
    assert hook(w, deal, now=at(2026, 10, 8, 10, 0)) == 0
    assert count(w, customer_id=cust.pk) == 0
    with w.context():
        type(cust).objects.filter(pk=cust.pk).update(owner=w.sales_other_team)
    assert hook(w, deal, now=at(2026, 10, 8, 10, 0)) == 5
    assert {(t.assignee_id, t.team_id) for t in tasks(w, deal_id=deal.pk)} == {
        (w.sales_other_team.pk, w.team2.pk)}
