"""The reconnect storm: N seeker sockets drop at the same moment and all come back at once.

Each seeker joins the queue and writes one message; then every link is cut (the transport
aborted, no close frame, as a network outage would) and every seeker reconnects, signs in
again and resumes its conversation from ``after_seq`` 0. Nothing may be lost or doubled:
each must get back exactly its one message. The figure is the time from the drop until the
last seeker has resumed, with the CPU the clients and the server spent meanwhile (the
clients share the machine with the server: their CPU says which of the two set the pace).

    python bench/storm.py                  # 2,000 clients (the README's Performance row)
    python bench/storm.py --clients 500 --json out.json

The benchmark starts its own server (``peerline migrate`` + ``peerline serve`` on a fresh
SQLite file in a temporary directory, with the standard run's generous flood budgets).
``tests/faults/test_reconnect_storm.py`` runs the same ``storm`` with fewer clients
(``STORM_CLIENTS``, default 200) to prove nothing is lost; the time of 2,000 is measured here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parent))


async def recv_until(ws: ClientConnection, kind: str, timeout: float) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == kind:
                return dict(frame)


def cpu_s(process: psutil.Process) -> float:
    """A process's CPU seconds, user + system."""
    times = process.cpu_times()
    return float(times.user + times.system)


async def storm(base_url: str, server_pid: int, clients: int) -> dict[str, Any]:
    """Run one storm against a running server; what happened, as a dict (``results`` holds
    each client's resumed sequence numbers: ``[1]`` when nothing was lost or doubled)."""
    ws_url = base_url.replace("http://", "ws://", 1) + "/ws"
    # At most 50 requests in flight: httpx's pool with thousands of requests queued for a
    # connection spends quadratic time on its waiting list, and each one's timeout counts
    # while it waits there.
    limits, http_gate = httpx.Limits(max_connections=50), asyncio.Semaphore(50)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as http:

        async def seeker() -> str:
            async with http_gate:
                r = await http.post("/api/v1/seekers", json={"language": "en", "consent": True})
            assert r.status_code == 201, r.text
            return str(r.json()["seeker_token"])

        tokens = await asyncio.gather(*(seeker() for _ in range(clients)))

    gate = asyncio.Semaphore(200)  # bounded set-up; the storm itself is not bounded

    async def settle(token: str) -> tuple[ClientConnection, str]:
        async with gate:
            ws = await connect(ws_url, compression=None, open_timeout=60)
            await ws.send(json.dumps({"type": "auth", "token": token}))
            await recv_until(ws, "auth.ok", 60)
            await ws.send(json.dumps({"type": "queue.join"}))
            cid = str((await recv_until(ws, "queue.status", 60))["conversation_id"])
            hello = {"type": "chat.send", "conversation_id": cid, "client_msg_id": "hello",
                     "text": "is anyone there?"}  # fmt: skip
            await ws.send(json.dumps(hello))
            await recv_until(ws, "chat.ack", 60)
            return ws, cid

    sockets = await asyncio.gather(*(settle(t) for t in tokens))

    # Every link drops at the same moment.
    for ws, _ in sockets:
        ws.transport.abort()
    dropped = time.monotonic()
    server = psutil.Process(server_pid)
    server_cpu, own_cpu = cpu_s(server), time.process_time()

    async def come_back(token: str, cid: str) -> list[int]:
        ws = await connect(ws_url, compression=None, open_timeout=30)
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
    return {
        "clients": clients,
        "resumed_s": round(took, 2),
        "lost_or_doubled": sum(1 for seqs in results if seqs != [1]),
        "client_cpu_s": round(time.process_time() - own_cpu, 2),
        "server_cpu_s": round(cpu_s(server) - server_cpu, 2),
        "results": results,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    import run_standard  # the standard run's server: fresh SQLite, generous budgets

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with run_standard.server({}, cpu=None) as servers:
        outcome = asyncio.run(storm(servers.urls[0], servers.pids[0], args.clients))
    outcome.pop("results")
    print(
        f"{outcome['clients']} clients resumed {outcome['resumed_s']:.1f} s after dropping at "
        f"once, {outcome['lost_or_doubled']} lost or doubled; CPU meanwhile: clients "
        f"{outcome['client_cpu_s']:.1f} s, server {outcome['server_cpu_s']:.1f} s"
    )
    if args.json:
        args.json.write_text(json.dumps(outcome, indent=2) + "\n")
    return 0 if outcome["lost_or_doubled"] == 0 else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
