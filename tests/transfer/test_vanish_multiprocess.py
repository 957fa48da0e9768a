"""A volunteer vanishes because the process holding their socket dies (SIGKILL): two app
processes on one PostgreSQL and one Redis; the survivor sends the chat back to the front of
the queue, tells the seeker and alerts the escalation's supervisor."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from tests.conftest import Backend, StaffFactory, drop_pg_database, need
from tests.support import Server, WsClient, env_for, new_seeker, unique_language

pytestmark = pytest.mark.slow

VANISH_S = 4.0


@pytest.fixture
def cluster(
    pg_available: bool, redis_url: str, migrated: Callable[[str], Backend]
) -> Iterator[tuple[Server, Server, str]]:
    need(pg_available, "PostgreSQL")
    database_url = migrated("postgres").database_url
    env = env_for(
        database_url,
        redis_url,
        REDIS_CHANNEL_PREFIX=f"vanish-{uuid.uuid4().hex[:8]}:",
        RATE_LIMIT_PER_S="500",
        RATE_LIMIT_BURST="1000",
        ESCALATION_TIME_SCALE="0.03",
        SWEEP_INTERVAL_S="0.2",
        JOBS_LEASE_S="2",
        PRESENCE_INTERVAL_S="0.5",
        HOUSEKEEPING_INTERVAL_S="0.3",
        VOLUNTEER_VANISH_S=str(VANISH_S),
    )
    a, b = Server(dict(env)).start(), Server(dict(env)).start()
    yield a, b, database_url
    a.stop()
    b.stop()
    drop_pg_database(database_url)


async def test_the_process_holding_the_volunteer_dies_and_the_seeker_is_not_left_alone(cluster):
    a, b, database_url = cluster
    language = unique_language()
    staff = StaffFactory(database_url, a.base_url)
    volunteer = await staff.create(languages=[language])
    boss = await staff.create("supervisor")
    seeker = await new_seeker(a.base_url, language)
    s = await WsClient.open(a.ws_url, seeker["seeker_token"])
    sup = await WsClient.open(a.ws_url, boss.token)
    await sup.send({"type": "oncall.set", "on_call": True})
    await sup.recv("oncall.ok")
    v = await WsClient.open(b.ws_url, volunteer.token)  # on the process that will die
    await s.send({"type": "queue.join"})
    cid = (await s.recv("queue.status"))["conversation_id"]
    await v.send({"type": "queue.take"})
    await v.recv("conversation.started")
    await s.recv("conversation.started")
    await s.send({"type": "chat.send", "conversation_id": cid, "client_msg_id": "s1", "text": "hi"})
    await v.recv("chat.message")
    await v.send({"type": "escalation.raise", "conversation_id": cid, "reason": "worried"})
    page = await sup.recv("escalation.page", timeout=10)
    await sup.send({"type": "escalation.ack", "escalation_id": page["escalation_id"]})
    await sup.recv("escalation.updated", where=lambda f: f["status"] == "acknowledged")

    b.kill()  # SIGKILL: no goodbye, its presence rows just stop being refreshed
    killed_at = time.monotonic()
    told = await s.recv("conversation.handed_over", timeout=VANISH_S + 10)
    assert time.monotonic() - killed_at >= VANISH_S - 0.5
    assert told["to"] == "queue" and told["reason"] == "volunteer_vanished"
    await s.recv("queue.status", where=lambda f: f["conversation_id"] == cid)
    alert = await sup.recv("staff.alert", where=lambda f: f["code"] == "volunteer_vanished")
    assert alert["escalation_id"] == page["escalation_id"]

    # A volunteer on the surviving process takes it, with its history.
    nxt = await staff.create(languages=[language])
    n = await WsClient.open(a.ws_url, nxt.token)
    await n.send({"type": "queue.take"})
    assert (await n.recv("conversation.started"))["conversation_id"] == cid
    assert (await n.recv("chat.message"))["text"] == "hi"
    await n.send(
        {"type": "chat.send", "conversation_id": cid, "client_msg_id": "n1", "text": "hello"}
    )
    assert (await s.recv("chat.message", where=lambda f: f["seq"] == 2))["text"] == "hello"
