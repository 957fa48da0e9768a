"""A volunteer's recent activity as counts: pure, no database, no clock.

Chats are the conversations a volunteer had, each a span from when it became theirs (a take,
or a hand-over to them) to when it stopped being theirs (its end, a hand-over from them, or
``now`` for a chat still going). Hours are the spans' lengths clipped to the window; a chat
counts once in a window when any of its spans falls inside (a chat handed away and back is
one chat). High-risk chats are those that reached ``high`` or ``imminent``. Nothing here
carries text or a seeker.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

HIGH_RISK = ("high", "imminent")
WINDOWS = {"7d": timedelta(days=7), "30d": timedelta(days=30)}
WEEKS = 8


@dataclass(frozen=True, slots=True)
class ChatSpan:
    started_at: datetime
    ended_at: datetime | None
    risk_level: str
    conversation_id: str = ""  # "" : a span counted as a chat of its own


def _window(
    chats: Iterable[ChatSpan], debriefs: Iterable[datetime], *, start: datetime, end: datetime
) -> dict[str, Any]:
    counted: dict[str | int, bool] = {}  # each chat once: whether it is high-risk
    seconds = 0.0
    for index, chat in enumerate(chats):
        finish = min(chat.ended_at or end, end)
        begin = max(chat.started_at, start)
        if chat.started_at >= end or finish < start:
            continue
        key = chat.conversation_id or index
        counted[key] = counted.get(key, False) or chat.risk_level in HIGH_RISK
        seconds += max(0.0, (finish - begin).total_seconds())
    return {
        "chats": len(counted),
        "hours": round(seconds / 3600, 1),
        "high_risk_chats": sum(counted.values()),
        "debriefs": sum(1 for at in debriefs if start <= at < end),
    }


def summarise(chats: list[ChatSpan], debriefs: list[datetime], *, now: datetime) -> dict[str, Any]:
    """Counts over the last 7 and 30 days, and per week (Monday to Sunday, UTC) for the
    last ``WEEKS`` weeks, the current one last."""
    windows = {
        name: _window(chats, debriefs, start=now - length, end=now)
        for name, length in WINDOWS.items()
    }
    monday = (now - timedelta(days=now.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    weeks = []
    for back in range(WEEKS - 1, -1, -1):
        start = monday - timedelta(days=7 * back)
        end = min(start + timedelta(days=7), now)
        year, week, _ = start.isocalendar()
        weeks.append(
            {"week": f"{year}-W{week:02d}", **_window(chats, debriefs, start=start, end=end)}
        )
    high = [c.ended_at or now for c in chats if c.risk_level in HIGH_RISK]
    return {
        "windows": windows,
        "by_week": weeks,
        "last_high_risk_at": max(high) if high else None,
    }
