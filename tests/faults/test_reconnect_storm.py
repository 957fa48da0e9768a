"""A reconnect storm: 2,000 sockets drop at once and all resume, losing nothing."""

from __future__ import annotations

import asyncio
import json
import os
import time

import httpx
import psutil
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.support import Server, env_for, run_cli

pytestmark = pytest.mark.slow

CLIENTS = int(os.environ.get("STORM_CLIENTS", "2000"))


async def recv_until(ws: ClientConnection, kind: str, timeout: float) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == kind:
                return frame


def cpu_s(process: psutil.Process) -> float:
    """A process's CPU seconds, user + system."""
    times = process.cpu_times()
    return times.user + times.system


async def test_two_thousand_clients_drop_at_once_and_resume_without_loss(tmp_path):
    env = env_for(f"sqlite+aiosqlite:///{tmp_path}/storm.db")
    run_cli(["migrate"], env)
    srv = Server(env).start()
    try:
        # At most 50 requests in flight: httpx's pool with thousands of requests queued for
        # a connection spends quadratic time on its waiting list, and each one's timeout
        # counts while it waits there.
        limits, http_gate = httpx.Limits(max_connections=50), asyncio.Semaphore(50)
        async with httpx.AsyncClient(base_url=srv.base_url, limits=limits, timeout=60) as http:

            async def seeker() -> str:
                async with http_gate:
                    r = await http.post("/api/v1/seekers", json={"language": "en", "consent": True})
                return str(r.json()["seeker_token"])

            tokens = await asyncio.gather(*(seeker() for _ in range(CLIENTS)))

        gate = asyncio.Semaphore(200)  # bounded set-up; the storm itself is not bounded

        async def settle(token: str) -> tuple[ClientConnection, str]:
            async with gate:
                ws = await connect(srv.ws_url, compression=None, open_timeout=60)
                await ws.send(json.dumps({"type": "auth", "token": token}))
                await recv_until(ws, "auth.ok", 60)
                await ws.send(json.dumps({"type": "queue.join"}))
                cid = (await recv_until(ws, "queue.status", 60))["conversation_id"]
                await ws.send(json.dumps({"type": "chat.send", "conversation_id": cid,
                                          "client_msg_id": "hello", "text": "is anyone there?"}))  # fmt: skip
                await recv_until(ws, "chat.ack", 60)
                return ws, cid

        sockets = await asyncio.gather(*(settle(t) for t in tokens))

        # Every link drops at the same moment.
        for ws, _ in sockets:
            ws.transport.abort()
        dropped = time.monotonic()
        assert srv.process is not None
        server = psutil.Process(srv.process.pid)
        server_cpu, own_cpu = cpu_s(server), time.process_time()

        async def come_back(token: str, cid: str) -> list[int]:
            ws = await connect(srv.ws_url, compression=None, open_timeout=30)
            try:
                await ws.send(json.dumps({"type": "auth", "token": token}))
                ok = await recv_until(ws, "auth.ok", 30)
                assert [c["conversation_id"] for c in ok["active_conversations"]] == [cid]
                await ws.send(json.dumps({"type": "conversation.resume", "conversation_id": cid,
                                          "after_seq": 0}))  # fmt: skip
                seqs = []
                async with asyncio.timeout(30):
                    while True:
                        frame = json.loads(await ws.recv())
                        if frame["type"] == "chat.message":
                            seqs.append(frame["seq"])
                        elif frame["type"] == "conversation.resumed":
                            return seqs
            finally:
                await ws.close()

        results = await asyncio.gather(
            *(come_back(token, cid) for token, (_, cid) in zip(tokens, sockets, strict=True))
        )
        took = time.monotonic() - dropped
        server_cpu = cpu_s(server) - server_cpu
        own_cpu = time.process_time() - own_cpu
        assert all(seqs == [1] for seqs in results), "a message was lost or doubled"
        # The figures are to read (pytest -s shows them), not assertions. The clients share
        # the machine with the server: their CPU says which of the two set the pace.
        print(
            f"\n{CLIENTS} clients resumed {took:.1f} s after dropping at once"
            f"; CPU meanwhile: clients {own_cpu:.1f} s, server {server_cpu:.1f} s"
        )
    finally:
        srv.stop()
