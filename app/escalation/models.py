"""Escalations, supervisors' access to conversations, and whispers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, new_id, utcnow


class Escalation(Base):
    """A conversation a supervisor must look at. The paging state is the pure machine's
    ``EscalationState``, stored column for column so deadlines survive a restart."""

    __tablename__ = "escalations"
    __table_args__ = (Index("ix_escalations_status_deadline", "status", "ack_deadline"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    conversation_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    level: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    step: Mapped[int] = mapped_column(Integer, default=0)
    tier: Mapped[str] = mapped_column(String(16))
    pages: Mapped[int] = mapped_column(Integer, default=1)
    ack_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    policy_id: Mapped[str] = mapped_column(String(32))
    policy_version: Mapped[int] = mapped_column(Integer)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(32))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str | None] = mapped_column(String(32))
    outcome_note: Mapped[str | None] = mapped_column(String(1000))


class ConversationStaff(Base):
    """A supervisor's (or admin's) access to a conversation: ``observer`` (silent),
    ``joined`` (visible, may write) or ``lead`` (took over from the volunteer)."""

    __tablename__ = "conversation_staff"
    __table_args__ = (UniqueConstraint("conversation_id", "staff_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    staff_id: Mapped[str] = mapped_column(String(32), ForeignKey("staff_users.id"))
    mode: Mapped[str] = mapped_column(String(16))
    since: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Whisper(Base):
    """A staff-only note inside a conversation; the seeker never receives it."""

    __tablename__ = "whispers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    sender_id: Mapped[str] = mapped_column(String(32))
    sender_role: Mapped[str] = mapped_column(String(16))
    sender_alias: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FlaggedGroup(Base):
    """What the supervisors were last told about the flagged seekers waiting: the pure
    ``app.escalation.flagged.GroupState``, stored column for column in one row (``name``
    ``waiting``), so the group survives a restart and a change of leader."""

    __tablename__ = "flagged_pages"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    known: Mapped[int] = mapped_column(Integer, default=0)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(32))
