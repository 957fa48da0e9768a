"""Sending, against a real database and the in-memory bus: no server, no socket."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.bus import Event
from app.chat import sending
from app.chat.events import MessageStored
from app.chat.models import Conversation, Message
from app.chat.writer import MessageWriter
from app.db import Database, utcnow
from app.errors import Forbidden
from app.outbound.channels import conversation_channel
from app.risk.cues import CueMatcher
from app.risk.events import CueFlagged, MethodCueAlerted
from tests import factories


class Heard:
    """A subscriber and a reply function writing into one list, in the order things went."""

    def __init__(self) -> None:
        self.frames: list[str] = []

    def deliver(self, channel: str, event: Event) -> None:
        self.frames.append(event.kind)

    def reply(self, frame: str) -> None:
        self.frames.append("chat.ack" if '"type":"chat.ack"' in frame else frame)


async def _active_chat(database: Database):  # type: ignore[no-untyped-def]
    async with database.unit_of_work() as uow:
        seeker = await factories.seeker(uow.session)
        volunteer = await factories.staff(uow.session)
        conversation = await factories.conversation(
            uow.session, seeker, volunteer=volunteer, status="active"
        )
    return seeker, volunteer, conversation


@pytest.mark.parametrize("text", ["see you tomorrow", "i want to kill myself"])
async def test_both_send_paths_ack_before_they_deliver(database: Database, text: str):
    seeker, _, conversation = await _active_chat(database)
    heard = Heard()
    database.bus.subscribe(conversation_channel(conversation.id), heard)
    writer = MessageWriter(database, database.bus)
    try:
        await sending.send_message(
            database,
            writer,
            factories.principal_of(seeker),
            conversation_id=conversation.id,
            client_msg_id="m1",
            text=text,
            now=utcnow(),
            reply=heard.reply,
            ref=None,
        )
    finally:
        await writer.close()
    assert heard.frames == ["chat.ack", "chat.message"]


async def test_a_volunteer_whose_chat_was_taken_over_stores_nothing(database: Database):
    _, volunteer, conversation = await _active_chat(database)
    async with database.unit_of_work() as uow:
        boss = await factories.staff(uow.session, "supervisor")
        row = await uow.session.get(Conversation, conversation.id)
        assert row is not None
        row.lead_staff_id = boss.id
    with pytest.raises(Forbidden):
        async with database.unit_of_work() as uow:
            await sending.send_carefully(
                uow,
                factories.principal_of(volunteer),
                conversation_id=conversation.id,
                client_msg_id="v1",
                text="hello",
                now=utcnow(),
            )
    async with database.sessionmaker() as session:
        stored = await session.scalar(
            select(func.count()).where(Message.conversation_id == conversation.id)
        )
    assert stored == 0


async def test_a_method_cue_records_message_flag_and_alert_in_one_unit_of_work(
    database: Database,
):
    seeker, _, conversation = await _active_chat(database)
    text = "i took 20 sleeping pills"
    cues = CueMatcher.default().match(text)
    async with database.unit_of_work() as uow:
        await sending.send_carefully(
            uow,
            factories.principal_of(seeker),
            conversation_id=conversation.id,
            client_msg_id="s1",
            text=text,
            now=utcnow(),
            cues=cues,
        )
        recorded = list(uow.events)
    assert [type(e) for e in recorded] == [MessageStored, CueFlagged, MethodCueAlerted]
    flag = recorded[1]
    assert isinstance(flag, CueFlagged)
    assert (flag.seq, flag.cue_class) == (1, "method_or_attempt")
