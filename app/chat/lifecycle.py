"""A conversation's ending: closing it (guarded), ending it, and the volunteer's note.

Invariant: a conversation moves only along ``CONVERSATION_LIFECYCLE``; everyone following it
is told when it closes.
"""

from __future__ import annotations

from datetime import datetime

from app.chat.access import CONVERSATION_LIFECYCLE, OPEN_STATUSES, get_for
from app.chat.events import ConversationClosed
from app.chat.models import Conversation
from app.chat.policy import ConversationStatus
from app.db import UnitOfWork
from app.errors import Conflict, Forbidden
from app.escalation import ending as escalation_ending
from app.identity.models import Role
from app.identity.service import Principal
from app.risk import service as risk_service


async def close(
    uow: UnitOfWork,
    conversation: Conversation,
    *,
    target: ConversationStatus,
    by: str,
    reason: str | None,
    now: datetime,
) -> None:
    """Move a conversation to ``ended`` or ``abandoned`` (guarded) and tell everyone in it;
    and every supervisor and admin, when its method-cue alert stood, that it no longer does."""
    CONVERSATION_LIFECYCLE.check(ConversationStatus(conversation.status), target)
    if conversation.started_at is not None:  # a seeker who never left the queue has none
        await risk_service.end_standing_method_cue(uow, conversation_id=conversation.id)
    conversation.status = target.value
    conversation.ended_at = now
    conversation.ended_by = by
    conversation.end_reason = reason
    await uow.session.flush()
    uow.record(
        ConversationClosed(conversation.id, by, reason, conversation.status, conversation.ended_at)
    )
    if target is ConversationStatus.ended and conversation.volunteer_id is not None:
        await escalation_ending.after_conversation_ended(uow, conversation, now=now)


async def end(
    uow: UnitOfWork,
    principal: Principal,
    *,
    conversation_id: str,
    reason: str | None,
    now: datetime,
) -> Conversation:
    conversation, access = await get_for(uow.session, principal, conversation_id, lock=True)
    role = access.role
    if conversation.status not in OPEN_STATUSES:
        raise Conflict("this conversation has ended", code="conversation_closed")
    if conversation.status == ConversationStatus.waiting:
        raise Conflict(
            "the conversation has not started; use queue.leave", code="invalid_transition"
        )
    if not access.can_write:  # join first (a supervisor), or it is the lead's chat now
        raise Forbidden("you are observing this conversation")
    if role is Role.volunteer:
        await escalation_ending.check_volunteer_may_end(uow.session, conversation)
    await close(
        uow,
        conversation,
        target=ConversationStatus.ended,
        by=role.value,
        reason=reason,
        now=now,
    )
    return conversation


async def write_note(
    uow: UnitOfWork, principal: Principal, *, conversation_id: str, text: str
) -> None:
    conversation, access = await get_for(uow.session, principal, conversation_id)
    if access.role is not Role.volunteer:
        raise Forbidden("only the conversation's volunteer writes the wrap-up note")
    conversation.wrapup_note = text
