"""Warm transfers: who handed a conversation to whom, and the staff-only handover note."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Select, String, Text, func, select
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, new_id, utcnow


class ConversationTransfer(Base):
    """One hand-over of a conversation: to another volunteer (``to_volunteer_id``) or back
    to the queue (None). ``note`` is for staff only; the seeker never receives it, and
    retention deletes it with the conversation's other text."""

    __tablename__ = "conversation_transfers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    conversation_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    from_volunteer_id: Mapped[str | None] = mapped_column(String(32))
    to_volunteer_id: Mapped[str | None] = mapped_column(String(32))
    # Who handed it over: the volunteer, a supervisor or admin, or None (the system).
    by_id: Mapped[str | None] = mapped_column(String(32))
    by_role: Mapped[str] = mapped_column(String(16))
    # ``handover`` (a person chose to) or ``volunteer_vanished`` (the system did).
    reason: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When the chat had become ``from_volunteer_id``'s (their take, or the hand-over to them):
    # their part of it, for their activity counts (``app.wellbeing``). None: nobody had it.
    from_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def last_handed_to(conversation_id: Any, volunteer_id: Any) -> Select[tuple[datetime | None]]:
    """When the conversation was last handed to the volunteer (None: never). Values, or
    columns of an outer query for a correlated subquery (``part_began`` uses it)."""
    return select(func.max(ConversationTransfer.created_at)).where(
        ConversationTransfer.conversation_id == conversation_id,
        ConversationTransfer.to_volunteer_id == volunteer_id,
    )


def handed_from(conversation_id: str, volunteer_id: str) -> Select[tuple[str]]:
    """A hand-over of the conversation away from the volunteer (no row: there was none)."""
    return (
        select(ConversationTransfer.id)
        .where(
            ConversationTransfer.conversation_id == conversation_id,
            ConversationTransfer.from_volunteer_id == volunteer_id,
        )
        .limit(1)
    )


def part_began(started_at: datetime | None, handed_to: datetime | None) -> datetime | None:
    """When a volunteer's part of a chat began: the later of the chat's ``started_at`` (its
    last take from the queue) and ``last_handed_to`` them (None: neither is known)."""
    times = [t for t in (started_at, handed_to) if t is not None]
    return max(times) if times else None
