"""What one chat message costs SQLite on the group-commit path, apart from everything else.

    python bench/sqlite_pages.py [--messages 60000] [--conversations 1000] [--batch 10]
                                 [--checkpoint-every 200] [--page-size 4096]

A fresh database in a temporary directory, migrated with ``peerline migrate`` (the real
schema and indexes), ``--conversations`` active conversations, then the chat writer's own
batch function (``app.chat.writer._sqlite_batch``, the production statements on a connection
with the production pragmas) for ``--messages`` messages in batches of ``--batch``, each to a
random conversation, as the seeker. A second connection runs ``PRAGMA wal_checkpoint(PASSIVE)``
every ``--checkpoint-every`` messages, as ``app.db.WalCheckpointer`` does off the event loop.

Prints CPU µs per message (this process's CPU time: the batch, and apart the commit and the
checkpoints) and the log pages one batch writes. ``--page-size`` is set before the schema is
created. Prints figures only; asserts nothing (docs/performance-history.md, session 11).
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.chat.writer import Pending, _sqlite_batch  # noqa: E402
from app.db import connect_sqlite, utcnow  # noqa: E402


def fresh_database(directory: Path, page_size: int) -> str:
    path = str(directory / "pages.db")
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA page_size={page_size}")
        connection.execute("VACUUM")  # the page size takes effect on an empty file
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}"}
    subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return path


def conversations(path: str, count: int) -> list[tuple[str, str]]:
    """``count`` active conversations (id, seeker id); their people are not needed by the
    writer's statements, so foreign keys are off while they are made."""
    made = [(uuid.uuid4().hex, uuid.uuid4().hex) for _ in range(count)]
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA foreign_keys=OFF")
    connection.execute("BEGIN")
    connection.executemany(
        "INSERT INTO conversations (id, seeker_id, volunteer_id, status, language, topics,"
        " priority, queued_at, started_at, last_seq, seeker_read_seq, volunteer_read_seq,"
        " risk_level, outcome_recorded) VALUES (?, ?, ?, 'active', 'en', '[]', 0,"
        " '2026-12-04 00:00:00.000000', '2026-12-04 00:00:00.000000', 0, 0, 0, 'none', 0)",
        [(cid, sid, uuid.uuid4().hex) for cid, sid in made],
    )
    connection.execute("COMMIT")
    connection.close()
    return made


def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="peerline-pages-") as tmp:
        path = fresh_database(Path(tmp), args.page_size)
        convs = conversations(path, args.conversations)
        connection = connect_sqlite(path, timeout=5)
        checkpointer = connect_sqlite(path, timeout=5)
        commit_s = checkpoint_s = 0.0
        frames_seen = 0
        started = time.process_time()
        sent = 0
        while sent < args.messages:
            batch = []
            for _ in range(args.batch):
                cid, sid = random.choice(convs)
                batch.append(
                    Pending(
                        cid,
                        sid,
                        "seeker",
                        "Quiet Owl",
                        f"s{sent}-{uuid.uuid4().hex[:12]}",
                        f"bench seeker {sent} t={time.time_ns()}",
                        utcnow(),
                    )
                )
                sent += 1
            before = time.process_time()
            seqs = _sqlite_batch(connection, batch)
            commit_s += time.process_time() - before
            assert min(seqs) > 0, "a send was refused: the set-up no longer fits the statements"
            if sent % args.checkpoint_every < args.batch:
                before = time.process_time()
                _, frames, _ = checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                checkpoint_s += time.process_time() - before
                frames_seen = frames
        total_s = time.process_time() - started
        # The log pages of one batch, on a log rewound to nothing first.
        checkpointer.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        batch = [
            Pending(cid, sid, "seeker", "Quiet Owl", uuid.uuid4().hex, "hello", utcnow())
            for cid, sid in random.sample(convs, args.batch)
        ]
        _sqlite_batch(connection, batch)
        pages = checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
        connection.close()
        checkpointer.close()
    per = 1e6 / args.messages
    print(
        f"page size {args.page_size}: {total_s * per:.1f} µs a message in all, of which the"
        f" batch function {commit_s * per:.1f} and checkpoints {checkpoint_s * per:.1f};"
        f" {pages} log pages for a batch of {args.batch} ({pages / args.batch:.1f} a message);"
        f" the log held {frames_seen} pages at the last checkpoint"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=60_000)
    parser.add_argument("--conversations", type=int, default=1_000)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--checkpoint-every", type=int, default=200)
    parser.add_argument("--page-size", type=int, default=4096)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
