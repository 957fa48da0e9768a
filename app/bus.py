"""The realtime bus: who is told what, after the database has it.

A small interface with two backends, chosen by URL (encode/broadcaster's design):

- ``memory://`` (or no ``REDIS_URL``): one process; ``publish`` hands the event straight to the
  local subscribers.
- ``redis://…``: many processes. Each process holds one pattern subscription to
  ``peerline:*`` and hands what it receives to its local subscribers. Its own events are
  delivered locally at once and skipped when they come back from Redis. Every process sees
  every event, which keeps subscribe/unsubscribe free of network round trips and makes a
  Redis restart one resubscribe; that is cheap for the handful of processes we run.

The bus is an accelerator, never the record: events carry sequence numbers, and a
subscriber that sees a gap, or a ``bus.reset`` after the Redis link was lost, catches up
from the database. Subscribers are queues owned by a connection, so a slow client never
stalls the publisher or the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import hiredis

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "peerline:"
RESET = "bus.reset"
_SEP = "\x1f"


@dataclass(slots=True, frozen=True)
class Event:
    """One thing that happened, with its frame already serialised (never twice).

    ``kind`` is the frame type; ``conversation_id`` and ``seq`` let a subscriber filter and
    detect gaps without parsing ``frame``; ``exclude`` names a user who should not get it
    (the typist of a typing indicator).
    """

    kind: str
    frame: str
    conversation_id: str | None = None
    seq: int | None = None
    exclude: str | None = None

    def encode(self, origin: str) -> str:
        head = _SEP.join(
            (origin, self.kind, self.conversation_id or "", str(self.seq or ""), self.exclude or "")
        )
        return f"{head}\n{self.frame}"

    @classmethod
    def decode(cls, raw: str) -> tuple[str, Event]:
        head, frame = raw.split("\n", 1)
        origin, kind, conv, seq, exclude = head.split(_SEP)
        return origin, cls(kind, frame, conv or None, int(seq) if seq else None, exclude or None)


class Subscriber(Protocol):
    def deliver(self, channel: str, event: Event) -> None:
        """Take an event without blocking (queue it)."""


class Bus:
    """Local fan-out shared by both backends; ``publish`` is what differs."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscriber]] = defaultdict(set)
        self.origin = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        # Called after a reset (events from other processes may have been lost).
        self.on_reset: list[Callable[[], None]] = []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def ping(self) -> bool:
        return True

    def subscribe(self, channel: str, subscriber: Subscriber) -> None:
        self._subscribers[channel].add(subscriber)

    def unsubscribe(self, channel: str, subscriber: Subscriber) -> None:
        subs = self._subscribers.get(channel)
        if subs is not None:
            subs.discard(subscriber)
            if not subs:
                del self._subscribers[channel]

    @contextlib.asynccontextmanager
    async def subscription(self, channel: str, subscriber: Subscriber) -> AsyncIterator[None]:
        self.subscribe(channel, subscriber)
        try:
            yield
        finally:
            self.unsubscribe(channel, subscriber)

    def subscriber_count(self, channel: str) -> int:
        return len(self._subscribers.get(channel, ()))

    def local_channels(self) -> list[str]:
        return list(self._subscribers)

    def _fan_out(self, channel: str, event: Event) -> None:
        for subscriber in tuple(self._subscribers.get(channel, ())):
            subscriber.deliver(channel, event)

    def _reset_all(self) -> None:
        """Tell every local subscriber that live events may have been missed."""
        reset = Event(RESET, "")
        seen: set[int] = set()
        for subs in tuple(self._subscribers.values()):
            for subscriber in tuple(subs):
                if id(subscriber) not in seen:
                    seen.add(id(subscriber))
                    subscriber.deliver("", reset)

    async def publish(self, channel: str, event: Event) -> None:
        self._fan_out(channel, event)

    async def publish_many(self, items: list[tuple[str, Event]]) -> None:
        """Publish several events in order (one round trip to Redis, not one each)."""
        for channel, event in items:
            self._fan_out(channel, event)


class MemoryBus(Bus):
    """One process: publishing is local fan-out."""


# How long connecting (and authenticating, and subscribing) may take.
CONNECT_TIMEOUT_S = 2.0
# How long Redis may take to answer a batch of PUBLISH commands.
PUBLISH_TIMEOUT_S = 2.0
# The subscriber link pings this often; silent for two of these, it is given up and
# reopened (a half-open TCP connection otherwise looks alive for ever).
HEALTH_INTERVAL_S = 5.0


@dataclass(frozen=True, slots=True)
class RedisAddress:
    host: str = "127.0.0.1"
    port: int = 6379
    path: str | None = None  # a unix socket
    tls: bool = False
    username: str | None = None
    password: str | None = None


def parse_redis_url(url: str) -> RedisAddress:
    """``redis://[[user]:password@]host[:port][/db]``, ``rediss://`` (TLS) or
    ``unix:///path``. The database number is ignored: pub/sub channels are server-wide."""
    parts = urlsplit(url)
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if parts.scheme == "unix":
        return RedisAddress(path=parts.path, username=username, password=password)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"unsupported Redis URL scheme {parts.scheme!r}")
    return RedisAddress(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 6379,
        tls=parts.scheme == "rediss",
        username=username,
        password=password,
    )


def resp_command(*parts: bytes) -> bytes:
    """One command in RESP, the Redis wire format."""
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        out.append(b"$%d\r\n%s\r\n" % (len(part), part))
    return b"".join(out)


class RedisLink(asyncio.Protocol):
    """One connection to Redis: commands out, replies in, parsed by hiredis (in C).

    Replies answer the oldest waiting command first; once nothing waits (a subscribed
    connection), each reply goes to ``on_push``. Everything happens in the loop's own
    callbacks: no task per message, no timeout object per read.
    """

    def __init__(self, on_push: Callable[[Any], None] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        self.on_push = on_push
        self.transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] = self.loop.create_future()
        self.last_heard = self.loop.time()
        self._reader = hiredis.Reader()
        self._waiting: deque[asyncio.Future[Any]] = deque()

    @classmethod
    async def open(
        cls, address: RedisAddress, on_push: Callable[[Any], None] | None = None
    ) -> RedisLink:
        loop = asyncio.get_running_loop()
        link = cls(on_push)
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                if address.path is not None:
                    await loop.create_unix_connection(lambda: link, address.path)
                else:
                    await loop.create_connection(
                        lambda: link, address.host, address.port, ssl=address.tls or None
                    )
                if address.password is not None:
                    who = [address.username.encode()] if address.username else []
                    reply = await link.call(b"AUTH", *who, address.password.encode())
                    if isinstance(reply, Exception):
                        raise ConnectionError("Redis refused the credentials")
        except BaseException:
            link.abort()
            raise
        return link

    # -- asyncio.Protocol -------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.last_heard = self.loop.time()
        reader = self._reader
        reader.feed(data)
        try:
            while (reply := reader.gets()) is not False:
                if self._waiting:
                    future = self._waiting.popleft()
                    if not future.done():
                        future.set_result(reply)
                elif self.on_push is not None:
                    try:
                        self.on_push(reply)
                    except Exception:
                        log.exception("a bus subscriber failed on a message")
        except hiredis.ProtocolError:
            log.warning("redis sent something that is not RESP; reconnecting")
            self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_exception(ConnectionError("the Redis connection closed"))
                future.exception()  # callers await only the last of a batch: no noise
        if not self.closed.done():
            self.closed.set_result(None)

    # -- commands -----------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        transport = self.transport
        return transport is not None and not transport.is_closing() and not self.closed.done()

    def write(self, data: bytes, replies: int) -> list[asyncio.Future[Any]]:
        """Send commands already in RESP; one future per reply expected."""
        if not self.alive:
            raise ConnectionError("the Redis connection is closed")
        futures = [self.loop.create_future() for _ in range(replies)]
        self._waiting.extend(futures)
        assert self.transport is not None
        self.transport.write(data)
        return futures

    def call(self, *parts: bytes) -> asyncio.Future[Any]:
        return self.write(resp_command(*parts), 1)[0]

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class RedisBus(Bus):
    """Many processes over Redis pub/sub; reconnects by itself and signals ``bus.reset``.

    Two links per process: one publishes (a batch of events is one write and one wait),
    one holds the pattern subscription and hands each message to the local subscribers
    straight from the socket callback. (This replaced redis-py's client, whose pub/sub
    reader and publish path were about 40% of a message's CPU; see the README.)
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = CHANNEL_PREFIX,
        reconnect_max_s: float = 2.0,
        health_interval_s: float = HEALTH_INTERVAL_S,
    ) -> None:
        super().__init__()
        self.url = url
        self.address = parse_redis_url(url)
        self.prefix = prefix
        self.reconnect_max_s = reconnect_max_s
        self.health_interval_s = health_interval_s
        self._own = f"{self.origin}{_SEP}".encode()
        self._publisher: RedisLink | None = None
        self._connecting = asyncio.Lock()
        self._listener: asyncio.Task[None] | None = None
        self._subscriber: RedisLink | None = None
        self._connected = asyncio.Event()

    async def start(self) -> None:
        self._listener = asyncio.create_task(self._listen(), name="redis-bus-listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), timeout=5)

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        for link in (self._publisher, self._subscriber):
            if link is not None:
                link.abort()

    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                link = await self._publishing_link()
                return bool(await link.call(b"PING") == b"PONG")
        except Exception:
            return False

    async def _publishing_link(self) -> RedisLink:
        link = self._publisher
        if link is not None and link.alive:
            return link
        async with self._connecting:  # FIFO: publishers keep their order while it opens
            if self._publisher is None or not self._publisher.alive:
                self._publisher = await RedisLink.open(self.address)
            return self._publisher

    async def publish(self, channel: str, event: Event) -> None:
        await self.publish_many([(channel, event)])

    async def publish_many(self, items: list[tuple[str, Event]]) -> None:
        if not items:
            return
        for channel, event in items:
            self._fan_out(channel, event)
        prefix, origin = self.prefix, self.origin
        data = b"".join(
            resp_command(b"PUBLISH", (prefix + channel).encode(), event.encode(origin).encode())
            for channel, event in items
        )
        link = None
        try:
            async with asyncio.timeout(PUBLISH_TIMEOUT_S):
                link = await self._publishing_link()
                replies = link.write(data, len(items))
                await replies[-1]  # replies come in order
            refused = next((r.result() for r in replies if isinstance(r.result(), Exception)), None)
            if refused is not None:  # e.g. NOAUTH: the link works, Redis says no
                log.warning("redis refused a publish (%s)", str(refused)[:80])
        except Exception as exc:
            # The event is already durable in the database; remote subscribers catch up
            # when their link comes back (bus.reset) or when they see the next seq, so
            # losing this publish loses nothing. Not retried: a retry could publish twice.
            log.warning("redis publish failed (%s); remote subscribers will resync", type(exc))
            if link is not None:
                link.abort()

    def _on_message(self, reply: Any) -> None:
        """One reply on the subscribed link: a message to fan out, or a pong."""
        if type(reply) is not list or len(reply) != 4 or reply[0] != b"pmessage":
            return
        data = reply[3]
        if data.startswith(self._own):
            return  # ours: delivered locally when it was published
        try:
            _, event = Event.decode(data.decode())
            channel = reply[2].decode().removeprefix(self.prefix)
        except ValueError:
            log.warning("ignoring a malformed bus message")
            return
        self._fan_out(channel, event)

    async def _listen(self) -> None:
        delay = 0.1
        first = True
        while True:
            link = None
            try:
                link = await RedisLink.open(self.address, self._on_message)
                async with asyncio.timeout(CONNECT_TIMEOUT_S):
                    reply = await link.call(b"PSUBSCRIBE", (self.prefix + "*").encode())
                if isinstance(reply, Exception):
                    raise ConnectionError("Redis refused the subscription")
                self._subscriber = link
                self._connected.set()
                if not first:
                    log.warning("redis bus reconnected; telling subscribers to resync")
                    self._reset_all()
                    for callback in self.on_reset:
                        callback()
                first = False
                delay = 0.1
                await self._watch(link)
                raise ConnectionError("the subscription link was lost")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._connected.clear()
                log.warning("redis bus link lost (%s); retrying in %.1fs", type(exc), delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.reconnect_max_s)
            finally:
                if link is not None:
                    link.abort()

    async def _watch(self, link: RedisLink) -> None:
        """Return when the subscribed link closes, or has heard nothing (not even the
        answer to a ping) for two health intervals."""
        interval = self.health_interval_s
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(link.closed), interval)
                return
            if link.loop.time() - link.last_heard > 2 * interval:
                log.warning("redis bus link silent for %.1fs; reopening it", 2 * interval)
                return
            if link.transport is not None:
                link.transport.write(resp_command(b"PING"))


def create_bus(redis_url: str | None, *, prefix: str = CHANNEL_PREFIX) -> Bus:
    if not redis_url or redis_url.startswith("memory://"):
        return MemoryBus()
    if redis_url.startswith(("redis://", "rediss://", "unix://")):
        return RedisBus(redis_url, prefix=prefix)
    raise ValueError(f"unsupported bus URL {redis_url!r}: use memory:// or redis://")
