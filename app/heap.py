"""Keep CPython's garbage collector from pausing live chats (issue #19).

A full collection (generation 2) walks every object the collector tracks and stops the event
loop while it does. With 1,200 sockets open that walk took 87-150 ms, and every message in
flight waited behind it: those messages were the run's p99.9. Almost everything it walked
was alive and stayed alive (the app's own machinery, and each socket's objects for as long
as its chat lasts), so the walk found nearly nothing to free.

So the collector is shown only what may be garbage:

- ``settle_heap`` (at start-up): collect once, then ``gc.freeze()`` everything loaded at
  start-up (SQLAlchemy's and pydantic's machinery, the app, the clinical data), which lives as
  long as the process.
- ``HeapKeeper``: every time a middle collection (generation 1) has run, the objects it just
  promoted to the old generation are frozen too (``gc.freeze()`` is a list splice, O(1)).
  Young collections still free short-lived cycles every few milliseconds as before, and what
  survived two of them is set aside; a full collection then walks only what was promoted since
  the last middle collection, which is next to nothing.
- What is set aside and later becomes a garbage cycle (a closed socket's objects, say) is not
  freed until the keeper thaws the heap (``gc.unfreeze()``) and collects it all once: when the
  service is quiet (no chat message stored for ``QUIET_S``) and at least ``THAW_MIN_S`` after
  the last thaw, or after ``THAW_MAX_S`` whatever the load. That one walk is the pause the
  automatic collections used to make every ~25 s under load; now it comes at a quiet moment,
  or once an hour at the most. Each thaw is logged (``heap.thawed``) with its pause and the
  number of objects it freed, so memory held back between thaws is visible.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

# Middle collections between two full ones (CPython's default is 10). Full collections walk
# next to nothing once the keeper runs, but a process without one (tests) keeps them rare.
FULL_GC_EVERY = 100
QUIET_S = 2.0  # no chat message stored for this long: a good moment to thaw
THAW_MIN_S = 600.0
THAW_MAX_S = 3600.0
TICK_S = 1.0


def settle_heap() -> None:
    """Set aside everything loaded at start-up, which lives as long as the process."""
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_GC_EVERY)


class HeapKeeper:
    """Freeze what survives middle collections; thaw and collect it all at quiet moments.

    ``last_activity`` gives the loop time of the last chat message stored (the chat writer's
    last commit); ``on_thaw`` (benchmark mode) is told each thaw's pause and objects freed.
    """

    def __init__(
        self,
        last_activity: Callable[[], float],
        *,
        quiet_s: float = QUIET_S,
        thaw_min_s: float = THAW_MIN_S,
        thaw_max_s: float = THAW_MAX_S,
        on_thaw: Callable[[float, int], None] | None = None,
    ) -> None:
        self.last_activity = last_activity
        self.quiet_s = quiet_s
        self.thaw_min_s = thaw_min_s
        self.thaw_max_s = thaw_max_s
        self.on_thaw = on_thaw
        self.thaws = 0
        self._last_thaw = time.monotonic()

    # -- the freezing ------------------------------------------------------------------------
    def _after_collection(self, phase: str, info: dict[str, int]) -> None:
        # After a middle or full collection the old generation holds only what it just
        # promoted: objects alive right now.
        if phase == "stop" and info["generation"] >= 1:
            gc.freeze()

    def start(self) -> None:
        if self._after_collection not in gc.callbacks:
            gc.callbacks.append(self._after_collection)

    def stop(self) -> None:
        if self._after_collection in gc.callbacks:
            gc.callbacks.remove(self._after_collection)

    # -- the thawing -------------------------------------------------------------------------
    def due(self, now: float, loop_now: float) -> bool:
        since = now - self._last_thaw
        if since >= self.thaw_max_s:
            return True
        return since >= self.thaw_min_s and loop_now - self.last_activity() >= self.quiet_s

    def thaw(self) -> int:
        """Collect everything set aside since start-up or the last thaw; set the survivors
        aside again. Returns the number of objects freed."""
        started = time.perf_counter()
        gc.unfreeze()
        freed = gc.collect()
        gc.freeze()
        pause = time.perf_counter() - started
        self._last_thaw = time.monotonic()
        self.thaws += 1
        log.info(
            "heap thawed and collected",
            extra={
                "event": "heap.thawed",
                "pause_ms": round(pause * 1000, 1),
                "freed": freed,
                "kept": gc.get_freeze_count(),
            },
        )
        if self.on_thaw is not None:
            self.on_thaw(pause, freed)
        return freed

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self.start()
        try:
            while True:
                await asyncio.sleep(TICK_S)
                if self.due(time.monotonic(), loop.time()):
                    self.thaw()
        finally:
            self.stop()
