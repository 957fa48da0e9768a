"""Emergency share frames and the supervisor's REST endpoints: thin handlers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat.access import Access, ConversationView
from app.db import utcnow
from app.deps import RuntimeDep, SupervisorPrincipal
from app.emergency_share import service
from app.emergency_share.cipher import cipher_for
from app.emergency_share.events import ShareRequested
from app.emergency_share.schemas import EmergencyShareAnswer, EmergencyShareAsk
from app.identity.models import Role
from app.outbound import frames as outbound_frames
from app.realtime import Connection, FrameRouter

frames = FrameRouter()


@frames.frame(EmergencyShareAsk, roles=(Role.supervisor, Role.admin))
async def ask(conn: Connection, frame: EmergencyShareAsk) -> None:
    async with conn.runtime.db.unit_of_work() as uow:
        await service.ask(uow, conn.principal, escalation_id=frame.escalation_id, now=utcnow())


@frames.frame(EmergencyShareAnswer, roles=(Role.seeker,))
async def answer(conn: Connection, frame: EmergencyShareAnswer) -> None:
    async with conn.runtime.db.unit_of_work() as uow:
        shown = await service.answer(
            uow,
            conn.principal,
            request_id=frame.request_id,
            share=frame.share,
            phone=frame.phone,
            location=frame.location,
            now=utcnow(),
            cipher=cipher_for(conn.runtime.settings),
        )
    conn.send(outbound_frames.emergency_share_ok(shown, ref=frame.ref))


@frames.on_resume
async def resume_requests(
    session: AsyncSession, conversation: ConversationView, access: Access
) -> list[str]:
    """A seeker resuming sees a request they have not answered yet again."""
    if access.is_staff:
        return []
    out = []
    for row in await service.pending_for(session, conversation.id):
        out.append(
            outbound_frames.emergency_share_request(
                ShareRequested(
                    seeker_id="",
                    share_id=row.id,
                    conversation_id=row.conversation_id,
                    supervisor_alias=await service.supervisor_alias(session, row.supervisor_id),
                    keep_hours=service.KEEP_HOURS,
                    requested_at=row.requested_at,
                )
            )
        )
    return out


api = APIRouter(prefix="/api/v1/emergency-shares", tags=["emergency share"])


@api.get("")
async def mine(principal: SupervisorPrincipal, runtime: RuntimeDep) -> dict[str, Any]:
    """Requests of the escalations the caller acknowledged, without what they hold."""
    async with runtime.db.sessionmaker() as session:
        return {"shares": [service.fields(s) for s in await service.list_mine(session, principal)]}


@api.get("/{share_id}")
async def read(
    share_id: str, principal: SupervisorPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    """What the seeker shared: for the supervisor who acknowledged the escalation; audited."""
    async with runtime.db.unit_of_work() as uow:
        return await service.read(
            uow, principal, share_id=share_id, cipher=cipher_for(runtime.settings)
        )
