"""Working days count Chinese public holidays and make-up workdays."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from handlers.policy import DEFAULT_POLICY, PolicyError, load_policy
from handlers.workdays import add_working_days, is_workday, subtract_working_days, working_days_between

SH = ZoneInfo("Asia/Shanghai")


def test_national_day_week_is_skipped_and_makeup_saturday_counts() -> None:
    # A tip on Wednesday 30 Sep 2026: 1-7 Oct are the National Day holiday.
    start = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)
    due = add_working_days(start, 1, SH).astimezone(SH)
    assert due.date().isoformat() == "2026-10-08"
    assert due.hour == 23


def test_friday_evening_plus_one_working_day_is_monday() -> None:
    friday_evening = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
    assert add_working_days(friday_evening, 1, SH).astimezone(SH).date().isoformat() == "2026-03-09"


def test_year_without_calendar_falls_back_to_weekends_without_a_log_line(caplog) -> None:
    assert is_workday(datetime(2031, 1, 6).date())  # a Monday
    assert not is_workday(datetime(2031, 1, 4).date())  # a Saturday
    # A log line would land inside a console conversation: the digest tells the admins instead.
    assert not caplog.records


def test_reminder_times_and_counting_are_consistent() -> None:
    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    due = add_working_days(start, 5, SH)
    assert working_days_between(start, due, SH) == 5
    two_before = subtract_working_days(due, 2, SH)
    assert working_days_between(two_before, due, SH) == 2 and two_before < due


def test_default_policy_has_the_domain_limits() -> None:
    rules = load_policy(None, SH).kinds
    assert rules["accept"].working_days == 5
    assert rules["acknowledge"].working_days == 1
    assert rules["feedback_acceptance"].working_days == 15 and rules["feedback_acceptance"].named_only
    assert rules["feedback_result"].starts == "case:concluded"


HOLIDAYS_2031 = """
[holidays.2031]
off = [2031-01-01, 2031-01-02, 2031-01-03]
on = [2031-01-04]
"""


def policy_with(tmp_path: Path, extra: str) -> Path:
    p = tmp_path / "policy.toml"
    p.write_text(DEFAULT_POLICY.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return p


def test_the_policy_files_holidays_come_before_the_library(tmp_path: Path) -> None:
    policy = load_policy(policy_with(tmp_path, HOLIDAYS_2031), SH)
    cal = policy.calendar
    assert not cal.is_workday(date(2031, 1, 1)) and not cal.is_workday(date(2031, 1, 3))
    assert cal.is_workday(date(2031, 1, 4))  # a Saturday worked (调休)
    assert cal.is_workday(date(2026, 9, 30)) and not cal.is_workday(date(2026, 10, 1))  # the library's years
    # A tip on the evening of 31 Dec 2030: five working days are 4, 6, 7, 8 and 9 January.
    start = datetime(2030, 12, 31, 12, 0, tzinfo=UTC)
    assert policy.due("accept", start).astimezone(SH).date() == date(2031, 1, 9)
    assert cal.uncovered_years(date(2030, 12, 1)) == [2030]  # not the library's, not listed
    assert load_policy(None, SH).calendar.uncovered_years(date(2030, 12, 1)) == [2030, 2031]


@pytest.mark.parametrize(("table", "named"), [
    ("[holidays.2031]\noff = [2030-12-31]\n", "2030-12-31 is not in 2031"),
    ("[holidays.2031]\noff = [2031-01-04]\non = [2031-01-04]\n", "both off and on"),
    ("[holidays.2031]\non = [2031-01-06]\n", "2031-01-06 is a weekday"),
    ("[holidays.2031]\noff = [\"soon\"]\n", "holidays"),
])
def test_a_wrong_holiday_table_stops_start_up_with_the_date_named(tmp_path: Path, table: str, named: str) -> None:
    with pytest.raises(PolicyError, match=named):
        load_policy(policy_with(tmp_path, table), SH)
