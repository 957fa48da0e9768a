"""Benchmark mode: where a chat message's time goes, stage by stage (issue #19).

Off unless ``STAGE_TIMES_PATH`` names a file. When on, the server notes for every message
that takes the group-commit path the moment each stage ends, on one clock
(``time.perf_counter``):

- ``received``: its frame came off the socket (before parsing);
- ``queued``: it reached the chat writer's queue (validated, authorised, screened);
- ``batch``: the writer began the batch that holds it (the wait for the group commit);
- ``committed``: that batch's transaction committed;
- ``published``: the batch's acks were queued to their senders and its messages' frames
  built; the fan-out begins;
- ``handed``: the last of the conversation's sockets on this process was handed its copy
  (in one process the fan-out hands each idle socket its frame at once, a busy one through
  its outbox; uvicorn writes what it was handed at the end of the loop turn). With Redis the
  message arrives on the other process through the bus: its ``handed`` is noted only where
  the message was stored, so read two processes' files as the sending side's.

It also notes every stall of the event loop (a timer due every 5 ms, and how late it ran),
every garbage collection (generation, pause) and every WAL checkpoint (how long, and whether
it rewound the log). At shutdown it writes one JSON file: percentiles of each stage's share,
the slowest messages broken down by stage, the loop's stalls, the collections and the
checkpoints. ``bench/run_standard.py --stages`` turns it on and prints the summary.

Nothing here holds text, aliases or ids beyond the run: a message is keyed by its
conversation and seq while the server runs, and the file holds only durations.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import threading
import time
from contextvars import ContextVar
from pathlib import Path
from typing import Any

STAGES = ("queued", "batch", "committed", "published", "handed")
# Set by the socket's receive loop for the frame being handled (one task per socket).
RECEIVED: ContextVar[float] = ContextVar("peerline_frame_received", default=0.0)
MAX_MESSAGES = 2_000_000  # about 200 MB at the most; a benchmark run holds far fewer
LOOP_TICK_S = 0.005

RECORDER: StageRecorder | None = None


class StageRecorder:
    def __init__(self, path: Path) -> None:
        self.path = path
        # (conversation_id, seq) -> [received, queued, batch, committed, published, handed]
        self.messages: dict[tuple[str, int], list[float]] = {}
        self.loop_late: list[float] = []
        self.collections: list[tuple[int, float]] = []
        self.checkpoints: list[tuple[float, bool]] = []
        self.collected = [0, 0, 0]  # objects freed by collections of each generation
        self.thaws: list[tuple[float, int]] = []  # app/heap.py: (pause, objects freed)
        self._gc_started = 0.0
        self._lock = threading.Lock()  # checkpoints are noted from their own thread
        self._ticker: asyncio.Task[None] | None = None

    # -- noting ------------------------------------------------------------------------------
    def stored(
        self,
        key: tuple[str, int],
        received: float,
        queued: float,
        batch: float,
        committed: float,
        published: float,
    ) -> None:
        if len(self.messages) < MAX_MESSAGES:
            self.messages[key] = [received, queued, batch, committed, published, 0.0]

    def handed(self, conversation_id: str | None, seq: int | None) -> None:
        if conversation_id is None or seq is None:
            return
        times = self.messages.get((conversation_id, seq))
        if times is not None:
            times[5] = max(times[5], time.perf_counter())  # the last of its sockets

    def checkpoint(self, seconds: float, restarted: bool) -> None:
        with self._lock:
            self.checkpoints.append((seconds, restarted))

    def thawed(self, seconds: float, freed: int) -> None:
        self.thaws.append((seconds, freed))

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.collections.append((info["generation"], time.perf_counter() - self._gc_started))
            self.collected[info["generation"]] += info["collected"]

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + LOOP_TICK_S
            await asyncio.sleep(LOOP_TICK_S)
            self.loop_late.append(max(0.0, loop.time() - due))

    # -- life --------------------------------------------------------------------------------
    def start(self) -> None:
        gc.callbacks.append(self._on_gc)
        self._ticker = asyncio.get_running_loop().create_task(self._tick(), name="stage-ticker")

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._on_gc)
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        summary = self.summary()
        # What app/heap.py held back from the collector and would free at its next thaw
        # (the sockets are closed by now: their objects are garbage, or were freed already).
        gc.unfreeze()
        summary["heap_held_back_freed_at_stop"] = gc.collect()
        self.path.write_text(json.dumps(summary, indent=2) + "\n")

    # -- the file ----------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        rows = [t for t in self.messages.values() if t[5] and t[0]]
        spans: dict[str, list[float]] = {stage: [] for stage in (*STAGES, "total")}
        for t in rows:
            for i, stage in enumerate(STAGES, start=1):
                spans[stage].append(t[i] - t[i - 1])
            spans["total"].append(t[5] - t[0])
        slowest = sorted(rows, key=lambda t: t[5] - t[0], reverse=True)[:25]
        generations: dict[str, list[float]] = {}
        for generation, pause in self.collections:
            generations.setdefault(str(generation), []).append(pause)
        return {
            "stages": list(STAGES),
            "messages": len(rows),
            "noted": len(self.messages),  # stored through the group commit, handed or not
            "stage_ms": {stage: _summary(values) for stage, values in spans.items()},
            "slowest_ms": [
                {stage: _ms(t[i] - t[i - 1]) for i, stage in enumerate(STAGES, start=1)}
                | {"total": _ms(t[5] - t[0])}
                for t in slowest
            ],
            "loop_late_ms": _summary(self.loop_late),
            "loop_stalls_over_10ms": sum(1 for late in self.loop_late if late > 0.010),
            "gc_pause_ms": {
                generation: _summary(pauses) | {"total": _ms(sum(pauses))}
                for generation, pauses in sorted(generations.items())
            },
            "gc_freed": {str(g): n for g, n in enumerate(self.collected)},
            "heap_thaws": [{"pause_ms": _ms(s), "freed": n} for s, n in self.thaws],
            "gc_frozen_at_stop": gc.get_freeze_count(),
            "checkpoint_ms": _summary([seconds for seconds, _ in self.checkpoints])
            | {"restarts": sum(1 for _, restarted in self.checkpoints if restarted)},
        }


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def at(q: float) -> float:
        rank = max(1, -(-round(q * len(ordered), 6) // 1))  # nearest rank
        return _ms(ordered[int(rank) - 1])

    return {
        "n": len(ordered),
        "p50": at(0.5),
        "p99": at(0.99),
        "p99.9": at(0.999),
        "max": _ms(ordered[-1]),
    }


def install(path: str) -> StageRecorder | None:
    """Turn the benchmark mode on (``path`` non-empty) for this process; ``{pid}`` in the
    path becomes the process id, so that several processes may share the setting."""
    global RECORDER
    RECORDER = StageRecorder(Path(path.replace("{pid}", str(os.getpid())))) if path else None
    return RECORDER
