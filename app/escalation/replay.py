"""What a resuming socket is told again about supervisors in the conversation, so a reload
keeps the "a supervisor joined" note (the seeker's and the volunteer's).

Kept apart from ``service.py``: it only reads, and frames exactly what ``observe`` sent.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat import protocol
from app.escalation.models import ConversationStaff
from app.identity.models import StaffUser

VISIBLE = {"joined": "conversation.joined", "lead": "conversation.taken_over"}


async def joined_frames(session: AsyncSession, conversation_id: str) -> list[str]:
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
    return [
        protocol.dumps(
            {
                "type": VISIBLE[mode],
                "conversation_id": conversation_id,
                "staff_alias": alias,
                "staff_role": "supervisor",
            }
        )
        for mode, alias in rows
    ]
