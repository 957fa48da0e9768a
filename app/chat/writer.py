"""Group commit for ``chat.send``: many sockets' messages stored in one transaction.

The ordinary path (``sending.send_carefully``) costs one transaction, a dozen SQLAlchemy
calls and as many hops to the database thread per message; under load the CPU went there,
not into chatting. Here each send joins a batch: while one batch is being written, the next
fills up, so a quiet server writes one message per transaction (no added wait) and a busy one
writes hundreds per commit. Per message it is the same two statements as the ordinary path,
run as plain driver calls:

- SQLite: the whole batch is one synchronous function (``BEGIN IMMEDIATE`` … ``COMMIT``) on
  the writer's own connection, run in the event loop's thread like all SQLite calls here.
- PostgreSQL: one statement per round of the batch (arrays of sends, each conversation at
  most once: a CTE that locks the rows, allocates the seqs and inserts), so a batch is one
  round trip when no conversation sends twice in it; a batch of one round is its own
  statement's transaction. On the writer's own asyncpg connection.

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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from app import metrics, outbound, stages
from app.chat.policy import WRITABLE_STATUSES, Writer
from app.db import connect_sqlite, is_unavailable_error

if TYPE_CHECKING:
    from app.bus import Bus
    from app.chat.events import MessageStored
    from app.db import Database

log = logging.getLogger(__name__)

MAX_BATCH = 500
# How long a batch waits for SQLite's write lock held by another process before failing
# (the sends are then answered ``unavailable`` and retried by their clients).
SQLITE_LOCK_WAIT_S = 10.0
SLOW = -1  # this path cannot decide: take the general path (nothing was written)


def _statuses(writer: Writer) -> str:
    return ", ".join(f"'{status}'" for status in WRITABLE_STATUSES[writer])


# ``app.chat.policy.write_refusal`` in SQL, for the two writers this path serves: a seeker
# writes in their own open conversation; a volunteer in their active one nobody took over
# (tests/chat/test_policy.py checks these against the rule). ``{c}`` is the conversations
# table's qualifier ("" or "c.").
_SEEKER_MAY_WRITE = f"{{c}}status IN ({_statuses(Writer.seeker)}) AND {{c}}seeker_id = {{uid}}"
_VOLUNTEER_MAY_WRITE = (
    f"{{c}}status IN ({_statuses(Writer.volunteer)}) AND {{c}}volunteer_id = {{uid}}"
    " AND {c}lead_staff_id IS NULL"
)

# Without RETURNING: in SQLite it costs more than the update and a select together.
_SQLITE_NEXT_SEQ = "UPDATE conversations SET last_seq = last_seq + 1 WHERE id = ? AND {cond}"
SQLITE_LAST_SEQ = "SELECT last_seq FROM conversations WHERE id = ?"
SQLITE_NEXT_SEQ = {
    True: _SQLITE_NEXT_SEQ.format(cond=_SEEKER_MAY_WRITE.format(c="", uid="?")),
    False: _SQLITE_NEXT_SEQ.format(cond=_VOLUNTEER_MAY_WRITE.format(c="", uid="?")),
}
SQLITE_INSERT = (
    "INSERT INTO messages (conversation_id, seq, sender_id, sender_role, sender_alias,"
    " client_msg_id, text, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (conversation_id, sender_id, client_msg_id) DO NOTHING"
)
SQLITE_UNDO_SEQ = "UPDATE conversations SET last_seq = last_seq - 1 WHERE id = ?"

# One round trip for a round of sends (each conversation at most once in it), atomic on its
# own: lock the conversations' rows in id order (every one named, even where the send is
# refused, so a later round of the batch takes no new lock) and read each next seq, insert,
# and move last_seq only where the insert happened. A send its sender may not make, or a resent
# client_msg_id, inserts nothing and uses up no seq (no row comes back: the general path
# answers it). A concurrent sender waits on the row lock and then reads the seq this one
# left (READ COMMITTED re-reads a locked row's newest version).
PG_SEND_ROUND = (
    "WITH b AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],"
    " $5::text[], $6::text[], $7::timestamptz[])"
    " AS b(conversation_id, sender_id, sender_role, sender_alias, client_msg_id, body, sent_at)),"
    " s AS (SELECT c.id, c.last_seq + 1 AS seq, CASE WHEN b.sender_role = 'seeker'"
    f" THEN {_SEEKER_MAY_WRITE.format(c='c.', uid='b.sender_id')}"
    f" ELSE {_VOLUNTEER_MAY_WRITE.format(c='c.', uid='b.sender_id')} END AS may_write"
    " FROM conversations c JOIN b ON b.conversation_id = c.id"
    " ORDER BY c.id FOR UPDATE OF c),"
    " i AS (INSERT INTO messages (conversation_id, seq, sender_id, sender_role, sender_alias,"
    " client_msg_id, text, sent_at)"
    " SELECT b.conversation_id, s.seq, b.sender_id, b.sender_role, b.sender_alias,"
    " b.client_msg_id, b.body, b.sent_at FROM b JOIN s ON s.id = b.conversation_id"
    " WHERE s.may_write ON CONFLICT (conversation_id, sender_id, client_msg_id) DO NOTHING"
    " RETURNING conversation_id, seq),"
    " u AS (UPDATE conversations SET last_seq = i.seq FROM i"
    " WHERE conversations.id = i.conversation_id)"
    " SELECT conversation_id, seq FROM i"
)


def pg_rounds(batch: list[Pending]) -> list[list[int]]:
    """The batch's indexes in rounds, each conversation at most once per round and its
    messages in arrival order across rounds: a conversation's second message in the batch
    goes in the second round, and so on. Every conversation of a later round is in the
    first, so all row locks are taken by the first round's statement, in id order."""
    rounds: list[list[int]] = []
    seen: dict[str, int] = {}
    for index, pending in enumerate(batch):
        k = seen.get(pending.conversation_id, 0)
        seen[pending.conversation_id] = k + 1
        if k == len(rounds):
            rounds.append([])
        rounds[k].append(index)
    return rounds


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
    # The stored message, given its seq (``app.outbound`` delivers it).
    announce: Callable[[int], MessageStored] | None = field(default=None, repr=False)
    future: asyncio.Future[int] | None = field(default=None, repr=False)
    # Benchmark mode only (app/stages.py): when its frame was received and queued here.
    received_at: float = field(default=0.0, repr=False)
    queued_at: float = field(default=0.0, repr=False)


class MessageWriter:
    """Queue sends; one task writes them in batches, in arrival order.

    A batch starts at least ``commit_interval_s`` after the previous one committed. Without
    that pause a batch is whatever arrived during one turn of the event loop (1.6 messages a
    commit at 2,000 messages a second), and most of a commit's cost is per commit, not per
    message: the locks, the log's frame headers, and the pages of conversation rows and
    indexes, each written once however many of the batch's messages touched them. A message
    that arrives after a quiet spell waits for nothing. (Measured: README, Performance.)
    """

    def __init__(
        self,
        db: Database,
        bus: Bus,
        *,
        sqlite_synchronous: str = "NORMAL",
        commit_interval_s: float = 0.0,
    ) -> None:
        self.db = db
        self.bus = bus
        self.dialect = db.engine.dialect.name
        self.sqlite_synchronous = sqlite_synchronous
        self.commit_interval_s = commit_interval_s
        self._last_commit = float("-inf")
        self._sqlite: sqlite3.Connection | None = None
        self._pg: Any = None
        self._queue: list[Pending] = []
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def write(self, pending: Pending) -> int:
        """The message's seq once committed and announced, or ``SLOW``. Raises what the
        database raised if the batch could not be stored."""
        loop = self._loop
        if loop is None:  # kept: on Python 3.11 get_running_loop() is a getpid() system call
            loop = self._loop = asyncio.get_running_loop()
        pending.future = loop.create_future()
        if stages.RECORDER is not None:
            pending.received_at = stages.RECEIVED.get()
            pending.queued_at = time.perf_counter()
        self._queue.append(pending)
        if self._task is None:
            self._task = loop.create_task(self._run(), name="chat-writer")
        return await pending.future

    def last_commit(self) -> float:
        """The event loop's time of the last batch committed (``-inf``: none yet)."""
        return self._last_commit

    async def drain(self) -> None:
        """Wait for the batch in flight and those queued (shutdown: finish what was sent)."""
        while self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._task)

    async def _run(self) -> None:
        loop = self._loop or asyncio.get_running_loop()
        try:
            while self._queue:
                pause = self._last_commit + self.commit_interval_s - loop.time()
                if pause > 0:
                    await asyncio.sleep(pause)
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                await self._write_batch(batch)
                self._last_commit = loop.time()
        finally:
            self._task = None
            if self._queue:  # cancelled mid-way: nobody may wait for ever
                for pending in self._queue:
                    _fail(pending, RuntimeError("writer stopped"))
                self._queue = []

    async def _write_batch(self, batch: list[Pending]) -> None:
        started = time.perf_counter()
        try:
            if self.dialect == "sqlite":
                seqs = await self._store_sqlite(batch)
            else:
                seqs = await self._store_postgres(batch)
            committed = time.perf_counter()
            metrics.batch_committed(committed - started)
        except Exception as exc:
            # Unreachable database: every send in the batch fails (no ack; the client
            # retries with the same id). Anything else: each goes the general path alone.
            if is_unavailable_error(exc):
                for pending in batch:
                    _fail(pending, exc)
            else:
                log.warning(
                    "message batch failed (%s); retrying one by one",
                    type(exc).__name__,
                    extra={"event": "chat.batch_failed", "batch": len(batch)},
                )
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
                    announced.append(outbound.message_delivery(pending.announce(seq)))
        if stages.RECORDER is not None:  # before the fan-out, which hands frames over
            _note_stages(stages.RECORDER, batch, seqs, started, committed)
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
            # The same pragmas as the engine's writer (app.db.SQLITE_PRAGMAS); timeout 0:
            # a lock is waited out in asyncio, see _store_sqlite.
            self._sqlite = connect_sqlite(
                self.db.engine.url.database or ":memory:",
                timeout=0,
                synchronous=self.sqlite_synchronous,
            )
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
            rounds = pg_rounds(batch)
            if len(rounds) == 1:  # one statement is its own transaction: no BEGIN, no COMMIT
                return await self._pg_round(connection, batch)
            # Each round's statement locks its conversations' rows until the commit, in id
            # order (two processes' batches taking rows in arrival order deadlocked: A then
            # B against B then A); later rounds only revisit rows the first one holds.
            seqs = [SLOW] * len(batch)
            async with connection.transaction():
                for indexes in rounds:
                    stored = await self._pg_round(connection, [batch[i] for i in indexes])
                    for i, seq in zip(indexes, stored, strict=True):
                        seqs[i] = seq
            return seqs
        except BaseException:
            # Whatever state the link is in, the next batch starts on a fresh one.
            self._pg = None
            connection.terminate()
            raise

    @staticmethod
    async def _pg_round(connection: Any, sends: list[Pending]) -> list[int]:
        """Store one round (distinct conversations) in one statement; the seqs in order."""
        rows = await connection.fetch(
            PG_SEND_ROUND,
            [p.conversation_id for p in sends],
            [p.sender_id for p in sends],
            [p.sender_role for p in sends],
            [p.sender_alias for p in sends],
            [p.client_msg_id for p in sends],
            [p.text for p in sends],
            [p.sent_at for p in sends],
        )
        stored = {row[0]: row[1] for row in rows}
        return [stored.get(p.conversation_id, SLOW) for p in sends]

    async def close(self) -> None:
        await self.drain()
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
        if self._pg is not None:
            await self._pg.close(timeout=2)
            self._pg = None


def _note_stages(
    recorder: stages.StageRecorder,
    batch: list[Pending],
    seqs: list[int],
    started: float,
    committed: float,
) -> None:
    published = time.perf_counter()
    for pending, seq in zip(batch, seqs, strict=True):
        if seq != SLOW and pending.received_at:
            recorder.stored(
                (pending.conversation_id, seq),
                pending.received_at,
                pending.queued_at,
                started,
                committed,
                published,
            )


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
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")
