"""Return codes over REST: thin handlers over the service (docs/protocol.md, Coming back)."""

from __future__ import annotations

from dataclasses import asdict
from types import SimpleNamespace
from typing import Any

from fastapi import APIRouter, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.budgets.service import Door
from app.chat.access import Access, ConversationView
from app.db import utcnow
from app.deps import CurrentPrincipal, LanguageQuery, RuntimeDep
from app.outbound import frames as outbound_frames
from app.realtime import FrameRouter
from app.referrals import service as referral_service
from app.return_code import service
from app.return_code.models import ReturnCode
from app.return_code.schemas import ReturnCodeCreate, ReturnCodeRedeem
from app.safety_plan import service as safety_plan_service
from app.safety_plan.models import SafetyPlan

api = APIRouter(prefix="/api/v1/return-codes", tags=["return codes"])
frames = FrameRouter()


@frames.on_resume
async def resume_returning(
    session: AsyncSession, conversation: ConversationView, access: Access
) -> list[str]:
    """Staff resuming a returning seeker's chat are told again (``seeker.returning``)."""
    if not access.is_staff:
        return []
    returning = await service.returning_for(session, conversation)
    if returning is None:
        return []
    return [outbound_frames.seeker_returning(conversation.id, returning)]


async def _plan(session: AsyncSession, row: ReturnCode, language: str) -> dict[str, Any] | None:
    """The code's plan copy as the ``safety_plan`` frame shows a plan (in ``language``;
    ``conversation_id`` and ``plan_id`` are null: it belongs to no conversation)."""
    copy = row.plan
    if not copy:
        return None
    plan = SafetyPlan(
        template_id=copy["template_id"],
        template_version=copy["template_version"],
        entries=dict(copy.get("entries") or {}),
        helplines=list(copy.get("helplines") or []),
        revision=1,
        updated_at=row.last_used_at,
        updated_by_role="seeker",
    )
    holder = SimpleNamespace(id=None, language=language)
    directory = await referral_service.current_directory(session)
    shown = asdict(safety_plan_service.view(holder, plan, directory))  # type: ignore[arg-type]
    shown["plan_id"] = None
    return shown


def _summary(row: ReturnCode, keep_days: int) -> dict[str, Any]:
    return {
        "since": row.created_at,
        "last_used_at": row.last_used_at,
        "chats": row.chats,
        "keep_days": keep_days,
    }


@api.post("", status_code=status.HTTP_201_CREATED)
async def create(
    body: ReturnCodeCreate, principal: CurrentPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    """Make (or renew) the seeker's return code at the end of a chat. The words are in this
    answer only."""
    async with runtime.db.unit_of_work() as uow:
        row, code = await service.create(
            uow,
            principal,
            conversation_id=body.conversation_id,
            secret_key=runtime.settings.secret_key,
            now=utcnow(),
        )
        summary = _summary(row, runtime.settings.return_code_keep_days)
    return {"code": code, "words": code.split(" "), **summary, "has_plan": row.plan is not None}


@api.post("/redeem", status_code=status.HTTP_201_CREATED)
async def redeem(body: ReturnCodeRedeem, request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    """Come back with a code: a new anonymous session linked to it, and the plan."""
    client = runtime.budgets.client(request.scope)
    await runtime.budgets.spend(Door.return_code, client)
    async with runtime.db.unit_of_work() as uow:
        seeker, token, row = await service.redeem(
            uow, settings=runtime.settings, typed=body.code, language=body.language, now=utcnow()
        )
        plan = await _plan(uow.session, row, body.language)
        summary = _summary(row, runtime.settings.return_code_keep_days)
    await runtime.budgets.remember_seeker(seeker.id, client)
    return {
        "seeker_token": token,
        "alias": seeker.alias,
        "seeker_id": seeker.id,
        "expires_at": seeker.token_expires_at,
        **summary,
        "plan": plan,
    }


@api.get("/mine")
async def mine(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    language: LanguageQuery = None,
) -> dict[str, Any]:
    """The caller's return code (never its words) and its plan copy, in ``language`` when
    asked (the page switched language), else the session's."""
    async with runtime.db.reader() as session:
        row = await service.mine(session, principal)
        if language is None:
            language = principal.languages[0] if principal.languages else row.language
        plan = await _plan(session, row, language)
        return {**_summary(row, runtime.settings.return_code_keep_days), "plan": plan}


@api.delete("/mine", status_code=status.HTTP_204_NO_CONTENT)
async def forget(principal: CurrentPrincipal, runtime: RuntimeDep) -> Response:
    """Forget my code: the code, its plan copy and every link to it are deleted now."""
    async with runtime.db.unit_of_work() as uow:
        await service.forget(uow, principal, now=utcnow())
    return Response(status_code=status.HTTP_204_NO_CONTENT)
