"""The transfer service on a real database (SQLite and PostgreSQL), no server: what is
stored, what retention keeps, and which chats the vanished-volunteer sweep moves."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app import audit, presence
from app.chat.models import Conversation
from app.chat.retention import delete_text_batch
from app.db import Database, utcnow
from app.transfer import service as transfer_service
from app.transfer.events import ConversationTransferred
from app.transfer.models import ConversationTransfer
from tests import factories

NOTE = "Low mood after results; likes to be asked one thing at a time."


async def test_a_transfer_stores_the_note_for_staff_and_retention_deletes_it(database: Database):
    now = utcnow()
    async with database.unit_of_work() as uow:
        seeker = await factories.seeker(uow.session)
        first = await factories.staff(uow.session)
        second = await factories.staff(uow.session, available=True, capacity=2)
        conv = await factories.conversation(
            uow.session, seeker, volunteer=first, status="active", now=now - timedelta(days=40)
        )
        cid, first_id, second_id = conv.id, first.id, second.id
    async with database.unit_of_work() as uow:
        await transfer_service.transfer(
            uow,
            factories.principal_of(first),
            conversation_id=cid,
            to_volunteer_id=second_id,
            note=NOTE,
            announce=True,
            now=now - timedelta(days=40),
        )
        [event] = [e for e in uow.events if isinstance(e, ConversationTransferred)]
        assert event.view.note == NOTE and event.to_volunteer_id == second_id
    async with database.reader() as session:
        conv = await session.get(Conversation, cid)
        assert conv is not None and conv.volunteer_id == second_id
        entry = await session.scalar(
            select(audit.AuditEvent).where(
                audit.AuditEvent.conversation_id == cid,
                audit.AuditEvent.action == "conversation.transferred",
            )
        )
        assert entry is not None and entry.actor_id == first_id
        assert NOTE not in str(entry.detail)

    # The chat ends; RETENTION_DAYS later the note goes with the rest of the text.
    async with database.unit_of_work() as uow:
        conv = await uow.session.get(Conversation, cid)
        assert conv is not None
        conv.status, conv.ended_at, conv.ended_by = "ended", now - timedelta(days=31), "volunteer"
    while True:
        async with database.unit_of_work() as uow:
            done = await delete_text_batch(
                uow, ended_before=now - timedelta(days=30), now=now, batch=500
            )
        if done == 0:
            break
    async with database.reader() as session:
        row = await session.scalar(
            select(ConversationTransfer).where(ConversationTransfer.conversation_id == cid)
        )
        assert row is not None and row.note is None
        assert row.to_volunteer_id == second_id  # who had it stays, for reviews


async def test_the_sweep_moves_only_chats_whose_volunteer_is_gone_long_enough(database: Database):
    now = utcnow()
    long_ago = now - timedelta(minutes=10)
    async with database.unit_of_work() as uow:
        session = uow.session
        gone = await factories.staff(session)
        back_soon = await factories.staff(session)
        here = await factories.staff(session)
        chats = {}
        for volunteer in (gone, back_soon, here):
            seeker = await factories.seeker(session)
            conv = await factories.conversation(
                session, seeker, volunteer=volunteer, status="active", now=long_ago, priority=10
            )
            chats[volunteer.id] = conv.id
        await presence.record(
            session, process="p-dead", arrived=[gone.id], left=[], now=now - timedelta(minutes=4)
        )
        await presence.record(
            session,
            process="p-old",
            arrived=[],
            left=[back_soon.id],
            now=now - timedelta(seconds=60),
        )
        await presence.record(session, process="p-live", arrived=[here.id], left=[], now=now)
        gone_id = gone.id
    async with database.unit_of_work() as uow:
        moved = await transfer_service.requeue_vanished(
            uow,
            vanish_s=180,
            present_since=now - timedelta(seconds=90),
            connected_here=set(),
            now=now,
        )
        assert [c.id for c in moved] == [chats[gone_id]]
    async with database.reader() as session:
        conv = await session.get(Conversation, chats[gone_id])
        assert conv is not None
        assert (conv.status, conv.volunteer_id, conv.priority) == ("waiting", None, 40)
        assert conv.queued_at == long_ago  # keeps its place in time, with its history
        others = [await session.get(Conversation, chats[v]) for v in chats if v != gone_id]
        assert all(c is not None and c.status == "active" for c in others)


async def test_a_vanished_volunteers_open_escalation_alerts_its_supervisor_or_everyone(
    database: Database,
):
    from app.escalation.models import Escalation
    from app.transfer.events import VolunteerVanished

    now = utcnow()
    long_ago = now - timedelta(minutes=10)
    async with database.unit_of_work() as uow:
        session = uow.session
        volunteer = await factories.staff(session)
        boss = await factories.staff(session, role="supervisor")
        seeker = await factories.seeker(session)
        conv = await factories.conversation(
            session, seeker, volunteer=volunteer, status="active", now=long_ago
        )
        for acknowledged_by in (boss.id, None):
            session.add(
                Escalation(
                    conversation_id=conv.id, level="high", source="volunteer", status=(
                        "acknowledged" if acknowledged_by else "open"
                    ), tier="primary", policy_id="v1", policy_version=1,
                    acknowledged_by=acknowledged_by,
                )
            )  # fmt: skip
        cid, boss_id = conv.id, boss.id
    async with database.unit_of_work() as uow:
        await transfer_service.requeue_vanished(
            uow, vanish_s=180, present_since=now, connected_here=set(), now=now
        )
        alerts = [e for e in uow.events if isinstance(e, VolunteerVanished)]
    assert sorted((a.conversation_id, a.supervisor_id or "") for a in alerts) == sorted(
        [(cid, boss_id), (cid, "")]
    )
