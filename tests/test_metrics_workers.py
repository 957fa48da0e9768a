"""``peerline serve --workers 2``: whichever worker answers a scrape, /metrics counts what
both did (prometheus-client's multiprocess mode), and the database gauges agree."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import Backend, StaffFactory, drop_pg_database, need
from tests.support import BIN, ROOT, Server, WsClient, env_for, new_seeker
from tests.support import unique_language as new_language
from tests.test_metrics import scrape, value

pytestmark = pytest.mark.slow


@dataclass
class Workers(Server):
    """``peerline serve --workers 2`` (uvicorn's worker processes on one port)."""

    def start(self, timeout: float = 60.0) -> Workers:
        log_dir = ROOT / "test-artifacts" / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"workers-{self.port}.log"
        self.process = subprocess.Popen(
            [str(BIN / "peerline"), "serve", "--port", str(self.port), "--workers", "2"],
            env=self.env,
            cwd=ROOT,
            stdout=self.log_path.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early; see {self.log_path}")
            try:
                if httpx.get(self.base_url + "/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not start")


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
