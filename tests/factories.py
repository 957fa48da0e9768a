"""Rows for service-layer tests, written straight through the models (no server, no
password hashing): seekers, staff and conversations in the states a test needs."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.chat.models import Conversation
from app.db import utcnow
from app.identity.models import Role, Seeker, StaffUser
from app.identity.service import Principal


def _id() -> str:
    return uuid.uuid4().hex


async def seeker(session: AsyncSession, *, language: str = "en") -> Seeker:
    row = Seeker(
        alias="Seeker " + _id()[:6],
        language=language,
        topics=[],
        token_hash=_id() + _id(),
        token_expires_at=utcnow() + timedelta(days=1),
    )
    session.add(row)
    await session.flush()
    return row


async def staff(session: AsyncSession, role: str = "volunteer", **fields: object) -> StaffUser:
    values: dict[str, object] = {
        "username": f"{role}_{_id()[:12]}",
        "alias": "Staff " + _id()[:6],
        "password_hash": "-",
        "role": role,
        "languages": ["en"],
        "trained": True,
    }
    values.update(fields)
    row = StaffUser(**values)
    session.add(row)
    await session.flush()
    return row


async def conversation(
    session: AsyncSession,
    seeker_row: Seeker,
    *,
    volunteer: StaffUser | None = None,
    status: str = "waiting",
    now: datetime | None = None,
    **fields: object,
) -> Conversation:
    now = now or utcnow()
    values: dict[str, object] = {
        "seeker_id": seeker_row.id,
        "volunteer_id": volunteer.id if volunteer else None,
        "status": status,
        "language": seeker_row.language,
        "topics": [],
        "priority": 0,
        "queued_at": now,
        "started_at": now if volunteer else None,
    }
    row = Conversation(**{**values, **fields})
    session.add(row)
    await session.flush()
    return row


def principal_of(row: Seeker | StaffUser) -> Principal:
    if isinstance(row, Seeker):
        return Principal(user_id=row.id, role=Role.seeker, alias=row.alias, token_hash="-")
    return Principal(user_id=row.id, role=Role(row.role), alias=row.alias, token_hash="-")
