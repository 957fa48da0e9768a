"""What a resuming socket is told again about supervisors in the conversation, so a reload
keeps the "a supervisor joined" note (the seeker's and the volunteer's), and the volunteer's
console knows what became of the chat's escalations (whether End must wait for a supervisor).

Kept apart from ``actions.py``: it only reads, and frames exactly what ``observe`` sent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.escalation.events import EscalationView, StaffEntered
from app.escalation.models import ConversationStaff, Escalation
from app.escalation.views import escalation_view
from app.identity.models import StaffUser

VISIBLE = {"joined": "conversation.joined", "lead": "conversation.taken_over"}


async def joined(session: AsyncSession, conversation_id: str) -> list[StaffEntered]:
    """``conversation.joined`` / ``conversation.taken_over`` for every supervisor who joined
    or took over, in the order they did."""
    rows = await session.execute(
        select(ConversationStaff.mode, StaffUser.alias)
        .join(StaffUser, StaffUser.id == ConversationStaff.staff_id)
        .where(
            ConversationStaff.conversation_id == conversation_id,
            ConversationStaff.mode.in_(tuple(VISIBLE)),
        )
        .order_by(ConversationStaff.since, ConversationStaff.id)
    )
    return [StaffEntered(conversation_id, alias, mode) for mode, alias in rows]


async def escalations(
    session: AsyncSession, conversation_id: str, *, now: datetime
) -> list[EscalationView]:
    """Every escalation of the conversation as it stands now, resolved ones too, oldest first
    (a console reloaded since one opened knows from these whether End must wait)."""
    rows = await session.scalars(
        select(Escalation)
        .where(Escalation.conversation_id == conversation_id)
        .order_by(Escalation.opened_at, Escalation.id)
    )
    return [escalation_view(row, now) for row in rows]
