"""Active chats nobody writes in are ended by the system (issue #16 §4), so their text
becomes due for retention; a chat with an unresolved escalation is left to its supervisor.
A real server on its own database, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.conftest import FAST, Backend, StaffFactory, drop_pg_database
from tests.support import Server, env_for, paired, sql


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
    s, v, cid, _ = await paired(server, staff)
    held, hv, held_id, _ = await paired(server, staff)
    await hv.send({"type": "escalation.raise", "conversation_id": held_id, "reason": "worried"})
    await hv.recv("escalation.updated")
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
