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
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol

from redis.exceptions import ConnectionError as RedisConnectionError

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


class RedisBus(Bus):
    """Many processes over Redis pub/sub; reconnects by itself and signals ``bus.reset``."""

    def __init__(
        self, url: str, *, prefix: str = CHANNEL_PREFIX, reconnect_max_s: float = 2.0
    ) -> None:
        super().__init__()
        self.url = url
        self.prefix = prefix
        self.reconnect_max_s = reconnect_max_s
        self._redis = None
        self._listener: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self.on_reset: list[Callable[[], None]] = []

    async def start(self) -> None:
        import redis.asyncio as redis

        self._redis = redis.Redis.from_url(
            self.url, socket_connect_timeout=2, socket_timeout=None, health_check_interval=5
        )
        self._listener = asyncio.create_task(self._listen(), name="redis-bus-listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), timeout=5)

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        if self._redis is not None:
            await self._redis.aclose()

    async def ping(self) -> bool:
        try:
            assert self._redis is not None
            return bool(await asyncio.wait_for(self._redis.ping(), timeout=2))
        except Exception:
            return False

    async def publish(self, channel: str, event: Event) -> None:
        await self.publish_many([(channel, event)])

    async def publish_many(self, items: list[tuple[str, Event]]) -> None:
        for channel, event in items:
            self._fan_out(channel, event)
        assert self._redis is not None
        payloads = [(self.prefix + channel, event.encode(self.origin)) for channel, event in items]
        try:
            try:
                await self._send(payloads)
            except (RedisConnectionError, ConnectionError):
                # A pooled connection from before a Redis restart: one retry on a fresh one.
                await self._send(payloads)
        except Exception as exc:
            # The event is already durable in the database; remote subscribers catch up
            # when the link comes back (bus.reset), so losing this publish loses nothing.
            log.warning("redis publish failed (%s); remote subscribers will resync", type(exc))

    async def _send(self, payloads: list[tuple[str, str]]) -> None:
        assert self._redis is not None
        if len(payloads) == 1:
            await self._redis.publish(*payloads[0])
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for channel, payload in payloads:
                pipe.publish(channel, payload)
            await pipe.execute()

    async def _listen(self) -> None:
        delay = 0.1
        first = True
        while True:
            pubsub = None
            try:
                assert self._redis is not None
                pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                await pubsub.psubscribe(self.prefix + "*")
                self._connected.set()
                if not first:
                    log.warning("redis bus reconnected; telling subscribers to resync")
                    self._reset_all()
                    for callback in self.on_reset:
                        callback()
                first = False
                delay = 0.1
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    raw = message["data"]
                    if isinstance(raw, bytes):
                        raw = raw.decode()
                    origin, event = Event.decode(raw)
                    if origin == self.origin:
                        continue
                    channel = message["channel"]
                    if isinstance(channel, bytes):
                        channel = channel.decode()
                    self._fan_out(channel.removeprefix(self.prefix), event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._connected.clear()
                log.warning("redis bus link lost (%s); retrying in %.1fs", type(exc), delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.reconnect_max_s)
            finally:
                if pubsub is not None:
                    with contextlib.suppress(Exception):
                        await pubsub.aclose()


def create_bus(redis_url: str | None, *, prefix: str = CHANNEL_PREFIX) -> Bus:
    if not redis_url or redis_url.startswith("memory://"):
        return MemoryBus()
    if redis_url.startswith(("redis://", "rediss://", "unix://")):
        return RedisBus(redis_url, prefix=prefix)
    raise ValueError(f"unsupported bus URL {redis_url!r}: use memory:// or redis://")
