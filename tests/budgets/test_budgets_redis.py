"""Two app processes on one Redis spend from the same flood budgets (``REDIS_URL``): a
client's budget spent on one process is spent on the other, a block on one process slows
the client on the other, and Redis holds keyed hashes only, never an address. PostgreSQL +
real Redis."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
import redis

from tests.conftest import Backend, StaffFactory, drop_pg_database, need
from tests.support import Server, WsClient, env_for, unique_language

pytestmark = pytest.mark.slow

CLIENT = "198.51.100.80"
OTHER = "198.51.100.81"


@pytest.fixture(scope="module")
def pair(
    pg_available: bool, redis_url: str, migrated: Callable[[str], Backend]
) -> Iterator[tuple[Server, Server, str, str]]:
    need(pg_available, "PostgreSQL")
    database_url = migrated("postgres").database_url
    prefix = f"bud-{uuid.uuid4().hex[:8]}:"
    env = env_for(
        database_url,
        redis_url,
        REDIS_CHANNEL_PREFIX=prefix,
        TRUSTED_PROXIES="127.0.0.1",
        SEEKER_LIMIT_PER_CLIENT="3/minute",
        QUEUE_JOIN_LIMIT_PER_CLIENT="10/minute",
        BLOCKED_CLIENT_LIMIT="1/minute",
    )
    a, b = Server(dict(env)).start(), Server(dict(env)).start()
    yield a, b, database_url, prefix
    a.stop()
    b.stop()
    drop_pg_database(database_url)


async def start(server: Server, address: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        return await http.post(
            "/api/v1/seekers",
            json={"language": unique_language(), "consent": True},
            headers={"X-Forwarded-For": address},
        )


async def test_a_clients_budget_is_shared_by_both_processes(pair, redis_url: str):
    a, b, _, prefix = pair
    assert (await start(a, CLIENT)).status_code == 201
    assert (await start(b, CLIENT)).status_code == 201
    assert (await start(a, CLIENT)).status_code == 201
    for server in (b, a):
        refused = await start(server, CLIENT)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"
    assert (await start(b, OTHER)).status_code == 201

    admin = redis.Redis.from_url(redis_url)
    try:
        keys = [k.decode() for k in admin.scan_iter(match=f"*{prefix}budget*")]
        assert keys, "the budgets live in Redis under the channel prefix"
        stored = " ".join(keys)
        for key in keys:
            kind = admin.type(key).decode()
            if kind == "string":
                stored += " " + str(admin.get(key))
            elif kind == "list":
                stored += " " + str(admin.lrange(key, 0, -1))
        assert CLIENT not in stored and OTHER not in stored
    finally:
        admin.close()


async def test_a_block_on_one_process_slows_the_client_on_the_other(pair):
    a, b, database_url, _ = pair
    address = "198.51.100.90"
    first = await start(a, address)
    assert first.status_code == 201
    seeker = await WsClient.open(
        a.ws_url, first.json()["seeker_token"], headers={"X-Forwarded-For": address}
    )
    await seeker.send({"type": "queue.join"})
    cid = (await seeker.recv("queue.status"))["conversation_id"]

    supervisor = await StaffFactory(database_url, b.base_url).create("supervisor")
    sup = await WsClient.open(b.ws_url, supervisor.token)
    await sup.send({"type": "seeker.block", "conversation_id": cid})
    assert (await sup.recv("seeker.block.ok"))["closed"] == [cid]
    assert await seeker.close_code() == 4401
    await sup.close()

    assert (await start(a, address)).status_code == 201
    assert (await start(b, address)).status_code == 429
    for log in (a.log_text(), b.log_text()):
        assert address not in log and CLIENT not in log
