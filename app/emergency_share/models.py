"""Emergency share requests and what the seeker chose to share."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, new_id, utcnow


class EmergencyShare(Base):
    """One request from the supervisor who acknowledged an imminent escalation, and the
    seeker's answer. ``sealed`` is the Fernet token of ``{"phone", "location"}`` (never
    plain text); it is emptied (``deleted_at`` set) when the escalation is resolved or at
    ``delete_by``, whichever comes first. The row itself keeps only that a request was made
    and how it was answered."""

    __tablename__ = "emergency_shares"
    __table_args__ = (Index("ix_emergency_shares_status_delete_by", "status", "delete_by"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    escalation_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("escalations.id", ondelete="CASCADE"), index=True
    )
    conversation_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    supervisor_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="requested")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    has_phone: Mapped[bool] = mapped_column(default=False)
    has_location: Mapped[bool] = mapped_column(default=False)
    sealed: Mapped[str | None] = mapped_column(Text)
    delete_by: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_reason: Mapped[str | None] = mapped_column(String(16))
