"""Feedback and outcomes over REST: thin handlers over the service."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response

from app.db import utcnow
from app.deps import AdminPrincipal, CurrentPrincipal, RuntimeDep, SupervisorPrincipal
from app.outcomes import policy, service
from app.outcomes.schemas import OutcomeBody

api = APIRouter(prefix="/api/v1/outcomes", tags=["outcomes"])


@api.post("", status_code=201)
async def record(body: OutcomeBody, principal: CurrentPrincipal, runtime: RuntimeDep) -> Response:
    async with runtime.db.unit_of_work() as uow:
        await service.record(
            uow,
            principal,
            conversation_id=body.conversation_id,
            answer=policy.Answer(
                body.mood_start,
                body.mood_end,
                body.heard.value if body.heard else None,
                body.come_back.value if body.come_back else None,
            ),
            comment=body.comment,
            now=utcnow(),
            window=service.answer_window(runtime.settings),
        )
    return Response(status_code=201)


@api.get("")
async def outcomes(
    _: SupervisorPrincipal, runtime: RuntimeDep, weeks: int = Query(12, ge=1, le=104)
) -> dict[str, Any]:
    """Aggregates over the ``weeks`` latest weeks whose answers are final."""
    async with runtime.db.sessionmaker() as session:
        return await service.summary(session, settings=runtime.settings, now=utcnow(), weeks=weeks)


@api.get("/comments")
async def comments(principal: AdminPrincipal, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.unit_of_work() as uow:
        found = await service.comments(
            uow,
            principal,
            now=utcnow(),
            window=service.answer_window(runtime.settings),
            min_group=runtime.settings.outcomes_min_group,
        )
    return {"comments": found}
