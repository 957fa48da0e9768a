"""Paging against a real database (no server): the sweep decides with the
clock it is given, so nothing here sleeps."""

from __future__ import annotations

from datetime import timedelta

from app.db import Database, utcnow
from app.escalation import paging
from app.escalation.events import EscalationPaged, EscalationUpdated
from tests import factories

WAIT_S = 60.0


async def _sweep(database: Database, now):  # type: ignore[no-untyped-def]
    async with database.unit_of_work() as uow:
        await paging.sweep(uow, now=now, scale=1.0, flagged_wait_s=WAIT_S)
        return list(uow.events)


async def test_a_flagged_seeker_still_waiting_pages_once_after_the_wait(database: Database):
    flagged_at = utcnow()
    async with database.unit_of_work() as uow:
        boss = await factories.staff(uow.session, "supervisor", on_call=True, backup_rank=1)
        seeker = await factories.seeker(uow.session)
        conversation = await factories.conversation(
            uow.session, seeker, status="waiting", flagged_at=flagged_at, priority=20
        )

    def paged(events):  # type: ignore[no-untyped-def]
        return [
            e
            for e in events
            if isinstance(e, EscalationPaged) and e.escalation.conversation_id == conversation.id
        ]

    assert paged(await _sweep(database, flagged_at + timedelta(seconds=WAIT_S - 1))) == []
    events = await _sweep(database, flagged_at + timedelta(seconds=WAIT_S))
    [page] = paged(events)
    assert (page.escalation.source, page.escalation.level) == ("cue", "high")
    assert boss.id in page.targets
    # Nobody has taken the chat: the update goes to supervisors only (no volunteer yet).
    [update] = [e for e in events if isinstance(e, EscalationUpdated)]
    assert update.volunteer_id is None
    # The next sweep re-pages by the escalation's own schedule, never a second cue page.
    later = await _sweep(database, flagged_at + timedelta(seconds=WAIT_S + 1))
    assert paged(later) == []
