"""The group-commit writer: batches on SQLite and PostgreSQL, several processes at once."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from app.bus import create_bus
from app.chat.writer import SLOW, MessageWriter, Pending
from app.db import Database, create_engine, utcnow
from tests.conftest import Backend
from tests.support import Server, WsClient, paired


async def test_batches_crossing_the_same_conversations_do_not_deadlock(
    server: Server, backend: Backend, staff: Any
) -> None:
    if backend.name != "postgres":
        pytest.skip("row locks across processes: PostgreSQL")
    seekers = []
    for _ in range(2):
        s, v, conversation_id, seeker = await paired(server, staff)
        seekers.append((conversation_id, seeker))
        await s.close()
        await v.close()

    def send(i: int) -> Pending:
        conversation_id, seeker = seekers[i]
        return Pending(
            conversation_id,
            seeker["seeker_id"],
            "seeker",
            seeker["alias"],
            uuid.uuid4().hex,
            "hello",
            utcnow(),
        )

    engine = create_engine(backend.database_url)
    db = Database(engine, create_bus(None))
    # Two writers stand for two processes: one batch takes A then B, the other B then A.
    first, second = MessageWriter(db, db.bus), MessageWriter(db, db.bus)
    try:
        for _ in range(3):
            results = await asyncio.gather(
                first._store_postgres([send(0), send(1)]),
                second._store_postgres([send(1), send(0)]),
                return_exceptions=True,
            )
            assert not [r for r in results if isinstance(r, BaseException)], results
            # Every send stored, each conversation's seqs distinct.
            a = sorted([results[0][0], results[1][1]])
            b = sorted([results[0][1], results[1][0]])
            assert a[0] > 0 and a[1] == a[0] + 1 and b[1] == b[0] + 1
    finally:
        await first.close()
        await second.close()
        await engine.dispose()


async def test_one_batch_stores_each_send_once_in_arrival_order(
    server: Server, backend: Backend, staff: Any
) -> None:
    """A batch mixing conversations, two senders of one conversation, a resend of a message
    in the same batch and a send by someone who is not in the conversation: the stored
    ones get contiguous seqs in arrival order, the others none, and no seq is used up."""
    s, v, first, seeker = await paired(server, staff)
    s2, v2, second, other = await paired(server, staff)

    def send(cid: str, sender: dict[str, Any], role: str, msg_id: str) -> Pending:
        return Pending(cid, sender["id"], role, sender["alias"], msg_id, msg_id, utcnow())

    seeker_a = {"id": seeker["seeker_id"], "alias": seeker["alias"]}
    seeker_b = {"id": other["seeker_id"], "alias": other["alias"]}
    volunteer_a = {"id": v.staff.user_id, "alias": v.staff.alias}  # type: ignore[attr-defined]
    batch = [
        send(first, seeker_a, "seeker", "a1"),
        send(first, volunteer_a, "volunteer", "a2"),
        send(second, seeker_b, "seeker", "b1"),
        send(first, seeker_a, "seeker", "a1"),  # the resend: already in this batch
        send(first, seeker_b, "seeker", "intruder"),  # not B's conversation
        send(first, seeker_a, "seeker", "a3"),
    ]
    engine = create_engine(backend.database_url)
    db = Database(engine, create_bus(None))
    writer = MessageWriter(db, db.bus)
    try:
        # Written together: every write joins the queue before the writer's first batch.
        seqs = await asyncio.gather(*(writer.write(p) for p in batch))
    finally:
        await writer.close()
        await engine.dispose()
    assert seqs == [1, 2, 1, SLOW, SLOW, 3]

    # What the seeker sees on coming back: exactly the stored ones, in order, and the
    # conversation's next message gets the next seq (nothing was used up).
    back = await WsClient.open(server.ws_url, seeker["seeker_token"])
    await back.send({"type": "conversation.resume", "conversation_id": first, "after_seq": 0})
    got = [await back.recv("chat.message") for _ in range(3)]
    assert [(m["seq"], m["client_msg_id"]) for m in got] == [(1, "a1"), (2, "a2"), (3, "a3")]
    resumed = await back.recv("conversation.resumed")
    assert resumed["last_seq"] == 3
    await back.send(
        {"type": "chat.send", "conversation_id": first, "client_msg_id": "a4", "text": "next"}
    )
    assert (await back.recv("chat.ack"))["seq"] == 4


@pytest.mark.parametrize("interval", [0.0, 0.3])
async def test_sends_just_after_a_commit_wait_for_the_commit_interval_together(
    server: Server, backend: Backend, staff: Any, interval: float
) -> None:
    """With a commit interval, a send that arrives just after a commit waits, and one that
    arrives a moment later joins it in the same commit; with none, each goes at once."""
    s, v, cid, seeker = await paired(server, staff)
    await s.close()
    await v.close()
    events: list[str] = []

    def send(msg_id: str) -> Pending:
        return Pending(
            cid,
            seeker["seeker_id"],
            "seeker",
            seeker["alias"],
            msg_id,
            msg_id,
            utcnow(),
            on_commit=lambda _seq: events.append(f"commit {msg_id}"),
        )

    async def write(msg_id: str) -> None:
        await writer.write(send(msg_id))
        events.append(f"done {msg_id}")

    engine = create_engine(backend.database_url)
    db = Database(engine, create_bus(None))
    writer = MessageWriter(db, db.bus, commit_interval_s=interval)
    try:
        await write("a")
        b = asyncio.create_task(write("b"))
        await asyncio.sleep(0.05)
        await write("c")
        await b
    finally:
        await writer.close()
        await engine.dispose()
    if interval:
        assert events == ["commit a", "done a", "commit b", "commit c", "done b", "done c"]
    else:
        assert events == ["commit a", "done a", "commit b", "done b", "commit c", "done c"]
