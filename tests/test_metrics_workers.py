"""``peerline serve --workers 2``: whichever worker answers a scrape, /metrics counts what
both did (prometheus-client's multiprocess mode), and the database gauges agree."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from tests.conftest import Backend, StaffFactory, drop_pg_database, need
from tests.support import BIN, START_TIMEOUT_S, Server, WsClient, env_for, new_seeker
from tests.support import unique_language as new_language
from tests.test_metrics import scrape, value

pytestmark = pytest.mark.slow


@dataclass
class Workers(Server):
    """``peerline serve --workers 2`` (uvicorn's worker processes on one port), ready once
    ``/readyz`` answers."""

    command: list[str] = field(
        default_factory=lambda: [str(BIN / "peerline"), "serve", "--workers", "2"]
    )
    ready_path: str = "/readyz"

    def start(self, timeout: float = 2 * START_TIMEOUT_S) -> Workers:
        super().start(timeout)
        return self


@pytest.fixture
def workers(
    pg_available: bool, redis_url: str, migrated: Callable[[str], Backend]
) -> Iterator[tuple[Workers, str]]:
    need(pg_available, "PostgreSQL")
    database_url = migrated("postgres").database_url
    env = env_for(database_url, redis_url, REDIS_CHANNEL_PREFIX=f"mw-{uuid.uuid4().hex[:8]}:")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    srv = Workers(env).start()
    yield srv, database_url
    srv.stop()
    drop_pg_database(database_url)


async def test_every_scrape_counts_what_all_workers_did(workers: tuple[Workers, str]):
    srv, database_url = workers
    staff = StaffFactory(database_url, srv.base_url)
    pairs = 4
    clients: list[WsClient] = []
    for _ in range(pairs):
        language = new_language()
        volunteer = await staff.create(languages=[language])
        seeker = await new_seeker(srv.base_url, language)
        s = await WsClient.open(srv.ws_url, seeker["seeker_token"])
        await s.send({"type": "queue.join"})
        cid = (await s.recv("queue.status"))["conversation_id"]
        v = await WsClient.open(srv.ws_url, volunteer.token)
        await v.send({"type": "queue.take"})
        await v.recv("conversation.started")
        await s.recv("conversation.started")
        for sender, tag in ((s, "s"), (v, "v")):
            await sender.send(
                {"type": "chat.send", "conversation_id": cid, "client_msg_id": tag, "text": "hi"}
            )
            await sender.recv("chat.ack")
        clients += [s, v]

    # Each scrape is a new connection: the kernel hands them to either worker.
    for _ in range(8):
        _, samples = await scrape(srv.base_url)
        assert value(samples, "peerline_messages_stored_total", sender_role="seeker") == pairs
        assert value(samples, "peerline_messages_stored_total", sender_role="volunteer") == pairs
        assert value(samples, "peerline_conversations_started_total") == pairs
        assert value(samples, "peerline_wait_to_match_seconds_count") == pairs
        assert value(samples, "peerline_sockets_open", role="seeker") == pairs
        assert value(samples, "peerline_sockets_open", role="volunteer") == pairs
        assert value(samples, "peerline_conversations_active") == pairs
    for c in clients:
        await c.close()
