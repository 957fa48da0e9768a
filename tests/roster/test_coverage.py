"""What the roster leaves uncovered (app/roster/coverage.py) and when a helpline is due to be
verified again (app/referrals/directory.py): pure."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from app.referrals.directory import needs_reverification
from app.roster.coverage import gap_seconds, shift_problem, uncovered

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
HOUR = NOW + timedelta(hours=1)


def at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


def test_an_empty_roster_leaves_the_whole_hour_uncovered():
    assert uncovered([], NOW, HOUR) == [(NOW, HOUR)]
    assert gap_seconds([], NOW, HOUR) == 3600


def test_a_shift_across_the_hour_covers_it():
    assert gap_seconds([(at(-60), at(120))], NOW, HOUR) == 0


def test_touching_and_overlapping_shifts_leave_no_gap_between_them():
    shifts = [(at(30), at(60)), (at(-5), at(20)), (at(20), at(35))]
    assert uncovered(shifts, NOW, HOUR) == []


def test_gaps_before_between_and_after_shifts_are_all_counted():
    shifts = [(at(10), at(20)), (at(30), at(40)), (at(90), at(100))]
    assert uncovered(shifts, NOW, HOUR) == [(NOW, at(10)), (at(20), at(30)), (at(40), HOUR)]
    assert gap_seconds(shifts, NOW, HOUR) == 40 * 60


def test_shifts_outside_the_window_count_for_nothing():
    assert gap_seconds([(at(-120), at(-60)), (at(60), at(120))], NOW, HOUR) == 3600


def test_a_shift_must_end_after_it_starts_and_last_at_most_a_week():
    assert shift_problem(at(10), at(10))
    assert shift_problem(at(10), at(5))
    assert shift_problem(NOW, NOW + timedelta(days=7, seconds=1))
    assert shift_problem(NOW, NOW + timedelta(days=7)) is None


def test_a_helpline_needs_reverification_after_90_days_or_when_never_verified():
    today = date(2026, 12, 4)
    assert needs_reverification(None, today)
    assert not needs_reverification("2026-12-04", today)
    assert not needs_reverification((today - timedelta(days=90)).isoformat(), today)
    assert needs_reverification((today - timedelta(days=91)).isoformat(), today)


def test_a_year_or_month_alone_counts_from_its_first_day():
    assert needs_reverification("2026", date(2026, 4, 2))  # 91 days after 1 January
    assert not needs_reverification("2026-11", date(2026, 12, 4))
