"""What happens in the queue, as facts (``app.outbound`` decides who hears it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.return_code.events import ReturningView


@dataclass(frozen=True, slots=True)
class QueueChanged:
    """Someone joined, left or was taken, or a volunteer's availability changed."""


@dataclass(frozen=True, slots=True)
class AccountLimitsChanged:
    """An admin changed a volunteer's most chats at once: their consoles learn it now (their
    chosen capacity may have been lowered with it)."""

    volunteer_id: str
    available: bool
    capacity: int
    auto_assign: bool
    active_chats: int
    max_concurrent_chats: int


@dataclass(frozen=True, slots=True)
class ConversationStarted:
    """A volunteer took a waiting seeker's conversation."""

    conversation_id: str
    seeker_id: str
    seeker_alias: str
    volunteer_id: str
    volunteer_alias: str
    language: str
    topics: tuple[str, ...]
    started_at: datetime | None
    last_seq: int
    queued_at: datetime | None = None  # when the seeker joined the queue (for metrics)
    # The seeker came back with a return code (app/return_code): told to the volunteer.
    returning: ReturningView | None = None
