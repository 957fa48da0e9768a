"""Whether the roster covers a window of time: pure, no clock, no database.

Contracts:
- ``uncovered`` returns the parts of ``[start, end)`` that no shift covers, in order, merged.
- A shift covers ``[starts_at, ends_at)``; shifts may overlap or touch (touching leaves no gap).
- ``gap_seconds`` is the total length of ``uncovered``: 0 when the window is covered.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

# The roster looks this far ahead: "the next hour has nobody on call" is the warning on the
# supervisor desk and the metric peerline_oncall_roster_gap_seconds.
LOOKAHEAD = timedelta(hours=1)
# Longest single shift an admin may enter: longer is almost surely a typing mistake.
MAX_SHIFT = timedelta(days=7)


def uncovered(
    shifts: Iterable[tuple[datetime, datetime]], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The parts of ``[start, end)`` no shift covers."""
    gaps: list[tuple[datetime, datetime]] = []
    cursor = start
    for shift_start, shift_end in sorted(shifts):
        if shift_end <= cursor or shift_start >= end:
            continue
        if shift_start > cursor:
            gaps.append((cursor, shift_start))
        cursor = max(cursor, shift_end)
        if cursor >= end:
            break
    if cursor < end:
        gaps.append((cursor, end))
    return gaps


def gap_seconds(
    shifts: Iterable[tuple[datetime, datetime]], start: datetime, end: datetime
) -> float:
    return sum((b - a).total_seconds() for a, b in uncovered(shifts, start, end))


def shift_problem(starts_at: datetime, ends_at: datetime) -> str | None:
    """Why a shift cannot be entered, or None."""
    if ends_at <= starts_at:
        return "a shift must end after it starts"
    if ends_at - starts_at > MAX_SHIFT:
        return "a shift may last at most 7 days"
    return None
