"""A reconnect storm: hundreds of sockets drop at once and all resume, losing nothing.

The storm itself is ``bench/storm.py``'s; the test runs it with ``STORM_CLIENTS`` seekers
(default 200) and checks that every one got back exactly its one message. How long 2,000
take is a benchmark figure (``python bench/storm.py``, the README's Performance table),
not something a test times.
"""

from __future__ import annotations

import os
import sys

import pytest

from tests.support import ROOT, Server, env_for

sys.path.insert(0, str(ROOT / "bench"))
import storm

pytestmark = [pytest.mark.slow, pytest.mark.serial]  # a load test: 200 clients at once

CLIENTS = int(os.environ.get("STORM_CLIENTS", "200"))


async def test_hundreds_of_clients_drop_at_once_and_resume_without_loss(migrated):
    env = env_for(migrated("sqlite").database_url)
    srv = Server(env).start()
    try:
        assert srv.process is not None
        outcome = await storm.storm(srv.base_url, srv.process.pid, CLIENTS)
        assert len(outcome["results"]) == CLIENTS
        assert all(seqs == [1] for seqs in outcome["results"]), "a message was lost or doubled"
        assert outcome["lost_or_doubled"] == 0
        # The figures are to read (pytest -s shows them), not assertions.
        print(
            f"\n{CLIENTS} clients resumed {outcome['resumed_s']:.1f} s after dropping at once"
            f"; CPU meanwhile: clients {outcome['client_cpu_s']:.1f} s,"
            f" server {outcome['server_cpu_s']:.1f} s"
        )
    finally:
        srv.stop()
