"""What a resuming socket is told again about supervisors in the conversation, so a reload
keeps the "a supervisor joined" note (the seeker's and the volunteer's).

Kept apart from ``actions.py``: it only reads, and frames exactly what ``observe`` sent.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.escalation.events import StaffEntered
from app.escalation.models import ConversationStaff
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
