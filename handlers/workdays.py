"""Working days as Chinese bodies count them: public holidays off, make-up workdays (调休) on,
from chinese-calendar; for a year it does not cover, weekends only (warned once per year)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

log = logging.getLogger("lianzu.workdays")
_warned: set[int] = set()


def is_workday(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        if day.year not in _warned:
            _warned.add(day.year)
            log.warning("no holiday calendar for %d: counting weekends only", day.year)
        return day.weekday() < 5


def add_working_days(start: datetime, n: int, tz: ZoneInfo) -> datetime:
    """The end (23:59:59 local) of the ``n``-th working day after ``start``'s local day, in UTC.

    "Within 5 working days" from a Friday-evening tip means by the end of the following Friday.
    ``n == 0`` means the end of ``start``'s own day if it is a working day, else the next one.
    """
    day = start.astimezone(tz).date()
    if n == 0:
        while not is_workday(day):
            day += timedelta(days=1)
    counted = 0
    while counted < n:
        day += timedelta(days=1)
        if is_workday(day):
            counted += 1
    return datetime.combine(day, time(23, 59, 59), tzinfo=tz).astimezone(UTC)


def subtract_working_days(due: datetime, n: int, tz: ZoneInfo) -> datetime:
    """The same local time-of-day as ``due`` on the ``n``-th working day before it (for reminders)."""
    local = due.astimezone(tz)
    day = local.date()
    counted = 0
    while counted < n:
        day -= timedelta(days=1)
        if is_workday(day):
            counted += 1
    return datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=tz).astimezone(UTC)


def working_days_between(a: datetime, b: datetime, tz: ZoneInfo) -> int:
    """Working days after ``a``'s local day up to and including ``b``'s (negative if b < a)."""
    da, db = a.astimezone(tz).date(), b.astimezone(tz).date()
    sign = 1
    if db < da:
        da, db, sign = db, da, -1
    n = 0
    d = da
    while d < db:
        d += timedelta(days=1)
        n += is_workday(d)
    return sign * n
