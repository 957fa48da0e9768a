"""Who is connected, across processes: one row per (process, user), refreshed in one statement.

Each process mirrors the users it holds sockets for into ``presence``:

- a user's first socket on the process upserts ``(process, user)`` with ``connected`` and
  ``seen_at = now``;
- every ``PRESENCE_INTERVAL_S`` the process refreshes ``seen_at`` of all its connected rows
  with one UPDATE (keyed by the process, so its cost does not grow with the sockets);
- the user's last socket on the process closing sets ``connected = false`` and
  ``seen_at`` = the moment they left, so "last seen" survives the disconnect.

Two questions are asked of it, both as SQL clauses so callers decide in one statement:

- ``connected_since(user, t)``: a connected row refreshed at or after ``t``. With
  ``t = now - PRESENCE_STALE_REFRESHES * PRESENCE_INTERVAL_S`` it means "has a socket on a
  live process": a process that died stops refreshing, and its rows go stale by themselves.
- ``seen_since(user, t)``: any row with ``seen_at`` at or after ``t``, connected or not.

Arrivals and departures are written by a background flusher, at most once per
``FLUSH_GAP_S``, so a reconnect storm becomes a few batched upserts, not one transaction per
socket. The bus origin names
the process; it is new at every start, so a restarted process never inherits rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Boolean, ColumnElement, String, delete, exists, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.config import PRESENCE_STALE_REFRESHES, Settings
from app.db import Base, UTCDateTime, utcnow
from app.identity.models import Role

if TYPE_CHECKING:
    from app.db import UnitOfWork
    from app.identity.service import Principal
    from app.runtime import Runtime

log = logging.getLogger(__name__)

# At most one presence write per this long: in a reconnect storm the arrivals of a quarter
# second share one transaction instead of taking SQLite's single writer from the sends, and
# a quarter second is nothing against deadlines of minutes.
FLUSH_GAP_S = 0.25


class Presence(Base):
    """One user on one process: ``connected`` while the process holds a socket of theirs,
    ``seen_at`` refreshed while it does and set to the moment they left when they leave."""

    __tablename__ = "presence"

    process: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)
    connected: Mapped[bool] = mapped_column(Boolean)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())


def stale_after_s(settings: Settings) -> float:
    """How long a connected row may go unrefreshed before its process is taken for dead."""
    return PRESENCE_STALE_REFRESHES * settings.presence_interval_s


def connected_since(user_id: ColumnElement[str], since: datetime) -> ColumnElement[bool]:
    """True where the user has a socket on a process that refreshed at or after ``since``."""
    return exists().where(
        Presence.user_id == user_id, Presence.connected.is_(True), Presence.seen_at >= since
    )


def seen_since(user_id: ColumnElement[str], since: datetime) -> ColumnElement[bool]:
    """True where any process saw the user (connected, or leaving) at or after ``since``."""
    return exists().where(Presence.user_id == user_id, Presence.seen_at >= since)


async def record(
    session: AsyncSession,
    *,
    process: str,
    arrived: Collection[str],
    left: Collection[str],
    now: datetime,
    refresh: bool = True,
) -> None:
    """Upsert arrivals and departures of this process; with ``refresh``, also mark all its
    connected rows as seen ``now``."""
    rows = [{"user_id": u, "connected": True} for u in arrived]
    rows += [{"user_id": u, "connected": False} for u in left]
    if session.bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    rows = [{**r, "process": process, "seen_at": now} for r in rows]
    if rows:
        # One statement executed for many rows (the driver's executemany), compiled once and
        # cached: a multi-row VALUES is compiled anew for every count of rows, and in a
        # reconnect storm that compiling was 6 % of the process's CPU.
        stmt = insert(Presence.__table__)
        stmt = stmt.on_conflict_do_update(
            index_elements=[Presence.process, Presence.user_id],
            set_={"connected": stmt.excluded.connected, "seen_at": stmt.excluded.seen_at},
        )
        await session.execute(stmt, rows)
    if refresh:
        await session.execute(
            update(Presence)
            .where(Presence.process == process, Presence.connected.is_(True))
            .values(seen_at=now)
            .execution_options(synchronize_session=False)
        )


async def forget_before(session: AsyncSession, *, before: datetime) -> int:
    """Delete rows nobody was seen on since ``before`` (departed users, dead processes)."""
    result = await session.execute(delete(Presence).where(Presence.seen_at < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def leave_all(session: AsyncSession, *, process: str, now: datetime) -> None:
    """This process is going away: none of its rows is connected from ``now`` on."""
    await session.execute(
        update(Presence)
        .where(Presence.process == process, Presence.connected.is_(True))
        .values(connected=False, seen_at=now)
        .execution_options(synchronize_session=False)
    )


class ReleaseAbsent(Protocol):
    async def __call__(
        self,
        uow: UnitOfWork,
        *,
        present_since: datetime,
        volunteer_ids: Collection[str] | None = None,
    ) -> int: ...


class PresenceTracker:
    """This process's side: collects arrivals and departures from the socket handler and
    writes them, with the periodic refresh, from one background task."""

    def __init__(self, runtime: Runtime, *, release_absent: ReleaseAbsent) -> None:
        """``release_absent``: makes volunteers who left and have no socket on any live
        process unavailable (``app.matching.service.release_absent_volunteers``)."""
        self.runtime = runtime
        self.release_absent = release_absent
        self.process = runtime.bus.origin
        self._arrived: set[str] = set()
        self._left: dict[str, Role] = {}
        self._wake = asyncio.Event()
        self._refresh_due = 0.0  # event-loop time of the next refresh of all rows

    def arrived(self, principal: Principal) -> None:
        """A socket of this user opened here (called for every socket; cheap)."""
        self._left.pop(principal.user_id, None)
        self._arrived.add(principal.user_id)
        self._wake.set()

    def left(self, principal: Principal) -> None:
        """The user's last socket here closed."""
        self._arrived.discard(principal.user_id)
        self._left[principal.user_id] = principal.role
        self._wake.set()

    async def run(self) -> None:
        interval = self.runtime.settings.presence_interval_s
        loop = asyncio.get_running_loop()
        while True:
            until_refresh = self._refresh_due - loop.time()
            # ``asyncio.timeout``, not ``wait_for``: on Python 3.11 a cancellation that arrives
            # as the wait ends can be swallowed by ``wait_for``, and this loop then outlived
            # the shutdown that cancelled it (the server hung at "Waiting for application
            # shutdown"; seen after a block woke the flusher just as the server stopped).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.01, until_refresh)):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.flush()
            except Exception as exc:
                log.warning(
                    "presence refresh failed (%s); retrying",
                    type(exc).__name__,
                    extra={"event": "presence.refresh_failed"},
                )
                await asyncio.sleep(min(1.0, interval))
            await asyncio.sleep(min(FLUSH_GAP_S, interval / 4))

    async def flush(self) -> None:
        """Write what changed and refresh this process's rows. A volunteer who left and has
        no socket on any live process is no longer available for new chats."""
        connections = self.runtime.connections
        arrived = {u for u in self._arrived if u in connections}
        left = {u: role for u, role in self._left.items() if u not in connections}
        self._arrived.clear()
        self._left.clear()
        clock = asyncio.get_running_loop().time()
        # Arrivals in between are upserted as seen now; the refresh of all rows need only
        # happen once an interval, however often arrivals wake the flusher.
        due = clock >= self._refresh_due
        refresh = due and bool(connections)
        if not arrived and not left and not refresh:
            if due:
                self._refresh_due = clock + self.runtime.settings.presence_interval_s
            return
        now = utcnow()
        try:
            async with self.runtime.db.unit_of_work() as uow:
                await record(
                    uow.session,
                    process=self.process,
                    arrived=arrived,
                    left=left,
                    now=now,
                    refresh=refresh,
                )
                volunteers = [u for u, role in left.items() if role is Role.volunteer]
                if volunteers:
                    await self.release_absent(
                        uow,
                        present_since=now - timedelta(seconds=stale_after_s(self.runtime.settings)),
                        volunteer_ids=volunteers,
                    )
        except BaseException:
            # Nothing was written: keep what is still true for the next attempt.
            self._arrived |= {u for u in arrived if u not in self._left}
            for u, role in left.items():
                if u not in self._arrived:
                    self._left.setdefault(u, role)
            raise
        if due:
            self._refresh_due = clock + self.runtime.settings.presence_interval_s

    async def close(self) -> None:
        """At shutdown, after the sockets closed: write the departures and mark every row of
        this process as left, so nobody waits for its rows to go stale."""
        self._wake.clear()
        await self.flush()
        async with self.runtime.db.unit_of_work() as uow:
            await leave_all(uow.session, process=self.process, now=utcnow())
