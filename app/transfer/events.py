"""Transfer facts (``app.outbound`` decides who hears them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class TransferView:
    """A hand-over as staff see it (the note included)."""

    transfer_id: str
    conversation_id: str
    from_alias: str | None
    to_alias: str | None  # None: back to the queue
    by_role: str
    by_alias: str | None
    reason: str
    note: str | None
    level: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ConversationTransferred:
    """A conversation moved from one volunteer to another (``to_volunteer_id``) or back to
    the queue (``to_volunteer_id`` None). ``note`` is staff-only; ``announce``: the seeker
    is shown a message about it (their client is told either way, so it shows the right
    state)."""

    view: TransferView
    conversation_id: str
    seeker_id: str
    seeker_alias: str
    from_volunteer_id: str | None
    to_volunteer_id: str | None
    announce: bool
    language: str
    topics: tuple[str, ...]
    started_at: datetime | None
    last_seq: int


@dataclass(frozen=True, slots=True)
class VolunteerVanished:
    """A conversation went back to the queue because its volunteer vanished while an
    escalation was open: ``supervisor_id`` (who acknowledged it), else every supervisor,
    is alerted."""

    conversation_id: str
    escalation_id: str
    level: str
    supervisor_id: str | None
