"""Risk frames and the cue-feedback REST endpoints: thin handlers over the services."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat.access import Access, ConversationView
from app.db import utcnow
from app.deps import RuntimeDep, SupervisorPrincipal
from app.identity.models import Role
from app.outbound import frames as outbound_frames
from app.realtime import Connection, FrameRouter
from app.risk import feedback
from app.risk import service as risk_service
from app.risk.cues.lists import load_catalogue
from app.risk.events import ChecklistProgress, CueFlagged, CueMarked
from app.risk.schemas import (
    CueMarkFrame,
    CueParaphraseBody,
    CueReviewBody,
    RiskAnswer,
    RiskConcern,
    RiskStart,
    RiskSubmit,
)

frames = FrameRouter()
STAFF = (Role.volunteer, Role.supervisor, Role.admin)


@frames.frame(RiskStart, roles=STAFF)
async def start(conn: Connection, frame: RiskStart) -> None:
    async with conn.runtime.db.unit_of_work() as uow:
        progress = await risk_service.start(
            uow, conn.principal, conversation_id=frame.conversation_id, now=utcnow()
        )
    conn.send(outbound_frames.risk_checklist(progress))


@frames.frame(RiskAnswer, roles=STAFF)
async def answer(conn: Connection, frame: RiskAnswer) -> None:
    async with conn.runtime.db.unit_of_work() as uow:
        progress = await risk_service.answer(
            uow,
            conn.principal,
            conversation_id=frame.conversation_id,
            item_id=frame.item_id,
            value=frame.value,
            now=utcnow(),
        )
    conn.send(outbound_frames.risk_checklist(progress))


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


@frames.frame(CueMarkFrame, roles=STAFF)
async def cue_mark(conn: Connection, frame: CueMarkFrame) -> None:
    async with conn.runtime.db.unit_of_work() as uow:
        row, created = await feedback.mark(
            uow,
            conn.principal,
            conversation_id=frame.conversation_id,
            seq=frame.seq,
            kind=feedback.MarkKind(frame.kind),
            now=utcnow(),
        )
        repeat = None if created else outbound_frames.cue_marked(feedback.marked(row))
    if repeat is not None:  # the staff channel heard the first one: answer the sender
        conn.send(repeat)


api = APIRouter(prefix="/api/v1/cue-marks", tags=["risk"])


@api.get("")
async def marks(
    principal: SupervisorPrincipal,
    runtime: RuntimeDep,
    status: feedback.MarkStatus | None = None,
) -> dict[str, Any]:
    """The review list: marks whose message is still kept, oldest first (audited)."""
    async with runtime.db.unit_of_work() as uow:
        found = await feedback.review_list(uow, principal, status=status, now=utcnow())
    return {"marks": found, "families": sorted(load_catalogue())}


@api.get("/counts")
async def counts(
    _: SupervisorPrincipal, runtime: RuntimeDep, days: int = Query(30, ge=1, le=366)
) -> dict[str, Any]:
    """Flags and marks per family and per pattern over the last ``days`` days."""
    async with runtime.db.sessionmaker() as session:
        found = await feedback.counts(session, since=utcnow() - timedelta(days=days))
    return {"days": days, **found}


@api.get("/candidates")
async def candidates(_: SupervisorPrincipal, runtime: RuntimeDep) -> dict[str, Any]:
    """Paraphrases for the candidate corpus, as corpus rows."""
    async with runtime.db.sessionmaker() as session:
        return {"candidates": await feedback.candidates(session)}


@api.post("/{mark_id}/review")
async def review(
    mark_id: str, body: CueReviewBody, principal: SupervisorPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.unit_of_work() as uow:
        return await feedback.review(
            uow, principal, mark_id=mark_id, verdict=feedback.Verdict(body.verdict), now=utcnow()
        )


@api.post("/{mark_id}/paraphrase", status_code=201)
async def paraphrase(
    mark_id: str, body: CueParaphraseBody, principal: SupervisorPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.unit_of_work() as uow:
        return await feedback.paraphrase(
            uow,
            principal,
            mark_id=mark_id,
            text=body.text,
            family=body.family,
            form=body.form,
            now=utcnow(),
        )


method_cues_api = APIRouter(prefix="/api/v1/method-cues", tags=["risk"])


@method_cues_api.get("")
async def method_cues(_: SupervisorPrincipal, runtime: RuntimeDep) -> dict[str, Any]:
    """The chats whose method-cue alert still stands (no screen since), oldest first: what a
    desk that loads or reconnects missed on the socket. Not audited: no message text."""
    async with runtime.db.sessionmaker() as session:
        found = await risk_service.unscreened_method_cues(session)
    return {"method_cues": [outbound_frames.method_cue_fields(view) for view in found]}


export_api = APIRouter(prefix="/api/v1/cue-candidates", tags=["risk"])
JSONL = "application/x-ndjson"


@export_api.get("", response_class=Response, responses={200: {"content": {JSONL: {}}}})
async def export_candidates(principal: SupervisorPrincipal, runtime: RuntimeDep) -> Response:
    """The candidate corpus as JSON Lines (one corpus row a line, oldest first), for a
    clinical lead to review before any row enters ``bench/data/cue_corpus.jsonl``. Audited."""
    async with runtime.db.unit_of_work() as uow:
        rows = await feedback.export_candidates(uow, principal)
    body = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    return Response(
        body,
        media_type=JSONL,
        headers={
            "Content-Disposition": 'attachment; filename="cue-candidates.jsonl"',
            "Cache-Control": "no-store",
        },
    )


@frames.on_resume
async def resume_progress(
    session: AsyncSession, conversation: ConversationView, access: Access
) -> list[str]:
    """Staff resuming get the cues so far, the level and the checklist in progress."""
    if not access.is_staff:
        return []
    replay = []
    for fact in await risk_service.progress(session, conversation):
        if isinstance(fact, CueFlagged):
            replay.append(outbound_frames.risk_cue(fact))
        elif isinstance(fact, ChecklistProgress):
            replay.append(outbound_frames.risk_checklist(fact))
        elif isinstance(fact, CueMarked):
            replay.append(outbound_frames.cue_marked(fact))
        else:
            replay.append(outbound_frames.risk_assessed(fact))
    return replay
