"""The audit trail: who did or saw what, when.

Rows are only ever inserted. Risk answers, levels, pages, acknowledgements, referral steps and
every supervisor read of a transcript land here. ``detail`` never holds message text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow

# The actor of what the service did by itself (a deadline passed, a seeker went away).
SYSTEM = "system"


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[str | None] = mapped_column(String(32))
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64), index=True)
    conversation_id: Mapped[str | None] = mapped_column(String(32), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def record(
    session: AsyncSession,
    *,
    actor_id: str | None,
    actor_role: str,
    action: str,
    conversation_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        actor_id=actor_id,
        actor_role=actor_role,
        action=action,
        conversation_id=conversation_id,
        detail=detail or {},
        at=utcnow(),
    )
    session.add(event)
    return event
