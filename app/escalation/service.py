"""Escalation rules: paging on-call supervisors, acknowledgement, supervisor actions.

Invariants:
- Every page, acknowledgement, resolution and supervisor access lands in the audit trail.
- A re-page is written with a conditional update on the page count, so however many
  processes sweep, each deadline re-pages exactly once.
- While a high or imminent escalation is open (not resolved), the volunteer cannot end the
  conversation alone; nor while a referral is still open.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.bus import Event
from app.chat import protocol
from app.chat import service as chat_service
from app.chat.models import Conversation
from app.chat.service import STAFF_CHANNEL, staff_channel, user_channel
from app.db import UnitOfWork
from app.errors import Conflict, Forbidden, NotFound
from app.escalation import machine
from app.escalation.machine import EscalationSource, EscalationState, EscalationStatus, Outcome
from app.escalation.models import ConversationStaff, Escalation, Whisper
from app.identity.models import Role, StaffUser
from app.identity.service import Principal
from app.risk.scoring import RiskLevel

log = logging.getLogger(__name__)

BLOCKING_LEVELS = (RiskLevel.HIGH.value, RiskLevel.IMMINENT.value)
UNRESOLVED = (EscalationStatus.OPEN.value, EscalationStatus.ACKNOWLEDGED.value)


def unresolved_in(conversation_id: ColumnElement[str]) -> ColumnElement[bool]:
    """True where the conversation has an escalation nobody has resolved yet."""
    return exists().where(
        Escalation.conversation_id == conversation_id, Escalation.status.in_(UNRESOLVED)
    )


@cache
def policy_for(scale: float) -> machine.Policy:
    """The shipped paging policy with every deadline multiplied by ``scale`` (tests use a
    small scale instead of waiting minutes)."""
    base = machine.load_policy()
    if scale == 1.0:
        return base
    raw = base.model_dump(mode="json")
    for level in raw["levels"].values():
        for step in level["schedule"]:
            step["ack_within_s"] = max(1, round(step["ack_within_s"] * scale))
        if level.get("repeat_last_every_s"):
            level["repeat_last_every_s"] = max(1, round(level["repeat_last_every_s"] * scale))
    return machine.Policy.model_validate(raw)


def state_of(row: Escalation) -> EscalationState:
    return EscalationState(
        level=RiskLevel(row.level),
        source=EscalationSource(row.source),
        status=EscalationStatus(row.status),
        opened_at=row.opened_at,
        step=row.step,
        tier=machine.PageTier(row.tier),
        pages=row.pages,
        ack_deadline=row.ack_deadline,
        policy_id=row.policy_id,
        policy_version=row.policy_version,
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        outcome=Outcome(row.outcome) if row.outcome else None,
    )


def _store(row: Escalation, state: EscalationState) -> None:
    row.level = state.level.value
    row.status = state.status.value
    row.step = state.step
    row.tier = state.tier.value
    row.pages = state.pages
    row.ack_deadline = state.ack_deadline
    row.policy_id = state.policy_id
    row.policy_version = state.policy_version
    row.acknowledged_at = state.acknowledged_at
    row.acknowledged_by = state.acknowledged_by
    row.resolved_at = state.resolved_at
    row.resolved_by = state.resolved_by
    row.outcome = state.outcome.value if state.outcome else None


def escalation_view(row: Escalation, now: datetime, volunteer_alias: str | None = None) -> dict:
    return {
        "escalation_id": row.id,
        "conversation_id": row.conversation_id,
        "level": row.level,
        "source": row.source,
        "reason": row.reason,
        "status": row.status,
        "tier": row.tier,
        "pages": row.pages,
        "opened_at": row.opened_at,
        "age_s": int((now - row.opened_at).total_seconds()),
        "ack_deadline": row.ack_deadline,
        "acknowledged_by": row.acknowledged_by,
        "acknowledged_at": row.acknowledged_at,
        "outcome": row.outcome,
        "volunteer_alias": volunteer_alias,
    }


async def on_call_targets(session: AsyncSession, tier: machine.PageTier) -> list[str]:
    supervisors = list(
        await session.scalars(
            select(StaffUser.id)
            .where(
                StaffUser.role == Role.supervisor.value,
                StaffUser.active.is_(True),
                StaffUser.on_call.is_(True),
            )
            .order_by(StaffUser.backup_rank, StaffUser.id)
        )
    )
    admins = list(
        await session.scalars(
            select(StaffUser.id).where(
                StaffUser.role == Role.admin.value, StaffUser.active.is_(True)
            )
        )
    )
    return machine.choose_targets(tier, supervisors, supervisors[1:], admins)


async def count_on_call(session: AsyncSession) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(StaffUser)
            .where(StaffUser.role == Role.supervisor.value, StaffUser.on_call.is_(True))
        )
        or 0
    )


def staff_alert(code: str, message: str, **extra: Any) -> Event:
    return Event(
        "staff.alert",
        protocol.dumps({"type": "staff.alert", "code": code, "message": message, **extra}),
    )


async def _page(uow: UnitOfWork, row: Escalation, *, now: datetime) -> None:
    session = uow.session
    targets = await on_call_targets(session, machine.PageTier(row.tier))
    frame = protocol.dumps(
        {
            "type": "escalation.page",
            "escalation_id": row.id,
            "conversation_id": row.conversation_id,
            "level": row.level,
            "tier": row.tier,
            "page": row.pages,
            "reason": row.reason,
            "source": row.source,
            "ack_deadline": row.ack_deadline,
        }
    )
    for target in targets:
        uow.publish(user_channel(target), Event("escalation.page", frame, row.conversation_id))
    audit.record(
        session,
        actor_id=None,
        actor_role="system",
        action="escalation.paged",
        conversation_id=row.conversation_id,
        detail={"escalation_id": row.id, "tier": row.tier, "page": row.pages, "to": targets},
    )
    if not await count_on_call(session):
        uow.publish(
            STAFF_CHANNEL,
            staff_alert(
                "nobody_on_call",
                "A conversation needs a supervisor and nobody is on call.",
                escalation_id=row.id,
                level=row.level,
            ),
        )
    _publish_update(uow, row, now=now)


def _publish_update(uow: UnitOfWork, row: Escalation, *, now: datetime) -> None:
    frame = protocol.dumps({"type": "escalation.updated", **escalation_view(row, now)})
    uow.publish(staff_channel(row.conversation_id), Event("escalation.updated", frame))
    uow.publish(STAFF_CHANNEL, Event("escalation.updated", frame))


async def open_or_raise(
    uow: UnitOfWork,
    conversation: Conversation,
    *,
    level: RiskLevel,
    source: EscalationSource,
    reason: str | None,
    now: datetime,
    scale: float,
) -> Escalation:
    """Open an escalation for this conversation, or raise the level of the unresolved one."""
    session = uow.session
    policy = policy_for(scale)
    row = await session.scalar(
        select(Escalation)
        .where(Escalation.conversation_id == conversation.id, Escalation.status.in_(UNRESOLVED))
        .order_by(Escalation.opened_at.desc())
        .limit(1)
        .with_for_update()
    )
    if row is not None:
        decision = machine.raise_level(state_of(row), level, now, policy=policy)
        if decision is None:
            return row
        _store(row, decision.state)
        row.reason = reason or row.reason
        await session.flush()
        audit.record(
            session,
            actor_id=None,
            actor_role="system",
            action="escalation.raised",
            conversation_id=conversation.id,
            detail={"escalation_id": row.id, "level": row.level},
        )
        await _page(uow, row, now=now)
        return row
    decision = machine.open_escalation(level, now, source=source, policy=policy)
    row = Escalation(conversation_id=conversation.id, reason=reason)
    _store(row, decision.state)
    row.source = decision.state.source.value
    row.opened_at = now
    session.add(row)
    await session.flush()
    audit.record(
        session,
        actor_id=None,
        actor_role="system",
        action="escalation.opened",
        conversation_id=conversation.id,
        detail={"escalation_id": row.id, "level": row.level, "source": row.source},
    )
    await _page(uow, row, now=now)
    return row


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
    _store(row, machine.acknowledge(state_of(row), now, principal.user_id))
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
    _publish_update(uow, row, now=now)
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
        raise Conflict(
            f"outcome must be one of: {', '.join(o.value for o in Outcome)}", code="invalid_frame"
        ) from None
    _store(row, machine.resolve(state_of(row), now, principal.user_id, outcome_value))
    row.outcome_note = note
    audit.record(
        session,
        actor_id=principal.user_id,
        actor_role=principal.role.value,
        action="escalation.resolved",
        conversation_id=row.conversation_id,
        detail={"escalation_id": row.id, "outcome": row.outcome},
    )
    await session.flush()
    _publish_update(uow, row, now=now)
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
    conversation, access = await chat_service.get_for(uow.session, principal, conversation_id)
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
    from app.referrals import service as referral_service

    if await referral_service.has_open(session, conversation.id):
        raise Conflict(
            "a helpline referral is still open; a supervisor can close it with a reason",
            code="referral_open",
        )


async def after_conversation_ended(
    uow: UnitOfWork, conversation: Conversation, *, now: datetime
) -> None:
    """Volunteer care: after a high or imminent chat, a cool-down and a debrief prompt."""
    if conversation.risk_level not in BLOCKING_LEVELS or conversation.volunteer_id is None:
        return
    from app.config import get_settings

    until = now + timedelta(seconds=get_settings().volunteer_cooldown_s)
    await uow.session.execute(
        update(StaffUser)
        .where(StaffUser.id == conversation.volunteer_id)
        .values(cooldown_until=until)
    )
    uow.publish(
        user_channel(conversation.volunteer_id),
        Event(
            "volunteer.cooldown",
            protocol.dumps(
                {
                    "type": "volunteer.cooldown",
                    "conversation_id": conversation.id,
                    "until": until,
                    "debrief": True,
                }
            ),
        ),
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
        uow.publish(STAFF_CHANNEL, staff_alert("nobody_on_call", "Nobody is on call."))
    return count


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
        frame = protocol.dumps(
            {
                "type": "conversation.joined" if mode == "joined" else "conversation.taken_over",
                "conversation_id": conversation_id,
                "staff_alias": principal.alias,
                "staff_role": "supervisor",
            }
        )
        uow.publish(chat_service.conversation_channel(conversation_id), Event("x", frame))
    return conversation


async def whisper(
    uow: UnitOfWork, principal: Principal, *, conversation_id: str, text: str, now: datetime
) -> Whisper:
    conversation, access = await chat_service.get_for(uow.session, principal, conversation_id)
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
    uow.publish(staff_channel(conversation.id), Event("chat.whisper", whisper_frame(row)))
    return row


def whisper_frame(row: Whisper) -> str:
    return protocol.dumps(
        {
            "type": "chat.whisper",
            "conversation_id": row.conversation_id,
            "whisper_id": row.id,
            "sender_role": row.sender_role,
            "sender_alias": row.sender_alias,
            "text": row.text,
            "sent_at": row.sent_at,
        }
    )


async def whisper_frames(session: AsyncSession, conversation_id: str) -> list[str]:
    rows = await session.scalars(
        select(Whisper).where(Whisper.conversation_id == conversation_id).order_by(Whisper.id)
    )
    return [whisper_frame(r) for r in rows]


async def list_unresolved(session: AsyncSession, *, now: datetime) -> list[dict]:
    rows = (
        await session.execute(
            select(Escalation, StaffUser.alias)
            .join(Conversation, Conversation.id == Escalation.conversation_id)
            .outerjoin(StaffUser, StaffUser.id == Conversation.volunteer_id)
            .where(Escalation.status.in_(UNRESOLVED))
        )
    ).all()
    urgency = {"imminent": 0, "high": 1, "moderate": 2}
    views = [escalation_view(row, now, alias) for row, alias in rows]
    return sorted(
        views,
        key=lambda v: (
            v["status"] != "open",
            urgency.get(v["level"], 3),
            v["ack_deadline"] or v["opened_at"],
        ),
    )


async def ack_metrics(session: AsyncSession, *, since: datetime) -> dict[str, dict[str, float]]:
    """Time to acknowledge per level since ``since``: count, mean, max (seconds)."""
    rows = (
        await session.execute(
            select(Escalation.level, Escalation.opened_at, Escalation.acknowledged_at).where(
                Escalation.acknowledged_at.is_not(None), Escalation.opened_at >= since
            )
        )
    ).all()
    per: dict[str, list[float]] = {}
    for level, opened, acked in rows:
        per.setdefault(level, []).append((acked - opened).total_seconds())
    return {
        level: {
            "count": len(values),
            "mean_s": round(sum(values) / len(values), 3),
            "max_s": round(max(values), 3),
        }
        for level, values in per.items()
    }


# -- the sweep (a leader-run job, app/escalation/sweeper.py) ----------------------------


async def sweep(uow: UnitOfWork, *, now: datetime, scale: float, flagged_wait_s: float) -> int:
    """Re-page every escalation whose deadline passed; page for flagged seekers waiting too
    long. Returns the number of pages sent."""
    session = uow.session
    policy = policy_for(scale)
    pages = 0
    due = list(
        await session.scalars(
            select(Escalation).where(
                Escalation.status == EscalationStatus.OPEN.value,
                Escalation.ack_deadline <= now,
            )
        )
    )
    for row in due:
        decision = machine.on_tick(state_of(row), now, policy=policy)
        if decision is None:
            continue
        before = row.pages
        state = decision.state
        result = await session.execute(
            update(Escalation)
            .where(Escalation.id == row.id, Escalation.pages == before)
            .values(
                step=state.step,
                tier=state.tier.value,
                pages=state.pages,
                ack_deadline=state.ack_deadline,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            continue  # another sweeper got there first
        _store(row, state)
        await _page(uow, row, now=now)
        pages += 1
    flagged = list(
        await session.scalars(
            select(Conversation).where(
                Conversation.status == "waiting",
                Conversation.flagged_at.is_not(None),
                Conversation.flagged_at <= now - timedelta(seconds=flagged_wait_s),
            )
        )
    )
    for conversation in flagged:
        exists = await session.scalar(
            select(Escalation.id).where(Escalation.conversation_id == conversation.id)
        )
        if exists is None:
            await open_or_raise(
                uow,
                conversation,
                level=RiskLevel.HIGH,
                source=EscalationSource.CUE,
                reason="flagged seeker waiting",
                now=now,
                scale=scale,
            )
            pages += 1
    return pages
