"""The admin console's reads over REST: the audit log and the active data versions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.admin import service
from app.db import QueryTime, as_utc
from app.deps import AdminPrincipal, RuntimeDep

api = APIRouter(prefix="/api/v1", tags=["admin"])

Filter = Annotated[str | None, Query(max_length=64)]


@api.get("/audit")
async def audit_log(
    principal: AdminPrincipal,
    runtime: RuntimeDep,
    actor_id: Filter = None,
    action: Filter = None,
    conversation_id: Filter = None,
    since: QueryTime | None = None,
    until: QueryTime | None = None,
    before: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = service.DEFAULT_PAGE,
) -> dict[str, Any]:
    since, until = as_utc(since), as_utc(until)
    async with runtime.db.unit_of_work() as uow:
        return await service.read_audit_log(
            uow,
            principal,
            actor_id=actor_id,
            action=action,
            conversation_id=conversation_id,
            since=since,
            until=until,
            before=before,
            limit=limit,
        )


@api.get("/versions")
async def versions(_: AdminPrincipal) -> dict[str, Any]:
    return service.active_versions()
