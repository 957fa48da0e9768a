"""A join that is stored but whose first status cannot be read is not answered `unavailable`.

Found in session 21's standard run on PostgreSQL: 1,000 seekers joined at once, a join was
committed, the read for its first ``queue.status`` waited past the pool's timeout, and the
seeker was told ``unavailable`` ("nothing was stored"); its retry met ``already_queued``. The
server here is a real ``peerline serve`` process on a real database; the one fault is injected
into that read (the database itself is not replaced): the first status read of the process
fails as a timed-out read would.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from tests.conftest import Backend
from tests.support import Server, WsClient, env_for, new_seeker, sql, unique_language

# `peerline serve`, with the notifier's first reply to a join failing as an unreachable
# database would (sqlite3.OperationalError counts as unavailable in app.db).
SERVE_WITH_A_FAILING_FIRST_STATUS = """
import sqlite3
import sys

from app.cli import main
from app.matching.notifier import QueueNotifier

real = QueueNotifier.reply_to_join
failed = []


async def reply_to_join(self, conn, conversation):
    if not failed:
        failed.append(conversation.id)
        raise sqlite3.OperationalError("database is locked")
    await real(self, conn, conversation)


QueueNotifier.reply_to_join = reply_to_join
main(sys.argv[1:])
"""


@pytest.fixture
def faulty_server(migrated) -> Iterator[tuple[Server, Backend]]:
    backend: Backend = migrated("sqlite")
    server = Server(
        env_for(backend.database_url),
        command=[sys.executable, "-c", SERVE_WITH_A_FAILING_FIRST_STATUS, "serve"],
    ).start()
    yield server, backend
    server.stop()


async def test_a_stored_join_whose_status_read_fails_gets_its_status_not_an_error(
    faulty_server,
):
    server, backend = faulty_server
    seeker = await new_seeker(server.base_url, unique_language())
    c = await WsClient.open(server.ws_url, seeker["seeker_token"])
    await c.send({"type": "queue.join", "ref": "join-1"})
    # The debounced refresh brings the status the failed read could not.
    status = await c.recv("queue.status", timeout=10)
    assert status["position"] == 1
    assert [f for f in c.pending if f["type"] == "error"] == []
    # Asked again, the server says what is true: the seeker is already queued, once.
    await c.send({"type": "queue.join", "ref": "join-2"})
    await c.error("already_queued")
    [(waiting,)] = await sql(
        backend.database_url, "SELECT count(*) FROM conversations WHERE status = 'waiting'"
    )
    assert waiting == 1
    assert "queue.join_status_deferred" in server.log_text()
    await c.close()
