"""Debriefs and activity counts.

Invariants:
- A debrief follows a high or imminent chat that ended, is written by that chat's volunteer,
  once, and is addressed to the supervisor who handled the chat's escalation (who
  acknowledged it, else who resolved it); with none, every supervisor sees it.
- A supervisor sees the debriefs addressed to them or to nobody; an admin sees all.
- Activity is counts only. Every debrief, debrief read, "seen" and activity read by someone
  other than the volunteer is audited.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.chat.models import Conversation
from app.chat.policy import ConversationStatus
from app.db import UnitOfWork
from app.errors import Conflict, Forbidden, InvalidTransition, NotFound
from app.escalation.models import Escalation
from app.identity.models import Role, StaffUser
from app.identity.service import Principal
from app.outbound import frames
from app.transfer.models import ConversationTransfer, last_handed_to, part_began
from app.wellbeing import activity as activity_rules
from app.wellbeing.events import DebriefSubmitted
from app.wellbeing.models import Debrief
from app.wellbeing.schemas import Feeling, Want

OPEN = "open"
SEEN = "seen"


async def _handler(session: AsyncSession, conversation_id: str) -> str | None:
    row = (
        await session.execute(
            select(Escalation.acknowledged_by, Escalation.resolved_by)
            .where(
                Escalation.conversation_id == conversation_id,
                Escalation.level.in_(activity_rules.HIGH_RISK),
            )
            .order_by(Escalation.opened_at.desc())
        )
    ).first()
    if row is None:
        return None
    return row[0] or row[1]


def _event(row: Debrief, volunteer_alias: str) -> DebriefSubmitted:
    return DebriefSubmitted(
        debrief_id=row.id,
        conversation_id=row.conversation_id,
        volunteer_alias=volunteer_alias,
        supervisor_id=row.supervisor_id,
        level=row.level,
        feeling=row.feeling,
        wants=tuple(row.wants),
        note=row.note,
        created_at=row.created_at,
    )


def view(row: Debrief, volunteer_alias: str) -> dict[str, Any]:
    return {
        "debrief_id": row.id,
        "conversation_id": row.conversation_id,
        "volunteer_id": row.volunteer_id,
        "volunteer_alias": volunteer_alias,
        "supervisor_id": row.supervisor_id,
        "level": row.level,
        "feeling": row.feeling,
        "wants": list(row.wants),
        "note": row.note,
        "created_at": row.created_at,
        "status": row.status,
        "seen_at": row.seen_at,
    }


async def cooldown_after_auth(
    session: AsyncSession, volunteer_id: str, *, now: datetime
) -> str | None:
    """``volunteer.cooldown`` again for a volunteer whose cool-down still runs (a reload, a
    reconnect, a volunteer back after vanishing): the frame that began it was sent once, to
    the sockets open then. ``debrief`` is false once they sent that chat's debrief."""
    row = (
        await session.execute(
            select(StaffUser.cooldown_until, StaffUser.cooldown_conversation_id).where(
                StaffUser.id == volunteer_id
            )
        )
    ).first()
    if row is None or row.cooldown_conversation_id is None or not row.cooldown_until > now:
        return None
    given = await _debrief_given(session, row.cooldown_conversation_id, volunteer_id)
    return frames.volunteer_cooldown(
        conversation_id=row.cooldown_conversation_id,
        until=row.cooldown_until,
        debrief=not given,
    )


async def _debrief_given(session: AsyncSession, conversation_id: str, volunteer_id: str) -> bool:
    """Whether this volunteer already sent the chat's debrief (one each)."""
    found = await session.scalar(
        select(Debrief.id).where(
            Debrief.conversation_id == conversation_id, Debrief.volunteer_id == volunteer_id
        )
    )
    return found is not None


async def _handed_on_from(session: AsyncSession, conversation_id: str, volunteer_id: str) -> bool:
    """Whether the chat was ever handed on from this volunteer (``app.transfer``)."""
    found = await session.scalar(
        select(ConversationTransfer.id)
        .where(
            ConversationTransfer.conversation_id == conversation_id,
            ConversationTransfer.from_volunteer_id == volunteer_id,
        )
        .limit(1)
    )
    return found is not None


async def submit(
    uow: UnitOfWork,
    principal: Principal,
    *,
    conversation_id: str,
    feeling: Feeling,
    wants: list[Want],
    note: str | None,
    now: datetime,
) -> dict[str, Any]:
    session = uow.session
    if principal.role is not Role.volunteer:
        raise Forbidden("a debrief is written by the chat's volunteer")
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("no such conversation")
    # The volunteer who has the chat debriefs once it ended; one it was handed on from (or
    # taken from when they vanished), once their part is over, whatever became of the chat.
    if conversation.volunteer_id == principal.user_id:
        part_over = conversation.status == ConversationStatus.ended.value
    elif await _handed_on_from(session, conversation_id, principal.user_id):
        part_over = True
    else:
        raise NotFound("no such conversation")
    if not part_over or conversation.risk_level not in activity_rules.HIGH_RISK:
        raise InvalidTransition("a debrief follows a high or imminent chat that has ended")
    if await _debrief_given(session, conversation_id, principal.user_id):
        raise Conflict("this chat's debrief was already sent", code="debrief_given")
    row = Debrief(
        conversation_id=conversation_id,
        volunteer_id=principal.user_id,
        supervisor_id=await _handler(session, conversation_id),
        level=conversation.risk_level,
        feeling=feeling.value,
        wants=sorted({w.value for w in wants}),
        note=(note or "").strip() or None,
        created_at=now,
        status=OPEN,
    )
    session.add(row)
    await session.flush()
    audit.record(
        session,
        actor_id=principal.user_id,
        actor_role=principal.role.value,
        action="wellbeing.debrief",
        conversation_id=conversation_id,
        detail={"debrief_id": row.id, "feeling": row.feeling, "wants": row.wants},
    )
    uow.record(_event(row, principal.alias))
    return view(row, principal.alias)


def _visible_to(principal: Principal):  # type: ignore[no-untyped-def]
    if principal.role is Role.admin:
        return True
    return or_(Debrief.supervisor_id == principal.user_id, Debrief.supervisor_id.is_(None))


async def debriefs(
    uow: UnitOfWork, principal: Principal, *, status: str | None
) -> list[dict[str, Any]]:
    """Debriefs for this supervisor (or all, for an admin), newest first. Audited."""
    query = (
        select(Debrief, StaffUser.alias)
        .join(StaffUser, StaffUser.id == Debrief.volunteer_id)
        .where(_visible_to(principal))
        .order_by(Debrief.created_at.desc())
    )
    if status is not None:
        query = query.where(Debrief.status == status)
    rows = (await uow.session.execute(query)).all()
    audit.record(
        uow.session,
        actor_id=principal.user_id,
        actor_role=principal.role.value,
        action="wellbeing.debriefs_read",
        detail={"debriefs": [row.id for row, _ in rows]},
    )
    return [view(row, alias) for row, alias in rows]


async def mark_seen(
    uow: UnitOfWork, principal: Principal, *, debrief_id: str, now: datetime
) -> dict[str, Any]:
    found = (
        await uow.session.execute(
            select(Debrief, StaffUser.alias)
            .join(StaffUser, StaffUser.id == Debrief.volunteer_id)
            .where(Debrief.id == debrief_id, _visible_to(principal))
        )
    ).first()
    if found is None:
        raise NotFound("no such debrief")
    row, alias = found
    if row.status != OPEN:
        raise InvalidTransition(f"the debrief is {row.status}, expected open")
    row.status = SEEN
    row.seen_by = principal.user_id
    row.seen_at = now
    audit.record(
        uow.session,
        actor_id=principal.user_id,
        actor_role=principal.role.value,
        action="wellbeing.debrief_seen",
        conversation_id=row.conversation_id,
        detail={"debrief_id": row.id},
    )
    return view(row, alias)


async def _spans(
    session: AsyncSession, volunteer_ids: list[str], since: datetime
) -> dict[str, list[activity_rules.ChatSpan]]:
    """Each volunteer's parts of chats (``app.wellbeing.activity``): the chats they have now,
    from their take or the hand-over to them, and those handed on from them, up to then."""
    handed_to = last_handed_to(Conversation.id, Conversation.volunteer_id).scalar_subquery()
    current = await session.execute(
        select(
            Conversation.volunteer_id,
            Conversation.started_at,
            handed_to,
            Conversation.ended_at,
            Conversation.risk_level,
            Conversation.id,
        ).where(
            Conversation.volunteer_id.in_(volunteer_ids),
            Conversation.started_at.is_not(None),
            or_(Conversation.ended_at.is_(None), Conversation.ended_at >= since),
        )
    )
    spans: dict[str, list[activity_rules.ChatSpan]] = {v: [] for v in volunteer_ids}
    for volunteer_id, started_at, handed_at, ended_at, level, cid in current:
        began = part_began(started_at, handed_at) or started_at
        spans[volunteer_id].append(activity_rules.ChatSpan(began, ended_at, level, cid))
    handed_on = await session.execute(
        select(
            ConversationTransfer.from_volunteer_id,
            ConversationTransfer.from_started_at,
            ConversationTransfer.created_at,
            Conversation.risk_level,
            Conversation.id,
        )
        .join(Conversation, Conversation.id == ConversationTransfer.conversation_id)
        .where(
            ConversationTransfer.from_volunteer_id.in_(volunteer_ids),
            ConversationTransfer.created_at >= since,
        )
    )
    for volunteer_id, began, until, level, cid in handed_on:
        spans[volunteer_id].append(activity_rules.ChatSpan(began or until, until, level, cid))
    return spans


async def _debrief_times(
    session: AsyncSession, volunteer_ids: list[str], since: datetime
) -> dict[str, list[datetime]]:
    rows = await session.execute(
        select(Debrief.volunteer_id, Debrief.created_at).where(
            Debrief.volunteer_id.in_(volunteer_ids), Debrief.created_at >= since
        )
    )
    times: dict[str, list[datetime]] = {v: [] for v in volunteer_ids}
    for volunteer_id, at in rows:
        times[volunteer_id].append(at)
    return times


def _since(now: datetime) -> datetime:
    return now - timedelta(days=7 * (activity_rules.WEEKS + 1))


async def activity(
    uow: UnitOfWork, principal: Principal, *, volunteer_id: str, now: datetime
) -> dict[str, Any]:
    """One volunteer's counts: their own, or any volunteer's for a supervisor (audited)."""
    if principal.role is Role.volunteer and volunteer_id != principal.user_id:
        raise Forbidden("a volunteer sees only their own activity")
    volunteer = await uow.session.get(StaffUser, volunteer_id)
    if volunteer is None or volunteer.role != Role.volunteer.value:
        raise NotFound("no such volunteer")
    since = _since(now)
    spans = (await _spans(uow.session, [volunteer_id], since))[volunteer_id]
    times = (await _debrief_times(uow.session, [volunteer_id], since))[volunteer_id]
    if principal.user_id != volunteer_id:
        audit.record(
            uow.session,
            actor_id=principal.user_id,
            actor_role=principal.role.value,
            action="wellbeing.activity_read",
            detail={"volunteer_id": volunteer_id},
        )
    return {
        "volunteer_id": volunteer.id,
        "alias": volunteer.alias,
        "cooldown_until": volunteer.cooldown_until,
        **activity_rules.summarise(spans, times, now=now),
    }


async def team_activity(
    uow: UnitOfWork, principal: Principal, *, now: datetime
) -> list[dict[str, Any]]:
    """Every active volunteer's 7- and 30-day counts and open debriefs (audited)."""
    session = uow.session
    volunteers = list(
        await session.scalars(
            select(StaffUser)
            .where(StaffUser.role == Role.volunteer.value, StaffUser.active.is_(True))
            .order_by(StaffUser.alias)
        )
    )
    ids = [v.id for v in volunteers]
    since = _since(now)
    spans = await _spans(session, ids, since)
    times = await _debrief_times(session, ids, since)
    open_debriefs: dict[str, int] = {}
    for (volunteer_id,) in await session.execute(
        select(Debrief.volunteer_id).where(Debrief.status == OPEN, Debrief.volunteer_id.in_(ids))
    ):
        open_debriefs[volunteer_id] = open_debriefs.get(volunteer_id, 0) + 1
    audit.record(
        session,
        actor_id=principal.user_id,
        actor_role=principal.role.value,
        action="wellbeing.activity_read",
        detail={"volunteers": len(ids)},
    )
    team = []
    for v in volunteers:
        found = activity_rules.summarise(spans[v.id], times[v.id], now=now)
        team.append(
            {
                "volunteer_id": v.id,
                "alias": v.alias,
                "windows": found["windows"],
                "last_high_risk_at": found["last_high_risk_at"],
                "open_debriefs": open_debriefs.get(v.id, 0),
                "cooldown_until": v.cooldown_until,
            }
        )
    return team


async def forget_notes(uow: UnitOfWork, *, before: datetime) -> int:
    """Retention: a debrief's note goes with the text of the chat it followed."""
    result = await uow.session.execute(
        update(Debrief)
        .where(Debrief.note.is_not(None), Debrief.created_at < before)
        .values(note=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
