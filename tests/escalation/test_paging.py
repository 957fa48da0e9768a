"""Paging against a real database (no server): the sweeps decide with the clock they are
given, so nothing here sleeps."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from app.audit import AuditEvent
from app.chat.events import ConversationClosed
from app.chat.models import Conversation
from app.db import Database, utcnow
from app.escalation import paging
from app.escalation.events import (
    EscalationPaged,
    EscalationUpdated,
    FlaggedWaiting,
    NobodyOnCall,
)
from app.escalation.machine import EscalationSource
from app.escalation.models import Escalation, FlaggedGroup
from app.identity.models import StaffUser
from app.matching import service as matching_service
from app.presence import Presence
from app.risk.scoring import RiskLevel
from tests import factories

WAIT_S = 60.0
UPDATE_S = 10.0
GHOST_S = 300.0


async def _empty_queue(database: Database) -> None:
    """This module's tests count every flagged seeker waiting: start from none."""
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            update(Conversation).where(Conversation.status == "waiting").values(status="abandoned")
        )
        await uow.session.execute(delete(FlaggedGroup))


async def _sweep(database: Database, now: datetime) -> list[object]:
    async with database.unit_of_work() as uow:
        await paging.sweep(uow, now=now, scale=1.0)
        await paging.sweep_flagged(uow, now=now, wait_s=WAIT_S, update_s=UPDATE_S, scale=1.0)
        return list(uow.events)


def _groups(events: list[object]) -> list[FlaggedWaiting]:
    return [e for e in events if isinstance(e, FlaggedWaiting)]


async def _flag_many(database: Database, n: int, *, flagged_at: datetime) -> list[Conversation]:
    async with database.unit_of_work() as uow:
        rows = []
        for _ in range(n):
            seeker = await factories.seeker(uow.session)
            rows.append(
                await factories.conversation(
                    uow.session,
                    seeker,
                    status="waiting",
                    flagged_at=flagged_at,
                    priority=20,
                    now=flagged_at,
                )
            )
        return rows


async def test_a_flood_of_flagged_waiting_seekers_is_one_page_not_one_each(database: Database):
    await _empty_queue(database)
    flagged_at = utcnow()
    async with database.unit_of_work() as uow:
        boss = await factories.staff(uow.session, "supervisor", on_call=True, backup_rank=1)
    flagged = await _flag_many(database, 300, flagged_at=flagged_at)

    assert _groups(await _sweep(database, flagged_at + timedelta(seconds=WAIT_S - 1))) == []
    events = await _sweep(database, flagged_at + timedelta(seconds=WAIT_S))
    [page] = _groups(events)
    assert (page.count, page.alert, page.pages) == (300, True, 1)
    assert page.oldest_wait_s == int(WAIT_S)
    # Never one escalation (and page) per seeker (other tests' escalations may share this
    # database: only these seekers' count).
    ids = [c.id for c in flagged]
    assert not [
        e
        for e in events
        if isinstance(e, EscalationPaged | EscalationUpdated)
        and e.escalation.conversation_id in ids
    ]
    async with database.sessionmaker() as session:
        mine = select(Escalation.id).where(Escalation.conversation_id.in_(ids)).limit(1)
        assert await session.scalar(mine) is None
        paged = list(
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "flagged.paged"))
        )
    assert paged[-1].detail["count"] == 300 and boss.id in paged[-1].detail["to"]
    # The next sweeps send nothing until the count changes or the re-page is due.
    assert _groups(await _sweep(database, flagged_at + timedelta(seconds=WAIT_S + 30))) == []
    [again] = _groups(await _sweep(database, flagged_at + timedelta(seconds=WAIT_S + 120)))
    assert again.alert and again.pages == 2


async def test_an_acknowledged_group_pages_again_only_when_it_grows(database: Database):
    await _empty_queue(database)
    t0 = utcnow()
    async with database.unit_of_work() as uow:
        sup = await factories.staff(uow.session, "supervisor", on_call=True, backup_rank=1)
    await _flag_many(database, 2, flagged_at=t0)
    [page] = _groups(await _sweep(database, t0 + timedelta(seconds=WAIT_S)))
    assert page.alert

    async with database.unit_of_work() as uow:
        acked = await paging.acknowledge_flagged(
            uow,
            by=sup.id,
            by_role="supervisor",
            now=t0 + timedelta(seconds=WAIT_S + 1),
            wait_s=WAIT_S,
        )
    assert (acked.count, acked.alert, acked.acknowledged_by) == (2, False, sup.id)
    async with database.sessionmaker() as session:
        view = await paging.flagged_view(
            session, now=t0 + timedelta(seconds=WAIT_S + 2), wait_s=WAIT_S
        )
        audited = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "flagged.acknowledged")
        )
    assert view.acknowledged_by == sup.id and view.count == 2
    assert audited is not None and audited.actor_id == sup.id

    # No re-page for the same two, however long.
    assert _groups(await _sweep(database, t0 + timedelta(seconds=WAIT_S + 600))) == []
    # A third flagged seeker who has waited long enough: paged.
    await _flag_many(database, 1, flagged_at=t0 + timedelta(seconds=600))
    [grew] = _groups(await _sweep(database, t0 + timedelta(seconds=600 + WAIT_S)))
    assert (grew.count, grew.alert, grew.acknowledged_by) == (3, True, None)


async def test_a_method_cue_counts_at_once_and_nobody_on_call_is_said(database: Database):
    await _empty_queue(database)
    t0 = utcnow()
    async with database.unit_of_work() as uow:
        await uow.session.execute(update(StaffUser).values(on_call=False))
        seeker = await factories.seeker(uow.session)
        await factories.conversation(
            uow.session, seeker, status="waiting", flagged_at=t0, priority=30, now=t0
        )
    events = await _sweep(database, t0 + timedelta(seconds=1))
    [page] = _groups(events)
    assert page.count == 1 and page.alert
    assert [e for e in events if isinstance(e, NobodyOnCall)] == [NobodyOnCall()]


async def test_a_taken_chat_leaves_the_group_and_the_group_ends_at_zero(database: Database):
    await _empty_queue(database)
    t0 = utcnow()
    [conversation] = await _flag_many(database, 1, flagged_at=t0)
    assert _groups(await _sweep(database, t0 + timedelta(seconds=WAIT_S)))[0].count == 1
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            update(Conversation).where(Conversation.id == conversation.id).values(status="active")
        )
    [ended] = _groups(await _sweep(database, t0 + timedelta(seconds=WAIT_S + 1)))
    assert (ended.count, ended.alert) == (0, False)


async def _seen(database: Database, user_id: str, *, at: datetime, connected: bool) -> None:
    async with database.unit_of_work() as uow:
        uow.session.add(Presence(process="p1", user_id=user_id, connected=connected, seen_at=at))


async def _close_ghosts(database: Database, now: datetime, connected_here: set[str] | None = None):  # type: ignore[no-untyped-def]
    async with database.unit_of_work() as uow:
        closed = await matching_service.close_flagged_ghosts(
            uow,
            close_after_s=GHOST_S,
            present_since=now - timedelta(seconds=90),
            connected_here=connected_here or set(),
            now=now,
        )
        return [c.id for c in closed], list(uow.events)


async def test_a_flagged_seeker_who_left_and_never_came_back_is_closed_by_the_system(
    database: Database,
):
    await _empty_queue(database)
    t0 = utcnow()
    ghost, back, here, watched = await _flag_many(database, 4, flagged_at=t0)
    await _seen(database, ghost.seeker_id, at=t0 + timedelta(seconds=2), connected=False)
    await _seen(database, back.seeker_id, at=t0 + timedelta(seconds=200), connected=False)
    await _seen(database, here.seeker_id, at=t0 + timedelta(seconds=301), connected=True)
    await _seen(database, watched.seeker_id, at=t0 + timedelta(seconds=2), connected=False)
    async with database.unit_of_work() as uow:
        # The system's own cue escalation (opened before grouping) is resolved with it; a
        # supervisor's acknowledged one keeps the conversation for that supervisor.
        for row, status in ((ghost, "open"), (watched, "acknowledged")):
            escalation = await paging.open_or_raise(
                uow,
                row,
                level=RiskLevel.HIGH,
                source=EscalationSource.CUE,
                reason="flagged seeker waiting",
                now=t0,
                scale=1.0,
            )
            escalation.status = status

    early, _ = await _close_ghosts(database, t0 + timedelta(seconds=GHOST_S + 1))
    assert early == []  # seen 300 s ago at most: not yet
    closed, events = await _close_ghosts(database, t0 + timedelta(seconds=GHOST_S + 3))
    assert closed == [ghost.id]
    [ended] = [e for e in events if isinstance(e, ConversationClosed)]
    assert (ended.by, ended.reason, ended.status) == ("system", "seeker_disconnected", "abandoned")
    [resolved] = [e for e in events if isinstance(e, EscalationUpdated)]
    assert (resolved.escalation.status, resolved.escalation.outcome) == ("resolved", "seeker_left")
    async with database.sessionmaker() as session:
        actions = {
            (a.action, a.actor_role)
            for a in await session.scalars(
                select(AuditEvent).where(AuditEvent.conversation_id == ghost.id)
            )
        }
    assert ("queue.flagged_ghost_closed", "system") in actions
    assert ("escalation.resolved", "system") in actions
    # A socket on this process counts as here even before its presence row is written.
    later = t0 + timedelta(seconds=GHOST_S + 250)
    closed, _ = await _close_ghosts(database, later, connected_here={back.seeker_id})
    assert closed == []
    closed, _ = await _close_ghosts(database, later)
    assert closed == [back.id]


async def test_a_take_serves_a_seeker_who_is_here_before_flagged_ones_who_left(
    database: Database,
):
    await _empty_queue(database)
    t0 = utcnow()
    ghosts = await _flag_many(database, 20, flagged_at=t0)
    for g in ghosts:
        await _seen(database, g.seeker_id, at=t0, connected=False)
    async with database.unit_of_work() as uow:
        volunteer = await factories.staff(uow.session, "volunteer")
        real = await factories.seeker(uow.session)
        waiting = await factories.conversation(
            uow.session, real, status="waiting", now=t0 + timedelta(seconds=1)
        )
    await _seen(database, real.id, at=t0 + timedelta(seconds=1), connected=True)
    present_since = t0 - timedelta(seconds=90)
    async with database.sessionmaker() as session:
        # The real seeker is told the truth: nobody who is here is ahead of them.
        assert await matching_service.position_of(session, waiting) == 21
        assert (
            await matching_service.position_of(session, waiting, present_since=present_since) == 1
        )
        snapshot = await matching_service.waiting_snapshot(session, present_since=present_since)
    assert {w.conversation_id for w in snapshot if w.gone} == {g.id for g in ghosts}
    async with database.unit_of_work() as uow:
        taken = await matching_service.take(
            uow,
            volunteer_id=volunteer.id,
            now=t0 + timedelta(seconds=2),
            present_since=t0 - timedelta(seconds=90),
        )
    assert taken.id == waiting.id
