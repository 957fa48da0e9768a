"""The garbage collector is kept from pausing live chats (app/heap.py, issue #19): what
survives a middle collection is set aside, so a full collection walks next to nothing; a
garbage cycle set aside is freed when the keeper thaws the heap, at a quiet moment or after
an hour at the most."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from app.heap import HeapKeeper


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


@pytest.fixture
def keeper() -> Iterator[HeapKeeper]:
    gc.collect()
    keeper = HeapKeeper(lambda: 0.0, quiet_s=2.0, thaw_min_s=600.0, thaw_max_s=3600.0)
    keeper.start()
    yield keeper
    keeper.stop()
    gc.unfreeze()
    gc.collect()


def test_what_survives_a_middle_collection_is_out_of_a_full_ones_sight(
    keeper: HeapKeeper,
) -> None:
    kept = [Node() for _ in range(5_000)]
    frozen = gc.get_freeze_count()
    gc.collect(1)
    assert gc.get_freeze_count() >= frozen + len(kept)
    # A full collection no longer sees them: after it, no generation holds them.
    gc.collect()
    assert not any(isinstance(o, Node) for o in gc.get_objects())


def test_a_cycle_set_aside_is_freed_at_the_thaw(keeper: HeapKeeper) -> None:
    garbage = [Node() for _ in range(1_000)]
    gc.collect(1)  # they survive it, and are set aside
    del garbage
    assert gc.collect() < 1_000  # not seen by full collections
    assert keeper.thaw() >= 1_000
    assert keeper.thaws == 1
    assert gc.get_freeze_count() > 0  # the survivors are set aside again


def test_a_thaw_comes_at_a_quiet_moment_or_once_an_hour() -> None:
    busy_until = [100.0]  # the loop time of the last chat message stored
    keeper = HeapKeeper(lambda: busy_until[0], quiet_s=2.0, thaw_min_s=600.0, thaw_max_s=3600.0)
    start = keeper._last_thaw
    assert not keeper.due(start + 10, loop_now=500.0)  # quiet, but a thaw ran 10 s ago
    assert keeper.due(start + 601, loop_now=500.0)  # quiet for 400 s, and 601 s since
    busy_until[0] = 499.5
    assert not keeper.due(start + 601, loop_now=500.0)  # a message half a second ago
    assert keeper.due(start + 3601, loop_now=500.0)  # an hour under load: now, anyway
