"""The on-call roster over REST: supervisors and admins read it, admins change it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from app.db import QueryTime, as_utc, utcnow
from app.deps import AdminPrincipal, RuntimeDep, SupervisorPrincipal
from app.roster import service
from app.roster.schemas import ShiftCreate

api = APIRouter(prefix="/api/v1/roster", tags=["roster"])


@api.get("")
async def roster(
    _: SupervisorPrincipal,
    runtime: RuntimeDep,
    since: QueryTime | None = None,
    until: QueryTime | None = None,
) -> dict[str, Any]:
    now = utcnow()
    since = as_utc(since) or now - service.DEFAULT_BEFORE
    until = as_utc(until) or now + service.DEFAULT_AHEAD
    async with runtime.db.reader() as session:
        shifts = await service.list_shifts(session, since=since, until=until)
    return {"since": since, "until": until, "shifts": shifts}


@api.get("/coverage")
async def coverage(principal: SupervisorPrincipal, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.reader() as session:
        return await service.coverage_view(session, now=utcnow(), viewer_id=principal.user_id)


@api.post("", status_code=status.HTTP_201_CREATED)
async def add_shift(
    body: ShiftCreate, principal: AdminPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.unit_of_work() as uow:
        return await service.add_shift(
            uow,
            principal,
            staff_id=body.staff_id,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            now=utcnow(),
        )


@api.delete("/{shift_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_shift(shift_id: str, principal: AdminPrincipal, runtime: RuntimeDep) -> Response:
    async with runtime.db.unit_of_work() as uow:
        await service.remove_shift(uow, principal, shift_id=shift_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
