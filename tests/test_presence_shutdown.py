"""The presence flusher stops when it is cancelled, even when the cancellation comes just as
something woke it: the server's shutdown cancels it and waits for it (on Python 3.11
``asyncio.wait_for`` could swallow such a cancellation, and the server then hung at
"Waiting for application shutdown" after a block or a departure woke the flusher)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from app.bus import MemoryBus
from app.config import Settings
from app.presence import PresenceTracker


async def nobody_to_release(*_: object, **__: object) -> None:
    return None


async def test_a_cancel_that_arrives_with_a_wake_up_stops_the_flusher() -> None:
    # No sockets and nothing arrived: the flusher never needs the database.
    runtime = SimpleNamespace(settings=Settings(), connections={}, bus=MemoryBus())
    tracker = PresenceTracker(runtime, release_absent=nobody_to_release)  # type: ignore[arg-type]
    for _ in range(30):
        task = asyncio.create_task(tracker.run())
        await asyncio.sleep(0.005)  # it waits for a wake-up or the next refresh
        tracker._wake.set()  # a socket left, say; in the same loop turn, the shutdown:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            async with asyncio.timeout(2):
                await task
