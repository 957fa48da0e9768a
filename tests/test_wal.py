"""SQLite's write-ahead log stays bounded while writes never stop (app.db.WalCheckpointer)."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

from app.db import WalCheckpointer

PAGE = 4096


def write_steadily(path: Path, seconds: float, wal_sizes: list[int]) -> int:
    """Commit small transactions one after another, as the chat writer does under load; note
    the log's size after each. Returns the rows written."""
    connection = sqlite3.connect(path, timeout=5, isolation_level=None)
    connection.execute("PRAGMA wal_autocheckpoint=0")
    rows = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("INSERT INTO t (body) VALUES (?)", (os.urandom(1500),))
        connection.execute("COMMIT")
        rows += 1
        wal_sizes.append(os.path.getsize(f"{path}-wal"))
        time.sleep(0.0002)  # the event loop's other work between two batches
    connection.close()
    return rows


def run(tmp_path: Path, restart_after_frames: int) -> tuple[int, int, int]:
    path = tmp_path / "wal.db"
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
    checkpointer = WalCheckpointer(
        str(path), interval_s=0.02, restart_after_frames=restart_after_frames
    )
    checkpointer.start()
    sizes: list[int] = []
    result: list[int] = []
    writer = threading.Thread(target=lambda: result.append(write_steadily(path, 2.0, sizes)))
    writer.start()
    writer.join()
    checkpointer.stop()
    stored = setup.execute("SELECT count(*) FROM t").fetchone()[0]
    setup.close()
    return result[0], stored, max(sizes)


def test_the_log_is_rewound_although_a_write_is_always_in_flight(tmp_path: Path) -> None:
    written, stored, biggest = run(tmp_path, restart_after_frames=256)
    assert stored == written > 500
    # Written this way without restarts the log reached tens of MB in the same 2 s.
    assert biggest < 8 * 256 * PAGE, f"log reached {biggest} bytes"
