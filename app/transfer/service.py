"""Warm transfer: a chat handed to another volunteer or back to the queue, and the chats of
volunteers who vanished sent back to the queue.

Invariants:
- A chat is only ever handed from ``active``: to another volunteer (it stays ``active``) or
  back to ``waiting`` (``CONVERSATION_LIFECYCLE``); the conversation row is locked first, so
  a transfer, an end and a take cannot interleave.
- The receiving volunteer's row is locked while their chats are counted, so a transfer never
  takes them over their capacity (the same rule as ``matching.service.take``).
- Everything kept per conversation (messages, the checklist in progress, the level, cues,
  escalations, referrals, the safety plan) moves with it, because it belongs to the
  conversation, not to the volunteer. The old volunteer loses access at once
  (``chat.access`` asks the row), the new one reads the whole history.
- The handover note is staff-only: stored in ``conversation_transfers.note``, sent to
  staff frames only, never in the audit detail, deleted by retention.
- Every transfer is audited (``conversation.transferred``).
- A chat a supervisor took over and then hands on is no longer taken over: the receiving
  volunteer writes, the supervisor observes.
"""

from __future__ import annotations

from collections.abc import Container
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app import audit, presence
from app.chat import access as chat_access
from app.chat.access import CONVERSATION_LIFECYCLE
from app.chat.models import Conversation
from app.chat.policy import ConversationStatus
from app.db import UnitOfWork
from app.errors import Conflict, Forbidden, NotFound
from app.escalation import ending as escalation_ending
from app.escalation import views as escalation_views
from app.escalation.models import ConversationStaff, Escalation
from app.identity.models import Role, Seeker, StaffUser
from app.identity.service import Principal
from app.matching import service as matching_service
from app.matching.events import QueueChanged
from app.transfer import policy
from app.transfer.events import ConversationTransferred, TransferView, VolunteerVanished
from app.transfer.models import ConversationTransfer, last_handed_to, part_began

SUPERVISORS = (Role.supervisor, Role.admin)


async def _conversation_for(
    session: AsyncSession, principal: Principal, conversation_id: str
) -> Conversation:
    """The conversation to hand over, locked: the volunteer's own chat, or any chat for a
    supervisor or admin. Anyone else cannot tell it from one that does not exist."""
    if principal.role in SUPERVISORS:
        conversation = await session.scalar(
            select(Conversation).where(Conversation.id == conversation_id).with_for_update()
        )
        if conversation is None:
            raise NotFound("no such conversation")
    else:
        conversation, access = await chat_access.get_for(
            session, principal, conversation_id, lock=True
        )
        if access.role is not Role.volunteer:
            raise NotFound("no such conversation")
        if not access.can_write:
            raise Forbidden("a supervisor took this chat over; they decide where it goes")
    if conversation.status in (ConversationStatus.ended, ConversationStatus.abandoned):
        raise Conflict("this conversation has ended", code="conversation_closed")
    if conversation.status != ConversationStatus.active:
        raise Conflict("only an active chat can be handed over", code="invalid_transition")
    return conversation


async def _candidate(
    session: AsyncSession, volunteer_id: str
) -> tuple[StaffUser, policy.Candidate]:
    staff = await session.scalar(
        select(StaffUser).where(StaffUser.id == volunteer_id).with_for_update()
    )
    if staff is None:
        raise Conflict("that volunteer cannot take this chat now", code="target_unavailable")
    return staff, policy.Candidate(
        volunteer_id=staff.id,
        role=staff.role,
        active=staff.active,
        available=staff.available,
        trained=staff.trained,
        languages=tuple(staff.languages or ()),
        capacity=staff.capacity,
        active_chats=await matching_service.active_chat_count(session, staff.id),
        cooldown_until=staff.cooldown_until,
    )


REFUSALS = {
    "same_volunteer": "this chat is already with that volunteer",
    "target_unavailable": "that volunteer cannot take this chat now",
    "target_language": "that volunteer does not speak the conversation's language",
    "target_at_capacity": "that volunteer has no free slot",
}


async def transfer(
    uow: UnitOfWork,
    principal: Principal,
    *,
    conversation_id: str,
    to_volunteer_id: str | None,
    note: str,
    announce: bool,
    now: datetime,
) -> ConversationTransfer:
    """Hand an active chat to ``to_volunteer_id``, or back to the queue (None), with a
    staff-only ``note``. ``announce`` (``TRANSFER_ANNOUNCE``) applies to a hand-over to a
    volunteer; a chat back in the queue is always announced. Raises with a stable code when
    the chat or the volunteer cannot."""
    session = uow.session
    conversation = await _conversation_for(session, principal, conversation_id)
    target: StaffUser | None = None
    if to_volunteer_id is not None:
        target, candidate = await _candidate(session, to_volunteer_id)
        reason = policy.refusal(
            candidate,
            language=conversation.language,
            current_volunteer_id=conversation.volunteer_id,
            now=now,
        )
        if reason is not None:
            raise Conflict(REFUSALS[reason], code=reason)
    actor = await session.get(StaffUser, principal.user_id)
    return await _move(
        uow,
        conversation,
        target=target,
        by_id=principal.user_id,
        by_role=principal.role.value,
        by_alias=actor.alias if actor is not None else None,
        reason=policy.HANDOVER,
        note=note,
        # A seeker sent back to the queue is always told why they wait again.
        announce=announce or target is None,
        now=now,
    )


async def _move(
    uow: UnitOfWork,
    conversation: Conversation,
    *,
    target: StaffUser | None,
    by_id: str | None,
    by_role: str,
    by_alias: str | None,
    reason: str,
    note: str | None,
    announce: bool,
    now: datetime,
) -> ConversationTransfer:
    session = uow.session
    previous_id = conversation.volunteer_id
    previous = await session.get(StaffUser, previous_id) if previous_id else None
    seeker = await session.get(Seeker, conversation.seeker_id)
    assert seeker is not None
    if conversation.lead_staff_id is not None:
        # A supervisor who took the chat over and now hands it on gives the lead up: the
        # next volunteer writes, and the supervisor stays as a silent observer.
        await session.execute(
            update(ConversationStaff)
            .where(
                ConversationStaff.conversation_id == conversation.id,
                ConversationStaff.mode == "lead",
            )
            .values(mode="observer")
            .execution_options(synchronize_session=False)
        )
        conversation.lead_staff_id = None
    if target is None:
        CONVERSATION_LIFECYCLE.check(
            ConversationStatus(conversation.status), ConversationStatus.waiting
        )
        conversation.status = ConversationStatus.waiting.value
        conversation.volunteer_id = None
        conversation.priority = policy.requeued_priority(conversation.priority)
    else:
        conversation.volunteer_id = target.id
    from_started_at = None
    if previous_id is not None:  # their part of the chat is over
        await escalation_ending.after_volunteers_part(uow, conversation, previous_id, now=now)
        handed_to = await session.scalar(last_handed_to(conversation.id, previous_id))
        from_started_at = part_began(conversation.started_at, handed_to)
    row = ConversationTransfer(
        conversation_id=conversation.id,
        from_volunteer_id=previous_id,
        from_started_at=from_started_at,
        to_volunteer_id=target.id if target else None,
        by_id=by_id,
        by_role=by_role,
        reason=reason,
        note=note,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    audit.record(
        session,
        actor_id=by_id,
        actor_role=by_role,
        action="conversation.transferred",
        conversation_id=conversation.id,
        # Never the note: it is free text, and the audit trail outlives retention.
        detail={
            "transfer_id": row.id,
            "to": "volunteer" if target else "queue",
            "from_volunteer_id": previous_id,
            "to_volunteer_id": target.id if target else None,
            "reason": reason,
            "level": conversation.risk_level,
        },
    )
    uow.record(
        ConversationTransferred(
            view=TransferView(
                transfer_id=row.id,
                conversation_id=conversation.id,
                from_alias=previous.alias if previous else None,
                to_alias=target.alias if target else None,
                by_role=by_role,
                by_alias=by_alias,
                reason=reason,
                note=note,
                level=conversation.risk_level,
                at=now,
            ),
            conversation_id=conversation.id,
            seeker_id=seeker.id,
            seeker_alias=seeker.alias,
            from_volunteer_id=previous_id,
            to_volunteer_id=target.id if target else None,
            announce=announce,
            language=conversation.language,
            topics=tuple(conversation.topics or ()),
            started_at=conversation.started_at,
            last_seq=conversation.last_seq,
        )
    )
    uow.record(QueueChanged())
    return row


async def targets(
    session: AsyncSession, principal: Principal, *, conversation_id: str, now: datetime
) -> list[dict[str, object]]:
    """The volunteers this chat could be handed to now (``policy.refusal`` is None),
    least busy first: their id, alias and free slots."""
    if principal.role in SUPERVISORS:
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None:
            raise NotFound("no such conversation")
    else:
        conversation, access = await chat_access.get_for(session, principal, conversation_id)
        if access.role is not Role.volunteer:
            raise NotFound("no such conversation")
    if conversation.status != ConversationStatus.active:
        return []  # only an active chat is handed over (a waiting or ended one: nobody)
    active = (
        select(Conversation.volunteer_id, func.count().label("n"))
        .where(Conversation.status == ConversationStatus.active)
        .group_by(Conversation.volunteer_id)
        .subquery()
    )
    rows = await session.execute(
        select(StaffUser, func.coalesce(active.c.n, 0))
        .outerjoin(active, active.c.volunteer_id == StaffUser.id)
        .where(
            StaffUser.role == Role.volunteer.value,
            StaffUser.active.is_(True),
            StaffUser.available.is_(True),
        )
        .order_by(func.coalesce(active.c.n, 0), StaffUser.alias)
    )
    found: list[dict[str, object]] = []
    for staff, busy in rows.all():
        candidate = policy.Candidate(
            volunteer_id=staff.id,
            role=staff.role,
            active=staff.active,
            available=staff.available,
            trained=staff.trained,
            languages=tuple(staff.languages or ()),
            capacity=staff.capacity,
            active_chats=int(busy),
            cooldown_until=staff.cooldown_until,
        )
        refused = policy.refusal(
            candidate,
            language=conversation.language,
            current_volunteer_id=conversation.volunteer_id,
            now=now,
        )
        if refused is None:
            found.append(
                {
                    "volunteer_id": staff.id,
                    "alias": staff.alias,
                    "free_slots": staff.capacity - int(busy),
                }
            )
    return found


async def history(session: AsyncSession, conversation_id: str, *, level: str) -> list[TransferView]:
    """The conversation's hand-overs, oldest first (notes included: staff only); ``level``
    is the conversation's level now."""
    giver = aliased(StaffUser)
    receiver = aliased(StaffUser)
    actor = aliased(StaffUser)
    rows = await session.execute(
        select(ConversationTransfer, giver.alias, receiver.alias, actor.alias)
        .outerjoin(giver, giver.id == ConversationTransfer.from_volunteer_id)
        .outerjoin(receiver, receiver.id == ConversationTransfer.to_volunteer_id)
        .outerjoin(actor, actor.id == ConversationTransfer.by_id)
        .where(ConversationTransfer.conversation_id == conversation_id)
        .order_by(ConversationTransfer.created_at, ConversationTransfer.id)
    )
    return [
        TransferView(
            transfer_id=row.id,
            conversation_id=row.conversation_id,
            from_alias=from_alias,
            to_alias=to_alias,
            by_role=row.by_role,
            by_alias=by_alias,
            reason=row.reason,
            note=row.note,
            level=level,
            at=row.created_at,
        )
        for row, from_alias, to_alias, by_alias in rows.all()
    ]


async def requeue_vanished(
    uow: UnitOfWork,
    *,
    vanish_s: float,
    present_since: datetime,
    connected_here: Container[str],
    now: datetime,
    limit: int = 100,
) -> list[Conversation]:
    """Active chats whose volunteer has vanished (``policy.vanished``: no socket on any live
    process, not seen for ``vanish_s``) go back to the front of the queue, as the system,
    with their history; the seeker is told kindly, and each unresolved escalation's
    supervisor (or, if nobody acknowledged it yet, every supervisor) is alerted.

    Never a chat whose volunteer has a socket on this process (``connected_here``) or on a
    live one, nor one a supervisor took over. Rows are locked (``SKIP LOCKED`` on
    PostgreSQL), so a transfer or an end in flight wins or finds it moved."""
    session = uow.session
    cutoff = policy.vanish_cutoff(now, vanish_s)
    last_seen = (
        select(func.max(presence.Presence.seen_at))
        .where(presence.Presence.user_id == Conversation.volunteer_id)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(
            Conversation,
            last_seen.label("last_seen"),
            presence.connected_since(Conversation.volunteer_id, present_since).label("connected"),
        )
        .where(
            Conversation.status == ConversationStatus.active,
            Conversation.volunteer_id.is_not(None),
            Conversation.lead_staff_id.is_(None),
            Conversation.started_at < cutoff,
            ~presence.seen_since(Conversation.volunteer_id, cutoff),
        )
        .order_by(Conversation.started_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Conversation)
    )
    moved = []
    for conversation, seen_at, connected in rows.all():
        if not policy.vanished(
            last_seen_at=seen_at,
            started_at=conversation.started_at,
            connected=bool(connected) or conversation.volunteer_id in connected_here,
            taken_over=conversation.lead_staff_id is not None,
            now=now,
            vanish_s=vanish_s,
        ):
            continue
        await _move(
            uow,
            conversation,
            target=None,
            by_id=None,
            by_role=audit.SYSTEM,
            by_alias=None,
            reason=policy.VOLUNTEER_VANISHED,
            note=None,
            announce=True,
            now=now,
        )
        escalations = await session.scalars(
            select(Escalation).where(
                Escalation.conversation_id == conversation.id,
                Escalation.status.in_(escalation_views.UNRESOLVED),
            )
        )
        for escalation in escalations:
            uow.record(
                VolunteerVanished(
                    conversation_id=conversation.id,
                    escalation_id=escalation.id,
                    level=escalation.level,
                    supervisor_id=escalation.acknowledged_by,
                )
            )
        moved.append(conversation)
    return moved
