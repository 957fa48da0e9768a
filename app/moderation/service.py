"""Reporting and blocking a seeker (rules in ``app.moderation.policy``).

Invariants:
- A report changes nothing in the conversation; it is audited (``seeker.reported``) and
  alerts supervisors.
- A block closes every open conversation of the seeker and revokes their token in one
  transaction; their sockets then close with 4401 on every process. Audited
  (``seeker.blocked``). Blocking twice finds nothing open and the token already dead.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.chat import access as chat_access
from app.chat import lifecycle as chat_lifecycle
from app.chat.models import Conversation
from app.chat.policy import OPEN_STATUSES, ConversationStatus
from app.db import UnitOfWork
from app.errors import Forbidden, NotFound
from app.identity import service as identity_service
from app.identity.events import SessionRevoked
from app.identity.service import Principal
from app.moderation import policy
from app.moderation.events import SeekerBlocked, SeekerReported


async def report(
    uow: UnitOfWork, principal: Principal, *, conversation_id: str, note: str | None
) -> None:
    _, access = await chat_access.get_for(uow.session, principal, conversation_id)
    if not policy.may_report(access.role):
        raise Forbidden("only the conversation's staff report its seeker")
    audit.record(
        uow.session,
        actor_id=principal.user_id,
        actor_role=principal.role.value,
        action="seeker.reported",
        conversation_id=conversation_id,
        detail={"note": note},
    )
    uow.record(SeekerReported(conversation_id, principal.role.value))


async def seeker_of(session: AsyncSession, conversation_id: str) -> str | None:
    return await session.scalar(
        select(Conversation.seeker_id).where(Conversation.id == conversation_id)
    )


async def block(
    uow: UnitOfWork,
    principal: Principal,
    *,
    conversation_id: str,
    note: str | None,
    now: datetime,
) -> list[str]:
    """Block the seeker of this conversation; the ids of the conversations closed."""
    if not policy.may_block(principal.role):
        raise Forbidden("only a supervisor or an admin blocks a seeker")
    session = uow.session
    seeker_id = await session.scalar(
        select(Conversation.seeker_id).where(Conversation.id == conversation_id)
    )
    if seeker_id is None:
        raise NotFound("no such conversation")
    conversations = await session.scalars(
        select(Conversation)
        .where(Conversation.seeker_id == seeker_id, Conversation.status.in_(OPEN_STATUSES))
        .order_by(Conversation.queued_at)
        .with_for_update()
    )
    closed = []
    for conversation in conversations:
        target = policy.closing_status(ConversationStatus(conversation.status))
        if target is None:
            continue
        await chat_lifecycle.close(
            uow,
            conversation,
            target=target,
            by=policy.BLOCKED_BY,
            reason=policy.BLOCK_REASON,
            now=now,
        )
        uow.record(SeekerBlocked(conversation.id, conversation.volunteer_id))
        closed.append(conversation.id)
    await identity_service.revoke_seeker_token(session, seeker_id=seeker_id, now=now)
    uow.record(SessionRevoked(seeker_id))
    audit.record(
        session,
        actor_id=principal.user_id,
        actor_role=principal.role.value,
        action="seeker.blocked",
        conversation_id=conversation_id,
        detail={"note": note, "closed": closed},
    )
    return closed
