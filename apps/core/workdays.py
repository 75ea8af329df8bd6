"""Chinese working days (工作日): public holidays and make-up working days (调休) from the
maintained `chinese_calendar` package (the State Council's yearly notice, updated each
December). For a year the package does not cover yet, Monday to Friday are working days — a
documented fallback, so a due date far ahead is still computed (and may move by a day or two
once the year's notice is out)."""

from __future__ import annotations

import datetime as dt

import chinese_calendar


def is_working_day(day: dt.date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:  # the year is not covered yet
        return day.weekday() < 5


def add_working_days(day: dt.date, count: int) -> dt.date:
    """The `count`-th working day after `day` (`count` 0: `day` itself, even on a holiday)."""
    if count < 0:
        raise ValueError("count must be >= 0")
    current = day
    remaining = count
    while remaining:
        current += dt.timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current


def is_public_holiday(day: dt.date) -> bool:
    """A statutory public holiday (法定节假日: the Spring Festival or National Day week, …), not
    an ordinary weekend; False for a year the package does not cover yet."""
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return False
    return bool(on_holiday and name)


def next_non_holiday(day: dt.date) -> dt.date:
    """`day`, or the first day after it that is not a public holiday."""
    while is_public_holiday(day):
        day += dt.timedelta(days=1)
    return day
