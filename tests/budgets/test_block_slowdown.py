"""After a supervisor blocks a seeker, the client their session came from is slowed down
(issue #16 §5): a new seeker and a queue.join from it spend from ``BLOCKED_CLIENT_LIMIT`` too,
while another client is untouched. Nothing of it is in the database. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import Backend, StaffFactory
from tests.support import Server, WsClient, env_for, paired, sql, unique_language

BLOCKED = "203.0.113.70"
ELSEWHERE = "203.0.113.71"


@pytest.fixture
def slowing(backend: Backend) -> Iterator[Server]:
    srv = Server(
        env_for(
            backend.database_url,
            TRUSTED_PROXIES="127.0.0.1",
            SEEKER_LIMIT_PER_CLIENT="10/minute",
            QUEUE_JOIN_LIMIT_PER_CLIENT="10/minute",
            BLOCKED_CLIENT_LIMIT="1/minute",
        )
    ).start()
    yield srv
    srv.stop()


async def start(http: httpx.AsyncClient, address: str) -> httpx.Response:
    return await http.post(
        "/api/v1/seekers",
        json={"language": unique_language(), "consent": True},
        headers={"X-Forwarded-For": address},
    )


async def test_a_block_slows_down_new_sessions_from_the_blocked_client(
    slowing: Server, backend: Backend
):
    async with httpx.AsyncClient(base_url=slowing.base_url) as http:
        first = await start(http, BLOCKED)
        assert first.status_code == 201
        seeker = await WsClient.open(
            slowing.ws_url, first.json()["seeker_token"], headers={"X-Forwarded-For": BLOCKED}
        )
        await seeker.send({"type": "queue.join"})
        cid = (await seeker.recv("queue.status"))["conversation_id"]

        # Before the block the client may start again freely (10 a minute).
        assert (await start(http, BLOCKED)).status_code == 201

        supervisor = await StaffFactory(backend.database_url, slowing.base_url).create("supervisor")
        sup = await WsClient.open(slowing.ws_url, supervisor.token)
        await sup.send({"type": "seeker.block", "conversation_id": cid})
        assert (await sup.recv("seeker.block.ok"))["closed"] == [cid]
        assert await seeker.close_code() == 4401

        # Now one new session a minute from that client...
        again = await start(http, BLOCKED)
        assert again.status_code == 201, again.text
        refused = await start(http, BLOCKED)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        # ...and one queue.join a minute.
        new = await WsClient.open(
            slowing.ws_url, again.json()["seeker_token"], headers={"X-Forwarded-For": BLOCKED}
        )
        await new.send({"type": "queue.join"})
        joined = (await new.recv("queue.status"))["conversation_id"]
        await new.send({"type": "queue.leave", "conversation_id": joined})
        await new.recv("conversation.ended")
        await new.send({"type": "queue.join"})
        await new.error("rate_limited")
        await new.close()

        # Another client behind the same proxy is not slowed.
        for _ in range(3):
            assert (await start(http, ELSEWHERE)).status_code == 201
        await sup.close()

    # The database holds no trace of the client: only the audit of the block.
    rows = await sql(
        backend.database_url,
        "SELECT detail FROM audit_events WHERE action = 'seeker.blocked' AND conversation_id = :c",
        c=cid,
    )
    assert len(rows) == 1 and BLOCKED not in str(rows[0])
    assert BLOCKED not in slowing.log_text()


async def test_a_block_slows_down_the_client_a_session_its_return_code_linked_came_from(
    slowing: Server, backend: Backend
):
    spare_client = "203.0.113.72"
    s, v, cid, seeker = await paired(slowing, StaffFactory(backend.database_url, slowing.base_url))
    await s.send({"type": "conversation.end", "conversation_id": cid})
    await s.recv("conversation.ended")
    async with httpx.AsyncClient(base_url=slowing.base_url) as http:
        auth = {"Authorization": f"Bearer {seeker['seeker_token']}"}
        made = await http.post("/api/v1/return-codes", json={"conversation_id": cid}, headers=auth)
        assert made.status_code == 201
        spare = await http.post(
            "/api/v1/return-codes/redeem",
            json={"code": made.json()["code"]},
            headers={"X-Forwarded-For": spare_client},
        )
        assert spare.status_code == 201

        supervisor = await StaffFactory(backend.database_url, slowing.base_url).create("supervisor")
        sup = await WsClient.open(slowing.ws_url, supervisor.token)
        await sup.send({"type": "seeker.block", "conversation_id": cid})
        await sup.recv("seeker.block.ok")

        assert (await start(http, spare_client)).status_code == 201
        assert (await start(http, spare_client)).status_code == 429
        assert (await start(http, ELSEWHERE)).status_code == 201
    for client in (s, v, sup):
        await client.close()
