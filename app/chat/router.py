"""Chat frames and history over REST: thin handlers over the chat domain modules."""

from __future__ import annotations

import json
import time
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from app import metrics, outbound
from app.chat import access as chat_access
from app.chat import language as chat_language
from app.chat import lifecycle as chat_lifecycle
from app.chat import queries as chat_queries
from app.chat import quick_exit as quick_exit_service
from app.chat import sending
from app.chat.protocol import (
    ChatRead,
    ChatSend,
    ChatTyping,
    ConversationEnd,
    ConversationLanguage,
    ConversationNote,
    ConversationResume,
    Ping,
    QuickExit,
)
from app.db import utcnow
from app.deps import CurrentPrincipal, RuntimeDep
from app.errors import Forbidden, NotFound, Unauthorized
from app.identity import service as identity_service
from app.identity.models import Role
from app.outbound import frames as outbound_frames
from app.realtime import Connection, FrameRouter

frames = FrameRouter()
PARTICIPANTS = (Role.seeker, Role.volunteer, Role.supervisor, Role.admin)
ANYONE = PARTICIPANTS


@frames.frame(Ping, roles=ANYONE)
async def ping(conn: Connection, frame: Ping) -> None:
    conn.send(outbound_frames.pong(utcnow(), frame.ref))


@frames.frame(ChatSend, roles=PARTICIPANTS)
async def send(conn: Connection, frame: ChatSend) -> None:
    started = time.perf_counter()
    await sending.send_message(
        conn.runtime.db,
        conn.runtime.writer,
        conn.principal,
        conversation_id=frame.conversation_id,
        client_msg_id=frame.client_msg_id,
        text=frame.text,
        now=utcnow(),
        reply=conn.send,
        ref=frame.ref,
    )
    metrics.send_took(time.perf_counter() - started)


@frames.frame(ChatTyping, roles=PARTICIPANTS)
async def typing(conn: Connection, frame: ChatTyping) -> None:
    if frame.conversation_id not in conn.cursors:
        raise NotFound("no such conversation")
    if conn.role is not Role.seeker:
        # Staff follow a chat as observers too: only a writer may be seen typing. A
        # supervisor who only observes (the seeker must not learn of a silent observer), or
        # a volunteer whose chat a supervisor took over (the seeker would wait for words
        # that cannot come: they can no longer write), gets ``forbidden``.
        async with conn.runtime.db.sessionmaker() as session:
            _, access = await chat_access.read_for(session, conn.principal, frame.conversation_id)
        if not access.can_write:
            raise Forbidden("you are observing this conversation")
    typing = sending.typing(
        conn.principal, conversation_id=frame.conversation_id, typing=frame.typing
    )
    await outbound.publish(conn.runtime.bus, [typing])


@frames.frame(ChatRead, roles=PARTICIPANTS)
async def read(conn: Connection, frame: ChatRead) -> None:
    async with conn.runtime.db.unit_of_work() as uow:
        await sending.mark_read(
            uow, conn.principal, conversation_id=frame.conversation_id, seq=frame.seq
        )


@frames.frame(ConversationResume, roles=PARTICIPANTS)
async def resume(conn: Connection, frame: ConversationResume) -> None:
    # Authorised in the send loop, in the same read that fetches what was missed.
    conn.resume(frame.conversation_id, frame.after_seq, ref=frame.ref)


@frames.frame(ConversationEnd, roles=PARTICIPANTS)
async def end(conn: Connection, frame: ConversationEnd) -> None:
    async with conn.runtime.db.unit_of_work() as uow:
        await chat_lifecycle.end(
            uow,
            conn.principal,
            conversation_id=frame.conversation_id,
            reason=frame.reason,
            now=utcnow(),
        )


@frames.frame(ConversationNote, roles=(Role.volunteer,))
async def note(conn: Connection, frame: ConversationNote) -> None:
    async with conn.runtime.db.unit_of_work() as uow:
        await chat_lifecycle.write_note(
            uow, conn.principal, conversation_id=frame.conversation_id, text=frame.text
        )
    conn.send(outbound_frames.note_ok(frame.conversation_id, frame.ref))


@frames.frame(ConversationLanguage, roles=(Role.seeker,))
async def language(conn: Connection, frame: ConversationLanguage) -> None:
    async with conn.runtime.db.unit_of_work() as uow:
        await chat_language.change(
            uow, conn.principal, conversation_id=frame.conversation_id, language=frame.language
        )


@frames.frame(QuickExit, roles=(Role.seeker,))
async def quick_exit(conn: Connection, frame: QuickExit) -> None:
    """The seeker's last frame: everything closes and the socket goes with 4401."""
    async with conn.runtime.db.unit_of_work() as uow:
        await quick_exit_service.quick_exit(uow, conn.principal, now=utcnow())


api = APIRouter(prefix="/api/v1", tags=["conversations"])

# A beacon body is small: {"token": "sk_..."}.
_QUICK_EXIT_MAX_BODY = 1024


@api.post("/seekers/quick-exit", status_code=status.HTTP_204_NO_CONTENT)
async def quick_exit_beacon(request: Request, runtime: RuntimeDep) -> Response:
    """Quick exit over HTTP, for ``navigator.sendBeacon`` (which cannot set headers): the
    token comes in ``Authorization: Bearer`` or as the JSON body ``{"token": "..."}``."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        body = await request.body()
        token = ""
        if len(body) <= _QUICK_EXIT_MAX_BODY:
            try:
                raw = json.loads(body)
            except ValueError:
                raw = None
            if isinstance(raw, dict) and isinstance(raw.get("token"), str):
                token = raw["token"]
    if not token:
        raise Unauthorized("send the seeker token")
    async with runtime.db.unit_of_work() as uow:
        principal = await identity_service.authenticate(
            uow.session, settings=runtime.settings, token=token.strip(), now=utcnow()
        )
        if principal.role is not Role.seeker:
            raise Unauthorized("quick exit is for seekers")
        await quick_exit_service.quick_exit(uow, principal, now=utcnow())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@api.get("/conversations")
async def list_conversations(principal: CurrentPrincipal, runtime: RuntimeDep) -> dict[str, object]:
    async with runtime.db.sessionmaker() as session:
        conversations = await chat_queries.list_for(session, principal)
    return {
        "conversations": [
            {
                "conversation_id": c.id,
                "status": c.status,
                "language": c.language,
                "queued_at": c.queued_at,
                "started_at": c.started_at,
                "ended_at": c.ended_at,
                "last_seq": c.last_seq,
            }
            for c in conversations
        ]
    }


@api.get("/conversations/{conversation_id}/messages")
async def history(
    conversation_id: str,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    after_seq: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, object]:
    """Page through a conversation the caller takes part in (``not_found`` otherwise)."""
    async with runtime.db.sessionmaker() as session:
        await chat_access.authorise_read(session, principal, conversation_id)
        await session.commit()
        messages = await chat_queries.messages_after(
            session, conversation_id=conversation_id, after_seq=after_seq, limit=limit + 1
        )
    has_more = len(messages) > limit
    messages = messages[:limit]
    return {
        "messages": [
            {
                "seq": m.seq,
                "sender_role": m.sender_role,
                "sender_alias": m.sender_alias,
                "text": m.text,
                "sent_at": m.sent_at,
                "client_msg_id": m.client_msg_id,
            }
            for m in messages
        ],
        "next_after_seq": messages[-1].seq if messages else after_seq,
        "has_more": has_more,
    }
