"""The Redis bus alone: CPU per event for a publish and its two receptions, in one process.

    python bench/bus_speed.py                                    # this tree's app/bus.py
    python bench/bus_speed.py --url 'redis://127.0.0.1:6379/0?protocol=3'
    git show 4371a02:app/bus.py > /tmp/old_bus.py
    python bench/bus_speed.py --module /tmp/old_bus.py           # another version's bus

Two ``RedisBus`` objects (as two processes would hold them) on one event loop (uvloop): A
publishes ``--events`` chat-sized events in batches of ``--batch`` (as the group-commit
writer does), B's subscriber takes them; both processes' pattern subscriptions read every
event (A skips its own). Prints this process's CPU time per event: a publish, two
receptions, B's fan-out. Redis's own CPU is not counted. Run it a few times, alternating
versions: the machine's speed moves between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import sys
import time
import uuid
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def load_bus(path: str | None) -> ModuleType:
    if path is None:
        import app.bus

        return app.bus
    spec = importlib.util.spec_from_file_location("bus_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bus_under_test"] = module
    spec.loader.exec_module(module)
    return module


async def measure(bus: ModuleType, url: str, events: int, batch: int) -> float:
    done = asyncio.get_running_loop().create_future()
    received = 0

    class Sink:
        def deliver(self, channel: str, event: object) -> None:
            nonlocal received
            received += 1
            if received == events and not done.done():
                done.set_result(None)

    prefix = f"bus-speed-{uuid.uuid4().hex[:6]}:"
    a, b = bus.RedisBus(url, prefix=prefix), bus.RedisBus(url, prefix=prefix)
    await a.start()
    await b.start()
    await asyncio.sleep(0.2)
    b.subscribe("conv:x", Sink())
    frame = '{"type":"chat.message","conversation_id":"x","seq":1,"text":"' + "hi " * 20 + '"}'
    started = time.process_time()
    for i in range(0, events, batch):
        await a.publish_many(
            [("conv:x", bus.Event("chat.message", frame, "x", i + k)) for k in range(batch)]
        )
    await asyncio.wait_for(done, 120)
    cpu = time.process_time() - started
    await a.stop()
    await b.stop()
    return cpu / events * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--module", help="a bus.py to measure instead of this tree's")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=4)
    args = parser.parse_args()
    bus = load_bus(args.module)
    import uvloop

    per_event = uvloop.run(measure(bus, args.url, args.events, args.batch))
    print(f"{args.module or 'app/bus.py'} {args.url}: {per_event:.1f} µs CPU per event")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
