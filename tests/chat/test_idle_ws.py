"""Active chats nobody writes in are ended by the system (issue #16 §4), so their text
becomes due for retention; a chat with an unresolved escalation is left to its supervisor.
A real server on its own database, SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import FAST, Backend, StaffFactory, drop_pg_database
from tests.support import (
    Server,
    WsClient,
    env_for,
    new_seeker,
    paired,
    sql,
    unique_language,
)


@pytest.fixture
def idle_server(
    backend: Backend, migrated: Callable[[str], Backend]
) -> Iterator[tuple[Server, StaffFactory, str]]:
    b = migrated(backend.name)
    env = env_for(b.database_url, **FAST, ACTIVE_IDLE_END_S="3", HOUSEKEEPING_INTERVAL_S="0.5")
    srv = Server(env).start()
    yield srv, StaffFactory(b.database_url, srv.base_url), b.database_url
    srv.stop()
    if b.name == "postgres":
        drop_pg_database(b.database_url)


async def test_a_chat_nobody_writes_in_is_ended_by_the_system_and_audited(idle_server):
    server, staff, database_url = idle_server
    # The escalated chat first: the idle clock of the other runs from its take, and on a
    # loaded machine this set-up once took longer than the whole idle time.
    held, hv, held_id, _ = await paired(server, staff)
    await hv.send({"type": "escalation.raise", "conversation_id": held_id, "reason": "worried"})
    await hv.recv("escalation.updated")
    s, v, cid, _ = await paired(server, staff)
    await s.send({"type": "chat.send", "conversation_id": cid, "client_msg_id": "1", "text": "hi"})
    await s.recv("chat.ack")

    for side in (s, v):
        ended = await side.recv("conversation.ended", timeout=20)
        assert (ended["conversation_id"], ended["by"], ended["reason"], ended["status"]) == (
            cid,
            "system",
            "idle",
            "ended",
        )
    rows = await sql(
        database_url,
        "SELECT status, ended_by, end_reason, ended_at IS NOT NULL FROM conversations "
        "WHERE id = :c",
        c=cid,
    )
    assert tuple(rows[0]) == ("ended", "system", "idle", True)
    audited = await sql(
        database_url,
        "SELECT actor_role FROM audit_events "
        "WHERE action = 'conversation.ended_idle' AND conversation_id = :c",
        c=cid,
    )
    assert [r[0] for r in audited] == ["system"]
    # The escalated chat stays open for its supervisor.
    assert (await sql(database_url, "SELECT status FROM conversations WHERE id = :c", c=held_id))[
        0
    ][0] == "active"
    await held.nothing("conversation.ended", within=0.5)


async def test_a_chat_is_not_idle_the_moment_it_is_taken_after_a_long_wait(idle_server):
    """Idle counted from the last message even when a volunteer had only just taken the chat:
    a seeker who wrote "is anyone there?" and waited longer than ACTIVE_IDLE_END_S for a
    volunteer had the chat ended as idle at once. It counts from the take now."""
    server, staff, database_url = idle_server
    language = unique_language()
    seeker = await new_seeker(server.base_url, language)
    s = await WsClient.open(server.ws_url, seeker["seeker_token"])
    await s.send({"type": "queue.join"})
    cid = (await s.recv("queue.status"))["conversation_id"]
    await s.send(
        {"type": "chat.send", "conversation_id": cid, "client_msg_id": "1", "text": "anyone?"}
    )
    await s.recv("chat.ack")
    # The seeker wrote a minute ago and has waited since (ACTIVE_IDLE_END_S is 3 s here).
    await sql(
        database_url,
        "UPDATE messages SET sent_at = :t WHERE conversation_id = :c",
        t=datetime.now(UTC) - timedelta(minutes=1),
        c=cid,
    )
    volunteer = await staff.create(languages=[language])
    v = await WsClient.open(server.ws_url, volunteer.token)
    await v.send({"type": "queue.take"})
    taken_at = time.monotonic()
    assert (await v.recv("conversation.started"))["conversation_id"] == cid
    await s.recv("conversation.started")
    # Several housekeeping rounds (every 0.5 s) pass, and the chat goes on.
    await v.nothing("conversation.ended", within=2.0)
    await s.nothing("conversation.ended", within=0.1)
    # Nobody writes after the take: it ends as idle, counted from the take.
    ended = await s.recv("conversation.ended", timeout=20)
    assert (ended["by"], ended["reason"]) == ("system", "idle")
    assert time.monotonic() - taken_at >= 3
