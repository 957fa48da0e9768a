"""The queue: joining, leaving, taking, availability and auto-assignment.

Invariants (held across processes by row locks on PostgreSQL, and by SQLite's single
writer):
- A seeker is never assigned to two volunteers: a take moves the conversation from
  ``waiting`` with a conditional update and checks that exactly one row changed.
- A volunteer never exceeds their capacity: the volunteer's row is locked while their active
  chats are counted and the new one is assigned.
- A seeker who left (``abandoned``) is never assigned: the same conditional update.
- A seeker is taken out of the queue by housekeeping only when no process has seen them for
  ``QUEUE_ABANDON_AFTER_S`` (``abandon_unseen``), or, flagged by a cue, for
  ``FLAGGED_GHOST_CLOSE_S`` (``close_flagged_ghosts``, the rule in ``escalation.flagged``).
- A take of a chat whose method-cue alert stands (a method or an attempt flagged, no
  screen yet) alerts the on-call supervisors and admins once, after the commit
  (``risk.service.alert_standing_method_cue``): every chat goes from waiting to active here.
- A take serves seekers who are here before seekers who have gone (no socket on any live
  process): a flood of seekers who wrote once and left must not stand between a volunteer
  and a real seeker (``policy.queue_order_key``).
"""

from __future__ import annotations

from collections.abc import Collection, Container
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, exists, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit, presence
from app.chat import access as chat_access
from app.chat import lifecycle as chat_lifecycle
from app.chat.models import Conversation
from app.chat.policy import OPEN_STATUSES, ConversationStatus
from app.config import Settings
from app.db import UnitOfWork
from app.errors import Conflict, Forbidden, NotFound, QueueFull
from app.escalation import flagged
from app.escalation import paging as escalation_paging
from app.escalation import views as escalation_views
from app.escalation.machine import EscalationSource, EscalationStatus, Outcome
from app.escalation.models import Escalation
from app.identity.models import Role, Seeker, StaffUser
from app.identity.service import Principal
from app.matching import policy
from app.matching.events import ConversationStarted, QueueChanged
from app.return_code import service as return_code_service
from app.risk import service as risk_service
from app.safety_plan import service as safety_plan_service

# The policy orders by priority, then time queued, and only then by shared topics; the
# database returns the head of that order, so a short window holds the policy's choice
# (topics can only break an exact tie of priority and queue time).
CANDIDATE_WINDOW = 16


async def join(
    uow: UnitOfWork,
    principal: Principal,
    *,
    topics: list[str],
    max_waiting: int | None = None,
    now: datetime,
) -> Conversation:
    """Queue the seeker. ``QueueFull`` when ``max_waiting`` seekers already wait (a flood
    must not push real seekers hundreds of places back; they get the helplines instead)."""
    session = uow.session
    seeker = await session.get(Seeker, principal.user_id)
    if seeker is None:
        raise NotFound("no such seeker")
    existing = await session.scalar(
        select(Conversation.id).where(
            Conversation.seeker_id == seeker.id,
            Conversation.status.in_(OPEN_STATUSES),
        )
    )
    if existing is not None:
        raise Conflict("you already have an open conversation", code="already_queued")
    if max_waiting is not None and await waiting_count(session) >= max_waiting:
        raise QueueFull(QUEUE_FULL_MESSAGE)
    conversation = Conversation(
        seeker_id=seeker.id,
        status=ConversationStatus.waiting.value,
        language=seeker.language,
        topics=sorted(set(topics) | set(seeker.topics or ())),
        priority=0,
        queued_at=now,
    )
    session.add(conversation)
    await session.flush()
    uow.record(QueueChanged())
    return conversation


QUEUE_FULL_MESSAGE = (
    "So many people are reaching out right now that the queue is full. Please try again in "
    "a little while. If you need to talk to someone now: Tele-MANAS 14416 (free, any time), "
    "or 112 in an emergency."
)


async def waiting_count(session: AsyncSession) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Conversation)
            .where(Conversation.status == ConversationStatus.waiting)
        )
        or 0
    )


async def leave(
    uow: UnitOfWork, principal: Principal, *, conversation_id: str, now: datetime
) -> Conversation:
    conversation, _ = await chat_access.get_for(uow.session, principal, conversation_id, lock=True)
    if conversation.status != ConversationStatus.waiting:
        raise Conflict("you are not waiting in the queue", code="invalid_transition")
    await chat_lifecycle.close(
        uow,
        conversation,
        target=ConversationStatus.abandoned,
        by=Role.seeker.value,
        reason="left_queue",
        now=now,
    )
    return conversation


async def active_chat_count(session: AsyncSession, volunteer_id: str) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Conversation)
            .where(
                Conversation.volunteer_id == volunteer_id,
                Conversation.status == ConversationStatus.active,
            )
        )
        or 0
    )


async def _lock_volunteer(session: AsyncSession, volunteer_id: str) -> StaffUser:
    volunteer = await session.scalar(
        select(StaffUser).where(StaffUser.id == volunteer_id).with_for_update()
    )
    if volunteer is None or not volunteer.active:
        raise NotFound("no such volunteer")
    return volunteer


def present_since(settings: Settings, now: datetime) -> datetime:
    """A seeker with a socket on a process that refreshed since then is here."""
    return now - timedelta(seconds=presence.stale_after_s(settings))


def gone(seeker_id: ColumnElement[str], present_since: datetime) -> ColumnElement[bool]:
    """True where the seeker was here (a presence row) and has no socket on a process that
    refreshed since ``present_since``. A seeker whose arrival is not written yet is not gone."""
    return presence.seen_since(seeker_id, datetime.min.replace(tzinfo=UTC)) & ~(
        presence.connected_since(seeker_id, present_since)
    )


async def take(
    uow: UnitOfWork, *, volunteer_id: str, now: datetime, present_since: datetime | None = None
) -> Conversation:
    """Assign the best waiting seeker to this volunteer, atomically, or raise why not.
    With ``present_since``, seekers gone since then are served after those still here."""
    session = uow.session
    volunteer = await _lock_volunteer(session, volunteer_id)
    if volunteer.role != Role.volunteer:
        raise Forbidden("only volunteers take chats")
    profile = policy.VolunteerProfile(
        volunteer_id=volunteer.id,
        languages=tuple(volunteer.languages or ()),
        topics=tuple(volunteer.topics or ()),
        trained=volunteer.trained,
        capacity=volunteer.capacity,
        active_chats=await active_chat_count(session, volunteer.id),
    )
    reason = policy.refusal(profile)
    if reason == "not_trained":
        raise Conflict("untrained volunteers cannot take chats yet", code="not_trained")
    if reason == "at_capacity":
        raise Conflict("you are at your chat capacity", code="at_capacity")
    c = Conversation
    absent = (
        gone(c.seeker_id, present_since) if present_since is not None else literal(False)
    ).label("gone")
    rows = await session.execute(
        select(c.id, c.seeker_id, c.language, c.priority, c.queued_at, c.topics, absent)
        .where(
            Conversation.status == ConversationStatus.waiting,
            Conversation.language.in_(profile.languages),
        )
        .order_by(absent, Conversation.priority.desc(), Conversation.queued_at)
        .limit(CANDIDATE_WINDOW)
        .with_for_update(skip_locked=True)
    )
    waiting = [
        policy.WaitingSeeker(
            conversation_id=row.id,
            seeker_id=row.seeker_id,
            language=row.language,
            priority=row.priority,
            queued_at=row.queued_at,
            topics=tuple(row.topics or ()),
            gone=bool(row.gone),
        )
        for row in rows
    ]
    choice = policy.choose_seeker(profile, waiting)
    if choice is None:
        raise Conflict("nobody you can help is waiting", code="queue_empty")
    result = await session.execute(
        update(Conversation)
        .where(
            Conversation.id == choice.conversation_id,
            Conversation.status == ConversationStatus.waiting,
        )
        .values(status=ConversationStatus.active.value, volunteer_id=volunteer.id, started_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("that seeker was just taken; try again", code="queue_empty")
    conversation = await session.get(Conversation, choice.conversation_id, populate_existing=True)
    assert conversation is not None
    seeker = await session.get(Seeker, conversation.seeker_id)
    assert seeker is not None
    returning, plan = await return_code_service.on_started(session, conversation, now=now)
    uow.record(
        ConversationStarted(
            conversation_id=conversation.id,
            seeker_id=seeker.id,
            seeker_alias=seeker.alias,
            volunteer_id=volunteer.id,
            volunteer_alias=volunteer.alias,
            language=conversation.language,
            topics=tuple(conversation.topics or ()),
            started_at=conversation.started_at,
            last_seq=conversation.last_seq,
            queued_at=conversation.queued_at,
            returning=returning,
        )
    )
    if plan is not None:
        await safety_plan_service.announce(uow, conversation, plan)
    # A method or an attempt flagged while the seeker waited (or before a hand-back) and
    # still unscreened: the supervisors hear of this chat now (it leaves flagged.waiting).
    await risk_service.alert_standing_method_cue(uow, conversation_id=conversation.id)
    return conversation


async def set_availability(
    uow: UnitOfWork,
    principal: Principal,
    *,
    available: bool,
    capacity: int | None,
    auto_assign: bool | None,
) -> tuple[StaffUser, int]:
    volunteer = await _lock_volunteer(uow.session, principal.user_id)
    volunteer.available = available
    if capacity is not None:
        if capacity > volunteer.max_concurrent_chats:
            raise Conflict(
                f"capacity may be at most {volunteer.max_concurrent_chats}",
                code="invalid_frame",
            )
        volunteer.capacity = capacity
    if auto_assign is not None:
        volunteer.auto_assign = auto_assign
    uow.record(QueueChanged())
    return volunteer, await active_chat_count(uow.session, volunteer.id)


def _active_chats_per_volunteer():  # type: ignore[no-untyped-def]
    """(volunteer_id, n): how many active chats each busy volunteer has."""
    return (
        select(Conversation.volunteer_id, func.count().label("n"))
        .where(Conversation.status == ConversationStatus.active)
        .group_by(Conversation.volunteer_id)
        .subquery()
    )


async def auto_assign_candidates(session: AsyncSession, *, now: datetime) -> list[str]:
    """Volunteers who asked to be given chats, may have room for one, and are not in a
    post-high-risk cool-down: ``policy.auto_assignable`` in SQL, least busy first."""
    active = _active_chats_per_volunteer()
    rows = await session.execute(
        select(StaffUser.id)
        .outerjoin(active, active.c.volunteer_id == StaffUser.id)
        .where(
            StaffUser.role == Role.volunteer.value,
            StaffUser.active.is_(True),
            StaffUser.available.is_(True),
            StaffUser.auto_assign.is_(True),
            StaffUser.trained.is_(True),
            StaffUser.cooldown_until.is_(None) | (StaffUser.cooldown_until < now),
            func.coalesce(active.c.n, 0) < StaffUser.capacity,
        )
        .order_by(func.coalesce(active.c.n, 0), StaffUser.id)
    )
    return [row[0] for row in rows]


async def waiting_snapshot(
    session: AsyncSession, *, present_since: datetime | None = None
) -> list[policy.WaitingSeeker]:
    """Every waiting seeker; with ``present_since``, each marked ``gone`` or not."""
    absent = (
        gone(Conversation.seeker_id, present_since) if present_since is not None else literal(False)
    )
    rows = await session.execute(
        select(
            Conversation.id,
            Conversation.seeker_id,
            Conversation.language,
            Conversation.priority,
            Conversation.queued_at,
            absent,
        ).where(Conversation.status == ConversationStatus.waiting)
    )
    return [
        policy.WaitingSeeker(
            conversation_id=r[0],
            seeker_id=r[1],
            language=r[2],
            priority=r[3],
            queued_at=r[4],
            gone=bool(r[5]),
        )
        for r in rows
    ]


async def supply_by_language(session: AsyncSession) -> dict[str, policy.LanguageSupply]:
    """Online (available, trained, active) volunteers per language, with their slots."""
    active = _active_chats_per_volunteer()
    rows = await session.execute(
        select(StaffUser.languages, StaffUser.capacity, func.coalesce(active.c.n, 0))
        .outerjoin(active, active.c.volunteer_id == StaffUser.id)
        .where(
            StaffUser.role == Role.volunteer.value,
            StaffUser.active.is_(True),
            StaffUser.available.is_(True),
            StaffUser.trained.is_(True),
        )
    )
    supply: dict[str, policy.LanguageSupply] = {}
    for languages, capacity, busy in rows:
        for language in languages or ():
            s = supply.get(language, policy.LanguageSupply())
            supply[language] = policy.LanguageSupply(
                online=s.online + 1,
                free_slots=s.free_slots + max(0, capacity - busy),
                total_slots=s.total_slots + capacity,
            )
    return supply


async def volunteers_online(session: AsyncSession) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(StaffUser)
            .where(
                StaffUser.role == Role.volunteer.value,
                StaffUser.active.is_(True),
                StaffUser.available.is_(True),
            )
        )
        or 0
    )


async def release_absent_volunteers(
    uow: UnitOfWork, *, present_since: datetime, volunteer_ids: Collection[str] | None = None
) -> int:
    """Available volunteers (of ``volunteer_ids``, or all) without a socket on any live
    process become unavailable: nobody can take a chat for them. Returns how many."""
    stmt = update(StaffUser).where(
        StaffUser.role == Role.volunteer.value,
        StaffUser.available.is_(True),
        ~presence.connected_since(StaffUser.id, present_since),
    )
    if volunteer_ids is not None:
        stmt = stmt.where(StaffUser.id.in_(list(volunteer_ids)))
    result = await uow.session.execute(
        stmt.values(available=False).execution_options(synchronize_session=False)
    )
    released = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if released:
        uow.record(QueueChanged())
    return released


ABANDON_REASON = "seeker_disconnected"


async def abandon_unseen(
    uow: UnitOfWork,
    *,
    seen_since: datetime,
    connected_here: Container[str],
    now: datetime,
    limit: int = 100,
) -> list[Conversation]:
    """Take waiting seekers who have not been seen on any process since ``seen_since`` out of
    the queue: ``abandoned`` by ``system``, which tells the queue and the seeker's sockets.

    Never a seeker with a socket on this process (``connected_here``) or seen since on any
    other. A conversation with an unresolved escalation stays: it is the supervisor's to
    close. Rows are locked (``SKIP LOCKED`` on PostgreSQL), so a concurrent ``take`` either
    gets the seeker first or finds them gone.
    """
    session = uow.session
    rows = await session.scalars(
        select(Conversation)
        .where(
            Conversation.status == ConversationStatus.waiting,
            Conversation.queued_at < seen_since,
            ~presence.seen_since(Conversation.seeker_id, seen_since),
            ~escalation_views.unresolved_in(Conversation.id),
        )
        .order_by(Conversation.queued_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    abandoned = []
    for conversation in rows:
        if conversation.seeker_id in connected_here:
            continue
        await _abandon_by_system(uow, conversation, ABANDON_REASON, "queue.abandoned", now)
        abandoned.append(conversation)
    return abandoned


FLAGGED_GHOST_REASON = "seeker_disconnected"


async def close_flagged_ghosts(
    uow: UnitOfWork,
    *,
    close_after_s: float,
    present_since: datetime,
    connected_here: Container[str],
    now: datetime,
    limit: int = 500,
) -> list[Conversation]:
    """Close the waiting conversations of flagged seekers who have gone and not come back
    (``flagged.ghost_closes``): ``abandoned`` by ``system`` (audited,
    ``queue.flagged_ghost_closed``), and any escalation the system opened for them resolved
    ``seeker_left`` (audited). They leave the group count at the next sweep.

    Never a seeker with a socket on this process (``connected_here``) or on a live one
    (``present_since``), nor a conversation whose escalation a person raised or acknowledged.
    Rows are locked (``SKIP LOCKED`` on PostgreSQL), so a concurrent take wins or finds
    them gone."""
    session = uow.session
    cutoff = flagged.ghost_cutoff(now, close_after_s)
    human = exists().where(
        Escalation.conversation_id == Conversation.id,
        Escalation.status.in_(escalation_views.UNRESOLVED),
        (Escalation.source != EscalationSource.CUE.value)
        | (Escalation.status == EscalationStatus.ACKNOWLEDGED.value),
    )
    last_seen = (
        select(func.max(presence.Presence.seen_at))
        .where(presence.Presence.user_id == Conversation.seeker_id)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(
            Conversation,
            last_seen.label("last_seen"),
            presence.connected_since(Conversation.seeker_id, present_since).label("connected"),
            human.label("human"),
        )
        .where(
            Conversation.status == ConversationStatus.waiting,
            Conversation.flagged_at.is_not(None),
            Conversation.queued_at < cutoff,
            ~presence.seen_since(Conversation.seeker_id, cutoff),
        )
        .order_by(Conversation.queued_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Conversation)
    )
    closed = []
    for conversation, seen_at, connected, human_escalation in rows.all():
        if not flagged.ghost_closes(
            status=conversation.status,
            flagged_at=conversation.flagged_at,
            queued_at=conversation.queued_at,
            last_seen_at=seen_at,
            connected=bool(connected) or conversation.seeker_id in connected_here,
            human_escalation=bool(human_escalation),
            now=now,
            close_after_s=close_after_s,
        ):
            continue
        await _abandon_by_system(
            uow, conversation, FLAGGED_GHOST_REASON, "queue.flagged_ghost_closed", now
        )
        await escalation_paging.resolve_by_system(
            uow, conversation.id, outcome=Outcome.SEEKER_LEFT, now=now
        )
        closed.append(conversation)
    return closed


async def position_of(
    session: AsyncSession, conversation: Conversation, *, present_since: datetime | None = None
) -> int:
    """1 + the waiting seekers of the same language served before this one (policy order;
    with ``present_since``, for a seeker who is here, seekers who have gone are not ahead)."""
    served_first = (Conversation.priority > conversation.priority) | (
        (Conversation.priority == conversation.priority)
        & (Conversation.queued_at < conversation.queued_at)
    )
    if present_since is not None:
        # The asking seeker is here (they just joined); only seekers also here come first.
        served_first = served_first & ~gone(Conversation.seeker_id, present_since)
    ahead = await session.scalar(
        select(func.count())
        .select_from(Conversation)
        .where(
            Conversation.status == ConversationStatus.waiting,
            Conversation.language == conversation.language,
            Conversation.id != conversation.id,
            served_first,
        )
    )
    return int(ahead or 0) + 1


async def still_waiting(session: AsyncSession, conversation_id: str) -> bool:
    status = await session.scalar(
        select(Conversation.status).where(Conversation.id == conversation_id)
    )
    return status == ConversationStatus.waiting


async def _abandon_by_system(
    uow: UnitOfWork, conversation: Conversation, reason: str, action: str, now: datetime
) -> None:
    """Take a waiting conversation out of the queue as the system, audited with its wait."""
    await chat_lifecycle.close(
        uow,
        conversation,
        target=ConversationStatus.abandoned,
        by=audit.SYSTEM,
        reason=reason,
        now=now,
    )
    audit.record(
        uow.session,
        actor_id=None,
        actor_role=audit.SYSTEM,
        action=action,
        conversation_id=conversation.id,
        detail={"reason": reason, "waited_s": int((now - conversation.queued_at).total_seconds())},
    )
