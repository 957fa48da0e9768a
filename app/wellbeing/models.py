"""Debriefs: a volunteer's word after a heavy chat, addressed to a supervisor."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, new_id, utcnow


class Debrief(Base):
    """One per volunteer of a high or imminent chat: the volunteer who had it when it ended,
    and each who handed it on before. ``supervisor_id`` is who handled the chat's escalation
    (None: nobody did, so every supervisor sees it). The note is the volunteer's own words
    and follows retention (``app/chat/retention.py``)."""

    __tablename__ = "debriefs"
    __table_args__ = (UniqueConstraint("conversation_id", "volunteer_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    conversation_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("conversations.id", ondelete="CASCADE")
    )
    volunteer_id: Mapped[str] = mapped_column(String(32), ForeignKey("staff_users.id"), index=True)
    supervisor_id: Mapped[str | None] = mapped_column(String(32), ForeignKey("staff_users.id"))
    level: Mapped[str] = mapped_column(String(16))
    feeling: Mapped[str] = mapped_column(String(16))
    wants: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    seen_by: Mapped[str | None] = mapped_column(String(32))
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
