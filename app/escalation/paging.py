"""Paging on-call supervisors: opening or raising an escalation, and the sweep that re-pages.

Invariants:
- Every page lands in the audit trail.
- A re-page is written with a conditional update on the page count, so however many
  processes sweep, each deadline re-pages exactly once.
- Flagged seekers still waiting are paged about as one group (``sweep_flagged``, the rule in
  ``app.escalation.flagged``), never one escalation each: a flood of scripted seekers must
  not bury the on-call supervisors. Once a volunteer takes such a chat, its own escalation
  path applies as to any other."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.chat.models import Conversation
from app.db import UnitOfWork
from app.emergency_share import service as emergency_share_service
from app.escalation import flagged, machine
from app.escalation.events import (
    EscalationPaged,
    EscalationUpdated,
    FlaggedWaiting,
    NobodyOnCall,
)
from app.escalation.machine import EscalationSource, EscalationState, EscalationStatus, Outcome
from app.escalation.models import Escalation, FlaggedGroup
from app.escalation.views import UNRESOLVED, escalation_view
from app.identity.models import Role, StaffUser
from app.risk.scoring import RiskLevel


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


def store(row: Escalation, state: EscalationState) -> None:
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


async def page(uow: UnitOfWork, row: Escalation, *, now: datetime) -> None:
    session = uow.session
    targets = await on_call_targets(session, machine.PageTier(row.tier))
    uow.record(EscalationPaged(escalation_view(row, now), tuple(targets)))
    audit.record(
        session,
        actor_id=None,
        actor_role="system",
        action="escalation.paged",
        conversation_id=row.conversation_id,
        detail={"escalation_id": row.id, "tier": row.tier, "page": row.pages, "to": targets},
    )
    if not await count_on_call(session):
        uow.record(NobodyOnCall(escalation_id=row.id, level=row.level))
    await record_update(uow, row, now=now)


async def record_update(uow: UnitOfWork, row: Escalation, *, now: datetime) -> None:
    volunteer_id = await uow.session.scalar(
        select(Conversation.volunteer_id).where(Conversation.id == row.conversation_id)
    )
    uow.record(EscalationUpdated(escalation_view(row, now), volunteer_id))


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
        store(row, decision.state)
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
        await page(uow, row, now=now)
        return row
    decision = machine.open_escalation(level, now, source=source, policy=policy)
    row = Escalation(conversation_id=conversation.id, reason=reason)
    store(row, decision.state)
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
    await page(uow, row, now=now)
    return row


# -- the sweep (a leader-run job, app/escalation/sweeper.py) ----------------------------


async def sweep(uow: UnitOfWork, *, now: datetime, scale: float) -> int:
    """Re-page every escalation whose deadline passed. Returns the number of pages sent."""
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
        store(row, state)
        await page(uow, row, now=now)
        pages += 1
    return pages


async def resolve_by_system(
    uow: UnitOfWork, conversation_id: str, *, outcome: Outcome, now: datetime
) -> int:
    """Resolve every unresolved escalation of the conversation as the system (audited, and
    staff told). Returns how many."""
    session = uow.session
    rows = list(
        await session.scalars(
            select(Escalation)
            .where(
                Escalation.conversation_id == conversation_id,
                Escalation.status.in_(UNRESOLVED),
            )
            .with_for_update()
        )
    )
    for row in rows:
        store(row, machine.resolve(state_of(row), now, audit.SYSTEM, outcome))
        audit.record(
            session,
            actor_id=None,
            actor_role=audit.SYSTEM,
            action="escalation.resolved",
            conversation_id=conversation_id,
            detail={"escalation_id": row.id, "outcome": row.outcome, "by": audit.SYSTEM},
        )
        await emergency_share_service.erase_for_escalation(uow, escalation_id=row.id, now=now)
        await record_update(uow, row, now=now)
    return len(rows)


# -- flagged seekers waiting: one grouped page (app/escalation/flagged.py) ---------------

GROUP = "waiting"


def repage_s(scale: float) -> float:
    """An unacknowledged group is paged again as often as a high escalation's first page
    waits for its acknowledgement (the paging policy's data, scaled like it)."""
    return float(policy_for(scale).levels[RiskLevel.HIGH].schedule[0].ack_within_s)


async def flagged_waiting(
    session: AsyncSession, *, now: datetime, wait_s: float
) -> tuple[int, int]:
    """(how many flagged seekers wait in the group now, the longest of their waits in s):
    ``flagged.counts_in_group`` in SQL."""
    cutoff = flagged.group_cutoff(now, wait_s)
    row = (
        await session.execute(
            select(func.count(), func.min(Conversation.queued_at)).where(
                Conversation.status == "waiting",
                Conversation.flagged_at.is_not(None),
                (Conversation.flagged_at <= cutoff)
                | (Conversation.priority >= flagged.IMMEDIATE_PRIORITY),
            )
        )
    ).one()
    count, oldest = int(row[0] or 0), row[1]
    return count, (max(0, int((now - oldest).total_seconds())) if oldest is not None else 0)


async def _group_row(session: AsyncSession) -> FlaggedGroup:
    row = await session.scalar(
        select(FlaggedGroup).where(FlaggedGroup.name == GROUP).with_for_update()
    )
    if row is None:
        row = FlaggedGroup(name=GROUP, count=0, known=0, pages=0)
        session.add(row)
        await session.flush()
    return row


def _group_state(row: FlaggedGroup) -> flagged.GroupState:
    return flagged.GroupState(
        count=row.count,
        known=row.known,
        pages=row.pages,
        sent_at=row.sent_at,
        paged_at=row.paged_at,
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
    )


def _store_group(row: FlaggedGroup, state: flagged.GroupState) -> None:
    row.count = state.count
    row.known = state.known
    row.pages = state.pages
    row.sent_at = state.sent_at
    row.paged_at = state.paged_at
    row.acknowledged_at = state.acknowledged_at
    row.acknowledged_by = state.acknowledged_by


def _group_event(
    state: flagged.GroupState, *, oldest_wait_s: int, alert: bool, now: datetime
) -> FlaggedWaiting:
    return FlaggedWaiting(
        count=state.count,
        oldest_wait_s=oldest_wait_s if state.count else 0,
        alert=alert,
        pages=state.pages,
        acknowledged_by=state.acknowledged_by,
        acknowledged_at=state.acknowledged_at,
        sent_at=state.sent_at or now,
    )


async def sweep_flagged(
    uow: UnitOfWork, *, now: datetime, wait_s: float, update_s: float, scale: float
) -> int:
    """Page (or quietly update) the on-call supervisors about the flagged seekers waiting,
    as ``flagged.on_tick`` decides. Returns the number of pages sent (0 or 1)."""
    session = uow.session
    row = await _group_row(session)
    count, oldest_wait_s = await flagged_waiting(session, now=now, wait_s=wait_s)
    decision = flagged.on_tick(
        _group_state(row), count=count, now=now, update_s=update_s, repage_s=repage_s(scale)
    )
    if decision is None:
        return 0
    _store_group(row, decision.state)
    if not decision.send:
        return 0
    event = _group_event(decision.state, oldest_wait_s=oldest_wait_s, alert=decision.alert, now=now)
    uow.record(event)
    if not decision.alert:
        return 0
    targets = await on_call_targets(session, machine.PageTier.ALL)
    audit.record(
        session,
        actor_id=None,
        actor_role=audit.SYSTEM,
        action="flagged.paged",
        detail={"count": count, "page": decision.state.pages, "to": targets},
    )
    if not await count_on_call(session):
        uow.record(NobodyOnCall())
    return 1


async def acknowledge_flagged(
    uow: UnitOfWork, *, by: str, by_role: str, now: datetime, wait_s: float
) -> FlaggedWaiting:
    """A supervisor or admin saw the group: no re-page until more are waiting (audited)."""
    session = uow.session
    row = await _group_row(session)
    count, oldest_wait_s = await flagged_waiting(session, now=now, wait_s=wait_s)
    state = flagged.acknowledge(_group_state(row), count=count, now=now, by=by)
    _store_group(row, state)
    audit.record(
        session,
        actor_id=by,
        actor_role=by_role,
        action="flagged.acknowledged",
        detail={"count": count},
    )
    event = _group_event(state, oldest_wait_s=oldest_wait_s, alert=False, now=now)
    uow.record(event)
    return event


async def flagged_view(session: AsyncSession, *, now: datetime, wait_s: float) -> FlaggedWaiting:
    """The group as it is now (the count read live; pages and acknowledgement as stored)."""
    row = await session.get(FlaggedGroup, GROUP)
    state = _group_state(row) if row is not None else flagged.GroupState()
    count, oldest_wait_s = await flagged_waiting(session, now=now, wait_s=wait_s)
    return FlaggedWaiting(
        count=count,
        oldest_wait_s=oldest_wait_s,
        alert=False,
        pages=state.pages,
        acknowledged_by=state.acknowledged_by,
        acknowledged_at=state.acknowledged_at,
        sent_at=state.sent_at or now,
    )
