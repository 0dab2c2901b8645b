"""Working days count Chinese public holidays and make-up workdays."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from handlers.policy import load_policy
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


def test_year_without_calendar_falls_back_to_weekends(caplog) -> None:
    assert is_workday(datetime(2031, 1, 6).date())  # a Monday
    assert not is_workday(datetime(2031, 1, 4).date())  # a Saturday
    is_workday(datetime(2031, 1, 7).date())
    assert sum("2031" in r.getMessage() for r in caplog.records) == 1  # warned once


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
