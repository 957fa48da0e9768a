"""What one process holds while it runs: settings, database, bus, live connections.

``Runtime`` is created in the app's lifespan and reached from requests and sockets as
``app.state.runtime``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.bus import Bus
from app.config import Settings
from app.db import Database

if TYPE_CHECKING:
    from app.budgets.service import Budgets
    from app.chat.writer import MessageWriter
    from app.jobs import JobRunner
    from app.matching.notifier import QueueNotifier
    from app.presence import PresenceTracker
    from app.realtime import Connection, FrameRouter

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Runtime:
    settings: Settings
    db: Database
    bus: Bus
    router: FrameRouter
    queue_notifier: QueueNotifier = field(init=False)
    writer: MessageWriter = field(init=False)
    presence: PresenceTracker = field(init=False)
    jobs: JobRunner = field(init=False)
    budgets: Budgets = field(init=False)
    connections: dict[str, set[Connection]] = field(default_factory=lambda: defaultdict(set))
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    accepting: bool = True

    def register(self, connection: Connection) -> None:
        self.connections[connection.user_id].add(connection)

    def unregister(self, connection: Connection) -> None:
        conns = self.connections.get(connection.user_id)
        if conns is not None:
            conns.discard(connection)
            if not conns:
                del self.connections[connection.user_id]

    def local_connections(self) -> list[Connection]:
        return [c for conns in self.connections.values() for c in conns]

    def spawn(self, coro: object, *, name: str) -> asyncio.Task[None]:
        """Run a background coroutine that is cancelled at shutdown and whose crash is logged."""
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro, name=name)  # type: ignore[arg-type]
        self.tasks.add(task)

        def _done(t: asyncio.Task[None]) -> None:
            self.tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.error(
                    "background task %s crashed (%s)",
                    name,
                    type(t.exception()).__name__,
                    extra={"event": "server.task_crashed", "task": name},
                )

        task.add_done_callback(_done)
        return task

    async def stop_tasks(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        for task in list(self.tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
