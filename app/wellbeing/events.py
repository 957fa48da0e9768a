"""Wellbeing facts (``app.outbound`` decides who hears them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class DebriefSubmitted:
    """A volunteer wrote a debrief. ``supervisor_id``: who handled the chat's escalation
    (None: nobody did, so every supervisor is told)."""

    debrief_id: str
    conversation_id: str
    volunteer_alias: str
    supervisor_id: str | None
    level: str
    feeling: str
    wants: tuple[str, ...]
    note: str | None
    created_at: datetime
