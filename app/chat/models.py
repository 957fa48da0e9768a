"""Conversations and their messages.

A conversation is the seeker's place in the queue (``waiting``) and then the chat
(``active`` → ``ended``), or ``abandoned`` if the seeker left before anyone took it. Messages
have a gap-free per-conversation ``seq``: ``Conversation.last_seq`` is incremented in the
same transaction that inserts the message, so a rolled-back send leaves no hole.

``RETENTION_DAYS`` after a conversation ends, what was written in it is deleted
(``app/chat/retention.py``); the conversation row stays, with ``text_deleted_at`` set.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, new_id, utcnow


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_status_language", "status", "language"),
        # Retention finds the ended conversations whose text is still there.
        Index("ix_conversations_retention", "text_deleted_at", "ended_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    seeker_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("seekers.id", ondelete="CASCADE"), index=True
    )
    volunteer_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("staff_users.id"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    language: Mapped[str] = mapped_column(String(16))
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Higher is served first; the risk work raises it, nothing lowers it.
    priority: Mapped[int] = mapped_column(Integer, default=0)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_by: Mapped[str | None] = mapped_column(String(16))
    end_reason: Mapped[str | None] = mapped_column(String(500))
    # The highest risk level reached (nothing lowers it) and when a cue first flagged it.
    risk_level: Mapped[str] = mapped_column(String(16), default="none")
    flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The supervisor who took the chat over; the volunteer then only observes.
    lead_staff_id: Mapped[str | None] = mapped_column(String(32))
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    seeker_read_seq: Mapped[int] = mapped_column(Integer, default=0)
    volunteer_read_seq: Mapped[int] = mapped_column(Integer, default=0)
    wrapup_note: Mapped[str | None] = mapped_column(Text)
    # When retention deleted what was written in it (RETENTION_DAYS after it ended).
    text_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The seeker answered the feedback questions (app/outcomes): only *that* they did, so
    # nobody answers twice; the answers themselves hold no link back here.
    outcome_recorded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        UniqueConstraint("conversation_id", "sender_id", "client_msg_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("conversations.id", ondelete="CASCADE")
    )
    seq: Mapped[int] = mapped_column(Integer)
    sender_id: Mapped[str] = mapped_column(String(32))
    sender_role: Mapped[str] = mapped_column(String(16))
    sender_alias: Mapped[str] = mapped_column(String(64))
    client_msg_id: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
