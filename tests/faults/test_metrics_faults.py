"""Metrics through a fault: Redis dies and comes back. /metrics says the process is not
ready while it is gone (what the readiness alert watches), then counts the reconnect and
the sockets' catch-up reads after it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import Backend, StaffFactory
from tests.support import (
    RedisProcess,
    Server,
    WsClient,
    env_for,
    eventually,
    new_seeker,
    unique_language,
)
from tests.test_metrics import scrape, value

pytestmark = pytest.mark.slow


async def test_a_lost_redis_shows_as_not_ready_then_as_a_reconnect_and_catch_ups(
    migrated: Callable[[str], Backend],
):
    redis = RedisProcess().start()
    backend = migrated("sqlite")
    env = env_for(backend.database_url, redis.url)
    srv = Server(env).start()
    try:
        language = unique_language()
        staff = StaffFactory(backend.database_url, srv.base_url)
        volunteer = await staff.create(languages=[language])
        seeker = await new_seeker(srv.base_url, language)
        s = await WsClient.open(srv.ws_url, seeker["seeker_token"])
        await s.send({"type": "queue.join"})
        await s.recv("queue.status")
        v = await WsClient.open(srv.ws_url, volunteer.token)
        await v.send({"type": "queue.take"})
        await v.recv("conversation.started")
        await s.recv("conversation.started")
        _, before = await scrape(srv.base_url)
        assert value(before, "peerline_ready") == 1
        assert value(before, "peerline_bus_reconnects_total") == 0

        redis.kill()

        async def not_ready() -> bool:
            _, now = await scrape(srv.base_url)
            return value(now, "peerline_ready") == 0 and value(now, "peerline_bus_up") == 0

        await eventually(not_ready, what="/metrics to say the bus is down")
        redis.start()

        async def reconnected() -> bool:
            _, now = await scrape(srv.base_url)
            return value(now, "peerline_ready") == 1 and (
                value(now, "peerline_bus_reconnects_total") >= 1
            )

        await eventually(reconnected, timeout=20, what="the reconnect to be counted")
        _, after = await scrape(srv.base_url)
        caught_up = value(after, "peerline_catch_ups_total", reason="reset") - value(
            before, "peerline_catch_ups_total", reason="reset"
        )
        assert caught_up >= 2  # each socket re-read its conversation after bus.reset
        await s.close()
        await v.close()
    finally:
        srv.stop()
        redis.kill()
