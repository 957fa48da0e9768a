"""What staff see of escalations: the view of one, the unresolved list, time to acknowledge,
and the whispers of a conversation. Reads only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat.models import Conversation
from app.escalation.events import (
    EscalationView,
    WhisperWritten,
)
from app.escalation.machine import EscalationStatus
from app.escalation.models import Escalation, Whisper
from app.identity.models import StaffUser
from app.outbound import frames

UNRESOLVED = (EscalationStatus.OPEN.value, EscalationStatus.ACKNOWLEDGED.value)


def unresolved_in(conversation_id: ColumnElement[str]) -> ColumnElement[bool]:
    """True where the conversation has an escalation nobody has resolved yet."""
    return exists().where(
        Escalation.conversation_id == conversation_id, Escalation.status.in_(UNRESOLVED)
    )


def escalation_view(row: Escalation, now: datetime) -> EscalationView:
    return EscalationView(
        escalation_id=row.id,
        conversation_id=row.conversation_id,
        level=row.level,
        source=row.source,
        reason=row.reason,
        status=row.status,
        tier=row.tier,
        pages=row.pages,
        opened_at=row.opened_at,
        age_s=int((now - row.opened_at).total_seconds()),
        ack_deadline=row.ack_deadline,
        acknowledged_by=row.acknowledged_by,
        acknowledged_at=row.acknowledged_at,
        outcome=row.outcome,
    )


def written(row: Whisper) -> WhisperWritten:
    return WhisperWritten(
        row.conversation_id, row.id, row.sender_role, row.sender_alias, row.text, row.sent_at
    )


async def whispers(session: AsyncSession, conversation_id: str) -> list[WhisperWritten]:
    rows = await session.scalars(
        select(Whisper).where(Whisper.conversation_id == conversation_id).order_by(Whisper.id)
    )
    return [written(r) for r in rows]


async def list_unresolved(session: AsyncSession, *, now: datetime) -> list[dict]:
    rows = (
        await session.execute(
            select(Escalation, StaffUser.alias)
            .join(Conversation, Conversation.id == Escalation.conversation_id)
            .outerjoin(StaffUser, StaffUser.id == Conversation.volunteer_id)
            .where(Escalation.status.in_(UNRESOLVED))
        )
    ).all()
    urgency = {"imminent": 0, "high": 1, "moderate": 2}
    views = [frames.escalation_fields(escalation_view(row, now), alias) for row, alias in rows]
    return sorted(
        views,
        key=lambda v: (
            v["status"] != "open",
            urgency.get(v["level"], 3),
            v["ack_deadline"] or v["opened_at"],
        ),
    )


async def ack_metrics(session: AsyncSession, *, since: datetime) -> dict[str, dict[str, float]]:
    """Time to acknowledge per level since ``since``: count, mean, max (seconds)."""
    rows = (
        await session.execute(
            select(Escalation.level, Escalation.opened_at, Escalation.acknowledged_at).where(
                Escalation.acknowledged_at.is_not(None), Escalation.opened_at >= since
            )
        )
    ).all()
    per: dict[str, list[float]] = {}
    for level, opened, acked in rows:
        per.setdefault(level, []).append((acked - opened).total_seconds())
    return {
        level: {
            "count": len(values),
            "mean_s": round(sum(values) / len(values), 3),
            "max_s": round(max(values), 3),
        }
        for level, values in per.items()
    }
