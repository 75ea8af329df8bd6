"""Calling windows (通话时段): phone follow-ups happen only inside the tenant's windows (default
10:00–11:30 and 15:00–17:30, Asia/Shanghai), never at rest hours. Pure functions on aware
datetimes and the windows as (start, end) times of the tenant's day; an end is inclusive
(a call due at 17:30 is inside)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence

Windows = Sequence[tuple[dt.time, dt.time]]


def _zone(tz: str | dt.tzinfo) -> dt.tzinfo:
    return zoneinfo.ZoneInfo(tz) if isinstance(tz, str) else tz


def is_inside(moment: dt.datetime, windows: Windows, tz: str | dt.tzinfo) -> bool:
    clock = moment.astimezone(_zone(tz)).time()
    return any(start <= clock <= end for start, end in windows)


def window_index(moment: dt.datetime, windows: Windows, tz: str | dt.tzinfo) -> int | None:
    """Which window (0-based) the moment falls in, None: outside every window."""
    clock = moment.astimezone(_zone(tz)).time()
    for i, (start, end) in enumerate(windows):
        if start <= clock <= end:
            return i
    return None


def place(moment: dt.datetime, windows: Windows, tz: str | dt.tzinfo) -> dt.datetime:
    """The moment itself when inside a window, else the start of the next window (the same
    day's, or the first of the next day)."""
    zone = _zone(tz)
    local = moment.astimezone(zone)
    clock = local.time()
    for start, end in windows:
        if clock <= end:
            if clock >= start:
                return moment
            return dt.datetime.combine(local.date(), start, zone)
    return dt.datetime.combine(local.date() + dt.timedelta(days=1), windows[0][0], zone)


def at_day(day: dt.date, windows: Windows, tz: str | dt.tzinfo, slot: int = 0) -> dt.datetime:
    """The start of window `slot` (modulo their number) on `day`: where generated tasks of a
    day go, spread over the windows by `slot`."""
    return dt.datetime.combine(day, windows[slot % len(windows)][0], _zone(tz))


def text(windows: Windows) -> str:
    return "、".join(f"{a:%H:%M}–{b:%H:%M}" for a, b in windows)
