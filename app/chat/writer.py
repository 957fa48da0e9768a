"""Group commit for ``chat.send``: many sockets' messages stored in one transaction.

The ordinary path (``service.send``) costs one transaction, a dozen SQLAlchemy calls and as
many hops to the database thread per message; under load the CPU went there, not into
chatting. Here each send joins a batch: while one batch is being written, the next fills up,
so a quiet server writes one message per transaction (no added wait) and a busy one writes
hundreds per commit. Per message it is the same two statements as ``service.send``, run as
plain driver calls:

- SQLite: the whole batch is one synchronous function (``BEGIN IMMEDIATE`` … ``COMMIT``) on
  the writer's own connection, run in the event loop's thread like all SQLite calls here.
- PostgreSQL: one statement per message (a CTE that allocates the seq and inserts), in one
  transaction per batch (a batch of one is its own statement's transaction), on the
  writer's own asyncpg connection.

A message is acknowledged and delivered only after its batch commits. Anything this path
cannot decide (a supervisor writing, a closed or unknown conversation, a resent
``client_msg_id``, a cue in a seeker's words) is answered ``SLOW`` without using a seq, and
the caller takes the general path, which explains refusals and writes cue flags in the same
transaction as the message. A batch that fails as a whole fails every send in it (the client
gets ``unavailable`` and retries with the same id); a batch that fails for any other reason
is retried one message at a time on the general path, so one odd message cannot sink the
others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.bus import Bus, Event
    from app.db import Database

log = logging.getLogger(__name__)

MAX_BATCH = 500
# How long a batch waits for SQLite's write lock held by another process before failing
# (the sends are then answered ``unavailable`` and retried by their clients).
SQLITE_LOCK_WAIT_S = 10.0
SLOW = -1  # this path cannot decide: take the general path (nothing was written)

# The conditions are ``service.access_for``'s write rules in SQL: a seeker writes in their own open
# conversation; anyone else writes as the volunteer of an active one nobody took over.
_SEEKER_MAY_WRITE = "status IN ('waiting', 'active') AND seeker_id = {uid}"
_VOLUNTEER_MAY_WRITE = "status = 'active' AND volunteer_id = {uid} AND lead_staff_id IS NULL"

# Without RETURNING: in SQLite it costs more than the update and a select together.
_SQLITE_NEXT_SEQ = "UPDATE conversations SET last_seq = last_seq + 1 WHERE id = ? AND {cond}"
SQLITE_LAST_SEQ = "SELECT last_seq FROM conversations WHERE id = ?"
SQLITE_NEXT_SEQ = {
    True: _SQLITE_NEXT_SEQ.format(cond=_SEEKER_MAY_WRITE.format(uid="?")),
    False: _SQLITE_NEXT_SEQ.format(cond=_VOLUNTEER_MAY_WRITE.format(uid="?")),
}
SQLITE_INSERT = (
    "INSERT INTO messages (conversation_id, seq, sender_id, sender_role, sender_alias,"
    " client_msg_id, text, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (conversation_id, sender_id, client_msg_id) DO NOTHING"
)
SQLITE_UNDO_SEQ = "UPDATE conversations SET last_seq = last_seq - 1 WHERE id = ?"

# One round trip per message, atomic on its own: lock the conversation row and read the
# next seq, insert, and move last_seq only if the insert happened. A resent client_msg_id
# inserts nothing and uses up no seq (no row comes back: the general path answers it). A
# concurrent sender waits on the row lock and then reads the seq this one left.
_PG_SEND = (
    "WITH s AS (SELECT last_seq + 1 AS seq FROM conversations"
    " WHERE id = $1 AND {cond} FOR UPDATE),"
    " i AS (INSERT INTO messages (conversation_id, seq, sender_id, sender_role, sender_alias,"
    " client_msg_id, text, sent_at) SELECT $1, seq, $2, $3, $4, $5, $6, $7 FROM s"
    " ON CONFLICT (conversation_id, sender_id, client_msg_id) DO NOTHING RETURNING seq),"
    " u AS (UPDATE conversations SET last_seq = i.seq FROM i WHERE conversations.id = $1)"
    " SELECT seq FROM i"
)
PG_SEND = {
    True: _PG_SEND.format(cond=_SEEKER_MAY_WRITE.format(uid="$2")),
    False: _PG_SEND.format(cond=_VOLUNTEER_MAY_WRITE.format(uid="$2")),
}


@dataclass(slots=True)
class Pending:
    """One send waiting for its batch. ``seq`` is set on commit (``SLOW``: not written)."""

    conversation_id: str
    sender_id: str
    sender_role: str  # "seeker" or "volunteer"
    sender_alias: str
    client_msg_id: str
    text: str
    sent_at: datetime
    # Called right after the commit, before the fan-out: the sender's ack goes out first.
    on_commit: Callable[[int], None] | None = field(default=None, repr=False)
    # The (channel, event) that delivers the message, given its seq.
    announce: Callable[[int], tuple[str, Event]] | None = field(default=None, repr=False)
    future: asyncio.Future[int] | None = field(default=None, repr=False)


class MessageWriter:
    """Queue sends; one task writes them in batches, in arrival order."""

    def __init__(self, db: Database, bus: Bus, *, sqlite_synchronous: str = "NORMAL") -> None:
        self.db = db
        self.bus = bus
        self.dialect = db.engine.dialect.name
        self.sqlite_synchronous = sqlite_synchronous
        self._sqlite: sqlite3.Connection | None = None
        self._pg: Any = None
        self._queue: list[Pending] = []
        self._task: asyncio.Task[None] | None = None

    async def write(self, pending: Pending) -> int:
        """The message's seq once committed and announced, or ``SLOW``. Raises what the
        database raised if the batch could not be stored."""
        loop = asyncio.get_running_loop()
        pending.future = loop.create_future()
        self._queue.append(pending)
        if self._task is None:
            self._task = loop.create_task(self._run(), name="chat-writer")
        return await pending.future

    async def drain(self) -> None:
        """Wait for the batch in flight and those queued (shutdown: finish what was sent)."""
        while self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._task)

    async def _run(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                await self._write_batch(batch)
        finally:
            self._task = None
            if self._queue:  # cancelled mid-way: nobody may wait for ever
                for pending in self._queue:
                    _fail(pending, RuntimeError("writer stopped"))
                self._queue = []

    async def _write_batch(self, batch: list[Pending]) -> None:
        from app.db import is_unavailable_error

        try:
            if self.dialect == "sqlite":
                seqs = await self._store_sqlite(batch)
            else:
                seqs = await self._store_postgres(batch)
        except Exception as exc:
            # Unreachable database: every send in the batch fails (no ack; the client
            # retries with the same id). Anything else: each goes the general path alone.
            if is_unavailable_error(exc):
                for pending in batch:
                    _fail(pending, exc)
            else:
                log.warning("message batch failed (%s); retrying one by one", type(exc).__name__)
                for pending in batch:
                    _settle(pending, SLOW)
            return
        except BaseException:
            for pending in batch:
                _fail(pending, RuntimeError("writer stopped"))
            raise
        announced = []
        for pending, seq in zip(batch, seqs, strict=True):
            if seq != SLOW:
                if pending.on_commit is not None:
                    pending.on_commit(seq)
                if pending.announce is not None:
                    announced.append(pending.announce(seq))
        if announced:
            with contextlib.suppress(Exception):
                await self.bus.publish_many(announced)
        for pending, seq in zip(batch, seqs, strict=True):
            _settle(pending, seq)

    async def _store_sqlite(self, batch: list[Pending]) -> list[int]:
        """Write the batch on this writer's own connection, inline (see ``app.db``).

        SQLite has one writer at a time: the batch runs only while the ORM's writer
        connection is in its pool (no unit of work half done), and a lock held by another
        process (or by the checkpointer rewinding the log, see ``app.db.WalCheckpointer``) is
        waited out here, in asyncio, never in SQLite's busy handler (which would stall the
        whole event loop), in steps of at most 5 ms so a batch starts soon after the lock
        goes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SQLITE_LOCK_WAIT_S
        delay = 0.001
        while True:
            await self.db.writer_idle.wait()
            try:
                return _sqlite_batch(self._sqlite_connection(), batch)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or loop.time() > deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.005)

    def _sqlite_connection(self) -> sqlite3.Connection:
        if self._sqlite is None:
            connection = sqlite3.connect(
                self.db.engine.url.database or ":memory:", timeout=0, isolation_level=None
            )
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(f"PRAGMA synchronous={self.sqlite_synchronous}")
            connection.execute("PRAGMA foreign_keys=ON")
            connection.execute("PRAGMA wal_autocheckpoint=0")  # see app.db.WalCheckpointer
            self._sqlite = connection
        return self._sqlite

    async def _store_postgres(self, batch: list[Pending]) -> list[int]:
        """The batch in one transaction on this writer's own asyncpg connection (a pooled
        SQLAlchemy connection costs more to check out than a small batch to write)."""
        if self._pg is None or self._pg.is_closed():
            import asyncpg

            url = self.db.engine.url.set(drivername="postgresql")
            self._pg = await asyncpg.connect(
                url.render_as_string(hide_password=False), timeout=5, command_timeout=10
            )
        connection = self._pg
        try:
            if len(batch) == 1:  # one statement is its own transaction: no BEGIN, no COMMIT
                return [await self._pg_send(connection, batch[0])]
            # Each send locks its conversation's row until the commit. Two processes' batches
            # taking rows in arrival order deadlocked (A then B against B then A); in
            # conversation order they cannot. The sort is stable: one conversation's
            # messages keep their order.
            seqs = [SLOW] * len(batch)
            async with connection.transaction():
                for i in sorted(range(len(batch)), key=lambda i: batch[i].conversation_id):
                    seqs[i] = await self._pg_send(connection, batch[i])
            return seqs
        except BaseException:
            # Whatever state the link is in, the next batch starts on a fresh one.
            self._pg = None
            connection.terminate()
            raise

    @staticmethod
    async def _pg_send(connection: Any, p: Pending) -> int:
        seq = await connection.fetchval(
            PG_SEND[p.sender_role == "seeker"],
            p.conversation_id,
            p.sender_id,
            p.sender_role,
            p.sender_alias,
            p.client_msg_id,
            p.text,
            p.sent_at,
        )
        return SLOW if seq is None else int(seq)

    async def close(self) -> None:
        await self.drain()
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
        if self._pg is not None:
            await self._pg.close(timeout=2)
            self._pg = None


def _settle(pending: Pending, seq: int) -> None:
    if pending.future is not None and not pending.future.done():
        pending.future.set_result(seq)


def _fail(pending: Pending, exc: BaseException) -> None:
    if pending.future is not None and not pending.future.done():
        pending.future.set_exception(exc)


def _sqlite_batch(connection: sqlite3.Connection, batch: list[Pending]) -> list[int]:
    """One transaction for the batch on the writer's own SQLite connection."""
    seqs: list[int] = []
    connection.execute("BEGIN IMMEDIATE")
    try:
        for p in batch:
            allowed = connection.execute(
                SQLITE_NEXT_SEQ[p.sender_role == "seeker"], (p.conversation_id, p.sender_id)
            ).rowcount
            if not allowed:
                seqs.append(SLOW)
                continue
            seq = connection.execute(SQLITE_LAST_SEQ, (p.conversation_id,)).fetchone()[0]
            inserted = connection.execute(
                SQLITE_INSERT,
                (
                    p.conversation_id,
                    seq,
                    p.sender_id,
                    p.sender_role,
                    p.sender_alias,
                    p.client_msg_id,
                    p.text,
                    sqlite_timestamp(p.sent_at),
                ),
            ).rowcount
            if inserted == 0:  # a resend: give the seq back, the general path answers it
                connection.execute(SQLITE_UNDO_SEQ, (p.conversation_id,))
                seqs.append(SLOW)
            else:
                seqs.append(seq)
        connection.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            connection.execute("ROLLBACK")
        raise
    return seqs


def sqlite_timestamp(value: datetime) -> str:
    """The text SQLAlchemy's SQLite ``DateTime`` stores: naive UTC with microseconds."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
