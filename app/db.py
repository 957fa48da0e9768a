"""Database plumbing: the engine, the declarative base and the unit of work.

One transaction boundary: ``UnitOfWork`` commits on success and rolls back on error;
services only ``flush()``. Bus events queued during the unit of work are published after the
commit and dropped on rollback, so a message is durable before anyone is told it exists.
Services record domain events (``uow.record``); ``app.outbound`` turns them into frames on
channels once the transaction has committed.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import aiosqlite
from pydantic import BeforeValidator
from sqlalchemy import DateTime, MetaData, event, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from app import metrics, outbound, stages
from app.config import normalise_database_url
from app.errors import Unavailable

if TYPE_CHECKING:
    from app.bus import Bus

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """A time from a request in UTC; one without a zone is taken to be UTC already."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso_time_text(value: object) -> object:
    """A request's time is an ISO 8601 string: pydantic would read a number, or a number in a
    string, as Unix seconds. As everywhere in a request, another type is never converted."""
    if not isinstance(value, str) or value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError("a time is an ISO 8601 string, such as 2026-12-07T09:00:00Z")
    return value


# A time in a query (``since``, ``until``): ISO 8601, a date or a time, without a zone UTC.
QueryTime = Annotated[datetime, BeforeValidator(iso_time_text)]


def new_id() -> str:
    return uuid.uuid4().hex


# aiosqlite's private internals that InlineConnection relies on (pyproject.toml pins
# aiosqlite to the 0.22 series it was tested on): ``Connection.__init__(connector,
# iter_chunk_size)``; ``_tx``, the queue to its thread, which ``_execute``, ``_connect`` and
# ``stop`` feed with ``put_nowait((future, function))`` (SQLAlchemy's aiosqlite dialect feeds it
# too); ``_connect()``, the coroutine ``__await__`` runs after starting ``_thread``; and
# ``_connection``/``_conn``, the sqlite3 connection. ``check_aiosqlite`` runs at import and
# raises when one is gone (no fallback); tests/test_private_apis.py runs it and the inline
# connection itself.
AIOSQLITE_TESTED = "0.22."
AIOSQLITE_PRIVATE_PARTS = ("_tx", "_thread", "_connection", "_connector", "_running")
AIOSQLITE_PRIVATE_METHODS = ("_connect", "_execute", "_conn", "stop", "__await__")


def check_aiosqlite(
    connection_class: type = aiosqlite.Connection, version: str | None = None
) -> None:
    """Raise ``RuntimeError`` naming what changed if aiosqlite's ``Connection`` is not the
    one ``InlineConnection`` was written against."""
    version = aiosqlite.__version__ if version is None else version
    problems = []
    if not version.startswith(AIOSQLITE_TESTED):
        problems.append(f"aiosqlite {version} is installed, tested on {AIOSQLITE_TESTED}x")
    init = getattr(connection_class, "__init__", None)
    try:
        parameters = list(inspect.signature(init).parameters)[1:3]
    except (TypeError, ValueError):
        parameters = []
    if parameters != ["connector", "iter_chunk_size"]:
        problems.append(f"__init__ takes {parameters}, not [connector, iter_chunk_size]")
    code = getattr(init, "__code__", None)
    init_sets = set(code.co_names) if code is not None else set()
    problems += [
        f"__init__ no longer sets {n}" for n in AIOSQLITE_PRIVATE_PARTS if n not in init_sets
    ]
    problems += [
        f"{n} is gone" for n in AIOSQLITE_PRIVATE_METHODS if not hasattr(connection_class, n)
    ]
    if not inspect.iscoroutinefunction(getattr(connection_class, "_connect", None)):
        problems.append("_connect is no longer a coroutine function")
    if problems:
        raise RuntimeError(
            "app.db.InlineConnection relies on aiosqlite's private internals, and they "
            "changed: " + "; ".join(problems) + ". Install aiosqlite 0.22.x (pyproject.toml "
            "pins it) or update app/db.py and tests/test_private_apis.py."
        )


check_aiosqlite()


class _RunNow:
    """Stands in for aiosqlite's queue to its thread: runs each call at once, here."""

    def put_nowait(self, item: tuple[Any, Any]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:
            if future is not None:
                future.set_exception(exc)
            return
        if future is not None:
            future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """aiosqlite's interface with every call made in the event loop's own thread.

    aiosqlite hands each call to a thread of its own and back. For SQLite on a local disk
    the calls themselves take microseconds; the hand-offs cost more than the work, and under
    load each one also waits for the GIL (up to the 5 ms switch interval) while the loop
    runs Python. So the embedded default runs SQLite inline: a statement blocks the loop for
    its few microseconds, and nothing waits for a thread. Writers never wait for each other
    on SQLite's lock either: one writer connection per process, and every awaited call
    finishes before the loop moves on.
    """

    def __init__(self, connector: Any) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _RunNow()  # type: ignore[assignment]

    def __await__(self):  # type: ignore[no-untyped-def]
        return self._connect().__await__()  # no thread to start


# The pragmas of every connection that writes, in one place: the engine's writer and the
# chat writer's own connection (app.chat.writer) both come from ``connect_sqlite``.
# - WAL: readers never block the writer, nor it them;
# - synchronous: NORMAL by default (SQLITE_SYNCHRONOUS; FULL for power-loss durability);
# - foreign keys enforced;
# - wal_autocheckpoint=0: no checkpoint inside a commit (WalCheckpointer runs them);
# - secure_delete: deleted rows are overwritten with zeros, so text that retention deleted
#   is not left readable in free pages of the file.
SQLITE_PRAGMAS = (
    "journal_mode=WAL",
    "synchronous={synchronous}",
    "foreign_keys=ON",
    "wal_autocheckpoint=0",
    "secure_delete=ON",
)
# Connections that only read (the reader pool) add this; they change nothing else.
SQLITE_READER_PRAGMAS = ("query_only=ON",)
SQLITE_SYNCHRONOUS_VALUES = ("OFF", "NORMAL", "FULL", "EXTRA")


def sqlite_pragmas(*, synchronous: str = "NORMAL", readonly: bool = False) -> tuple[str, ...]:
    """The ``PRAGMA`` settings (``name=value``) a connection of this kind gets."""
    if readonly:
        return SQLITE_READER_PRAGMAS
    if synchronous.upper() not in SQLITE_SYNCHRONOUS_VALUES:
        raise ValueError(f"SQLite synchronous must be one of {SQLITE_SYNCHRONOUS_VALUES}")
    return tuple(p.format(synchronous=synchronous.upper()) for p in SQLITE_PRAGMAS)


def connect_sqlite(
    database: str, *, timeout: float, synchronous: str = "NORMAL", readonly: bool = False
) -> sqlite3.Connection:
    """A sqlite3 connection in autocommit mode (transactions are begun explicitly) with
    this project's pragmas: the one way every app connection to SQLite is opened."""
    connection = sqlite3.connect(database, timeout=timeout, isolation_level=None)
    try:
        for pragma in sqlite_pragmas(synchronous=synchronous, readonly=readonly):
            connection.execute(f"PRAGMA {pragma}")
    except BaseException:
        connection.close()
        raise
    return connection


def _inline_sqlite(
    database: str, *, busy_timeout_s: float, synchronous: str, readonly: bool
) -> Any:
    def connector() -> sqlite3.Connection:
        return connect_sqlite(
            database, timeout=busy_timeout_s, synchronous=synchronous, readonly=readonly
        )

    return lambda: InlineConnection(connector)


# On the embedded default another process (the CLI, say) holds SQLite's write lock for a
# moment at most; waiting blocks this whole process, so do not wait long.
SQLITE_BUSY_TIMEOUT_S = 5.0


def create_engine(
    database_url: str, *, sqlite_synchronous: str = "NORMAL", readonly: bool = False
) -> AsyncEngine:
    """The engine for ``database_url``. With ``readonly`` on SQLite: a small pool of
    connections that only read, in deferred transactions, which WAL lets run beside the
    writer (on PostgreSQL the one pool serves both)."""
    database_url = normalise_database_url(database_url)
    if database_url.startswith("sqlite"):
        database = make_url(database_url).database or ":memory:"
        creator = _inline_sqlite(
            database,
            busy_timeout_s=SQLITE_BUSY_TIMEOUT_S,
            synchronous=sqlite_synchronous,
            readonly=readonly,
        )
    if database_url.startswith("sqlite") and readonly:
        engine = create_async_engine(
            database_url,
            pool_size=4,
            max_overflow=0,
            pool_timeout=30,
            async_creator=creator,
            hide_parameters=True,
        )

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_reader_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")

        return engine
    if database_url.startswith("sqlite"):
        # One connection per process: writers queue in asyncio instead of spinning on
        # SQLite's busy lock, and every transaction starts IMMEDIATE so a read-then-write
        # can never deadlock on lock upgrade when several processes share the file.
        engine = create_async_engine(
            database_url,
            pool_size=1,
            max_overflow=0,
            pool_timeout=10,
            async_creator=creator,
            hide_parameters=True,
        )

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_async_engine(
        database_url,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,
        pool_timeout=10,
        hide_parameters=True,
        connect_args={"timeout": 5, "command_timeout": 10},
    )


CATCH_UP_PAUSE_S = 0.002


class WalCheckpointer:
    """Copies SQLite's write-ahead log back into the database file, off the event loop.

    SQLite's default runs that checkpoint inside whichever commit pushes the log past 1,000
    pages: under load, every few dozen message batches one commit also copied and synced
    hundreds of pages while the whole event loop waited. Here a thread of its own does a
    ``PASSIVE`` checkpoint (it never blocks writers or readers) every ``interval_s``; the
    writer connections turn their own checkpoints off. The last connection to close
    checkpoints whatever is left.

    A passive checkpoint copies pages but never rewinds the log: SQLite starts the log over
    only when a write transaction begins while every page in it has been copied back (and no
    reader still reads from it). Under steady load a write always lands during the copy, so
    the log grew without end: 1.4 GB after 40 s of 2,000 messages a second. Once the log
    holds ``rewind_after_frames`` pages (4,096: 16 MiB), the checkpointer catches up: it
    copies again what was written during its last copy, each copy shorter than the one before
    (a fraction of a millisecond once only a batch or two is left), and when one finds nothing
    new it waits ``CATCH_UP_PAUSE_S`` for the next write, up to ``catch_up_rounds`` rounds in
    all. A write that begins with every page copied back rewinds the log by itself, and no
    writer ever waited for it.

    Only if the log still reaches ``restart_after_frames`` (four times as many, 64 MiB) does a
    ``RESTART`` checkpoint force the rewind: it holds writers back (the chat writer retries
    in asyncio) while it copies the last pages and waits for readers to move on, at most
    ``restart_wait_s``. That took 20-55 ms on a slow machine, and the batches waiting behind
    it were the chat's p99 (session 9: 12 restarts in 30 s at 2,000 messages a second); with
    the catch-up it is only the fallback for a writer that never pauses (tests/test_wal.py).
    """

    def __init__(
        self,
        database: str,
        *,
        interval_s: float = 0.5,
        rewind_after_frames: int = 4096,
        restart_after_frames: int | None = None,
        catch_up_rounds: int = 50,
        restart_wait_s: float = 0.1,
    ) -> None:
        self.database = database
        self.interval_s = interval_s
        self.rewind_after_frames = rewind_after_frames
        self.restart_after_frames = restart_after_frames or 4 * rewind_after_frames
        self.catch_up_rounds = catch_up_rounds
        self.restarts = 0  # forced rewinds, which held writers back
        self.restart_wait_s = restart_wait_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        # The busy timeout bounds how long a RESTART holds writers back waiting for readers.
        connection = sqlite3.connect(self.database, timeout=self.restart_wait_s)
        try:
            while not self._stop.wait(self.interval_s):
                try:
                    self.checkpoint(connection)
                except sqlite3.Error as exc:
                    log.warning(
                        "WAL checkpoint failed (%s); retrying",
                        type(exc).__name__,
                        extra={"event": "sqlite.checkpoint_failed"},
                    )
        finally:
            connection.close()

    def checkpoint(self, connection: sqlite3.Connection) -> None:
        started = time.perf_counter()
        passive = "PRAGMA wal_checkpoint(PASSIVE)"
        _, frames, copied = connection.execute(passive).fetchone()
        rewound = False
        if frames >= self.rewind_after_frames:
            # A checkpoint reports the log as it was when it began. Copy again until one
            # finds the log shorter (a write began with everything copied back, and rewound
            # it); when one finds nothing new, give the writer a moment to begin its next.
            for _ in range(self.catch_up_rounds):
                _, now, copied = connection.execute(passive).fetchone()
                if now < frames:
                    rewound = True
                    frames = now
                    break
                if now == frames and copied >= now:
                    time.sleep(CATCH_UP_PAUSE_S)
                frames = now
        restart = frames >= self.restart_after_frames and not rewound
        if restart:
            connection.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()
            self.restarts += 1
        if stages.RECORDER is not None:
            stages.RECORDER.checkpoint(time.perf_counter() - started, restart)


def is_unavailable_error(exc: BaseException) -> bool:
    """True when ``exc`` means the database could not be reached (not a bad statement)."""
    if isinstance(exc, IntegrityError):
        return False
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        # PoolTimeout: every connection stayed busy (overload); the client retries.
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    # The same failures raised by the drivers themselves (the chat writer's batches).
    if isinstance(exc, sqlite3.OperationalError):
        return True
    if type(exc).__module__.startswith("asyncpg") and _asyncpg_unavailable(exc):
        return True
    return isinstance(exc, OSError | ConnectionError | TimeoutError)


def _asyncpg_unavailable(exc: BaseException) -> bool:
    from asyncpg import exceptions as pg

    return isinstance(
        exc, pg.InterfaceError | pg.PostgresConnectionError | pg.OperatorInterventionError
    )


class Database:
    """The engine and a session factory, plus the unit of work that ties them to the bus."""

    def __init__(self, engine: AsyncEngine, bus: Bus, reader: AsyncEngine | None = None) -> None:
        self.engine = engine
        self.reader_engine = reader
        self.bus = bus
        self.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        # Read-only work (auth, resume, catch-up, queue snapshots) uses this; on SQLite it is
        # a separate pool so a reconnect storm's reads do not queue behind the writer.
        self.reader = async_sessionmaker(reader or engine, expire_on_commit=False)
        # Set while the ORM's writer connection is in its pool. On SQLite the chat writer
        # (app.chat.writer) writes on a connection of its own only then, so the two never
        # hold SQLite's one write lock at once.
        self.writer_idle = asyncio.Event()
        self.writer_idle.set()
        if engine.dialect.name == "sqlite":
            event.listen(engine.sync_engine, "checkout", lambda *_: self.writer_idle.clear())
            event.listen(engine.sync_engine, "checkin", lambda *_: self.writer_idle.set())

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        uow = UnitOfWork(self.sessionmaker())
        try:
            try:
                yield uow
                started = time.perf_counter()
                await uow.session.commit()
                metrics.unit_of_work_committed(time.perf_counter() - started)
            except BaseException:
                await uow.session.rollback()
                raise
            finally:
                await uow.session.close()
        except Exception as exc:
            if is_unavailable_error(exc):
                raise Unavailable("The database is unreachable; nothing was stored.") from exc
            raise
        # The caller's own answer (a sender's ``chat.ack``) goes out before anyone is told:
        # the same order as the chat writer's group-commit path.
        for callback in uow.after_commit:
            callback()
        if uow.events:
            await outbound.publish(self.bus, uow.events)

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.exec_driver_sql("SELECT 1")
            return True
        except Exception:
            return False


class UnitOfWork:
    """A session plus the domain events to deliver once it commits.

    ``after_commit`` callbacks run right after the commit, before the events are delivered
    (a sender's own ``chat.ack`` goes out before its message).
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.events: list[object] = []
        self.after_commit: list[Any] = []

    def record(self, event: object) -> None:
        """Note that something happened (a frozen dataclass of facts, no wire format)."""
        self.events.append(event)
