"""Safety plan frames: thin handlers over the service."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat.access import Access, ConversationView
from app.db import utcnow
from app.deps import CurrentPrincipal, LanguageQuery, RuntimeDep
from app.identity.models import Role
from app.outbound import frames as outbound_frames
from app.realtime import Connection, FrameRouter
from app.safety_plan import service
from app.safety_plan.schemas import SafetyPlanOpen, SafetyPlanUpdate

frames = FrameRouter()
STAFF = (Role.volunteer, Role.supervisor, Role.admin)


@frames.frame(SafetyPlanOpen, roles=STAFF)
async def open_plan(conn: Connection, frame: SafetyPlanOpen) -> None:
    async with conn.runtime.db.unit_of_work() as uow:
        plan, opened = await service.open_plan(
            uow, conn.principal, conversation_id=frame.conversation_id, now=utcnow()
        )
    if not opened:  # everyone in the chat has it already: answer the one who asked
        conn.send(outbound_frames.safety_plan(plan))


@frames.frame(SafetyPlanUpdate, roles=(Role.seeker, *STAFF))
async def update(conn: Connection, frame: SafetyPlanUpdate) -> None:
    async with conn.runtime.db.unit_of_work() as uow:
        await service.update(
            uow,
            conn.principal,
            conversation_id=frame.conversation_id,
            step=frame.step,
            items=list(frame.items),
            now=utcnow(),
        )


@frames.on_resume
async def resume_plan(
    session: AsyncSession, conversation: ConversationView, access: Access
) -> list[str]:
    """Everyone resuming the conversation gets its safety plan again."""
    plan = await service.current(session, conversation)
    return [] if plan is None else [outbound_frames.safety_plan(plan)]


api = APIRouter(prefix="/api/v1/conversations", tags=["safety plan"])


@api.get("/{conversation_id}/safety-plan")
async def read(
    conversation_id: str,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    language: LanguageQuery = None,
) -> dict[str, Any]:
    """The conversation's plan, as the ``safety_plan`` frame carries it; in ``language``
    when asked, else the conversation's."""
    async with runtime.db.unit_of_work() as uow:
        plan = await service.read(
            uow, principal, conversation_id=conversation_id, language=language
        )
    return asdict(plan)
