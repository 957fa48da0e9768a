"""Moderation frames: thin handlers over ``app.moderation.service``."""

from __future__ import annotations

from app.db import utcnow
from app.identity.models import Role
from app.moderation import service as moderation_service
from app.moderation.schemas import SeekerBlock, SeekerReport
from app.outbound import frames as outbound_frames
from app.realtime import Connection, FrameRouter

frames = FrameRouter()


@frames.frame(SeekerReport, roles=(Role.volunteer, Role.supervisor, Role.admin))
async def report(conn: Connection, frame: SeekerReport) -> None:
    async with conn.runtime.db.unit_of_work() as uow:
        await moderation_service.report(
            uow, conn.principal, conversation_id=frame.conversation_id, note=frame.note
        )
    conn.send(outbound_frames.seeker_report_ok(frame.conversation_id, frame.ref))


@frames.frame(SeekerBlock, roles=(Role.supervisor, Role.admin))
async def block(conn: Connection, frame: SeekerBlock) -> None:
    async with conn.runtime.db.unit_of_work() as uow:
        blocked = await moderation_service.block(
            uow,
            conn.principal,
            conversation_id=frame.conversation_id,
            note=frame.note,
            now=utcnow(),
        )
    # The flood budgets slow down the clients the blocked sessions came from (app/budgets):
    # the only thing a block can do about a new anonymous session from the same place. Done
    # before the reply, so a supervisor who sees seeker.block.ok knows it is in force.
    for seeker_id in blocked.sessions:
        await conn.runtime.budgets.slow_down_seeker(seeker_id)
    conn.send(outbound_frames.seeker_block_ok(frame.conversation_id, blocked.closed, frame.ref))
