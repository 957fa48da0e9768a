"""Ask, answer, read and delete consented emergency shares.

Invariants:
- Only the supervisor (or admin) who acknowledged an escalation asks, only while it is
  acknowledged and not resolved, only at ``imminent``, only while the conversation is open,
  and one request at a time.
- Only the conversation's seeker answers, once. Declining stores nothing but the answer.
- What is shared is stored sealed (``app.emergency_share.cipher``) and only the supervisor
  who acknowledged the escalation opens it; every opening is audited.
- It is deleted when the escalation is resolved (by anyone, or by the system) or at
  ``delete_by`` (``KEEP_FOR`` after it was shared), whichever comes first. An unanswered
  request is withdrawn with its escalation.
- No event, audit detail or error carries what was shared, only which kinds were.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from cryptography.fernet import MultiFernet
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.chat.access import OPEN_STATUSES
from app.chat.models import Conversation
from app.db import UnitOfWork
from app.emergency_share.cipher import InvalidToken, open_sealed, seal
from app.emergency_share.events import ShareChanged, ShareRequested, ShareView, ShareWithdrawn
from app.emergency_share.models import EmergencyShare
from app.emergency_share.schemas import MAX_LOCATION_CHARS, MAX_PHONE_CHARS
from app.errors import BadRequest, Conflict, Forbidden, NotFound
from app.escalation.machine import EscalationStatus
from app.escalation.models import Escalation
from app.identity.models import StaffUser
from app.identity.service import Principal
from app.lifecycle import Lifecycle
from app.risk.scoring import RiskLevel

# DOMAIN.md: deleted on resolution or within 72 hours.
KEEP_FOR = timedelta(hours=72)
KEEP_HOURS = int(KEEP_FOR.total_seconds() // 3600)


class ShareStatus(StrEnum):
    REQUESTED = "requested"  # waiting for the seeker
    SHARED = "shared"  # sealed contents held
    DECLINED = "declined"  # the seeker said no; nothing held
    WITHDRAWN = "withdrawn"  # the escalation ended before the seeker answered
    DELETED = "deleted"  # was shared; contents deleted (resolved or expired)


SHARE_LIFECYCLE: Lifecycle[ShareStatus] = Lifecycle(
    "emergency share",
    {
        ShareStatus.REQUESTED: {ShareStatus.SHARED, ShareStatus.DECLINED, ShareStatus.WITHDRAWN},
        ShareStatus.SHARED: {ShareStatus.DELETED},
    },
)


def _move(row: EmergencyShare, target: ShareStatus) -> None:
    row.status = SHARE_LIFECYCLE.check(ShareStatus(row.status), target).value


def view(row: EmergencyShare) -> ShareView:
    return ShareView(
        share_id=row.id,
        escalation_id=row.escalation_id,
        conversation_id=row.conversation_id,
        status=row.status,
        requested_at=row.requested_at,
        answered_at=row.answered_at,
        has_phone=row.has_phone,
        has_location=row.has_location,
        delete_by=row.delete_by,
        deleted_at=row.deleted_at,
        deleted_reason=row.deleted_reason,
    )


def _audit(
    session: AsyncSession,
    row: EmergencyShare,
    action: str,
    *,
    actor_id: str | None,
    actor_role: str,
    **extra: Any,
) -> None:
    audit.record(
        session,
        actor_id=actor_id,
        actor_role=actor_role,
        action=f"emergency_share.{action}",
        conversation_id=row.conversation_id,
        detail={"share_id": row.id, "escalation_id": row.escalation_id, **extra},
    )


async def ask(
    uow: UnitOfWork, principal: Principal, *, escalation_id: str, now: datetime
) -> ShareView:
    """The acknowledging supervisor asks the seeker; the seeker's sockets show the request."""
    session = uow.session
    escalation = await session.scalar(
        select(Escalation).where(Escalation.id == escalation_id).with_for_update()
    )
    if escalation is None:
        raise NotFound("no such escalation")
    if escalation.acknowledged_by != principal.user_id:
        raise Forbidden("only the supervisor who acknowledged this escalation may ask")
    if escalation.status != EscalationStatus.ACKNOWLEDGED.value:
        raise Conflict("the escalation is resolved", code="share_not_allowed")
    if escalation.level != RiskLevel.IMMINENT.value:
        raise Conflict(
            "an emergency share is asked only in an imminent escalation",
            code="share_not_allowed",
        )
    conversation = await session.get(Conversation, escalation.conversation_id)
    if conversation is None or conversation.status not in OPEN_STATUSES:
        raise Conflict("the conversation has ended", code="conversation_closed")
    pending = await session.scalar(
        select(EmergencyShare.id).where(
            EmergencyShare.escalation_id == escalation_id,
            EmergencyShare.status == ShareStatus.REQUESTED,
        )
    )
    if pending is not None:
        raise Conflict("the seeker has not answered the last request yet", code="share_pending")
    row = EmergencyShare(
        escalation_id=escalation_id,
        conversation_id=conversation.id,
        supervisor_id=principal.user_id,
        status=ShareStatus.REQUESTED.value,
        requested_at=now,
    )
    session.add(row)
    await session.flush()
    _audit(session, row, "requested", actor_id=principal.user_id, actor_role=principal.role.value)
    shown = view(row)
    uow.record(
        ShareRequested(
            seeker_id=conversation.seeker_id,
            share_id=row.id,
            conversation_id=conversation.id,
            supervisor_alias=principal.alias,
            keep_hours=KEEP_HOURS,
            requested_at=now,
        )
    )
    uow.record(ShareChanged(principal.user_id, shown))
    return shown


def _cleaned(value: str | None, limit: int, what: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) > limit:
        raise BadRequest(f"{what} is over {limit} characters", code="text_too_long")
    return value


async def _own_request(
    session: AsyncSession, principal: Principal, request_id: str
) -> EmergencyShare:
    row = await session.scalar(
        select(EmergencyShare).where(EmergencyShare.id == request_id).with_for_update()
    )
    if row is None:
        raise NotFound("no such request")
    seeker_id = await session.scalar(
        select(Conversation.seeker_id).where(Conversation.id == row.conversation_id)
    )
    if seeker_id != principal.user_id:
        raise NotFound("no such request")
    return row


async def answer(
    uow: UnitOfWork,
    principal: Principal,
    *,
    request_id: str,
    share: bool,
    phone: str | None,
    location: str | None,
    now: datetime,
    cipher: MultiFernet,
) -> ShareView:
    """The seeker's answer: share (a phone number, a place, or both) or decline."""
    session = uow.session
    row = await _own_request(session, principal, request_id)
    if row.status != ShareStatus.REQUESTED:
        raise Conflict("this request is no longer open", code="share_closed")
    if share:
        phone = _cleaned(phone, MAX_PHONE_CHARS, "phone")
        location = _cleaned(location, MAX_LOCATION_CHARS, "location")
        if phone is None and location is None:
            raise BadRequest(
                "nothing to share: give a phone number or a place, or decline", code="text_empty"
            )
        row.sealed = seal(cipher, json.dumps({"phone": phone, "location": location}))
        row.has_phone = phone is not None
        row.has_location = location is not None
        _move(row, ShareStatus.SHARED)
        row.delete_by = now + KEEP_FOR
    else:
        _move(row, ShareStatus.DECLINED)
    row.answered_at = now
    _audit(
        session,
        row,
        "shared" if share else "declined",
        actor_id=principal.user_id,
        actor_role=principal.role.value,
        phone=row.has_phone,
        location=row.has_location,
    )
    shown = view(row)
    uow.record(ShareChanged(row.supervisor_id, shown))
    return shown


async def _acknowledged_by(session: AsyncSession, escalation_id: str) -> str | None:
    return await session.scalar(
        select(Escalation.acknowledged_by).where(Escalation.id == escalation_id)
    )


async def read(
    uow: UnitOfWork, principal: Principal, *, share_id: str, cipher: MultiFernet
) -> dict[str, Any]:
    """The share with what it holds, for the supervisor who acknowledged its escalation
    only; audited every time (also when nothing is held any more)."""
    session = uow.session
    row = await session.get(EmergencyShare, share_id)
    if row is None:
        raise NotFound("no such emergency share")
    if await _acknowledged_by(session, row.escalation_id) != principal.user_id:
        raise Forbidden("only the supervisor who acknowledged this escalation may read it")
    held: dict[str, str | None] = {"phone": None, "location": None}
    readable = True
    if row.sealed is not None:
        try:
            held = json.loads(open_sealed(cipher, row.sealed))
        except InvalidToken:  # written under a key no longer configured
            readable = False
    _audit(
        session,
        row,
        "read",
        actor_id=principal.user_id,
        actor_role=principal.role.value,
        held=row.sealed is not None,
    )
    return {
        **fields(view(row)),
        "phone": held.get("phone"),
        "location": held.get("location"),
        "readable": readable,
    }


def fields(share: ShareView) -> dict[str, Any]:
    return asdict(share)


async def list_mine(session: AsyncSession, principal: Principal) -> list[ShareView]:
    """Requests of escalations the caller acknowledged, newest first (no contents)."""
    rows = await session.scalars(
        select(EmergencyShare)
        .join(Escalation, Escalation.id == EmergencyShare.escalation_id)
        .where(Escalation.acknowledged_by == principal.user_id)
        .order_by(EmergencyShare.requested_at.desc())
        .limit(100)
    )
    return [view(row) for row in rows]


async def _erase(uow: UnitOfWork, rows: list[EmergencyShare], *, now: datetime, reason: str) -> int:
    session = uow.session
    seekers: dict[str, str] = {}
    for row in rows:
        if row.status == ShareStatus.REQUESTED:
            _move(row, ShareStatus.WITHDRAWN)
            if row.conversation_id not in seekers:
                seekers[row.conversation_id] = (
                    await session.scalar(
                        select(Conversation.seeker_id).where(Conversation.id == row.conversation_id)
                    )
                    or ""
                )
            uow.record(ShareWithdrawn(seekers[row.conversation_id], row.id, row.conversation_id))
            action = "withdrawn"
        else:
            _move(row, ShareStatus.DELETED)
            action = "deleted"
        row.sealed = None
        row.deleted_at = now
        row.deleted_reason = reason
        _audit(session, row, action, actor_id=None, actor_role=audit.SYSTEM, reason=reason)
        uow.record(ShareChanged(row.supervisor_id, view(row)))
    await session.flush()
    return len(rows)


_LIVE = (ShareStatus.REQUESTED, ShareStatus.SHARED)


async def erase_for_escalation(uow: UnitOfWork, *, escalation_id: str, now: datetime) -> int:
    """The escalation was resolved: delete what was shared, withdraw what was asked."""
    rows = list(
        await uow.session.scalars(
            select(EmergencyShare)
            .where(
                EmergencyShare.escalation_id == escalation_id,
                EmergencyShare.status.in_(_LIVE),
            )
            .with_for_update()
        )
    )
    return await _erase(uow, rows, now=now, reason="resolved")


async def withdraw_unanswerable(
    uow: UnitOfWork, *, seeker_ids: list[str], now: datetime, reason: str
) -> int:
    """The seeker can no longer answer (a quick exit, a block: their token is dead): their
    requests still waiting are withdrawn, so the supervisor is not left waiting on an answer
    that cannot come; those of chats that had already ended too (a seeker may answer from
    the ended screen). What was already shared stays until the escalation is resolved: the
    supervisor may need it most now."""
    if not seeker_ids:
        return 0
    rows = list(
        await uow.session.scalars(
            select(EmergencyShare)
            .join(Conversation, Conversation.id == EmergencyShare.conversation_id)
            .where(
                Conversation.seeker_id.in_(seeker_ids),
                EmergencyShare.status == ShareStatus.REQUESTED,
            )
            .order_by(EmergencyShare.requested_at)
            .with_for_update(of=EmergencyShare)
        )
    )
    return await _erase(uow, rows, now=now, reason=reason)


async def erase_due(uow: UnitOfWork, *, now: datetime, batch: int = 200) -> int:
    """The leader's sweep: shares past ``delete_by``, and any left live under a resolved
    escalation (a safety net: resolving deletes them at once)."""
    session = uow.session
    expired = list(
        await session.scalars(
            select(EmergencyShare)
            .where(EmergencyShare.status == ShareStatus.SHARED, EmergencyShare.delete_by <= now)
            .limit(batch)
            .with_for_update()
        )
    )
    done = await _erase(uow, expired, now=now, reason="expired")
    orphaned = list(
        await session.scalars(
            select(EmergencyShare)
            .join(Escalation, Escalation.id == EmergencyShare.escalation_id)
            .where(
                EmergencyShare.status.in_(_LIVE),
                Escalation.status == EscalationStatus.RESOLVED.value,
            )
            .limit(batch)
            .with_for_update(of=EmergencyShare)
        )
    )
    return done + await _erase(uow, orphaned, now=now, reason="resolved")


async def pending_for(session: AsyncSession, conversation_id: str) -> list[EmergencyShare]:
    """Requests in the conversation still waiting for the seeker's answer."""
    return list(
        await session.scalars(
            select(EmergencyShare).where(
                EmergencyShare.conversation_id == conversation_id,
                EmergencyShare.status == ShareStatus.REQUESTED,
            )
        )
    )


async def supervisor_alias(session: AsyncSession, supervisor_id: str) -> str:
    return await session.scalar(select(StaffUser.alias).where(StaffUser.id == supervisor_id)) or ""
