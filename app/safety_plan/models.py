"""A conversation's safety plan."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, new_id, utcnow


class SafetyPlan(Base):
    """At most one per conversation. ``entries`` maps a step id to the seeker's words for
    it; they are text written in the conversation, so retention deletes the row with the
    messages. ``helplines`` are directory ids chosen when it was opened."""

    __tablename__ = "safety_plans"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    conversation_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("conversations.id", ondelete="CASCADE"), unique=True
    )
    template_id: Mapped[str] = mapped_column(String(64))
    template_version: Mapped[int] = mapped_column(Integer)
    entries: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    helplines: Mapped[list[str]] = mapped_column(JSON, default=list)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    opened_by: Mapped[str] = mapped_column(String(32))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_role: Mapped[str] = mapped_column(String(16))
