"""A block on one process forgets the return code for every process: two app processes on
one PostgreSQL and one Redis. The code's words then open nothing on the other process, and
a spare session opened with the code there has its socket closed (4401, through Redis)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.conftest import Backend, StaffFactory, drop_pg_database, need
from tests.return_code.test_return_code_api import _end, _make_code
from tests.support import Server, WsClient, env_for, paired

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster(
    pg_available: bool, redis_url: str, migrated: Callable[[str], Backend]
) -> Iterator[tuple[Server, Server, str]]:
    need(pg_available, "PostgreSQL")
    database_url = migrated("postgres").database_url
    env = env_for(database_url, redis_url, REDIS_CHANNEL_PREFIX=f"rcb-{uuid.uuid4().hex[:8]}:")
    a, b = Server(dict(env)).start(), Server(dict(env)).start()
    yield a, b, database_url
    a.stop()
    b.stop()
    drop_pg_database(database_url)


async def test_a_block_on_one_process_forgets_the_code_on_the_other(cluster):
    a, b, database_url = cluster
    s, v, cid, seeker = await paired(a, StaffFactory(database_url, a.base_url))
    await _end(s, cid)
    async with httpx.AsyncClient(base_url=a.base_url) as on_a:
        code = (await _make_code(on_a, seeker["seeker_token"], cid))["code"]
    async with httpx.AsyncClient(base_url=b.base_url) as on_b:
        wrong = await on_b.post(
            "/api/v1/return-codes/redeem", json={"code": "acorn bagel cable dance eagle"}
        )
        spare = (await on_b.post("/api/v1/return-codes/redeem", json={"code": code})).json()
    spare_ws = await WsClient.open(b.ws_url, spare["seeker_token"])

    supervisor = await StaffFactory(database_url, a.base_url).create("supervisor")
    sup = await WsClient.open(a.ws_url, supervisor.token)
    await sup.send({"type": "seeker.block", "conversation_id": cid})
    assert (await sup.recv("seeker.block.ok"))["closed"] == []
    assert await spare_ws.close_code(timeout=10) == 4401

    async with httpx.AsyncClient(base_url=b.base_url) as on_b:
        again = await on_b.post("/api/v1/return-codes/redeem", json={"code": code})
        assert (again.status_code, again.json()) == (401, wrong.json())
        me = await on_b.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {spare['seeker_token']}"}
        )
        assert me.status_code == 401
    for client in (s, v, sup):
        await client.close()
