"""Risk frames: thin handlers over ``app.risk.service``."""

from __future__ import annotations

from app.db import utcnow
from app.identity.models import Role
from app.realtime import Connection, FrameRouter
from app.risk import service as risk_service
from app.risk.schemas import RiskAnswer, RiskConcern, RiskStart, RiskSubmit

frames = FrameRouter()
STAFF = (Role.volunteer, Role.supervisor, Role.admin)


@frames.frame(RiskStart, roles=STAFF)
async def start(conn: Connection, frame: RiskStart) -> None:
    async with conn.runtime.db.unit_of_work() as uow:
        reply = await risk_service.start(
            uow, conn.principal, conversation_id=frame.conversation_id, now=utcnow()
        )
    conn.send(reply)


@frames.frame(RiskAnswer, roles=STAFF)
async def answer(conn: Connection, frame: RiskAnswer) -> None:
    async with conn.runtime.db.unit_of_work() as uow:
        reply = await risk_service.answer(
            uow,
            conn.principal,
            conversation_id=frame.conversation_id,
            item_id=frame.item_id,
            value=frame.value,
            now=utcnow(),
        )
    conn.send(reply)


@frames.frame(RiskSubmit, roles=STAFF)
async def submit(conn: Connection, frame: RiskSubmit) -> None:
    async with conn.runtime.db.unit_of_work() as uow:
        await risk_service.submit(
            uow,
            conn.principal,
            conversation_id=frame.conversation_id,
            now=utcnow(),
            scale=conn.runtime.settings.escalation_time_scale,
        )


@frames.frame(RiskConcern, roles=STAFF)
async def concern(conn: Connection, frame: RiskConcern) -> None:
    async with conn.runtime.db.unit_of_work() as uow:
        await risk_service.concern(
            uow,
            conn.principal,
            conversation_id=frame.conversation_id,
            level=frame.level,
            reason=frame.reason,
            now=utcnow(),
            scale=conn.runtime.settings.escalation_time_scale,
        )
