"""Return-code facts other domains carry (``app.outbound`` decides who hears them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ReturningView:
    """What a volunteer is told about a seeker who came back with a return code: since
    when (the time the code was made) and how many chats the code opened before this one."""

    since: datetime
    chats_before: int
