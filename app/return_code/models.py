"""Return codes and the sessions that came back with one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, new_id, utcnow


class ReturnCode(Base):
    """One return code: only its keyed hash, when it was made and last used, how many chats
    it has opened, and a copy of the safety plan (``plan``: ``template``, ``entries`` and
    ``helplines`` as the plan row holds them, or None). The copy is the only text kept, and
    it goes with the row ``RETURN_CODE_KEEP_DAYS`` after the code was last used, or at once
    when the seeker forgets the code."""

    __tablename__ = "return_codes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    language: Mapped[str] = mapped_column(String(16))
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    chats: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class ReturningSeeker(Base):
    """A seeker session linked to a return code: the one that made it, and each one opened
    with it. Deleted with the code (or with the seeker row)."""

    __tablename__ = "returning_seekers"

    seeker_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("seekers.id", ondelete="CASCADE"), primary_key=True
    )
    return_code_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("return_codes.id", ondelete="CASCADE"), index=True
    )
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
