"""What escalation means for ending a conversation.

Invariants:
- While a high or imminent escalation is open (not resolved), the volunteer cannot end the
  conversation alone; nor while a referral is still open.
- After a high or imminent chat ends, its volunteer gets a cool-down and a debrief prompt; so
  does a volunteer whose part of it ends earlier, when the chat is handed on from them."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat.models import Conversation
from app.config import get_settings
from app.db import UnitOfWork
from app.errors import Conflict
from app.escalation.events import (
    CooldownStarted,
)
from app.escalation.models import Escalation
from app.escalation.views import UNRESOLVED
from app.identity.models import StaffUser
from app.referrals import service as referral_service
from app.risk.scoring import RiskLevel

BLOCKING_LEVELS = (RiskLevel.HIGH.value, RiskLevel.IMMINENT.value)


async def check_volunteer_may_end(session: AsyncSession, conversation: Conversation) -> None:
    blocking = await session.scalar(
        select(Escalation.id).where(
            Escalation.conversation_id == conversation.id,
            Escalation.status.in_(UNRESOLVED),
            Escalation.level.in_(BLOCKING_LEVELS),
        )
    )
    if blocking is not None:
        raise Conflict(
            "a supervisor must resolve the open escalation before this chat can end",
            code="escalation_open",
        )
    if await referral_service.has_open(session, conversation.id):
        raise Conflict(
            "a helpline referral is still open; a supervisor can close it with a reason",
            code="referral_open",
        )


async def after_conversation_ended(
    uow: UnitOfWork, conversation: Conversation, *, now: datetime
) -> None:
    """Volunteer care: after a high or imminent chat, a cool-down and a debrief prompt."""
    if conversation.volunteer_id is not None:
        await after_volunteers_part(uow, conversation, conversation.volunteer_id, now=now)


async def after_volunteers_part(
    uow: UnitOfWork, conversation: Conversation, volunteer_id: str, *, now: datetime
) -> None:
    """The same care for ``volunteer_id`` when their part of a high or imminent chat is over:
    the chat ended, or it was handed on from them (``app.transfer``), however they left it."""
    if conversation.risk_level not in BLOCKING_LEVELS:
        return
    until = now + timedelta(seconds=get_settings().volunteer_cooldown_s)
    await uow.session.execute(
        update(StaffUser)
        .where(StaffUser.id == volunteer_id)
        .values(cooldown_until=until, cooldown_conversation_id=conversation.id)
    )
    uow.record(CooldownStarted(volunteer_id, conversation.id, until))
