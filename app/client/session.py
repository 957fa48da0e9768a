"""The client's asyncio shell: sockets, reconnects, waiters (rules: ``app.client``)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from app.client.state import (
    EVENT_BUFFER_SIZE,
    FINAL_CLOSE_CODES,
    FLOOD_CLOSE_CODE,
    ClientState,
    Frame,
    PeerlineClosed,
    PeerlineError,
    PendingSend,
    backoff_delay,
)

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- REST


@dataclass(frozen=True)
class SeekerCredentials:
    token: str
    alias: str
    seeker_id: str


@dataclass(frozen=True)
class StaffCredentials:
    token: str
    role: str
    user_id: str
    alias: str


async def _post(base_url: str, path: str, body: Frame, http: httpx.AsyncClient | None) -> Frame:
    async with contextlib.AsyncExitStack() as stack:
        if http is None:
            http = await stack.enter_async_context(httpx.AsyncClient(timeout=10.0))
        response = await http.post(base_url.rstrip("/") + path, json=body)
        if response.status_code >= 400:
            try:
                err = response.json()["error"]
            except (ValueError, KeyError, TypeError):
                err = {"code": "http_error", "message": response.text[:200]}
            raise PeerlineError(
                err.get("code", "http_error"), err.get("message", ""), response.status_code
            )
        return response.json()


async def create_seeker(
    base_url: str,
    language: str = "en",
    topics: Sequence[str] | None = None,
    *,
    age_band: str | None = None,
    consent: bool = True,
    http: httpx.AsyncClient | None = None,
) -> SeekerCredentials:
    """``POST /api/v1/seekers``: a new anonymous seeker and its token."""
    body: Frame = {"language": language, "consent": consent}
    if topics is not None:
        body["topics"] = list(topics)
    if age_band is not None:
        body["age_band"] = age_band
    reply = await _post(base_url, "/api/v1/seekers", body, http)
    return SeekerCredentials(reply["seeker_token"], reply["alias"], reply["seeker_id"])


async def login(
    base_url: str, username: str, password: str, *, http: httpx.AsyncClient | None = None
) -> StaffCredentials:
    """``POST /api/v1/auth/login``: a staff token."""
    body = {"username": username, "password": password}
    reply = await _post(base_url, "/api/v1/auth/login", body, http)
    return StaffCredentials(reply["access_token"], reply["role"], reply["user_id"], reply["alias"])


def encode_frame(frame: Frame) -> str:
    """The frame as JSON text, unescaped as a browser's ``JSON.stringify`` writes it: the
    server's ``WS_MAX_FRAME_CHARS`` counts a ``\\u`` escape as its 6 characters, so escaped, a
    4,000-character message in Hindi would be ``frame_too_large``. Text that cannot be UTF-8
    (a lone surrogate) goes escaped, for the server to answer ``invalid_frame``."""
    text = json.dumps(frame, ensure_ascii=False)
    try:
        text.encode()
    except UnicodeEncodeError:
        return json.dumps(frame)
    return text


def ws_url(base_url: str) -> str:
    """``http://host:port`` → ``ws://host:port/ws`` (``https`` → ``wss``)."""
    return base_url.rstrip("/").replace("http", "ws", 1) + "/ws"


@dataclass
class _Waiter:
    ref: str
    reply_type: str
    conversation_id: str | None
    future: asyncio.Future[Frame] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


# --------------------------------------------------------------------------- the client


class PeerlineClient:
    """One authenticated WebSocket session that survives drops (see the module rules)."""

    def __init__(
        self,
        ws_urls: str | Sequence[str],
        token: str,
        *,
        reconnect: bool = True,
        backoff_base: float = 0.2,
        backoff_max: float = 5.0,
        ack_timeout: float = 5.0,
        compression: str | None = None,
        open_timeout: float = 10.0,
    ) -> None:
        self.urls = [ws_urls] if isinstance(ws_urls, str) else list(ws_urls)
        self.token = token
        self.reconnect, self.backoff_base, self.backoff_max = reconnect, backoff_base, backoff_max
        self.ack_timeout, self.compression, self.open_timeout = (
            ack_timeout,
            compression,
            open_timeout,
        )
        self.auth_ok: Frame | None = None
        self.close_code: int | None = None
        self.reconnects = 0
        self.state = ClientState()
        self._outbox = self.state.outbox
        self._waiters: list[_Waiter] = []
        self._events: deque[Frame] = deque(maxlen=EVENT_BUFFER_SIZE)
        self._event_arrived = asyncio.Event()
        self._state_changed = asyncio.Event()  # set when connected or closed for good
        self._ws: ClientConnection | None = None  # set only while authenticated
        self._url_cycle = itertools.cycle(range(len(self.urls)))
        self._runner: asyncio.Task[None] | None = None
        self._closing = False
        self._tasks: set[asyncio.Task[Any]] = set()

    async def __aenter__(self) -> PeerlineClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- connection lifecycle

    async def connect(self) -> Frame:
        """Open and authenticate, trying each URL once; return the ``auth.ok`` payload."""
        last: BaseException | None = None
        for _ in self.urls:
            try:
                ws = await self._open(self.urls[next(self._url_cycle)])
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                last = exc
                continue
            self._runner = asyncio.create_task(self._run(ws))
            assert self.auth_ok is not None
            return self.auth_ok
        raise ConnectionError(f"no Peerline server answered: {last!r}") from last

    async def close(self) -> None:
        """Close for good (code 1000); pending waiters raise ``PeerlineClosed``."""
        self._closing = True
        if self._ws is not None:
            await self._ws.close()
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        self._shut_down(self.close_code)

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._closing

    async def _current_socket(self) -> ClientConnection:
        """The authenticated socket, waiting while reconnecting."""
        while True:
            if self._closing:
                raise PeerlineClosed(self.close_code)
            if self._ws is not None:
                return self._ws
            self._state_changed.clear()
            await self._state_changed.wait()

    async def _open(self, url: str) -> ClientConnection:
        ws = await connect(
            url, compression=self.compression, open_timeout=self.open_timeout, proxy=None
        )
        try:
            await ws.send(encode_frame({"type": "auth", "token": self.token}))
            async with asyncio.timeout(self.open_timeout):
                while True:
                    frame = json.loads(await ws.recv())
                    if frame.get("type") == "auth.ok":
                        break
                    self._dispatch(frame)
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else None
            if code in FINAL_CLOSE_CODES:
                self._shut_down(code)
                raise PeerlineClosed(code) from exc
            raise ConnectionError(f"closed during auth (code {code})") from exc
        except BaseException:
            await ws.close()
            raise
        self.auth_ok, self._ws = frame, ws
        self._state_changed.set()
        self._spawn(self._after_auth(frame))
        return ws

    async def _run(self, ws: ClientConnection) -> None:
        attempt = 0
        while True:
            with contextlib.suppress(ConnectionClosed):
                async for raw in ws:
                    self._receive(raw)
            self._ws = None
            code = ws.close_code
            if self._closing or code in FINAL_CLOSE_CODES or not self.reconnect:
                self._shut_down(code)
                return
            attempt = 3 if code == FLOOD_CLOSE_CODE else 0
            while True:
                await asyncio.sleep(backoff_delay(attempt, self.backoff_base, self.backoff_max))
                try:
                    ws = await self._open(self.urls[next(self._url_cycle)])
                    break
                except PeerlineClosed:  # 4401/4409 while re-authenticating
                    return
                except (OSError, InvalidHandshake, TimeoutError, ConnectionError):
                    attempt += 1
            self.reconnects += 1

    async def _after_auth(self, auth_ok: Frame) -> None:
        """Rule 4: resume every live conversation, then resend every unacknowledged send."""
        for conversation_id in self.state.after_auth(auth_ok):
            await self._resume_quietly(conversation_id)
        for entry in self._outbox.pending():
            await self._transmit(entry)

    def _shut_down(self, code: int | None) -> None:
        self._closing = True
        self.close_code = code
        self._ws = None
        self._state_changed.set()
        error = PeerlineClosed(code)
        for future in [w.future for w in self._waiters] + [
            e.future for e in self._outbox.pending()
        ]:
            if not future.done():
                future.set_exception(error)
                future.exception()  # mark retrieved: nobody may be awaiting it
        self._waiters.clear()
        self._event_arrived.set()
        for task in self._tasks:
            task.cancel()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- incoming frames

    def _receive(self, raw: str | bytes) -> None:
        """Dispatch one frame; a malformed one is logged, never fatal to the session."""
        try:
            self._dispatch(json.loads(raw))
        except (ValueError, KeyError, TypeError, AttributeError):
            logger.exception("ignoring a malformed server frame: %.200r", raw)

    def _dispatch(self, frame: Frame) -> None:
        reaction = self.state.observe(frame)
        if reaction.resume is not None:
            self._spawn(self._resume_quietly(reaction.resume))
        if reaction.acked is not None and not reaction.acked.future.done():
            reaction.acked.future.set_result(frame)
        if reaction.retry is not None:
            self._schedule_resend(reaction.retry)
        if reaction.failed is not None and not reaction.failed.future.done():
            reaction.failed.future.set_exception(
                PeerlineError(frame["code"], frame.get("message", ""))
            )
        for waiter in list(self._waiters):
            if self._settle(waiter, frame):
                self._waiters.remove(waiter)
        self._events.append(frame)
        self._event_arrived.set()

    @staticmethod
    def _settle(waiter: _Waiter, frame: Frame) -> bool:
        if waiter.future.done():
            return True
        kind, ref = frame.get("type"), frame.get("ref")
        if kind == "error" and ref == waiter.ref:
            waiter.future.set_exception(PeerlineError(frame["code"], frame.get("message", "")))
            return True
        same = waiter.conversation_id in (None, frame.get("conversation_id"))
        if kind == waiter.reply_type and (ref == waiter.ref or (not ref and same)):
            waiter.future.set_result(frame)
            return True
        return False

    # ---- reading the event stream

    async def events(self) -> AsyncIterator[Frame]:
        """Every server frame, in arrival order, until the client closes."""
        while True:
            while self._events:
                yield self._events.popleft()
            if self._closing:
                return
            self._event_arrived.clear()
            await self._event_arrived.wait()

    async def wait_for(self, predicate: Callable[[Frame], bool], timeout: float = 5.0) -> Frame:
        """Remove and return the first buffered or future frame matching ``predicate``."""
        async with asyncio.timeout(timeout):
            while True:
                for frame in self._events:
                    if predicate(frame):
                        self._events.remove(frame)
                        return frame
                if self._closing:
                    raise PeerlineClosed(self.close_code)
                self._event_arrived.clear()
                await self._event_arrived.wait()

    async def recv(self, type: str | None = None, timeout: float = 5.0) -> Frame:
        """The first frame (of ``type``, if given), as ``wait_for``."""
        return await self.wait_for(lambda f: type is None or f.get("type") == type, timeout)

    # ---- state (``app.client.state``)

    @property
    def conversations(self) -> dict[str, Frame]:
        """id → the latest started/resumed/ended frame of each conversation known."""
        return self.state.conversations

    @property
    def queue_status(self) -> Frame | None:
        return self.state.queue_status

    def messages(self, conversation_id: str) -> list[Frame]:
        """The ``chat.message`` frames held, deduplicated, in seq order."""
        return self.state.messages(conversation_id)

    def last_seq(self, conversation_id: str) -> int:
        """The highest seq held with no gap below it (what a resume sends)."""
        return self.state.last_seq(conversation_id)

    def gaps(self, conversation_id: str) -> list[int]:
        return self.state.gaps(conversation_id)

    def unacknowledged(self) -> list[Frame]:
        """The ``chat.send`` frames still waiting for their ``chat.ack``, oldest first."""
        return [entry.frame for entry in self._outbox.pending()]

    # ---- outgoing frames

    async def send_frame(self, frame: Frame) -> None:
        """Send one raw frame on the current socket; waits while reconnecting."""
        ws = await self._current_socket()
        await ws.send(encode_frame(frame))

    async def request(self, frame: Frame, reply_type: str, timeout: float = 10.0) -> Frame:
        """Send ``frame`` with a fresh ``ref``; return its reply or raise its ``error``.

        The reply is the first ``reply_type`` frame carrying our ``ref`` or, if the server put
        no ``ref`` on it, the first one about the same conversation (when the frame names one).
        """
        waiter = _Waiter(uuid.uuid4().hex, reply_type, frame.get("conversation_id"))
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                await self.send_frame({**frame, "ref": waiter.ref})
                return await waiter.future
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    async def send_message(
        self,
        conversation_id: str,
        text: str,
        client_msg_id: str | None = None,
        *,
        timeout: float | None = 60.0,
    ) -> Frame:
        """Send a chat message and return its ``chat.ack`` (rule 5).

        On ``timeout`` ``TimeoutError`` is raised but the message stays unacknowledged and is
        still resent after the next reconnect.
        """
        if self._closing:
            raise PeerlineClosed(self.close_code)
        cmid = client_msg_id or uuid.uuid4().hex
        frame = _frame("chat.send", conversation_id, client_msg_id=cmid, text=text)
        frame["ref"] = uuid.uuid4().hex
        future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        entry = self._outbox.add(PendingSend(frame, future))
        async with asyncio.timeout(timeout):
            while True:
                await self._transmit(entry)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.ack_timeout):
                        return await asyncio.shield(entry.future)

    async def _transmit(self, entry: PendingSend) -> None:
        if entry.future.done():
            return
        # A closed client has already failed the future; a dropped socket resends on reconnect.
        with contextlib.suppress(PeerlineClosed, ConnectionClosed):
            ws = await self._current_socket()
            entry.attempts += 1
            await ws.send(encode_frame(entry.frame))

    def _schedule_resend(self, entry: PendingSend) -> None:
        if entry.retry is not None:
            return

        def fire() -> None:
            entry.retry = None
            self._spawn(self._transmit(entry))

        delay = backoff_delay(entry.attempts, self.backoff_base, self.backoff_max)
        entry.retry = asyncio.get_running_loop().call_later(delay, fire)

    async def _resume_quietly(self, conversation_id: str) -> None:
        after_seq = self.state.resuming(conversation_id)
        with contextlib.suppress(ConnectionClosed, PeerlineClosed):
            await self.send_frame(
                _frame("conversation.resume", conversation_id, after_seq=after_seq)
            )

    # ---- typed helpers: each returns the reply frame, or raises PeerlineError

    async def ping(self) -> Frame:
        return await self.request(_frame("ping"), "pong")

    async def join_queue(self, topics: Sequence[str] | None = None) -> Frame:
        """Seeker: queue up; returns the first ``queue.status``."""
        return await self.request(_frame("queue.join", topics=topics), "queue.status")

    async def leave_queue(self, conversation_id: str) -> Frame:
        """Seeker: leave the queue; returns ``conversation.ended`` (abandoned)."""
        return await self.request(_frame("queue.leave", conversation_id), "conversation.ended")

    async def set_availability(
        self,
        available: bool = True,
        *,
        capacity: int | None = None,
        auto_assign: bool | None = None,
    ) -> Frame:
        """Volunteer: returns ``availability.ok``."""
        frame = _frame(
            "availability.set", available=available, capacity=capacity, auto_assign=auto_assign
        )
        return await self.request(frame, "availability.ok")

    async def take(self) -> Frame:
        """Volunteer: take the next seeker; returns our ``conversation.started``."""
        return await self.request(_frame("queue.take"), "conversation.started")

    async def resume(self, conversation_id: str, after_seq: int | None = None) -> Frame:
        """Ask again for the messages after ``after_seq`` (default: ``last_seq``); returns the
        ``conversation.resumed`` that follows them."""
        seq = self.last_seq(conversation_id) if after_seq is None else after_seq
        frame = _frame("conversation.resume", conversation_id, after_seq=seq)
        return await self.request(frame, "conversation.resumed")

    async def end(self, conversation_id: str, reason: str | None = None) -> Frame:
        frame = _frame("conversation.end", conversation_id, reason=reason)
        return await self.request(frame, "conversation.ended")

    async def typing(self, conversation_id: str, typing: bool = True) -> None:
        await self.send_frame(_frame("chat.typing", conversation_id, typing=typing))

    async def read(self, conversation_id: str, seq: int | None = None) -> None:
        """Tell the others we have read up to ``seq`` (default: ``last_seq``)."""
        seq = self.last_seq(conversation_id) if seq is None else seq
        await self.send_frame(_frame("chat.read", conversation_id, seq=seq))


def _frame(kind: str, conversation_id: str | None = None, **fields: Any) -> Frame:
    """A client frame; fields left as None are omitted."""
    frame: Frame = {"type": kind, "conversation_id": conversation_id, **fields}
    return {key: value for key, value in frame.items() if value is not None}
