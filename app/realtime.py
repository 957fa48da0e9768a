"""The WebSocket connection: authenticate, route frames, deliver events in order.

The handler only pumps socket ↔ services ↔ bus:

- ``receive_loop`` reads a frame, rate-limits it, validates it against the registered frame
  models and calls the route's service function. Every failure becomes an ``error`` frame with
  a stable code; the connection stays usable.
- ``send_loop`` drains this connection's outbox: direct replies and bus events. For
  ``chat.message`` it asks the socket's ``Cursors`` (``app.delivery``: the pure rules) whether
  to send, skip or first fill a gap from the database, so a socket sees each conversation's
  messages in order, once, with no hole, even if the bus dropped an event.

Liveness: uvicorn pings every ``WS_PING_INTERVAL`` (20 s) and drops a peer silent for
``WS_PING_TIMEOUT`` (20 s): long enough for a phone on a poor network, short enough that a
volunteer is not left typing to a dead socket for more than a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError
from starlette.websockets import WebSocket, WebSocketState

from app import metrics, stages
from app.budgets.service import SEEKER_CLIENT_REFRESH_S
from app.bus import RESET, Event
from app.chat import access as chat_access
from app.chat import queries as chat_queries
from app.chat import quick_exit as quick_exit_service
from app.db import is_unavailable_error, utcnow
from app.delivery import GAP, NEXT, Cursors
from app.errors import AppError, Unauthorized, Unavailable
from app.identity import service as identity_service
from app.identity.models import Role
from app.identity.service import Principal
from app.origins import origin_allowed, parse_origins
from app.outbound import frames
from app.outbound.channels import (
    STAFF_CHANNEL,
    SUPERVISORS_CHANNEL,
    conversation_channel,
    staff_channel,
    user_channel,
)
from app.safe_text import PROBLEM as UNSTORABLE_PROBLEM
from app.safe_text import may_hold_unstorable, unstorable_field
from app.socket_protocol import SEND_TEXT_EXTENSION
from app.wellbeing import service as wellbeing_service

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from app.runtime import Runtime

log = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FLOODING = 4429
CLOSE_TOO_MANY_SOCKETS = 4409
CLOSE_SLOW_CONSUMER = 4408
CLOSE_RESTARTING = 1012
CLOSE_TRY_AGAIN = 1013
CATCH_UP_BATCH = 500

Handler = Callable[["Connection", Any], Awaitable[None]]
# What a domain adds to a resumed socket's replay, after the messages and
# ``conversation.resumed`` (the seeker's helpline cards; staff's cues and whispers).
ResumeExtra = Callable[
    ["AsyncSession", chat_access.ConversationView, chat_access.Access], Awaitable[list[str]]
]


@dataclass(frozen=True, slots=True)
class Route:
    model: type[BaseModel]
    roles: frozenset[Role]
    handler: Handler


class FrameRouter:
    """Frame type → (model, allowed roles, handler). Each domain registers its own frames,
    and what it adds when a socket resumes a conversation (``on_resume``)."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.resume_extras: list[ResumeExtra] = []
        self._resume_first: set[ResumeExtra] = set()

    def on_resume(self, extra: ResumeExtra) -> ResumeExtra:
        self.resume_extras.append(extra)
        return extra

    def on_resume_first(self, extra: ResumeExtra) -> ResumeExtra:
        """``on_resume``, ahead of every other domain's additions (who is in the room)."""
        self._resume_first.add(extra)
        return self.on_resume(extra)

    def frame(
        self, model: type[BaseModel], *, roles: Iterable[Role]
    ) -> Callable[[Handler], Handler]:
        type_name = model.model_fields["type"].annotation.__args__[0]  # type: ignore[union-attr]

        def register(handler: Handler) -> Handler:
            if type_name in self.routes:
                raise ValueError(f"frame {type_name!r} registered twice")
            self.routes[type_name] = Route(model, frozenset(roles), handler)
            return handler

        return register

    def include(self, other: FrameRouter) -> None:
        for name, route in other.routes.items():
            if name in self.routes:
                raise ValueError(f"frame {name!r} registered twice")
            self.routes[name] = route
        self._resume_first |= other._resume_first
        merged = [*self.resume_extras, *other.resume_extras]
        self.resume_extras = sorted(merged, key=lambda extra: extra not in self._resume_first)


class TokenBucket:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Outbox:
    """A socket's queue of frames and events: one reader (the send loop), many writers that
    never wait. (``asyncio.Queue`` does more per item, and holds four deques and an event
    per socket for features this never uses.)"""

    __slots__ = ("_items", "_loop", "_waiter")

    def __init__(self) -> None:
        self._items: deque[str | Event | Resume] = deque()
        self._waiter: asyncio.Future[None] | None = None
        # Kept: on Python 3.11 every get_running_loop() is a getpid() system call.
        self._loop: asyncio.AbstractEventLoop | None = None

    def qsize(self) -> int:
        return len(self._items)

    def put_nowait(self, item: str | Event | Resume) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> str | Event | Resume:
        while not self._items:
            if self._loop is None:
                self._loop = asyncio.get_running_loop()
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()


@dataclass(frozen=True, slots=True)
class Resume:
    conversation_id: str
    after_seq: int
    announce: bool = True
    ref: str | None = None


@dataclass(slots=True, eq=False)
class Connection:
    websocket: WebSocket
    runtime: Runtime
    principal: Principal
    outbox: Outbox = field(default_factory=Outbox)
    cursors: Cursors = field(default_factory=Cursors)
    closing: bool = False
    # The seeker's conversation while it is waiting, for queue.status updates.
    waiting_conversation_id: str | None = None
    last_queue_frame: str | None = None
    # Volunteers get the live queue summary only while available (supervisors always).
    wants_summary: bool = False
    # Set when the socket must go (slow consumer); the supervisor in serve_socket then
    # cancels the sender, which may be stuck writing to a client that reads nothing.
    stop: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    close_code: int = 1000
    # The code the client closed with (``CLOSE_QUICK_EXIT`` from a seeker's quick exit).
    peer_close_code: int | None = None
    # Until auth.ok is queued, anything else waits here, so auth.ok is always first.
    early: list[str | Event | Resume] | None = field(default_factory=list)
    # The server's synchronous send (``app.socket_protocol``; None under another server) and
    # whether the send loop is busy with an item. While it is idle and the outbox is empty,
    # a frame (or the next message of a conversation) goes out at once, without waking the
    # send loop: nothing is ahead of it, so the order is the outbox's.
    send_now: Callable[[str], bool] | None = None
    sender_busy: bool = True
    # Conversations whose ``conversation.started`` was delivered and not yet sent: already
    # subscribed to (``deliver``), not yet followed (the send loop's ``_on_event``).
    joining: set[str] = field(default_factory=set)

    @property
    def user_id(self) -> str:
        return self.principal.user_id

    @property
    def role(self) -> Role:
        return self.principal.role

    # -- outbox -----------------------------------------------------------------------
    def _put(self, item: str | Event | Resume) -> None:
        if self.closing:
            return
        if self.early is not None:
            self.early.append(item)
            return
        if not self.sender_busy and not self.outbox.qsize() and self._send_at_once(item):
            return
        if self.outbox.qsize() >= self.runtime.settings.outbox_max_frames:
            # A client that reads nothing must not make the server hold ever more for it.
            log.info("closing slow consumer (outbox full)", extra={"event": "socket.slow_consumer"})
            self.end(CLOSE_SLOW_CONSUMER)
            return
        self.outbox.put_nowait(item)

    def end(self, code: int) -> None:
        """Close this socket with ``code`` as soon as possible: nothing more is queued, and
        ``serve_socket`` stops the send loop even if it is stuck writing."""
        self.closing = True
        self.close_code = code
        if not self.stop.done():
            self.stop.set_result(None)

    def _send_at_once(self, item: str | Event | Resume) -> bool:
        """Send a frame, or a conversation's next message, now; False: queue it."""
        send_now = self.send_now
        if send_now is None:
            return False
        if type(item) is str:
            return send_now(item)
        if type(item) is Event and item.kind == "chat.message" and item.exclude is None:
            conversation_id, seq = item.conversation_id, item.seq
            if (
                conversation_id is not None
                and seq is not None
                and self.cursors.classify(conversation_id, seq) == NEXT
                and send_now(item.frame)
            ):
                self.cursors.advance(conversation_id, seq)
                if stages.RECORDER is not None:
                    stages.RECORDER.handed(conversation_id, seq)
                return True
        return False

    def send(self, frame: str) -> None:
        self._put(frame)

    def open_with(self, auth_ok: str) -> None:
        """Queue ``auth.ok``, then whatever arrived while it was being prepared."""
        early, self.early = self.early or [], None
        self.outbox.put_nowait(auth_ok)
        for item in early:
            self._put(item)

    def error(self, exc: AppError, ref: str | None = None) -> None:
        self._put(frames.error(exc.code, exc.message, ref))

    def deliver(self, channel: str, event: Event) -> None:
        """Bus subscriber entry point: never blocks."""
        if event.kind == "conversation.started":
            self._subscribe_on_start(event)
        self._put(event)

    def _subscribe_on_start(self, event: Event) -> None:
        """Subscribe to a conversation as its start is delivered, not when the send loop
        reaches it: what the same commit publishes on the conversation's channel after the
        start (a returning seeker's safety plan) then reaches this socket too, queued after
        ``conversation.started``. Following it (the cursor, the catch-up) stays the send
        loop's, in order."""
        conversation_id = event.conversation_id
        if conversation_id is None or self.closing or event.exclude == self.user_id:
            return
        self.joining.add(conversation_id)
        self._subscribe(conversation_id)

    def watch(self, conversation_id: str, *, anchor: int | None = None) -> None:
        """Subscribe this socket to a conversation's events."""
        if self.cursors.follow(conversation_id, anchor=anchor):
            self._subscribe(conversation_id)

    def unwatch(self, conversation_id: str) -> None:
        """Stop delivering a conversation to this socket (it was handed to someone else)."""
        if self.cursors.forget(conversation_id):
            self.unsubscribe(conversation_id)

    def _subscribe(self, conversation_id: str) -> None:
        """The conversation's channel, and for staff its staff-only channel too."""
        self.runtime.bus.subscribe(conversation_channel(conversation_id), self)
        if self.principal.is_staff:
            self.runtime.bus.subscribe(staff_channel(conversation_id), self)

    def unsubscribe(self, conversation_id: str) -> None:
        """Both channels of ``_subscribe`` (unwatch, and a closing socket's clean-up)."""
        self.runtime.bus.unsubscribe(conversation_channel(conversation_id), self)
        self.runtime.bus.unsubscribe(staff_channel(conversation_id), self)

    def resume(
        self, conversation_id: str, after_seq: int, *, announce: bool = True, ref: str | None = None
    ) -> None:
        """Queue a resume; the send loop authorises it (``not_found`` otherwise)."""
        self._put(Resume(conversation_id, after_seq, announce, ref))

    async def close(self, code: int) -> None:
        self.closing = True
        with contextlib.suppress(Exception):
            if self.websocket.application_state == WebSocketState.CONNECTED:
                await self.websocket.close(code)

    # -- sending ----------------------------------------------------------------------
    async def send_loop(self) -> None:
        ws = self.websocket
        self.send_now = ws.scope.get("extensions", {}).get(SEND_TEXT_EXTENSION)
        while True:
            self.sender_busy = False
            item = await self.outbox.get()
            self.sender_busy = True
            if isinstance(item, str):
                await ws.send_text(item)
            elif isinstance(item, Resume):
                await self._resume(item)
            else:
                await self._on_event(item)

    async def _on_event(self, event: Event) -> None:
        kind = event.kind
        if event.exclude is not None and event.exclude == self.user_id:
            return
        if kind == "chat.message":
            await self._on_message(event)
        elif kind == "conversation.started":
            assert event.conversation_id is not None
            self.joining.discard(event.conversation_id)
            self.waiting_conversation_id = None
            known = event.conversation_id in self.cursors
            self.watch(event.conversation_id, anchor=None if known else 0)
            await self.websocket.send_text(event.frame)
            if not known:
                await self._catch_up(event.conversation_id, "started")
        elif kind == "conversation.ended":
            if event.conversation_id == self.waiting_conversation_id:
                self.waiting_conversation_id = None
            await self.websocket.send_text(event.frame)
        elif kind == "conversation.released":
            # This user's chat was handed to someone else: stop following it.
            assert event.conversation_id is not None
            self.unwatch(event.conversation_id)
            await self.websocket.send_text(event.frame)
        elif kind == "conversation.requeued":
            # The seeker's chat is back in the queue: positions come again.
            self.waiting_conversation_id = event.conversation_id
            self.last_queue_frame = None
            await self.websocket.send_text(event.frame)
            self.runtime.queue_notifier.mark_dirty()
        elif kind == "session.revoked":
            if event.frame in ("", self.principal.token_hash):
                self.end(CLOSE_UNAUTHENTICATED)
        elif kind == RESET:
            for conversation_id in self.cursors.anchored():
                await self._catch_up(conversation_id, "reset")
        elif event.frame:
            await self.websocket.send_text(event.frame)

    async def _on_message(self, event: Event) -> None:
        conversation_id, seq = event.conversation_id, event.seq
        if conversation_id is None or seq is None:
            return
        action = self.cursors.classify(conversation_id, seq)
        if action == NEXT:
            await self.websocket.send_text(event.frame)
            self.cursors.advance(conversation_id, seq)
            if stages.RECORDER is not None:
                stages.RECORDER.handed(conversation_id, seq)
        elif action == GAP and not await self._catch_up(conversation_id, "gap"):
            # The database is unreachable: pass the live frame on; the client sees the gap
            # and resumes when it can.
            await self.websocket.send_text(event.frame)
            self.cursors.advance(conversation_id, seq)

    async def _catch_up(self, conversation_id: str, reason: str) -> bool:
        """Send every stored message after this socket's cursor. False if the DB failed
        (socket errors propagate: they end the connection)."""
        metrics.caught_up(reason)
        cursors = self.cursors
        while (after_seq := cursors.position(conversation_id)) is not None:
            try:
                async with self.runtime.db.reader() as session:
                    messages = await chat_queries.messages_after(
                        session,
                        conversation_id=conversation_id,
                        after_seq=after_seq,
                        limit=CATCH_UP_BATCH,
                    )
            except Exception as exc:
                log.warning(
                    "catch-up read failed (%s)",
                    type(exc).__name__,
                    extra={"event": "socket.catch_up_failed", "conversation_id": conversation_id},
                )
                return False
            for message in messages:
                await self.websocket.send_text(frames.chat_message(message))
                cursors.advance(conversation_id, message.seq)
            if len(messages) < CATCH_UP_BATCH:
                return True
        return True

    async def _resume(self, item: Resume) -> None:
        """Authorise, subscribe, and send what this socket has not had, from one read.

        Subscribing comes before the read, so a message committed after the read arrives
        live; one committed before is in the read; the cursor drops the overlap.
        """
        try:
            async with self.runtime.db.reader() as session:
                conversation, access = await chat_access.read_for(
                    session, self.principal, item.conversation_id
                )
                self.watch(item.conversation_id)
                # Never send this socket a message it already has.
                after_seq = self.cursors.resume(item.conversation_id, item.after_seq)
                messages = await chat_queries.messages_after(
                    session, conversation_id=item.conversation_id, after_seq=after_seq
                )
                extra: list[str] = []
                if item.announce:
                    for add in self.runtime.router.resume_extras:
                        extra += await add(session, conversation, access)
        except AppError as exc:
            await self.websocket.send_text(frames.error(exc.code, exc.message, item.ref))
            return
        except Exception as exc:
            log.warning(
                "resume read failed (%s)",
                type(exc).__name__,
                extra={"event": "socket.resume_failed"},
            )
            await self.websocket.send_text(
                frames.error("unavailable", "could not read the conversation; retry", item.ref)
            )
            return
        for message in messages:
            if self.cursors.wants(item.conversation_id, message.seq):
                await self.websocket.send_text(frames.chat_message(message))
                self.cursors.advance(item.conversation_id, message.seq)
        if not item.announce:
            return
        peer_read = (
            conversation.volunteer_read_seq
            if access.role is Role.seeker
            else conversation.seeker_read_seq
        )
        await self.websocket.send_text(
            frames.conversation_resumed(
                conversation_id=conversation.id,
                status=conversation.status,
                last_seq=conversation.last_seq,
                peer_read_seq=peer_read,
                ref=item.ref,
            )
        )
        for frame in extra:
            await self.websocket.send_text(frame)

    # -- receiving --------------------------------------------------------------------
    async def receive_loop(self, router: FrameRouter) -> None:
        settings = self.runtime.settings
        bucket = TokenBucket(settings.rate_limit_per_s, settings.rate_limit_burst)
        limited_in_a_row = 0
        # A seeker's session: which client it comes from is noted for the flood budgets
        # (so a block can slow that client down), now and again while it stays active.
        remember_at = 0.0 if self.role is Role.seeker else math.inf
        while True:
            if (now := time.monotonic()) >= remember_at:
                remember_at = now + SEEKER_CLIENT_REFRESH_S
                self._remember_client()
            message = await self.websocket.receive()
            if stages.RECORDER is not None:
                stages.RECEIVED.set(time.perf_counter())
            if message["type"] == "websocket.disconnect":
                self.peer_close_code = message.get("code")
                return
            if not bucket.allow():
                limited_in_a_row += 1
                if limited_in_a_row >= settings.rate_limit_close_after:
                    await self.close(CLOSE_FLOODING)
                    return
                if limited_in_a_row == 1 or limited_in_a_row % 10 == 0:
                    self.send(frames.error("rate_limited", "too many frames; slow down"))
                continue
            limited_in_a_row = 0
            text = message.get("text")
            if text is None:
                self.send(frames.error("binary_not_supported", "send JSON in text frames"))
                continue
            await self.handle_text(router, text)

    def _remember_client(self) -> None:
        budgets = self.runtime.budgets
        client = budgets.client(self.websocket.scope)
        self.runtime.spawn(
            budgets.remember_seeker(self.user_id, client), name="budgets-remember-seeker"
        )

    async def handle_text(self, router: FrameRouter, text: str) -> None:
        ref: str | None = None
        try:
            if len(text) > self.runtime.settings.ws_max_frame_chars:
                raise AppError("frame is too large", code="frame_too_large")
            try:
                raw = parse_json(text)
            except ValueError:
                raise AppError("frame is not valid JSON", code="invalid_json") from None
            if not isinstance(raw, dict):
                raise AppError("frame must be a JSON object", code="invalid_json")
            candidate_ref = raw.get("ref")
            ref = candidate_ref if isinstance(candidate_ref, str) else None
            if may_hold_unstorable(text) and (where := unstorable_field(raw)) is not None:
                raise AppError(f"{where}: {UNSTORABLE_PROBLEM}", code="invalid_frame")
            frame_type = raw.get("type")
            route = router.routes.get(frame_type) if isinstance(frame_type, str) else None
            if route is None or frame_type == "auth":
                raise AppError(f"unknown frame type {frame_type!r}", code="unknown_type")
            if self.role not in route.roles:
                raise AppError(f"a {self.role} may not send {frame_type}", code="forbidden")
            try:
                frame = route.model.model_validate(raw)
            except ValidationError as exc:
                raise validation_error(exc) from None
            await route.handler(self, frame)
        except AppError as exc:
            self.error(exc, ref)
        except Exception as exc:
            if is_unavailable_error(exc):
                self.error(Unavailable("the database is unreachable; nothing was stored"), ref)
            else:
                log.exception(
                    "unexpected %s handling a frame",
                    type(exc).__name__,
                    extra={"event": "socket.frame_failed"},
                )
                self.send(frames.error("internal", "unexpected error", ref))


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def parse_json(text: str) -> Any:
    """``json.loads`` for a client's frame, as strict as JSON itself: ``NaN`` and
    ``Infinity`` (which Python would read) and nesting too deep to read (a RecursionError)
    raise ValueError, so they are ``invalid_json`` (before auth: close 4401), never ``internal``."""
    try:
        return json.loads(text, parse_constant=_not_json)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def validation_error(exc: ValidationError) -> AppError:
    first = exc.errors(include_url=False)[0]
    kind = first["type"]
    if kind in ("text_empty", "text_too_long"):
        return AppError(first["msg"], code=kind)
    where = ".".join(str(p) for p in first["loc"]) or "frame"
    return AppError(f"{where}: {first['msg']}", code="invalid_frame")


async def authenticate_socket(websocket: WebSocket, runtime: Runtime) -> Principal | None:
    """Wait for the ``auth`` frame; close 4401 and return None on anything else."""
    settings = runtime.settings
    try:
        message = await asyncio.wait_for(websocket.receive(), timeout=settings.auth_timeout_s)
    except TimeoutError:
        await websocket.close(CLOSE_UNAUTHENTICATED)
        return None
    if message["type"] == "websocket.disconnect":
        return None
    token = None
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        raw = parse_json(message.get("text") or "")
        if raw.get("type") == "auth":
            token = raw.get("token")
    if not isinstance(token, str):
        await websocket.close(CLOSE_UNAUTHENTICATED)
        return None
    try:
        async with runtime.db.reader() as session:
            return await identity_service.authenticate(
                session, settings=settings, token=token, now=utcnow()
            )
    except Unauthorized:
        await websocket.close(CLOSE_UNAUTHENTICATED)
        return None
    except Exception:
        await websocket.close(1011)
        return None


async def serve_socket(websocket: WebSocket, runtime: Runtime) -> None:
    """One socket's whole life: accept, authenticate, pump until either side closes."""
    headers = websocket.headers
    if not origin_allowed(
        headers.get("origin"),
        host=headers.get("host"),
        allowed=parse_origins(runtime.settings.allowed_origins),
    ):
        # Closing before accepting refuses the handshake: uvicorn answers HTTP 403.
        await websocket.close()
        return
    await websocket.accept()
    if not runtime.accepting:
        await websocket.close(CLOSE_RESTARTING)
        return
    principal = await authenticate_socket(websocket, runtime)
    if principal is None:
        return
    same_token = [
        c
        for c in runtime.connections.get(principal.user_id, ())
        if c.principal.token_hash == principal.token_hash
    ]
    if len(same_token) >= runtime.settings.max_sockets_per_token:
        await websocket.close(CLOSE_TOO_MANY_SOCKETS)
        return
    conn = Connection(websocket, runtime, principal)
    runtime.register(conn)
    expiry = expire_with_token(conn)
    metrics.socket_opened(principal.role.value)
    runtime.presence.arrived(principal)
    bus = runtime.bus
    bus.subscribe(user_channel(principal.user_id), conn)
    if principal.is_staff:
        bus.subscribe(STAFF_CHANNEL, conn)
    if principal.role in (Role.supervisor, Role.admin):
        bus.subscribe(SUPERVISORS_CHANNEL, conn)
    sender = asyncio.get_running_loop().create_task(conn.send_loop(), name="ws-send")
    try:
        try:
            await send_auth_ok(conn)
        except Exception as exc:
            # Overloaded or unreachable database: ask the client to come back shortly.
            log.warning(
                "auth.ok failed (%s); closing with 1013",
                type(exc).__name__,
                extra={"event": "socket.auth_ok_failed"},
            )
            conn.close_code = CLOSE_TRY_AGAIN
            return
        receiver = asyncio.get_running_loop().create_task(
            conn.receive_loop(runtime.router), name="ws-receive"
        )
        done, _ = await asyncio.wait(
            {sender, receiver, conn.stop}, return_when=asyncio.FIRST_COMPLETED
        )
        for task in done:
            if task is not conn.stop and not task.cancelled() and task.exception() is not None:
                exc = task.exception()
                if (
                    not isinstance(exc, OSError | ConnectionError)
                    and "Disconnect" not in type(exc).__name__
                ):
                    log.warning(
                        "socket task ended with %s",
                        type(exc).__name__,
                        extra={"event": "socket.task_failed"},
                    )
        receiver.cancel()
        with contextlib.suppress(BaseException):
            await receiver
    finally:
        if expiry is not None:
            expiry.cancel()
        sender.cancel()
        with contextlib.suppress(BaseException):
            await sender
        conn.closing = True
        for conversation_id in {*conn.cursors, *conn.joining}:
            conn.unsubscribe(conversation_id)
        bus.unsubscribe(user_channel(principal.user_id), conn)
        bus.unsubscribe(STAFF_CHANNEL, conn)
        bus.unsubscribe(SUPERVISORS_CHANNEL, conn)
        runtime.unregister(conn)
        metrics.socket_closed(principal.role.value)
        await on_disconnect(conn)
        # A client that reads nothing cannot take a close frame either: do not wait long.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(conn.close(conn.close_code), timeout=2.0)


def expire_with_token(conn: Connection) -> asyncio.TimerHandle | None:
    """Close the socket with 4401 the moment its token expires (a timer per socket, at the
    token's expiry), as REST starts answering 401 then."""
    expires_at = conn.principal.expires_at
    if expires_at is None:
        return None
    delay = max(0.0, (expires_at - utcnow()).total_seconds())
    return asyncio.get_running_loop().call_later(delay, conn.end, CLOSE_UNAUTHENTICATED)


# Token hashes checked per query when every socket is re-checked.
RECHECK_BATCH = 500
RECHECK_ATTEMPTS = 60


async def recheck_sessions(runtime: Runtime) -> int:
    """Close (4401) every local socket whose token no longer authenticates; how many.

    Runs after a bus reset: a revocation (logout, new password, deactivation, quick exit,
    block) published while this process's Redis link was down never reached it, and the
    socket would otherwise stay open. The database is the record, so ask it, in batches.
    A read that fails is retried every second for a minute."""
    for attempt in range(RECHECK_ATTEMPTS):
        connections = [c for c in runtime.local_connections() if not c.closing]
        hashes = sorted({c.principal.token_hash for c in connections})
        try:
            valid: set[str] = set()
            async with runtime.db.reader() as session:
                for start in range(0, len(hashes), RECHECK_BATCH):
                    valid |= await identity_service.valid_token_hashes(
                        session, token_hashes=hashes[start : start + RECHECK_BATCH], now=utcnow()
                    )
        except Exception as exc:
            log.warning("session re-check failed (%s); retrying", type(exc).__name__)
            if attempt + 1 < RECHECK_ATTEMPTS:
                await asyncio.sleep(1.0)
            continue
        dead = [c for c in connections if c.principal.token_hash not in valid]
        for conn in dead:
            conn.end(CLOSE_UNAUTHENTICATED)
        if dead:
            log.info("closed %d sockets whose tokens died while the bus was down", len(dead))
        return len(dead)
    return 0


async def send_auth_ok(conn: Connection) -> None:
    cooldown = None
    async with conn.runtime.db.reader() as session:
        conversations = await chat_queries.open_conversations(session, conn.principal)
        if conn.role is Role.volunteer:
            cooldown = await wellbeing_service.cooldown_after_auth(
                session, conn.user_id, now=utcnow()
            )
    listed = [
        {
            "conversation_id": conversation.id,
            "status": conversation.status,
            "peer_alias": conversation.peer_alias,
            "last_seq": conversation.last_seq,
            "language": conversation.language,
        }
        for conversation in conversations
    ]
    for conversation in conversations:
        conn.watch(conversation.id)
        if conversation.status == "waiting" and conn.role is Role.seeker:
            conn.waiting_conversation_id = conversation.id
    conn.open_with(
        frames.auth_ok(
            role=conn.role.value,
            user_id=conn.user_id,
            alias=conn.principal.alias,
            active_conversations=listed,
        )
    )
    if cooldown is not None:
        conn.send(cooldown)
    conn.runtime.queue_notifier.mark_dirty()


async def on_disconnect(conn: Connection) -> None:
    """The user's last socket here closed: presence records when, and a volunteer with no
    socket on any other process is then no longer available for new chats. A seeker who
    closed with ``CLOSE_QUICK_EXIT`` has quick-exited (``app.chat.quick_exit``)."""
    if conn.role is Role.seeker and conn.peer_close_code == quick_exit_service.CLOSE_QUICK_EXIT:
        try:
            async with conn.runtime.db.unit_of_work() as uow:
                await quick_exit_service.quick_exit(uow, conn.principal, now=utcnow())
        except Exception as exc:
            # The beacon or the final frame may still have told us; nothing more to do here.
            log.warning(
                "quick exit on close failed (%s)",
                type(exc).__name__,
                extra={"event": "socket.quick_exit_failed"},
            )
    if not conn.runtime.connections.get(conn.user_id):
        conn.runtime.presence.left(conn.principal)
