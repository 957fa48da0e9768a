"""Warm transfers: who handed a conversation to whom, and the staff-only handover note."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
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
