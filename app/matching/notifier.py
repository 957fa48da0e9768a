"""Live queue updates and auto-assignment, one per process.

On every ``queue.changed`` event (from any process) the notifier waits a short debounce
(``QUEUE_BROADCAST_DEBOUNCE_S``), reads the queue once, and then

- sends each locally connected waiting seeker their ``queue.status`` if it changed;
- sends each locally connected staff member the ``queue.summary`` if it changed;
- gives waiting seekers to locally connected volunteers who turned on auto-assign and have
  room. Each process assigns only to its own volunteers, and every assignment goes through
  the same atomic ``take``, so processes never hand one seeker out twice.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from app.bus import RESET, Event
from app.db import utcnow
from app.errors import AppError
from app.identity.models import Role
from app.matching import policy
from app.matching import service as matching_service
from app.outbound import frames
from app.outbound.channels import QUEUE_CHANNEL

if TYPE_CHECKING:
    from app.realtime import Connection
    from app.runtime import Runtime

log = logging.getLogger(__name__)


class QueueNotifier:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._dirty = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.runtime.bus.subscribe(QUEUE_CHANNEL, self)
        self._task = self.runtime.spawn(self._run(), name="queue-notifier")
        self._dirty.set()

    def mark_dirty(self) -> None:
        """Someone new needs the queue state: one debounced snapshot serves them all (a
        reconnect storm of n seekers must not read the queue n times)."""
        self._dirty.set()

    def deliver(self, channel: str, event: Event) -> None:
        if event.kind in ("queue.changed", RESET):
            self._dirty.set()

    async def _run(self) -> None:
        debounce = self.runtime.settings.queue_broadcast_debounce_s
        while True:
            await self._dirty.wait()
            await asyncio.sleep(debounce)
            self._dirty.clear()
            try:
                await self.auto_assign()
                await self.refresh_now()
            except Exception as exc:
                log.warning(
                    "queue refresh failed (%s); retrying",
                    type(exc).__name__,
                    extra={"event": "queue.refresh_failed"},
                )
                await asyncio.sleep(1.0)
                self._dirty.set()

    async def auto_assign(self) -> None:
        local = {
            user_id
            for user_id, conns in self.runtime.connections.items()
            if any(c.role is Role.volunteer for c in conns)
        }
        if not local:
            return
        async with self.runtime.db.sessionmaker() as session:
            candidates = [
                v
                for v in await matching_service.auto_assign_candidates(session, now=utcnow())
                if v in local
            ]
        for volunteer_id in candidates:
            while True:
                try:
                    now = utcnow()
                    async with self.runtime.db.unit_of_work() as uow:
                        await matching_service.take(
                            uow,
                            volunteer_id=volunteer_id,
                            now=now,
                            present_since=matching_service.present_since(
                                self.runtime.settings, now
                            ),
                        )
                except AppError:
                    break

    async def refresh_now(self) -> None:
        runtime = self.runtime
        targets = runtime.local_connections()
        seekers = [c for c in targets if c.waiting_conversation_id is not None]
        staff = [
            c
            for c in targets
            if c.role in (Role.supervisor, Role.admin)
            or (c.role is Role.volunteer and c.wants_summary)
        ]
        if not seekers and not staff:
            return
        async with runtime.db.reader() as session:
            waiting = await matching_service.waiting_snapshot(
                session, present_since=matching_service.present_since(runtime.settings, utcnow())
            )
            supply = await matching_service.supply_by_language(session)
            online = await matching_service.volunteers_online(session) if staff else 0
        now = utcnow()
        if seekers:
            # A seeker with a socket here is here, whatever presence has written so far.
            here = {c.waiting_conversation_id for c in seekers}
            waiting = [replace(w, gone=False) if w.conversation_id in here else w for w in waiting]
            positions = policy.queue_positions(waiting)
            language_of = {w.conversation_id: w.language for w in waiting}
            for conn in seekers:
                conversation_id = conn.waiting_conversation_id
                if conversation_id not in positions:
                    continue
                lang_supply = supply.get(language_of[conversation_id], policy.LanguageSupply())
                frame = self.status_frame(conversation_id, positions[conversation_id], lang_supply)
                self._send_if_changed(conn, frame)
        if staff:
            summary = policy.summarize(waiting, now=now, volunteers_online=online)
            frame = frames.queue_summary(summary)
            for conn in staff:
                self._send_if_changed(conn, frame)

    def status_frame(
        self, conversation_id: str, position: int, supply: policy.LanguageSupply
    ) -> str:
        settings = self.runtime.settings
        return frames.queue_status(
            conversation_id=conversation_id,
            position=position,
            estimated_wait_s=policy.estimate_wait_s(
                position,
                supply,
                take_latency_s=settings.take_latency_estimate_s,
                average_chat_s=settings.average_chat_s,
            ),
            eligible_online=supply.online,
        )

    async def reply_to_join(self, conn: Connection, conversation: Any) -> None:
        """The joining seeker's first status at once, from an indexed count (not the whole
        queue), so the client has its conversation id; the debounced refresh does the rest."""
        async with self.runtime.db.reader() as session:
            if not await matching_service.still_waiting(session, conversation.id):
                return  # already taken: conversation.started says so
            position = await matching_service.position_of(
                session,
                conversation,
                present_since=matching_service.present_since(self.runtime.settings, utcnow()),
            )
            supply = await matching_service.supply_by_language(session)
        frame = self.status_frame(
            conversation.id, position, supply.get(conversation.language, policy.LanguageSupply())
        )
        # Not twice: a refresh may have sent this very status while the queries above ran
        # (the connection counts as waiting from the join on).
        self._send_if_changed(conn, frame)

    @staticmethod
    def _send_if_changed(conn: Connection, frame: str) -> None:
        if frame != conn.last_queue_frame:
            conn.last_queue_frame = frame
            conn.send(frame)
