"""Paging on-call supervisors: opening or raising an escalation, and the sweep that re-pages.

Invariants:
- Every page lands in the audit trail.
- A re-page is written with a conditional update on the page count, so however many
  processes sweep, each deadline re-pages exactly once.
- A seeker a cue flagged who is still waiting ``FLAGGED_WAIT_PAGE_S`` later pages once
  (``machine.flagged_wait_pages``)."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.chat.models import Conversation
from app.db import UnitOfWork
from app.escalation import machine
from app.escalation.events import (
    EscalationPaged,
    EscalationUpdated,
    NobodyOnCall,
)
from app.escalation.machine import EscalationSource, EscalationState, EscalationStatus, Outcome
from app.escalation.models import Escalation
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
        store(row, state)
        await page(uow, row, now=now)
        pages += 1
    # ``machine.flagged_wait_pages``: the SQL narrows to the flagged seekers past the cutoff,
    # the rule decides.
    flagged = list(
        await session.scalars(
            select(Conversation).where(
                Conversation.status == "waiting",
                Conversation.flagged_at.is_not(None),
                Conversation.flagged_at <= machine.flagged_wait_cutoff(now, flagged_wait_s),
            )
        )
    )
    for conversation in flagged:
        escalated = await session.scalar(
            select(Escalation.id).where(Escalation.conversation_id == conversation.id)
        )
        if machine.flagged_wait_pages(
            status=conversation.status,
            flagged_at=conversation.flagged_at,
            ever_escalated=escalated is not None,
            now=now,
            wait_s=flagged_wait_s,
        ):
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
