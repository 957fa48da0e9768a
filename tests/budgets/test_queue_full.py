"""A ceiling on waiting seekers (``MAX_WAITING_SEEKERS``, issue #16 §1): past it
``queue.join`` answers ``queue_full`` with the helplines in its message, the socket stays
usable, and a place that frees up can be taken. SQLite and PostgreSQL, on an empty database
(the ceiling counts every waiting seeker)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.conftest import Backend, drop_pg_database
from tests.support import Server, WsClient, env_for, new_seeker, unique_language


@pytest.fixture
def small_queue(backend: Backend, migrated: Callable[[str], Backend]) -> Iterator[Server]:
    b = migrated(backend.name)
    env = env_for(b.database_url, MAX_WAITING_SEEKERS="2")
    srv = Server(env).start()
    yield srv
    srv.stop()
    if b.name == "postgres":
        drop_pg_database(b.database_url)


async def join(server: Server) -> tuple[WsClient, dict]:
    seeker = await new_seeker(server.base_url, unique_language())
    ws = await WsClient.open(server.ws_url, seeker["seeker_token"])
    await ws.send({"type": "queue.join", "ref": "join"})
    return ws, await ws.recv(("queue.status", "error"))


async def test_past_the_ceiling_a_seeker_gets_the_helplines_and_may_try_again(
    small_queue: Server,
):
    first, first_status = await join(small_queue)
    assert first_status["type"] == "queue.status"
    second, second_status = await join(small_queue)
    assert second_status["type"] == "queue.status"

    third, answer = await join(small_queue)
    assert answer["type"] == "error" and answer["code"] == "queue_full"
    assert answer["ref"] == "join"
    assert "14416" in answer["message"] and "112" in answer["message"]
    await third.send({"type": "ping"})
    await third.recv("pong")

    # A place frees up: the same seeker joins.
    await first.send({"type": "queue.leave", "conversation_id": first_status["conversation_id"]})
    await first.recv("conversation.ended")
    await third.send({"type": "queue.join"})
    assert (await third.recv("queue.status"))["conversation_id"]
    for ws in (first, second, third):
        await ws.close()
