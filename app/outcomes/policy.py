"""What may be shown of the seekers' answers: pure rules, no database, no clock.

Cells, not rows, are the unit of release. A *cell* is the chats of one ISO week, one
language and one risk bucket. A cell counts only when it holds at least ``min_group`` chats;
each figure (a mean mood, a share who felt heard) takes a cell's answers only when at least
``min_group`` of them answered that question. Every figure shown is then a sum of whole
cells, so the difference between any two figures (two groups, or the same group a week
later) is again a sum of whole cells of at least ``min_group``: nobody can subtract their
way down to one seeker's answer.

Only weeks whose answers are final are shown: a seeker may answer for ``window`` after the
chat ended, so a week is released once it ended that long ago. A released figure never
changes as later answers arrive, so watching it cannot reveal who just answered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

MOODS = range(1, 6)


class Reply(StrEnum):
    """An answer to "did you feel heard?" and "would you come back?"."""

    yes = "yes"
    no = "no"
    unsure = "unsure"


# Risk levels, coarsened: fewer, larger groups identify less.
RISK_BUCKETS: dict[str, str] = {
    "none": "none",
    "low": "low_moderate",
    "moderate": "low_moderate",
    "high": "high_imminent",
    "imminent": "high_imminent",
}


def risk_bucket(level: str | None) -> str:
    return RISK_BUCKETS.get(level or "none", "none")


def week_start(moment: datetime | date) -> date:
    """The Monday of ``moment``'s ISO week."""
    day = moment.date() if isinstance(moment, datetime) else moment
    return day - timedelta(days=day.weekday())


def week_label(start: date) -> str:
    year, week, _ = start.isocalendar()
    return f"{year}-W{week:02d}"


def released_weeks(*, now: datetime, window: timedelta, weeks: int) -> tuple[date, date]:
    """(first, last) Monday of the ``weeks`` latest weeks whose answers are final: the week
    ended, and then every seeker's answer window (``window`` after their chat ended) did."""
    last = week_start(now - window) - timedelta(days=7)
    return last - timedelta(days=7 * (weeks - 1)), last


def answer_window_open(*, ended_at: datetime, now: datetime, window: timedelta) -> bool:
    return now <= ended_at + window


@dataclass(frozen=True, slots=True)
class Answer:
    """One stored outcome's numbers (never its comment)."""

    mood_start: int | None = None
    mood_end: int | None = None
    heard: str | None = None
    come_back: str | None = None


CellKey = tuple[date, str, str]  # (week start, language, risk bucket)


@dataclass
class Tally:
    """A figure's count and sum (or count of "yes") over some answers."""

    n: int = 0
    total: float = 0.0
    better: int = 0  # mood change only: how many ended above where they started

    def add(self, other: Tally) -> None:
        self.n += other.n
        self.total += other.total
        self.better += other.better


MEASURES = ("mood_start", "mood_end", "mood_change", "heard", "come_back")


@dataclass
class Cell:
    chats: int = 0
    responses: int = 0
    tallies: dict[str, Tally] = field(default_factory=lambda: {m: Tally() for m in MEASURES})

    def take(self, answer: Answer) -> None:
        self.responses += 1
        t = self.tallies
        if answer.mood_start is not None:
            t["mood_start"].n += 1
            t["mood_start"].total += answer.mood_start
        if answer.mood_end is not None:
            t["mood_end"].n += 1
            t["mood_end"].total += answer.mood_end
        if answer.mood_start is not None and answer.mood_end is not None:
            change = answer.mood_end - answer.mood_start
            t["mood_change"].n += 1
            t["mood_change"].total += change
            t["mood_change"].better += change > 0
        for name in ("heard", "come_back"):
            reply = getattr(answer, name)
            if reply is not None:
                t[name].n += 1
                t[name].total += reply == Reply.yes
        return None


def build_cells(
    chats: Mapping[CellKey, int], answers: Iterable[tuple[CellKey, Answer]]
) -> dict[CellKey, Cell]:
    cells: dict[CellKey, Cell] = {}
    for key, count in chats.items():
        cells.setdefault(key, Cell()).chats += count
    for key, answer in answers:
        cells.setdefault(key, Cell()).take(answer)
    return cells


def _figures(group: list[Cell], min_group: int) -> dict[str, Any] | None:
    chats = sum(c.chats for c in group)
    if chats == 0:
        return None
    responses = sum(c.responses for c in group)
    sums = {m: Tally() for m in MEASURES}
    for cell in group:
        for m in MEASURES:
            if cell.tallies[m].n >= min_group:
                sums[m].add(cell.tallies[m])

    def mean(t: Tally) -> float | None:
        return round(t.total / t.n, 2) if t.n else None

    def share(t: Tally) -> float | None:
        return round(t.total / t.n, 3) if t.n else None

    change = sums["mood_change"]
    return {
        "chats": chats,
        "responses": responses,
        "response_rate": round(min(responses, chats) / chats, 3),
        "mood_start": {"n": sums["mood_start"].n, "mean": mean(sums["mood_start"])},
        "mood_end": {"n": sums["mood_end"].n, "mean": mean(sums["mood_end"])},
        "mood_change": {
            "n": change.n,
            "mean": mean(change),
            "better_share": round(change.better / change.n, 3) if change.n else None,
        },
        "heard": {"n": sums["heard"].n, "yes_share": share(sums["heard"])},
        "come_back": {"n": sums["come_back"].n, "yes_share": share(sums["come_back"])},
    }


def summarise(cells: Mapping[CellKey, Cell], *, min_group: int) -> dict[str, Any]:
    """Overall, by language, by risk bucket and by week, from released cells only. A group
    with no released cell has no row; ``withheld_chats`` counts the chats of cells too
    small to show."""
    released = {k: c for k, c in cells.items() if c.chats >= min_group}
    withheld = sum(c.chats for k, c in cells.items() if k not in released)

    def grouped(index: int) -> dict[Any, list[Cell]]:
        groups: dict[Any, list[Cell]] = {}
        for key, cell in released.items():
            groups.setdefault(key[index], []).append(cell)
        return groups

    by_week = grouped(0)
    return {
        "min_group": min_group,
        "overall": _figures(list(released.values()), min_group),
        "by_language": {
            k: f for k, g in sorted(grouped(1).items()) if (f := _figures(g, min_group))
        },
        "by_risk": {k: f for k, g in sorted(grouped(2).items()) if (f := _figures(g, min_group))},
        "by_week": [
            {"week": week_label(k), "week_start": k.isoformat(), **f}
            for k, g in sorted(by_week.items())
            if (f := _figures(g, min_group))
        ],
        "withheld_chats": withheld,
    }


def comment_cutoff(*, today: date, retention_days: int) -> date | None:
    """Comments of weeks starting on or before this day are due for deletion (None: keep
    forever). A comment goes ``retention_days`` after the start of its chat's week, never
    later than that chat's own text (which goes ``retention_days`` after the chat ended)."""
    return today - timedelta(days=retention_days) if retention_days > 0 else None


def comment_expired(*, week: date, today: date, retention_days: int) -> bool:
    cutoff = comment_cutoff(today=today, retention_days=retention_days)
    return cutoff is not None and week <= cutoff
