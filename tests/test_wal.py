"""SQLite's write-ahead log stays bounded while writes never stop (app.db.WalCheckpointer)."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

from app.db import WalCheckpointer

PAGE = 4096
REWIND = 256  # pages


def write_steadily(
    path: Path, rows_wanted: int, wal_sizes: list[int], pause_s: float, rows_per_commit: int
) -> int:
    """Commit transactions one after another, as the chat writer does under load, with
    ``pause_s`` between two, until ``rows_wanted`` rows are in (or 60 s pass); note the log's
    size after each. Returns the rows written.

    A count rather than a time: on a loaded machine a fixed 2 s wrote too few rows for the
    log to have outgrown its bound without the checkpointer, and the test proved nothing."""
    connection = sqlite3.connect(path, timeout=5, isolation_level=None)
    connection.execute("PRAGMA wal_autocheckpoint=0")
    rows = 0
    deadline = time.monotonic() + 60
    while rows < rows_wanted and time.monotonic() < deadline:
        connection.execute("BEGIN IMMEDIATE")
        for _ in range(rows_per_commit):
            connection.execute("INSERT INTO t (body) VALUES (?)", (os.urandom(1500),))
        connection.execute("COMMIT")
        rows += rows_per_commit
        wal_sizes.append(os.path.getsize(f"{path}-wal"))
        time.sleep(pause_s)
    connection.close()
    return rows


def run(
    tmp_path: Path, *, rows: int, pause_s: float, rows_per_commit: int, interval_s: float
) -> tuple[int, int, int, int]:
    path = tmp_path / "wal.db"
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
    checkpointer = WalCheckpointer(str(path), interval_s=interval_s, rewind_after_frames=REWIND)
    checkpointer.start()
    sizes: list[int] = []
    result: list[int] = []
    writer = threading.Thread(
        target=lambda: result.append(write_steadily(path, rows, sizes, pause_s, rows_per_commit))
    )
    writer.start()
    writer.join()
    checkpointer.stop()
    stored = setup.execute("SELECT count(*) FROM t").fetchone()[0]
    setup.close()
    return result[0], stored, max(sizes), checkpointer.restarts


def test_the_log_rewinds_by_itself_when_the_writer_pauses_between_batches(
    tmp_path: Path,
) -> None:
    # The chat writer starts a batch at least CHAT_COMMIT_INTERVAL_S (7.5 ms; 5 ms here, a
    # busier writer) after the last; each checkpoint copies many batches, and writes land
    # while it copies. Before the catch-up, this needed 4-5 RESTART checkpoints (and the log
    # reached 1,400 pages).
    written, stored, biggest, restarts = run(
        tmp_path, rows=6000, pause_s=0.005, rows_per_commit=20, interval_s=0.2
    )
    # 6,000 rows of 1.5 KB fill far more than the bound below (8 * REWIND pages, 8 MiB).
    assert stored == written == 6000
    assert restarts == 0, "a RESTART checkpoint held the writer back"
    # Bounded: a quiet machine stays under 4 * REWIND pages (where RESTART would come); a
    # loaded one lets the log grow while the catch-up waits for its core.
    assert biggest < 8 * REWIND * PAGE, f"log reached {biggest} bytes"


def test_the_log_is_rewound_although_a_write_is_always_in_flight(tmp_path: Path) -> None:
    # A writer that never pauses: catching up may never end with nothing left to copy, and
    # the RESTART checkpoint bounds the log (at four times REWIND pages).
    written, stored, biggest, _ = run(
        tmp_path, rows=3000, pause_s=0.0002, rows_per_commit=1, interval_s=0.02
    )
    assert stored == written == 3000
    # Written this way without restarts the log reached tens of MB (3,000 commits).
    assert biggest < 8 * REWIND * PAGE, f"log reached {biggest} bytes"
