"""Debriefs and activity over REST: thin handlers over the service."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter

from app.db import utcnow
from app.deps import CurrentPrincipal, RuntimeDep, StaffPrincipal, SupervisorPrincipal
from app.wellbeing import service
from app.wellbeing.schemas import DebriefBody

api = APIRouter(prefix="/api/v1", tags=["wellbeing"])


@api.post("/debriefs", status_code=201)
async def submit(
    body: DebriefBody, principal: CurrentPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.unit_of_work() as uow:
        return await service.submit(
            uow,
            principal,
            conversation_id=body.conversation_id,
            feeling=body.feeling,
            wants=body.wants,
            note=body.note,
            now=utcnow(),
        )


@api.get("/debriefs")
async def debriefs(
    principal: SupervisorPrincipal,
    runtime: RuntimeDep,
    status: Literal["open", "seen"] | None = None,
) -> dict[str, Any]:
    async with runtime.db.unit_of_work() as uow:
        return {"debriefs": await service.debriefs(uow, principal, status=status)}


@api.post("/debriefs/{debrief_id}/seen")
async def seen(
    debrief_id: str, principal: SupervisorPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.unit_of_work() as uow:
        return await service.mark_seen(uow, principal, debrief_id=debrief_id, now=utcnow())


@api.get("/me/activity")
async def my_activity(principal: StaffPrincipal, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.unit_of_work() as uow:
        return await service.activity(uow, principal, volunteer_id=principal.user_id, now=utcnow())


@api.get("/volunteers/activity")
async def team(principal: SupervisorPrincipal, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.unit_of_work() as uow:
        return {"volunteers": await service.team_activity(uow, principal, now=utcnow())}


@api.get("/volunteers/{volunteer_id}/activity")
async def volunteer_activity(
    volunteer_id: str, principal: SupervisorPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.unit_of_work() as uow:
        return await service.activity(uow, principal, volunteer_id=volunteer_id, now=utcnow())
