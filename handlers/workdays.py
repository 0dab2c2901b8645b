"""Working days as Chinese bodies count them: public holidays off, make-up workdays (调休) on.

The policy file's ``[holidays.YEAR]`` tables (from the State Council's notice) come first, then
chinese-calendar's data; for a year neither covers, weekends only. Nothing is logged here (a
log line would land in the middle of a console conversation): the daily digest tells the
administrators when the coming days have no holiday data (:meth:`Calendar.uncovered_years`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar


@dataclass(frozen=True)
class YearDays:
    """One year's notice: the holidays (``off``) and the make-up working days (``on``)."""

    off: frozenset[date] = frozenset()
    on: frozenset[date] = frozenset()


@dataclass(frozen=True)
class Calendar:
    years: Mapping[int, YearDays] = field(default_factory=dict)

    def is_workday(self, day: date) -> bool:
        listed = self.years.get(day.year)
        if listed is not None:
            if day in listed.on:
                return True
            if day in listed.off:
                return False
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            return day.weekday() < 5

    def knows(self, year: int) -> bool:
        """Whether the policy file or the library has the year's holidays."""
        if year in self.years:
            return True
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
            return True
        except NotImplementedError:
            return False

    def uncovered_years(self, today: date, days: int = 60) -> list[int]:
        """Years touched by the coming ``days`` whose holidays nobody has given."""
        return [y for y in range(today.year, (today + timedelta(days=days)).year + 1) if not self.knows(y)]


# The library's data alone (tests, tools); the running program uses the policy's calendar.
LIBRARY = Calendar()


def is_workday(day: date, calendar: Calendar = LIBRARY) -> bool:
    return calendar.is_workday(day)


def calendar_from(tables: Mapping[int, tuple[Iterable[date], Iterable[date]]]) -> Calendar:
    return Calendar({y: YearDays(frozenset(off), frozenset(on)) for y, (off, on) in tables.items()})


def add_working_days(start: datetime, n: int, tz: ZoneInfo, calendar: Calendar = LIBRARY) -> datetime:
    """The end (23:59:59 local) of the ``n``-th working day after ``start``'s local day, in UTC.

    "Within 5 working days" from a Friday-evening tip means by the end of the following Friday.
    ``n == 0`` means the end of ``start``'s own day if it is a working day, else the next one.
    """
    day = start.astimezone(tz).date()
    if n == 0:
        while not calendar.is_workday(day):
            day += timedelta(days=1)
    counted = 0
    while counted < n:
        day += timedelta(days=1)
        if calendar.is_workday(day):
            counted += 1
    return datetime.combine(day, time(23, 59, 59), tzinfo=tz).astimezone(UTC)


def subtract_working_days(due: datetime, n: int, tz: ZoneInfo, calendar: Calendar = LIBRARY) -> datetime:
    """The same local time-of-day as ``due`` on the ``n``-th working day before it (for reminders)."""
    local = due.astimezone(tz)
    day = local.date()
    counted = 0
    while counted < n:
        day -= timedelta(days=1)
        if calendar.is_workday(day):
            counted += 1
    return datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=tz).astimezone(UTC)


def working_days_between(a: datetime, b: datetime, tz: ZoneInfo, calendar: Calendar = LIBRARY) -> int:
    """Working days after ``a``'s local day up to and including ``b``'s (negative if b < a)."""
    da, db = a.astimezone(tz).date(), b.astimezone(tz).date()
    sign = 1
    if db < da:
        da, db, sign = db, da, -1
    n = 0
    d = da
    while d < db:
        d += timedelta(days=1)
        n += calendar.is_workday(d)
    return sign * n
