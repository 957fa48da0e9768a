"""Quick exit: the seeker leaves at once, the people on the other side are told, and the
device can bring nothing back.

The web client reports a quick exit three ways, so at least one arrives while the page goes:
a ``navigator.sendBeacon`` to ``POST /api/v1/seekers/quick-exit``, a final ``quick_exit``
frame, and closing its socket with ``CLOSE_QUICK_EXIT``. All three land in ``quick_exit``.

Invariants:
- Afterwards the seeker's token authenticates nobody, and every socket it opened closes
  with 4401 (on every process).
- Every open conversation of the seeker closes in the same transaction: a waiting one leaves
  the queue (``abandoned``), an active one ends (``ended``), both ``by: "seeker"`` with
  reason ``quick_exit``, so the volunteer can tell it from a goodbye.
- A conversation that had a cue flag (flagged while the seeker waited, or on a message in the
  chat), a risk level above ``none`` or an unresolved escalation raises a ``staff.alert``
  ``quick_exit`` for supervisors; it is audited. A
  seeker still waiting whose only concern is a cue flag is the exception: supervisors hear
  of flagged seekers waiting through the one grouped ``flagged.waiting`` page, and this
  seeker leaving lowers its count at the next update (a flood of flagged seekers that quick
  exit is then a few updates, not one alert each). Nobody could have reached them: they had
  not talked to anyone, and their token dies with the exit.
- An emergency-share request the seeker has not answered is withdrawn (they cannot answer
  it any more), also one in a chat that had already ended; what they already shared stays
  until the escalation is resolved.
- Idempotent: a second report finds nothing open and the token already dead.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app import audit
from app.audit import AuditEvent
from app.chat import lifecycle as chat_lifecycle
from app.chat.events import SeekerQuickExited
from app.chat.models import Conversation
from app.chat.policy import OPEN_STATUSES, ConversationStatus
from app.db import UnitOfWork
from app.emergency_share import service as emergency_share_service
from app.escalation import views as escalation_views
from app.escalation.models import Escalation
from app.identity import service as identity_service
from app.identity.events import SessionRevoked
from app.identity.models import Role
from app.identity.service import Principal

QUICK_EXIT_REASON = "quick_exit"
# The close code a seeker's client uses for its socket when it quick-exits (docs/protocol.md).
CLOSE_QUICK_EXIT = 4100


async def needs_supervisor(uow: UnitOfWork, conversation: Conversation) -> bool:
    """True when a supervisor should hear of this seeker's quick exit on its own."""
    if conversation.risk_level != "none":
        return True
    if conversation.status != ConversationStatus.waiting and await _cue_flagged(uow, conversation):
        return True
    found = await uow.session.scalar(
        select(Escalation.id).where(
            Escalation.conversation_id == conversation.id,
            Escalation.status.in_(escalation_views.UNRESOLVED),
        )
    )
    return found is not None


async def _cue_flagged(uow: UnitOfWork, conversation: Conversation) -> bool:
    """A cue was flagged on one of the seeker's messages: while they waited (``flagged_at``,
    which only a waiting conversation sets) or in the chat (its ``risk.cue`` audit record)."""
    if conversation.flagged_at is not None:
        return True
    found = await uow.session.scalar(
        select(AuditEvent.id)
        .where(AuditEvent.conversation_id == conversation.id, AuditEvent.action == "risk.cue")
        .limit(1)
    )
    return found is not None


async def quick_exit(uow: UnitOfWork, principal: Principal, *, now: datetime) -> list[str]:
    """Close the seeker's open conversations and revoke their token; the closed ids."""
    if principal.role is not Role.seeker:
        return []
    session = uow.session
    conversations = list(
        await session.scalars(
            select(Conversation)
            .where(
                Conversation.seeker_id == principal.user_id,
                Conversation.status.in_(OPEN_STATUSES),
            )
            .order_by(Conversation.queued_at)
            .with_for_update()
        )
    )
    closed = []
    for conversation in conversations:
        alert = await needs_supervisor(uow, conversation)
        waiting = conversation.status == ConversationStatus.waiting
        await chat_lifecycle.close(
            uow,
            conversation,
            target=ConversationStatus.abandoned if waiting else ConversationStatus.ended,
            by=Role.seeker.value,
            reason=QUICK_EXIT_REASON,
            now=now,
        )
        audit.record(
            session,
            actor_id=principal.user_id,
            actor_role=Role.seeker.value,
            action="conversation.quick_exit",
            conversation_id=conversation.id,
            detail={"status": conversation.status, "risk_level": conversation.risk_level},
        )
        if alert:
            uow.record(
                SeekerQuickExited(
                    conversation.id, conversation.risk_level, conversation.volunteer_id
                )
            )
        closed.append(conversation.id)
    await emergency_share_service.withdraw_unanswerable(
        uow, seeker_ids=[principal.user_id], now=now, reason=QUICK_EXIT_REASON
    )
    await identity_service.revoke_seeker_token(session, seeker_id=principal.user_id, now=now)
    uow.record(SessionRevoked(principal.user_id))
    return closed
