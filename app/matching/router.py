"""Queue frames: join, leave, take, availability. Thin handlers over the matching service."""

from __future__ import annotations

import logging

from app.budgets.service import Door
from app.chat.protocol import AvailabilitySet, QueueJoin, QueueLeave, QueueTake
from app.db import is_unavailable_error, utcnow
from app.identity.models import Role
from app.matching import service as matching_service
from app.outbound import frames as outbound_frames
from app.presence import record as record_presence
from app.realtime import Connection, FrameRouter

frames = FrameRouter()
log = logging.getLogger(__name__)


@frames.frame(QueueJoin, roles=(Role.seeker,))
async def join(conn: Connection, frame: QueueJoin) -> None:
    budgets = conn.runtime.budgets
    client = budgets.client(conn.websocket.scope)
    await budgets.spend(Door.queue_join, client)
    await budgets.remember_seeker(conn.user_id, client)
    async with conn.runtime.db.unit_of_work() as uow:
        conversation = await matching_service.join(
            uow,
            conn.principal,
            topics=frame.topics,
            max_waiting=conn.runtime.settings.max_waiting_seekers,
            now=utcnow(),
        )
    conn.watch(conversation.id, anchor=0)
    conn.waiting_conversation_id = conversation.id
    notifier = conn.runtime.queue_notifier
    notifier.mark_dirty()
    try:
        await notifier.reply_to_join(conn, conversation)
    except Exception as exc:
        # The join is stored: `unavailable` ("nothing was stored") would be untrue, and the
        # seeker's retry would meet `already_queued`. The debounced refresh marked above
        # (retried until the database answers) sends this waiting connection its status.
        if not is_unavailable_error(exc):
            raise
        log.warning(
            "a joining seeker's first queue status is deferred (%s)",
            type(exc).__name__,
            extra={"event": "queue.join_status_deferred", "conversation_id": conversation.id},
        )


@frames.frame(QueueLeave, roles=(Role.seeker,))
async def leave(conn: Connection, frame: QueueLeave) -> None:
    async with conn.runtime.db.unit_of_work() as uow:
        await matching_service.leave(
            uow, conn.principal, conversation_id=frame.conversation_id, now=utcnow()
        )


@frames.frame(QueueTake, roles=(Role.volunteer,))
async def take(conn: Connection, frame: QueueTake) -> None:
    now = utcnow()
    async with conn.runtime.db.unit_of_work() as uow:
        await matching_service.take(
            uow,
            volunteer_id=conn.user_id,
            now=now,
            present_since=matching_service.present_since(conn.runtime.settings, now),
        )


@frames.frame(AvailabilitySet, roles=(Role.volunteer,))
async def set_availability(conn: Connection, frame: AvailabilitySet) -> None:
    async with conn.runtime.db.unit_of_work() as uow:
        if frame.available:
            # Present before available, in one transaction: this socket's arrival may still
            # be waiting in the presence flusher's batch, and housekeeping (on any process)
            # makes an available volunteer with no presence row unavailable.
            await record_presence(
                uow.session,
                process=conn.runtime.bus.origin,
                arrived=(conn.user_id,),
                left=(),
                now=utcnow(),
                refresh=False,
            )
        volunteer, active = await matching_service.set_availability(
            uow,
            conn.principal,
            available=frame.available,
            capacity=frame.capacity,
            auto_assign=frame.auto_assign,
        )
    conn.send(
        outbound_frames.availability_ok(
            available=volunteer.available,
            capacity=volunteer.capacity,
            auto_assign=volunteer.auto_assign,
            active_chats=active,
            max_concurrent_chats=volunteer.max_concurrent_chats,
            ref=frame.ref,
        )
    )
    conn.wants_summary = volunteer.available
    conn.last_queue_frame = None
    conn.runtime.queue_notifier.mark_dirty()
