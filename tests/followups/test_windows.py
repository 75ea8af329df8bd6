"""Calling windows (default 10:00–11:30 and 15:00–17:30 Asia/Shanghai): a moment inside a window
stays (the end is inclusive), one before, between or after the windows moves to the start of
the next window — the next day's first after the last one, across midnight and the year's
end — whatever zone the moment was given in; a day's slots spread over the windows."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.followups import windows
from apps.followups.plans import PRESETS, parse_plan_rules
from tests.followups.helpers import TZ, UTC, at

W = parse_plan_rules(PRESETS["default"]).windows
SH = "Asia/Shanghai"


@pytest.mark.parametrize(("moment", "placed"), [
    (at(2026, 10, 8, 10, 0), at(2026, 10, 8, 10, 0)),          # a window's start
    (at(2026, 10, 8, 10, 47, 13), at(2026, 10, 8, 10, 47, 13)),  # inside: unchanged
    (at(2026, 10, 8, 11, 30), at(2026, 10, 8, 11, 30)),        # the end is inclusive
    (at(2026, 10, 8, 17, 30), at(2026, 10, 8, 17, 30)),
    (at(2026, 10, 8, 7, 15), at(2026, 10, 8, 10, 0)),          # before the first
    (at(2026, 10, 8, 9, 59, 59), at(2026, 10, 8, 10, 0)),
    (at(2026, 10, 8, 11, 30, 1), at(2026, 10, 8, 15, 0)),      # just after the first
    (at(2026, 10, 8, 12, 0), at(2026, 10, 8, 15, 0)),          # between (lunch rest)
    (at(2026, 10, 8, 17, 30, 1), at(2026, 10, 9, 10, 0)),      # after the last
    (at(2026, 10, 8, 21, 0), at(2026, 10, 9, 10, 0)),
    (at(2026, 10, 8, 23, 59, 59), at(2026, 10, 9, 10, 0)),     # across midnight
    (at(2026, 10, 9, 0, 0), at(2026, 10, 9, 10, 0)),
    (at(2026, 12, 31, 18, 0), at(2027, 1, 1, 10, 0)),          # across the year's end
    (at(2026, 2, 28, 18, 0), at(2026, 3, 1, 10, 0)),           # across the month's end
])
def test_place_keeps_a_moment_inside_and_moves_others_to_the_next_window(moment, placed):
    assert windows.place(moment, W, SH) == placed
    assert windows.is_inside(placed, W, SH)
    assert windows.is_inside(moment, W, SH) is (moment == placed)


@pytest.mark.parametrize(("utc", "placed"), [
    # 02:00 UTC is 10:00 in Shanghai: inside.
    (dt.datetime(2026, 10, 8, 2, 0, tzinfo=UTC), at(2026, 10, 8, 10, 0)),
    # 04:00 UTC is 12:00 in Shanghai: the afternoon window.
    (dt.datetime(2026, 10, 8, 4, 0, tzinfo=UTC), at(2026, 10, 8, 15, 0)),
    # 10:00 UTC is 18:00 in Shanghai: the next morning.
    (dt.datetime(2026, 10, 8, 10, 0, tzinfo=UTC), at(2026, 10, 9, 10, 0)),
    # 20:00 UTC on the 8th is 04:00 on the 9th in Shanghai: that day's morning, not the 8th's.
    (dt.datetime(2026, 10, 8, 20, 0, tzinfo=UTC), at(2026, 10, 9, 10, 0)),
    # 16:30 UTC on the 8th is 00:30 on the 9th: in UTC still "after the windows", not in China.
    (dt.datetime(2026, 10, 8, 16, 30, tzinfo=UTC), at(2026, 10, 9, 10, 0)),
])
def test_moments_in_utc_are_placed_in_the_tenants_zone(utc, placed):
    result = windows.place(utc, W, SH)
    assert result == placed
    assert result.astimezone(TZ).time() in (dt.time(10, 0), placed.astimezone(TZ).time())


def test_the_zone_may_be_given_as_an_object_and_other_zones_have_their_own_day():
    moment = dt.datetime(2026, 10, 8, 3, 0, tzinfo=UTC)  # 11:00 Shanghai, 12:00 Tokyo
    assert windows.place(moment, W, TZ) == moment
    tokyo = windows.place(moment, W, "Asia/Tokyo")
    assert tokyo == dt.datetime(2026, 10, 8, 6, 0, tzinfo=UTC)  # 15:00 Tokyo


@pytest.mark.parametrize(("moment", "index"), [
    (at(2026, 10, 8, 10, 0), 0), (at(2026, 10, 8, 11, 30), 0), (at(2026, 10, 8, 12, 0), None),
    (at(2026, 10, 8, 15, 0), 1), (at(2026, 10, 8, 17, 30), 1), (at(2026, 10, 8, 17, 31), None),
    (at(2026, 10, 8, 3, 0), None)])
def test_window_index_names_the_window_of_a_moment(moment, index):
    assert windows.window_index(moment, W, SH) == index
    assert windows.window_index(moment.astimezone(UTC), W, SH) == index


@pytest.mark.parametrize(("slot", "clock"), [
    (0, dt.time(10, 0)), (1, dt.time(15, 0)), (2, dt.time(10, 0)), (7, dt.time(15, 0)),
    (123456, dt.time(10, 0))])
def test_at_day_spreads_slots_over_the_window_starts(slot, clock):
    moment = windows.at_day(dt.date(2026, 10, 1), W, SH, slot=slot)
    assert moment == dt.datetime.combine(dt.date(2026, 10, 1), clock, TZ)
    assert windows.is_inside(moment, W, SH)


def test_at_day_with_three_windows_and_the_text_of_windows():
    three = parse_plan_rules({"calling_windows": [["09:00", "10:00"], ["13:00", "14:00"],
                                                  ["19:00", "20:30"]]}).windows
    assert [windows.at_day(dt.date(2026, 2, 14), three, SH, slot=s).time()
            for s in range(4)] == [dt.time(9), dt.time(13), dt.time(19), dt.time(9)]
    assert windows.text(W) == "10:00–11:30、15:00–17:30"
    assert windows.text(three) == "09:00–10:00、13:00–14:00、19:00–20:30"
