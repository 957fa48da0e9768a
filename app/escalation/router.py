"""Escalation frames, supervisor actions, and the supervisors' REST endpoints."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat.access import Access, ConversationView
from app.db import utcnow
from app.deps import RuntimeDep, SupervisorPrincipal
from app.escalation import actions as escalation_actions
from app.escalation import paging, replay
from app.escalation import views as escalation_views
from app.escalation.schemas import (
    ChatWhisper,
    ConversationJoin,
    ConversationObserve,
    ConversationTakeover,
    EscalationAck,
    EscalationRaise,
    EscalationResolve,
    FlaggedAck,
    OnCallSet,
    ResolveBody,
)
from app.identity.models import Role
from app.outbound import frames as outbound_frames
from app.realtime import Connection, FrameRouter

frames = FrameRouter()
SUPERVISORS = (Role.supervisor, Role.admin)


@frames.frame(EscalationRaise, roles=(Role.volunteer, Role.supervisor, Role.admin))
async def raise_(conn: Connection, frame: EscalationRaise) -> None:
    async with conn.runtime.db.unit_of_work() as uow:
        await escalation_actions.raise_by_hand(
            uow,
            conn.principal,
            conversation_id=frame.conversation_id,
            reason=frame.reason,
            now=utcnow(),
            scale=conn.runtime.settings.escalation_time_scale,
        )


@frames.frame(OnCallSet, roles=SUPERVISORS)
async def on_call(conn: Connection, frame: OnCallSet) -> None:
    async with conn.runtime.db.unit_of_work() as uow:
        count = await escalation_actions.set_on_call(uow, conn.principal, on_call=frame.on_call)
    conn.send(outbound_frames.oncall_ok(on_call=frame.on_call, on_call_count=count, ref=frame.ref))


@frames.frame(EscalationAck, roles=SUPERVISORS)
async def ack(conn: Connection, frame: EscalationAck) -> None:
    async with conn.runtime.db.unit_of_work() as uow:
        row = await escalation_actions.acknowledge(
            uow, conn.principal, escalation_id=frame.escalation_id, now=utcnow()
        )
    watch(conn, row.conversation_id)


@frames.frame(FlaggedAck, roles=SUPERVISORS)
async def flagged_ack(conn: Connection, frame: FlaggedAck) -> None:
    async with conn.runtime.db.unit_of_work() as uow:
        await paging.acknowledge_flagged(
            uow,
            by=conn.principal.user_id,
            by_role=conn.principal.role.value,
            now=utcnow(),
            wait_s=conn.runtime.settings.flagged_wait_page_s,
        )


@frames.frame(EscalationResolve, roles=SUPERVISORS)
async def resolve(conn: Connection, frame: EscalationResolve) -> None:
    async with conn.runtime.db.unit_of_work() as uow:
        await escalation_actions.resolve(
            uow,
            conn.principal,
            escalation_id=frame.escalation_id,
            outcome=frame.outcome,
            note=frame.note,
            now=utcnow(),
        )


def watch(conn: Connection, conversation_id: str) -> None:
    """Start delivering the conversation live to this supervisor's socket, from the start."""
    if conversation_id not in conn.cursors:
        conn.watch(conversation_id, anchor=0)
        conn.resume(conversation_id, 0)


async def _access(conn: Connection, conversation_id: str, mode: str) -> None:
    async with conn.runtime.db.unit_of_work() as uow:
        await escalation_actions.observe(
            uow, conn.principal, conversation_id=conversation_id, mode=mode, now=utcnow()
        )
    watch(conn, conversation_id)


@frames.frame(ConversationObserve, roles=SUPERVISORS)
async def observe(conn: Connection, frame: ConversationObserve) -> None:
    await _access(conn, frame.conversation_id, "observer")


@frames.frame(ConversationJoin, roles=SUPERVISORS)
async def join(conn: Connection, frame: ConversationJoin) -> None:
    await _access(conn, frame.conversation_id, "joined")


@frames.frame(ConversationTakeover, roles=SUPERVISORS)
async def takeover(conn: Connection, frame: ConversationTakeover) -> None:
    await _access(conn, frame.conversation_id, "lead")


@frames.frame(ChatWhisper, roles=(Role.volunteer, Role.supervisor, Role.admin))
async def whisper(conn: Connection, frame: ChatWhisper) -> None:
    async with conn.runtime.db.unit_of_work() as uow:
        await escalation_actions.whisper(
            uow,
            conn.principal,
            conversation_id=frame.conversation_id,
            text=frame.text,
            now=utcnow(),
        )


@frames.on_resume_first
async def resume_joined(
    session: AsyncSession, conversation: ConversationView, access: Access
) -> list[str]:
    """Everyone resuming is told again which supervisors joined or took over."""
    return [
        outbound_frames.staff_entered(fact)
        for fact in await replay.joined(session, conversation.id)
    ]


@frames.on_resume
async def resume_whispers(
    session: AsyncSession, conversation: ConversationView, access: Access
) -> list[str]:
    """Staff resuming get the whispers so far."""
    if not access.is_staff:
        return []
    return [
        outbound_frames.chat_whisper(w)
        for w in await escalation_views.whispers(session, conversation.id)
    ]


@frames.on_resume
async def resume_escalations(
    session: AsyncSession, conversation: ConversationView, access: Access
) -> list[str]:
    """The conversation's volunteer resuming gets ``escalation.updated`` again for each of its
    escalations (resolved ones too): a reloaded console knows whether End must wait for a
    supervisor instead of guessing from the level."""
    if access.role is not Role.volunteer:
        return []
    now = utcnow()
    return [
        outbound_frames.escalation_updated(view)
        for view in await replay.escalations(session, conversation.id, now=now)
    ]


api = APIRouter(prefix="/api/v1/escalations", tags=["escalations"])


@api.get("")
async def unresolved(_: SupervisorPrincipal, runtime: RuntimeDep) -> dict[str, Any]:
    """Open and acknowledged escalations, most urgent first."""
    async with runtime.db.sessionmaker() as session:
        return {"escalations": await escalation_views.list_unresolved(session, now=utcnow())}


@api.get("/flagged-waiting")
async def flagged_waiting(_: SupervisorPrincipal, runtime: RuntimeDep) -> dict[str, Any]:
    """The group of flagged seekers waiting, as ``flagged.waiting`` says it (count live)."""
    async with runtime.db.sessionmaker() as session:
        view = await paging.flagged_view(
            session, now=utcnow(), wait_s=runtime.settings.flagged_wait_page_s
        )
    return outbound_frames.flagged_waiting_fields(view)


@api.post("/{escalation_id}/ack")
async def acknowledge(
    escalation_id: str, principal: SupervisorPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    now = utcnow()
    async with runtime.db.unit_of_work() as uow:
        row = await escalation_actions.acknowledge(
            uow, principal, escalation_id=escalation_id, now=now
        )
    return outbound_frames.escalation_fields(escalation_views.escalation_view(row, now))


@api.post("/{escalation_id}/resolve")
async def resolve_rest(
    escalation_id: str, body: ResolveBody, principal: SupervisorPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    now = utcnow()
    async with runtime.db.unit_of_work() as uow:
        row = await escalation_actions.resolve(
            uow,
            principal,
            escalation_id=escalation_id,
            outcome=body.outcome,
            note=body.note,
            now=now,
        )
    return outbound_frames.escalation_fields(escalation_views.escalation_view(row, now))


@api.get("/metrics")
async def metrics(_: SupervisorPrincipal, runtime: RuntimeDep) -> dict[str, Any]:
    """Time to acknowledge per level over the last 24 hours."""
    async with runtime.db.sessionmaker() as session:
        return {
            "window_s": 86400,
            "time_to_ack": await escalation_views.ack_metrics(
                session, since=utcnow() - timedelta(days=1)
            ),
        }
