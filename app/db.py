"""Database plumbing: the engine, the declarative base and the unit of work.

One transaction boundary: ``UnitOfWork`` commits on success and rolls back on error;
services only ``flush()``. Bus events queued during the unit of work are published after the
commit and dropped on rollback, so a message is durable before anyone is told it exists.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, MetaData, event
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

from app.config import normalise_database_url
from app.errors import Unavailable

if TYPE_CHECKING:
    from app.bus import Bus, Event

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


def new_id() -> str:
    return uuid.uuid4().hex


def create_engine(
    database_url: str, *, sqlite_synchronous: str = "NORMAL", readonly: bool = False
) -> AsyncEngine:
    """The engine for ``database_url``. With ``readonly`` on SQLite: a small pool of
    connections that only read, in deferred transactions, which WAL lets run beside the
    writer (on PostgreSQL the one pool serves both)."""
    database_url = normalise_database_url(database_url)
    if database_url.startswith("sqlite") and readonly:
        engine = create_async_engine(
            database_url, pool_size=4, max_overflow=0, pool_timeout=30, connect_args={"timeout": 30}
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_reader_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA query_only=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

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
            connect_args={"timeout": 30},
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={sqlite_synchronous}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

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
        connect_args={"timeout": 5, "command_timeout": 10},
    )


def is_unavailable_error(exc: BaseException) -> bool:
    """True when ``exc`` means the database could not be reached (not a bad statement)."""
    if isinstance(exc, IntegrityError):
        return False
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        # PoolTimeout: every connection stayed busy (overload); the client retries.
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OSError | ConnectionError | TimeoutError)


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

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        uow = UnitOfWork(self.sessionmaker())
        try:
            try:
                yield uow
                await uow.session.commit()
            except BaseException:
                await uow.session.rollback()
                raise
            finally:
                await uow.session.close()
        except Exception as exc:
            if is_unavailable_error(exc):
                raise Unavailable("The database is unreachable; nothing was stored.") from exc
            raise
        for channel, evt in uow.events:
            await self.bus.publish(channel, evt)
        for callback in uow.after_commit:
            callback()

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.exec_driver_sql("SELECT 1")
            return True
        except Exception:
            return False


class UnitOfWork:
    """A session plus the events to publish once it commits."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.events: list[tuple[str, Event]] = []
        self.after_commit: list[Any] = []

    def publish(self, channel: str, evt: Event) -> None:
        self.events.append((channel, evt))
