"""Idle chats end, a leader-run job (``app/jobs.py``): an active conversation in which
nobody has written for ``ACTIVE_IDLE_END_S`` is ended by ``system`` (reason ``idle``,
audited ``conversation.ended_idle``).

Without this a chat both sides walked away from stayed ``active`` for ever, and retention
(which counts from the end) never deleted its text. A conversation with an unresolved
escalation or an open referral is left alone: it is a supervisor's to close, as the
volunteer could not end it either.

Idle is measured from the later of the conversation's last message (the one at
``last_seq``) and its start (``started_at``: when a volunteer last took it, from the queue
or back from it). Messages a seeker wrote while waiting do not make a chat idle the moment
it is taken: a seeker who wrote "is anyone there?" and waited longer than
``ACTIVE_IDLE_END_S`` for a volunteer once had the chat ended as ``idle`` at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, case, select
from sqlalchemy.orm import aliased

from app import audit
from app.chat import lifecycle as chat_lifecycle
from app.chat.models import Conversation, Message
from app.chat.policy import ConversationStatus
from app.db import UnitOfWork, utcnow
from app.escalation import views as escalation_views
from app.jobs import Job
from app.referrals.models import Referral
from app.referrals.service import FINAL as FINAL_REFERRAL_STATUSES

if TYPE_CHECKING:
    from app.runtime import Runtime

IDLE_REASON = "idle"


async def end_idle(
    uow: UnitOfWork, *, idle_since: datetime, now: datetime, limit: int = 100
) -> list[str]:
    """End active conversations with nothing written since ``idle_since``; their ids.
    Rows are locked (``SKIP LOCKED`` on PostgreSQL), so a message being stored either
    lands first (and the chat is no longer idle) or finds it ended."""
    last = aliased(Message)
    # The later of the two; no last message (NULL) compares false and gives ``started_at``.
    last_activity = case(
        (last.sent_at > Conversation.started_at, last.sent_at), else_=Conversation.started_at
    )
    rows = await uow.session.execute(
        select(Conversation, last_activity)
        .outerjoin(
            last,
            and_(last.conversation_id == Conversation.id, last.seq == Conversation.last_seq),
        )
        .where(
            Conversation.status == ConversationStatus.active,
            last_activity < idle_since,
            ~escalation_views.unresolved_in(Conversation.id),
            ~select(Referral.id)
            .where(
                Referral.conversation_id == Conversation.id,
                Referral.status.not_in(FINAL_REFERRAL_STATUSES),
                Referral.closed_reason.is_(None),
            )
            .exists(),
        )
        .order_by(Conversation.started_at)
        .limit(limit)
        .with_for_update(of=Conversation, skip_locked=True)
    )
    ended = []
    for conversation, active_at in rows.all():
        await chat_lifecycle.close(
            uow,
            conversation,
            target=ConversationStatus.ended,
            by=audit.SYSTEM,
            reason=IDLE_REASON,
            now=now,
        )
        audit.record(
            uow.session,
            actor_id=None,
            actor_role=audit.SYSTEM,
            action="conversation.ended_idle",
            conversation_id=conversation.id,
            detail={"idle_s": int((now - active_at).total_seconds())},
        )
        ended.append(conversation.id)
    return ended


async def run(runtime: Runtime) -> int:
    now = utcnow()
    async with runtime.db.unit_of_work() as uow:
        ended = await end_idle(
            uow,
            idle_since=now - timedelta(seconds=runtime.settings.active_idle_end_s),
            now=now,
        )
    return len(ended)


def job(runtime: Runtime) -> Job | None:
    """The idle-chat job, or None when ACTIVE_IDLE_END_S is 0 (never)."""
    if runtime.settings.active_idle_end_s == 0:
        return None
    return Job("idle-chats", runtime.settings.housekeeping_interval_s, run)
