"""A small asyncio client for the Peerline wire protocol (docs/protocol.md).

Used by the integration tests, the benchmark, the fault-injection tests and integrators. It
imports nothing from the server: only ``websockets`` and ``httpx``.

Reliability rules. These are THE rules; the web client mirrors them one for one.

1. ``auth`` is the first frame on every socket. ``auth.ok`` lists the active conversations.
2. A socket closed with 4401 (bad token) or 4409 (too many sockets) is final: the client stops
   and every waiter raises ``PeerlineClosed``. Any other close, or a lost link, reconnects.
3. Reconnects wait ``uniform(0, min(backoff_max, backoff_base * 2**attempt))`` ("full jitter",
   so a fleet of clients does not reconnect in lockstep) and rotate through the URL list, so a
   client fails over to another server process. ``attempt`` counts failed tries since the
   socket dropped, so the first try comes within one ``backoff_base``: a 1012 (server
   restarting) is followed promptly by the next process. A 4429 (flooding) starts at attempt 3.
4. After every ``auth.ok``: for each conversation the client knows or was told about (and that
   has not ended), send ``conversation.resume`` with ``after_seq`` = the highest *contiguous*
   seq it holds; then resend every unacknowledged ``chat.send`` with the SAME
   ``client_msg_id`` (the server stores it once and answers ``duplicate: true``).
5. A ``chat.send`` stays unacknowledged until its ``chat.ack``. Without an ack within
   ``ack_timeout`` it is resent on the current socket; an ``error`` ``unavailable`` or
   ``rate_limited`` resends it after a backoff; any other ``error`` fails it for good.
6. Received ``chat.message`` frames are kept per conversation, deduplicated by seq and in seq
   order. A seq beyond ``last_seq + 1`` is a gap: the client asks
   ``conversation.resume(after_seq=last_seq)`` to fill it.
7. Each ``conversation.started`` is remembered and resumed from what the client holds (for a
   volunteer that is 0, so the messages the seeker sent while waiting arrive first).

Every server frame is also appended, in arrival order, to a bounded buffer read by
``events()``, ``recv()`` and ``wait_for()``, so tests can assert on the raw stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import random
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

Frame = dict[str, Any]
logger = logging.getLogger(__name__)

FINAL_CLOSE_CODES = frozenset({4401, 4409})
FLOOD_CLOSE_CODE = 4429
RETRYABLE_SEND_ERRORS = frozenset({"unavailable", "rate_limited"})
EVENT_BUFFER_SIZE = 10_000  # frames kept for events()/recv(); the oldest are dropped


class PeerlineError(Exception):
    """An ``error`` frame (or REST error body) answering one of our requests."""

    def __init__(self, code: str, message: str = "", status: int | None = None) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code, self.message, self.status = code, message, status


class PeerlineClosed(Exception):
    """The client is closed: by ``close()`` or by a final close code (``code``)."""

    def __init__(self, code: int | None) -> None:
        super().__init__(f"connection closed for good (code {code})")
        self.code = code


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


def ws_url(base_url: str) -> str:
    """``http://host:port`` → ``ws://host:port/ws`` (``https`` → ``wss``)."""
    return base_url.rstrip("/").replace("http", "ws", 1) + "/ws"


# --------------------------------------------------------------------------- pure pieces


def backoff_delay(
    attempt: int, base: float, cap: float, rand: Callable[[], float] = random.random
) -> float:
    """Full-jitter backoff: uniform in ``[0, min(cap, base * 2**attempt))``."""
    return rand() * min(cap, base * 2 ** min(attempt, 32))


class ConversationLog:
    """The ``chat.message`` frames held for one conversation: by seq, no duplicates."""

    def __init__(self) -> None:
        self._by_seq: dict[int, Frame] = {}
        self.last_seq = 0  # highest seq such that 1..last_seq are all held
        self.max_seq = 0  # highest seq held; above last_seq means a gap
        self.duplicates = 0

    def add(self, message: Frame) -> bool:
        """Keep ``message``; False if its seq was already held (a duplicate)."""
        seq = int(message["seq"])
        if seq < 1 or seq in self._by_seq:
            self.duplicates += 1
            return False
        self._by_seq[seq] = message
        self.max_seq = max(self.max_seq, seq)
        while self.last_seq + 1 in self._by_seq:
            self.last_seq += 1
        return True

    def gaps(self) -> list[int]:
        """Seqs missing below the highest one held."""
        return [s for s in range(self.last_seq + 1, self.max_seq) if s not in self._by_seq]

    def messages(self) -> list[Frame]:
        return [self._by_seq[s] for s in sorted(self._by_seq)]


@dataclass
class PendingSend:
    """A ``chat.send`` not yet acknowledged; resent as is (same ``client_msg_id``)."""

    frame: Frame
    future: asyncio.Future[Frame]
    attempts: int = 0
    retry: asyncio.TimerHandle | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.frame["conversation_id"], self.frame["client_msg_id"]


class Outbox:
    """Unacknowledged sends, in the order they were first sent, findable by key and ref."""

    def __init__(self) -> None:
        self._pending: dict[tuple[str, str], PendingSend] = {}
        self._by_ref: dict[str, tuple[str, str]] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, entry: PendingSend) -> PendingSend:
        """Register ``entry``; a send already pending under the same key is returned instead."""
        existing = self._pending.setdefault(entry.key, entry)
        self._by_ref[existing.frame["ref"]] = existing.key
        return existing

    def by_ref(self, ref: str | None) -> PendingSend | None:
        key = self._by_ref.get(ref) if ref else None
        return self._pending.get(key) if key else None

    def pop(self, key: tuple[str, str]) -> PendingSend | None:
        entry = self._pending.pop(key, None)
        if entry is not None:
            self._by_ref.pop(entry.frame["ref"], None)
            if entry.retry is not None:
                entry.retry.cancel()
        return entry

    def pending(self) -> list[PendingSend]:
        return list(self._pending.values())


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
        self.queue_status: Frame | None = None
        self.conversations: dict[str, Frame] = {}  # id → latest started/resumed/ended frame
        self.close_code: int | None = None
        self.reconnects = 0
        self._logs: dict[str, ConversationLog] = {}
        self._ended: set[str] = set()
        self._resuming: set[str] = set()
        self._outbox = Outbox()
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
            await ws.send(json.dumps({"type": "auth", "token": self.token}))
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
        self._resuming.clear()
        for conv in auth_ok.get("active_conversations", []):
            self.conversations.setdefault(conv["conversation_id"], conv)
        for conversation_id in list(self.conversations):
            if conversation_id not in self._ended:
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
        kind = frame.get("type")
        conversation_id = frame.get("conversation_id")
        if kind == "chat.message" and conversation_id:
            log = self._logs.setdefault(conversation_id, ConversationLog())
            log.add(frame)
            if log.max_seq > log.last_seq and conversation_id not in self._resuming:
                self._spawn(self._resume_quietly(conversation_id))  # rule 6
        elif kind == "chat.ack" and conversation_id:
            entry = self._outbox.pop((conversation_id, frame["client_msg_id"]))
            if entry is not None and not entry.future.done():
                entry.future.set_result(frame)
        elif kind == "error":
            entry = self._outbox.by_ref(frame.get("ref"))
            if entry is not None and frame.get("code") in RETRYABLE_SEND_ERRORS:
                self._schedule_resend(entry)
            elif entry is not None:
                self._outbox.pop(entry.key)
                if not entry.future.done():
                    entry.future.set_exception(
                        PeerlineError(frame["code"], frame.get("message", ""))
                    )
        elif kind == "conversation.started" and conversation_id:
            self.conversations[conversation_id] = frame
            self._ended.discard(conversation_id)
            self._spawn(self._resume_quietly(conversation_id))  # rule 7
        elif kind == "conversation.resumed" and conversation_id:
            self._resuming.discard(conversation_id)
            self.conversations.setdefault(conversation_id, {}).update(status=frame.get("status"))
        elif kind == "conversation.ended" and conversation_id:
            self._ended.add(conversation_id)
            self.conversations[conversation_id] = frame
        elif kind == "queue.status":
            self.queue_status = frame
            if conversation_id:
                self.conversations.setdefault(conversation_id, {"status": "waiting"})
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

    # ---- state

    def messages(self, conversation_id: str) -> list[Frame]:
        """The ``chat.message`` frames held, deduplicated, in seq order."""
        log = self._logs.get(conversation_id)
        return log.messages() if log else []

    def last_seq(self, conversation_id: str) -> int:
        """The highest seq held with no gap below it (what a resume sends)."""
        log = self._logs.get(conversation_id)
        return log.last_seq if log else 0

    def gaps(self, conversation_id: str) -> list[int]:
        log = self._logs.get(conversation_id)
        return log.gaps() if log else []

    def unacknowledged(self) -> list[Frame]:
        """The ``chat.send`` frames still waiting for their ``chat.ack``, oldest first."""
        return [entry.frame for entry in self._outbox.pending()]

    # ---- outgoing frames

    async def send_frame(self, frame: Frame) -> None:
        """Send one raw frame on the current socket; waits while reconnecting."""
        ws = await self._current_socket()
        await ws.send(json.dumps(frame))

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
            await ws.send(json.dumps(entry.frame))

    def _schedule_resend(self, entry: PendingSend) -> None:
        if entry.retry is not None:
            return

        def fire() -> None:
            entry.retry = None
            self._spawn(self._transmit(entry))

        delay = backoff_delay(entry.attempts, self.backoff_base, self.backoff_max)
        entry.retry = asyncio.get_running_loop().call_later(delay, fire)

    async def _resume_quietly(self, conversation_id: str) -> None:
        self._resuming.add(conversation_id)
        after_seq = self.last_seq(conversation_id)
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
