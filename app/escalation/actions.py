"""Supervisor actions: acknowledge, resolve, raise by hand, on call, observe/join/take over,
whisper.

Invariant: every acknowledgement, resolution and supervisor access lands in the audit
trail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.chat import access as chat_access
from app.chat.models import Conversation
from app.db import UnitOfWork
from app.emergency_share import service as emergency_share_service
from app.errors import BadRequest, Conflict, Forbidden, NotFound
from app.escalation import machine
from app.escalation.events import (
    NobodyOnCall,
    StaffEntered,
)
from app.escalation.machine import EscalationSource, Outcome
from app.escalation.models import ConversationStaff, Escalation, Whisper
from app.escalation.paging import (
    count_on_call,
    open_or_raise,
    record_update,
    state_of,
    store,
)
from app.escalation.views import written
from app.identity import service as identity_service
from app.identity.models import Role, StaffUser
from app.identity.service import Principal
from app.risk.scoring import RiskLevel


async def _get(session: AsyncSession, escalation_id: str, *, lock: bool = True) -> Escalation:
    stmt = select(Escalation).where(Escalation.id == escalation_id)
    row = await session.scalar(stmt.with_for_update() if lock else stmt)
    if row is None:
        raise NotFound("no such escalation")
    return row


def _require_supervisor(principal: Principal) -> None:
    if principal.role not in (Role.supervisor, Role.admin):
        raise Forbidden("only supervisors handle escalations")


async def _grant(
    session: AsyncSession, principal: Principal, conversation_id: str, mode: str, *, now: datetime
) -> bool:
    """Give a supervisor access to a conversation (audited). True if it is new."""
    row = await session.scalar(
        select(ConversationStaff).where(
            ConversationStaff.conversation_id == conversation_id,
            ConversationStaff.staff_id == principal.user_id,
        )
    )
    rank = {"observer": 0, "joined": 1, "lead": 2}
    audit.record(
        session,
        actor_id=principal.user_id,
        actor_role=principal.role.value,
        action=f"conversation.{mode}",
        conversation_id=conversation_id,
    )
    if row is None:
        session.add(
            ConversationStaff(
                conversation_id=conversation_id, staff_id=principal.user_id, mode=mode, since=now
            )
        )
        await session.flush()
        return True
    if rank[mode] > rank[row.mode]:
        row.mode = mode
    return False


async def acknowledge(
    uow: UnitOfWork, principal: Principal, *, escalation_id: str, now: datetime
) -> Escalation:
    _require_supervisor(principal)
    session = uow.session
    row = await _get(session, escalation_id)
    store(row, machine.acknowledge(state_of(row), now, principal.user_id))
    audit.record(
        session,
        actor_id=principal.user_id,
        actor_role=principal.role.value,
        action="escalation.acknowledged",
        conversation_id=row.conversation_id,
        detail={
            "escalation_id": row.id,
            "level": row.level,
            "seconds_to_ack": round((now - row.opened_at).total_seconds(), 3),
        },
    )
    await _grant(session, principal, row.conversation_id, "observer", now=now)
    await session.flush()
    await record_update(uow, row, now=now)
    return row


async def resolve(
    uow: UnitOfWork,
    principal: Principal,
    *,
    escalation_id: str,
    outcome: str,
    note: str | None,
    now: datetime,
) -> Escalation:
    _require_supervisor(principal)
    session = uow.session
    row = await _get(session, escalation_id)
    try:
        outcome_value = Outcome(outcome)
    except ValueError:
        raise BadRequest(
            f"outcome must be one of: {', '.join(o.value for o in Outcome)}", code="invalid_frame"
        ) from None
    store(row, machine.resolve(state_of(row), now, principal.user_id, outcome_value))
    row.outcome_note = note
    audit.record(
        session,
        actor_id=principal.user_id,
        actor_role=principal.role.value,
        action="escalation.resolved",
        conversation_id=row.conversation_id,
        detail={"escalation_id": row.id, "outcome": row.outcome},
    )
    await emergency_share_service.erase_for_escalation(uow, escalation_id=row.id, now=now)
    await session.flush()
    await record_update(uow, row, now=now)
    return row


async def raise_by_hand(
    uow: UnitOfWork,
    principal: Principal,
    *,
    conversation_id: str,
    reason: str,
    now: datetime,
    scale: float,
) -> Escalation:
    """A volunteer asks for a supervisor: pages at the conversation's level, at least high."""
    conversation, access = await chat_access.get_for(uow.session, principal, conversation_id)
    if not access.is_staff:
        raise Forbidden("only staff escalate")
    level = RiskLevel(conversation.risk_level)
    if level.rank < RiskLevel.HIGH.rank:
        level = RiskLevel.HIGH
    audit.record(
        uow.session,
        actor_id=principal.user_id,
        actor_role=principal.role.value,
        action="escalation.raised_by_hand",
        conversation_id=conversation_id,
        detail={"level": level.value},
    )
    return await open_or_raise(
        uow,
        conversation,
        level=level,
        source=EscalationSource.VOLUNTEER,
        reason=reason,
        now=now,
        scale=scale,
    )


async def set_on_call(uow: UnitOfWork, principal: Principal, *, on_call: bool) -> int:
    _require_supervisor(principal)
    session = uow.session
    await session.execute(
        update(StaffUser).where(StaffUser.id == principal.user_id).values(on_call=on_call)
    )
    count = await count_on_call(session)
    audit.record(
        session,
        actor_id=principal.user_id,
        actor_role=principal.role.value,
        action="oncall.set",
        detail={"on_call": on_call},
    )
    if count == 0:
        uow.record(NobodyOnCall())
    return count


async def off_call_after_logout(uow: UnitOfWork, principal: Principal, *, now: datetime) -> None:
    """A supervisor or admin on call who signs out of their last session goes off call, as
    ``oncall.set`` false would (audited; ``nobody_on_call`` when nobody is left): pages sent
    to someone no longer at any desk would hide that nobody is on call."""
    if principal.role not in (Role.supervisor, Role.admin):
        return
    session = uow.session
    on_call = await session.scalar(
        select(StaffUser.on_call).where(StaffUser.id == principal.user_id)
    )
    if on_call and not await identity_service.has_live_token(session, principal.user_id, now):
        await set_on_call(uow, principal, on_call=False)


async def observe(
    uow: UnitOfWork, principal: Principal, *, conversation_id: str, mode: str, now: datetime
) -> Conversation:
    """observe / join / takeover. Joining and taking over are visible to the seeker."""
    _require_supervisor(principal)
    session = uow.session
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("no such conversation")
    if mode != "observer" and conversation.status != "active":
        raise Conflict("the conversation is not active", code="invalid_transition")
    await _grant(session, principal, conversation_id, mode, now=now)
    if mode == "lead":
        conversation.lead_staff_id = principal.user_id
    if mode in ("joined", "lead"):
        uow.record(StaffEntered(conversation_id, principal.alias, mode))
    return conversation


async def whisper(
    uow: UnitOfWork, principal: Principal, *, conversation_id: str, text: str, now: datetime
) -> Whisper:
    conversation, access = await chat_access.get_for(uow.session, principal, conversation_id)
    if not access.is_staff:
        raise NotFound("no such conversation")
    row = Whisper(
        conversation_id=conversation.id,
        sender_id=principal.user_id,
        sender_role=principal.role.value,
        sender_alias=principal.alias,
        text=text,
        sent_at=now,
    )
    uow.session.add(row)
    await uow.session.flush()
    uow.record(written(row))
    return row
