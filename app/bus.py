"""The realtime bus: who is told what, after the database has it.

A small interface with two backends, chosen by URL (encode/broadcaster's design):

- ``memory://`` (or no ``REDIS_URL``): one process; ``publish`` hands the event straight to the
  local subscribers.
- ``redis://…`` (``rediss://``, ``unix://``, or ``redis+sentinel://`` for a Redis that
  Sentinel fails over): many processes, through redis-py's asyncio client with its hiredis
  parser. Each process holds one pattern subscription to ``peerline:*`` and hands what it
  receives to its local subscribers. Its own events are
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
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import EqualJitterBackoff, NoBackoff
from redis.exceptions import AuthenticationError, ResponseError

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
        # Called when a publish could not reach Redis (other processes will resync).
        self.on_publish_failed: list[Callable[[], None]] = []

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
# How long Redis may take to answer a batch of PUBLISH commands, retries included.
PUBLISH_TIMEOUT_S = 2.0
# A publish whose link broke is retried this many times, with jittered exponential backoff
# from PUBLISH_BACKOFF_BASE_S (redis-py's Retry). At least once, not at most once: a chat
# message that arrives twice is dropped by its seq, and an event lost is worse (a page).
PUBLISH_RETRIES = 2
PUBLISH_BACKOFF_BASE_S = 0.05
# The subscriber link pings this often; silent for two of these, it is given up and
# reopened (a half-open TCP connection otherwise looks alive for ever).
HEALTH_INTERVAL_S = 5.0
# RESP2 by default: with RESP3 every pub/sub message is a push frame that redis-py routes
# through its push-handler path, 8-10 µs more CPU per event on this machine (publish and two
# receives, 54-64 against 63-72 µs; docs/performance-history.md) for nothing the bus uses.
# ``?protocol=3`` in the URL turns it on.
DEFAULT_PROTOCOL = 2
SENTINEL_PORT = 26379


@dataclass(frozen=True, slots=True)
class RedisAddress:
    host: str = "127.0.0.1"
    port: int = 6379
    path: str | None = None  # a unix socket
    tls: bool = False
    username: str | None = None
    password: str | None = None
    db: int = 0
    protocol: int = DEFAULT_PROTOCOL
    # Sentinel: the sentinels' addresses and the name of the master they watch.
    sentinels: tuple[tuple[str, int], ...] = ()
    service: str | None = None
    sentinel_username: str | None = None
    sentinel_password: str | None = None


def _host_port(text: str, default_port: int) -> tuple[str, int]:
    if text.startswith("["):  # [::1]:26379
        host, _, rest = text[1:].partition("]")
        return host, int(rest.removeprefix(":") or default_port)
    host, sep, port = text.rpartition(":")
    return (host, int(port)) if sep else (text, default_port)


def parse_redis_url(url: str) -> RedisAddress:
    """Where the bus's Redis is.

    - ``redis://[[user]:password@]host[:port][/db]``, ``rediss://…`` (TLS), ``unix:///path``;
    - ``redis+sentinel://[[user]:password@]host[:port][,host[:port]…]/service[/db]``
      (``rediss+sentinel://``: TLS to Redis and the sentinels): ask those sentinels (port
      26379 by default) for the master of ``service``, and again after a failover. The
      credentials are Redis's; sentinels that need their own take
      ``?sentinel_password=…`` (and ``&sentinel_username=…``).

    ``?protocol=3`` speaks RESP3 (Redis 6 and later; default RESP2). The database
    number is accepted and unused: pub/sub channels are server-wide."""
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    protocol = int(query.get("protocol", DEFAULT_PROTOCOL))
    if protocol not in (2, 3):
        raise ValueError("protocol must be 2 or 3")
    userinfo, _, hosts = parts.netloc.rpartition("@")
    user, has_password, password = userinfo.partition(":")
    username = unquote(user) if user else None
    secret = unquote(password) if has_password else None
    if parts.scheme == "unix":
        return RedisAddress(path=parts.path, username=username, password=secret, protocol=protocol)
    if parts.scheme in ("redis+sentinel", "rediss+sentinel"):
        path = [unquote(p) for p in parts.path.split("/") if p]
        if not path or not hosts:
            raise ValueError("a Sentinel URL names its sentinels and the service: "
                             "redis+sentinel://host:26379[,host:26379]/service[/db]")  # fmt: skip
        return RedisAddress(
            tls=parts.scheme.startswith("rediss"),
            username=username,
            password=secret,
            db=int(path[1]) if len(path) > 1 else 0,
            protocol=protocol,
            sentinels=tuple(_host_port(h, SENTINEL_PORT) for h in hosts.split(",") if h),
            service=path[0],
            sentinel_username=query.get("sentinel_username"),
            sentinel_password=query.get("sentinel_password"),
        )
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"unsupported Redis URL scheme {parts.scheme!r}")
    db = parts.path.strip("/")
    return RedisAddress(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 6379,
        tls=parts.scheme == "rediss",
        username=username,
        password=secret,
        db=int(db) if db.isdigit() else 0,
        protocol=protocol,
    )


def redis_client(address: RedisAddress, *, retries: int) -> aioredis.Redis:
    """A redis-py asyncio client (a pool of connections, hiredis parsing) for ``address``.

    ``retries``: how often a command whose link failed is sent again, with jittered
    exponential backoff (redis-py's ``Retry``); 0 for the subscriber, whose loop reconnects
    by itself so that it knows to announce a reset."""
    retry = (
        Retry(
            EqualJitterBackoff(cap=0.5, base=PUBLISH_BACKOFF_BASE_S),
            retries,
            is_retryable=_worth_retrying,
        )
        if retries
        else Retry(NoBackoff(), 0)
    )
    options: dict[str, Any] = {
        "username": address.username,
        "password": address.password,
        "protocol": address.protocol,
        "socket_connect_timeout": CONNECT_TIMEOUT_S,
        "socket_timeout": PUBLISH_TIMEOUT_S,
        "retry": retry,
        "decode_responses": False,
    }
    if address.tls:
        options["ssl"] = True
    if address.service is not None:
        sentinel_options: dict[str, Any] = {"socket_connect_timeout": CONNECT_TIMEOUT_S,
                                            "socket_timeout": CONNECT_TIMEOUT_S}  # fmt: skip
        if address.sentinel_password is not None:
            sentinel_options["password"] = address.sentinel_password
            sentinel_options["username"] = address.sentinel_username
        if address.tls:
            sentinel_options["ssl"] = True
        sentinel = Sentinel(list(address.sentinels), sentinel_kwargs=sentinel_options)
        return sentinel.master_for(address.service, **options)
    if address.path is not None:
        return aioredis.Redis(unix_socket_path=address.path, **options)
    return aioredis.Redis(host=address.host, port=address.port, **options)


def _worth_retrying(error: Exception) -> bool:
    """Wrong credentials stay wrong: no point asking again."""
    return not isinstance(error, AuthenticationError)


class RedisBus(Bus):
    """Many processes over Redis pub/sub; reconnects by itself and signals ``bus.reset``.

    Two clients per process (redis-py asyncio, hiredis parser). One publishes: events leave
    in order, those queued during a round trip together as one pipeline, retried with
    backoff if the link broke. The other holds the pattern subscription and hands each
    message to the local subscribers; it does not let redis-py reconnect it silently: its
    own loop reconnects (with redis-py's backoff) so that every lost link is followed by a
    ``bus.reset``.
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
        self._pattern = prefix + "*"
        self._publisher: aioredis.Redis | None = None
        # Publishing: what waits for the next round trip, the future its callers await,
        # and the task sending rounds while there is anything to send.
        self._outgoing: list[tuple[str, str]] = []
        self._next_round: asyncio.Future[None] | None = None
        self._sender: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._last_heard = 0.0

    @property
    def publisher(self) -> aioredis.Redis:
        if self._publisher is None:
            self._publisher = redis_client(self.address, retries=PUBLISH_RETRIES)
        return self._publisher

    async def start(self) -> None:
        self._listener = asyncio.create_task(self._listen(), name="redis-bus-listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), timeout=5)

    async def stop(self) -> None:
        if self._sender is not None:  # let what is queued go (bounded by its timeout)
            with contextlib.suppress(Exception):
                await asyncio.shield(self._sender)
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        if self._publisher is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CONNECT_TIMEOUT_S):
                    await self._publisher.aclose()

    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                return bool(await self.publisher.ping())
        except Exception:
            return False

    async def publish(self, channel: str, event: Event) -> None:
        await self.publish_many([(channel, event)])

    async def publish_many(self, items: list[tuple[str, Event]]) -> None:
        """Fan out here, then publish to Redis; returns once Redis has them (or failed).

        Publishes leave in call order over one connection: calls that come while a round
        trip is in flight wait and then go together as one pipeline. (Concurrent pipelines
        on a pool's several connections could reach Redis out of order, and a process that
        sees seq 6 before 5 reads the gap from the database.)"""
        if not items:
            return
        for channel, event in items:
            self._fan_out(channel, event)
        prefix, origin = self.prefix, self.origin
        self._outgoing.extend((prefix + channel, event.encode(origin)) for channel, event in items)
        done = self._next_round
        if done is None:
            done = self._next_round = asyncio.get_running_loop().create_future()
        if self._sender is None:
            self._sender = asyncio.create_task(self._send_rounds(), name="redis-bus-publisher")
        await asyncio.shield(done)

    async def _send_rounds(self) -> None:
        """Send what has been queued, one pipeline a round, until nothing is left."""
        try:
            while self._outgoing:
                outgoing, self._outgoing = self._outgoing, []
                done, self._next_round = self._next_round, None
                try:
                    await self._send(outgoing)
                finally:
                    if done is not None and not done.done():
                        done.set_result(None)
        finally:
            self._sender = None

    async def _send(self, outgoing: list[tuple[str, str]]) -> None:
        try:
            async with asyncio.timeout(PUBLISH_TIMEOUT_S):
                if len(outgoing) == 1:
                    await self.publisher.publish(*outgoing[0])
                    return
                async with self.publisher.pipeline(transaction=False) as pipe:
                    for channel, data in outgoing:
                        pipe.publish(channel, data)
                    replies = await pipe.execute(raise_on_error=False)
            refused = next((r for r in replies if isinstance(r, Exception)), None)
            if refused is not None:
                raise refused
        except (ResponseError, AuthenticationError) as exc:  # NOAUTH: Redis says no
            said = f"NOAUTH {exc}" if isinstance(exc, AuthenticationError) else str(exc)
            log.warning("redis refused a publish (%s)", said[:80])
            self._publish_failed()
        except Exception as exc:
            # The event is already durable in the database; remote subscribers catch up
            # when their link comes back (bus.reset) or when they see the next seq.
            log.warning("redis publish failed (%s); remote subscribers will resync", type(exc))
            self._publish_failed()

    def _publish_failed(self) -> None:
        for callback in self.on_publish_failed:
            callback()

    def _on_message(self, message: dict[str, Any]) -> None:
        """A message from the pattern subscription, to fan out here."""
        data = message["data"]
        if data.startswith(self._own):
            return  # ours: delivered locally when it was published
        try:
            _, event = Event.decode(data.decode())
            channel = message["channel"].decode().removeprefix(self.prefix)
        except ValueError:
            log.warning("ignoring a malformed bus message")
            return
        self._fan_out(channel, event)

    async def _listen(self) -> None:
        backoff = EqualJitterBackoff(cap=self.reconnect_max_s, base=0.1)
        failures = 0
        first = True
        client = redis_client(self.address, retries=0)
        try:
            while True:
                pubsub = client.pubsub()
                try:
                    async with asyncio.timeout(CONNECT_TIMEOUT_S):
                        await pubsub.psubscribe(self._pattern)
                        # psubscribe only sends: its confirmation proves the link works.
                        reply = None
                        while reply is None:
                            reply = await pubsub.get_message(timeout=CONNECT_TIMEOUT_S)
                    if reply["type"] != "psubscribe":
                        raise ConnectionError("Redis did not confirm the subscription")
                    self._connected.set()
                    if not first:
                        log.warning("redis bus reconnected; telling subscribers to resync")
                        self._reset_all()
                        for callback in self.on_reset:
                            callback()
                    first = False
                    failures = 0
                    await self._read_while_alive(pubsub)
                    raise ConnectionError("the subscription link was lost")
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self._connected.clear()
                    failures += 1
                    delay = backoff.compute(failures)
                    log.warning("redis bus link lost (%s); retrying in %.1fs", type(exc), delay)
                    await asyncio.sleep(delay)
                finally:
                    await _close_quietly(pubsub)
        finally:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CONNECT_TIMEOUT_S):
                    await client.aclose()

    async def _read_while_alive(self, pubsub: Any) -> None:
        """Read the subscription (each message goes to ``_on_message``) until the link
        fails, or has said nothing (not even the answer to a ping) for two health
        intervals."""
        loop = asyncio.get_running_loop()
        self._last_heard = loop.time()
        reader = asyncio.create_task(self._read(pubsub), name="redis-bus-reader")
        interval = self.health_interval_s
        try:
            while True:
                done, _ = await asyncio.wait((reader,), timeout=interval)
                if done:
                    reader.result()  # its error, if it failed
                    return
                if loop.time() - self._last_heard > 2 * interval:
                    log.warning("redis bus link silent for %.1fs; reopening it", 2 * interval)
                    return
                await pubsub.ping()  # answered as a pong message, which the reader hears
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader

    async def _read(self, pubsub: Any) -> None:
        # Messages are taken from listen() rather than given to a handler in psubscribe:
        # redis-py then asks inspect whether the handler is a coroutine, for every message.
        loop = asyncio.get_running_loop()
        on_message = self._on_message
        async for message in pubsub.listen():
            self._last_heard = loop.time()
            if message["type"] == "pmessage":
                on_message(message)
        raise ConnectionError("the subscription ended")


async def _close_quietly(pubsub: Any) -> None:
    with contextlib.suppress(Exception):
        async with asyncio.timeout(1.0):
            await pubsub.aclose()


def create_bus(redis_url: str | None, *, prefix: str = CHANNEL_PREFIX) -> Bus:
    if not redis_url or redis_url.startswith("memory://"):
        return MemoryBus()
    if redis_url.startswith(
        ("redis://", "rediss://", "unix://", "redis+sentinel://", "rediss+sentinel://")
    ):
        return RedisBus(redis_url, prefix=prefix)
    raise ValueError(f"unsupported bus URL {redis_url!r}: use memory:// or redis://")
