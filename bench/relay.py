"""The yardstick: a bare, non-durable FastAPI WebSocket relay, measured like Peerline.

Issue #5 sets Peerline's CPU target beside this figure: "a non-durable FastAPI relay costs
about 25 µs" per delivered message. Microseconds of CPU depend on the machine (the same
Peerline commit measured 149 µs per message on one 2-vCPU cloud machine and 385 µs on
another), so ``run_standard.py`` runs this relay on the same machine, with the same uvicorn
settings, pinning and window, and reports Peerline's cost as a multiple of it: the target of
150 µs beside 25 µs is 6x the relay.

The relay does the least a chat relay can: two sockets that name the same pair are joined, and
every text frame one sends is passed to the other unchanged. No parsing, no database, no
acknowledgement, no fan-out beyond the one peer. Peerline per message parses and validates the
frame, checks it for risk cues, commits it, acknowledges it and delivers it to both sides' sockets.

    python bench/relay.py serve --port 8001
    python bench/relay.py load --url ws://127.0.0.1:8001 --pairs 1000 --seconds 30 \\
        --server-pid 1234 [--cpu 1] [--json out.json]

The load: ``--pairs`` pairs of sockets; each side sends ``--rate`` frames per second for
``--seconds``, each carrying its send time. Reported like ``load.py``: delivery latency,
delivered per second, lost, duplicated and out-of-order frames, server CPU per delivered
frame over the window from the first send to the last delivery, RSS per connection.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

OPEN_CONCURRENCY = 64
DRAIN_IDLE_S = 5.0


def create_relay() -> FastAPI:
    """The relay app: ``/ws/{pair}`` joins two sockets; ``/readyz`` says it is up."""
    app = FastAPI()
    waiting: dict[str, WebSocket] = {}
    peers: dict[WebSocket, WebSocket] = {}

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    @app.websocket("/ws/{pair}")
    async def relay(websocket: WebSocket, pair: str) -> None:
        await websocket.accept()
        other = waiting.pop(pair, None)
        if other is None:
            waiting[pair] = websocket
        else:
            peers[websocket], peers[other] = other, websocket
            await other.send_text("paired")
            await websocket.send_text("paired")
        try:
            while True:
                text = await websocket.receive_text()
                peer = peers.get(websocket)
                if peer is not None:
                    await peer.send_text(text)
        except WebSocketDisconnect:
            pass
        finally:
            if waiting.get(pair) is websocket:
                del waiting[pair]
            peer = peers.pop(websocket, None)
            if peer is not None:
                peers.pop(peer, None)

    return app


def serve(host: str, port: int) -> None:
    """uvicorn with ``peerline serve``'s WebSocket settings (no deflate, same pings)."""
    import uvicorn

    uvicorn.run(
        create_relay(),
        host=host,
        port=port,
        access_log=False,
        ws_per_message_deflate=False,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        log_level="warning",
    )


class RelayRun:
    """What the generator has sent and seen: per receiving side, the next expected number."""

    def __init__(self) -> None:
        self.sent = 0
        self.delivered = 0
        self.duplicated = 0
        self.out_of_order = 0
        self.misrouted = 0  # arrived at a socket that is not the sender's peer
        self.latencies: list[float] = []
        self.last_delivery = 0.0
        self.expected = 0
        self.all_delivered = asyncio.Event()


async def open_pair(url: str, index: int, limit: asyncio.Semaphore) -> list[Any]:
    from websockets.asyncio.client import connect

    async with limit:
        sockets = [
            await connect(
                f"{url}/ws/{index}",
                compression=None,
                proxy=None,
                ping_interval=None,
                max_queue=None,
            )
            for _ in range(2)
        ]
        for ws in sockets:
            if await asyncio.wait_for(ws.recv(), 30) != "paired":
                raise RuntimeError("relay did not pair the sockets")
        return sockets


async def read(run: RelayRun, ws: Any, peer: str) -> None:
    """The receiving side: each frame is ``"<sender> <number> <perf_counter at send>"``, and
    the sender must be ``peer``."""
    from websockets.exceptions import ConnectionClosed

    last = -1
    seen: set[int] = set()
    with contextlib.suppress(ConnectionClosed):
        async for raw in ws:
            now = time.perf_counter()
            sender, number_text, sent_text = raw.split(" ")
            if sender != peer:
                run.misrouted += 1
                continue
            number = int(number_text)
            if number in seen:
                run.duplicated += 1
                continue
            seen.add(number)
            if number < last:
                run.out_of_order += 1
            last = max(last, number)
            run.delivered += 1
            run.latencies.append(now - float(sent_text))
            run.last_delivery = now
            if run.delivered >= run.expected:
                run.all_delivered.set()


async def send(run: RelayRun, ws: Any, me: str, count: int, rate: float) -> None:
    interval = 1.0 / rate
    start = time.perf_counter() + random.random() * interval
    for i in range(count):
        await asyncio.sleep(max(0.0, start + i * interval - time.perf_counter()))
        run.sent += 1
        await ws.send(f"{me} {i} {time.perf_counter()!r}")


async def run_load(
    url: str, *, pairs: int, seconds: float, rate: float, server_pids: Sequence[int]
) -> dict[str, Any]:
    probe = load.ServerProbe(list(server_pids))
    rss_before = probe.rss_kib()
    limit = asyncio.Semaphore(OPEN_CONCURRENCY)
    t0 = time.perf_counter()
    opened = await asyncio.gather(*(open_pair(url, i, limit) for i in range(pairs)))
    connect_s = time.perf_counter() - t0
    # Socket 2k and 2k+1 are pair k's two sides; each is labelled by its index.
    sockets = [ws for pair in opened for ws in pair]
    await asyncio.sleep(0.5)
    rss_connected = probe.rss_kib()

    run = RelayRun()
    count = max(1, round(seconds * rate))
    run.expected = len(sockets) * count
    readers = [asyncio.create_task(read(run, ws, str(i ^ 1))) for i, ws in enumerate(sockets)]
    gc.collect()
    gc.freeze()
    gc.disable()  # as in load.py: the generator's own collections must not look like latency
    cpu_before, t_send = probe.cpu_s(), time.perf_counter()
    busy_before, gen_before = load.machine_busy_s(), time.process_time()
    await asyncio.gather(*(send(run, ws, str(i), count, rate) for i, ws in enumerate(sockets)))
    t_last_send = time.perf_counter()
    while not run.all_delivered.is_set():
        before = run.delivered
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(run.all_delivered.wait(), DRAIN_IDLE_S)
        if run.delivered == before:
            break
    cpu_after, gen_s = probe.cpu_s(), time.process_time() - gen_before
    busy_s, gen_window = load.machine_busy_s() - busy_before, time.perf_counter() - t_send
    gc.enable()
    gc.unfreeze()
    window = max(run.last_delivery - t_send, 1e-9)
    for ws in sockets:
        await ws.close()
    for task in readers:
        task.cancel()
    results: dict[str, Any] = {
        "connections": len(sockets),
        "conversations": pairs,
        "connect_s": round(connect_s, 3),
        "sent": run.sent,
        "delivered": run.delivered,
        "lost": run.sent - run.delivered,
        "duplicated": run.duplicated,
        "out_of_order": run.out_of_order,
        "misrouted": run.misrouted,
        "latency_ms": load.summarize_ms(run.latencies),
        "send_window_s": round(t_last_send - t_send, 3),
        "delivered_per_s": round(run.delivered / window, 1),
        "generator_cpu_pct": round(gen_s / max(gen_window, 1e-9) * 100, 1),
        "other_cpu_pct": load.other_cpu_pct(
            busy_s,
            None if cpu_before is None or cpu_after is None else cpu_after - cpu_before,
            gen_s,
            window_s=gen_window,
        ),
    }
    if cpu_before is not None and cpu_after is not None and run.delivered:
        results["server_cpu_us_per_msg"] = round((cpu_after - cpu_before) / run.delivered * 1e6, 1)
        results["server_cpu_pct"] = round((cpu_after - cpu_before) / window * 100, 1)
    if rss_before is not None and rss_connected is not None:
        results["server_rss_kib_per_conn"] = round((rss_connected - rss_before) / len(sockets), 1)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="run the relay")
    p_serve.add_argument("--host", default="127.0.0.1")
    p_serve.add_argument("--port", type=int, default=8001)
    p_load = sub.add_parser("load", help="measure a running relay")
    p_load.add_argument("--url", default="ws://127.0.0.1:8001")
    p_load.add_argument("--pairs", type=int, default=1000)
    p_load.add_argument("--seconds", type=float, default=30.0)
    p_load.add_argument("--rate", type=float, default=1.0, help="frames/s per side")
    p_load.add_argument("--server-pid", type=int, action="append", default=[])
    p_load.add_argument("--cpu", type=int, help="pin the generator to this CPU")
    p_load.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.host, args.port)
        return 0
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    load.raise_fd_limit()
    load.use_uvloop()
    results = asyncio.run(
        run_load(
            args.url.rstrip("/"),
            pairs=args.pairs,
            seconds=args.seconds,
            rate=args.rate,
            server_pids=args.server_pid,
        )
    )
    print(load.format_table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0 if results["lost"] == 0 and results["duplicated"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
