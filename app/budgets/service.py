"""Flood budgets at the service's open doors (issue #16 §1), with the ``limits`` library.

Doors: ``seekers`` (``POST /api/v1/seekers``), ``queue_join`` (the ``queue.join`` frame),
``login`` (``POST /api/v1/auth/login``) and ``return_code``
(``POST /api/v1/return-codes/redeem``). Each has a global budget and a budget per client;
the client is known only by a rotating keyed hash of its address (``app.budgets.clients``).
Budgets live in this process's memory, or in Redis when ``REDIS_URL`` is set, so every
process spends from the same ones. Nothing here reaches the database or a log line.

After a supervisor blocks a seeker, the client that seeker's session last came from is
slowed down for ``BLOCK_SLOWDOWN_S``: its ``seekers`` and ``queue_join`` doors also spend
from ``BLOCKED_CLIENT_LIMIT``. To find that client, the budgets remember which client hash
a seeker's session came from, for ``SEEKER_CLIENT_MEMORY_S`` after it was last seen (its
creation, a socket, a frame), in the same memory or Redis and under a keyed hash of the
seeker id: never in the database.

A budget store that fails (Redis down, or no answer within ``STORE_TIMEOUT_S``) lets the
request through, and is not asked again for ``STORE_RETRY_AFTER_S``: turning young people
away because a counter is unreachable would be worse than a flood the other limits (the
waiting ceiling, each socket's frame bucket) still bound.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import math
import time
from collections.abc import Iterable
from enum import StrEnum
from typing import Any, Protocol

import redis.asyncio as aioredis
from limits import RateLimitItem
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from app import metrics
from app.budgets.clients import (
    Client,
    client_address,
    client_hashes,
    parse_limit,
    parse_trusted_proxies,
)
from app.bus import parse_redis_url, redis_client
from app.config import Settings
from app.errors import RateLimited

log = logging.getLogger(__name__)

# How long a seeker's client hash is remembered after the session was last seen. Shorter
# than the key rotation (``clients.ROTATION_S``) less ``BLOCK_SLOWDOWN_S`` at most, so a hash
# found at a block is still one of the two a request from that client is checked against.
SEEKER_CLIENT_MEMORY_S = 1800
# A seeker socket refreshes that memory at most this often while it sends frames.
SEEKER_CLIENT_REFRESH_S = 300.0
# A budget store that does not answer within this is taken as failed (the request goes
# through): a cut link to Redis must not hold every new seeker for the OS's TCP timeout.
STORE_TIMEOUT_S = 1.0
# After the store failed, it is not asked again for this long (requests go through at
# once instead of each waiting for the timeout).
STORE_RETRY_AFTER_S = 5.0
# Connections each budget store keeps to Redis, per process. A burst of checks beyond them
# waits for a free one (up to STORE_POOL_WAIT_S) rather than failing: redis-py 8's default pool
# raises MaxConnectionsError past 100 connections, which counted as a failed store and let
# every request through for STORE_RETRY_AFTER_S, in the middle of a flood (session 14: a
# benchmark's 1,000 seekers created at once did it in every PostgreSQL + Redis round).
STORE_CONNECTIONS = 50
# How long a check waits for a free connection. Longer than STORE_TIMEOUT_S: a burst is
# served 50 at a time, and on a loaded 2-core machine 400 checks at once took more than 1 s
# to pass through the pool (session 15), so the last of them failed the store and let
# requests through. A Redis that does not answer is still caught by the 1 s socket timeouts.
STORE_POOL_WAIT_S = 5.0
# A failing budget store is logged at most this often.
STORE_WARNING_EVERY_S = 60.0
# The local memory prunes expired entries once it holds this many.
LOCAL_MEMORY_PRUNE_AT = 10_000


class Door(StrEnum):
    seekers = "seekers"
    queue_join = "queue_join"
    login = "login"
    return_code = "return_code"


# Doors a block slows down (a block is about seekers; staff logins are not touched).
SLOWED_DOORS = frozenset({Door.seekers, Door.queue_join})


def door_limits(settings: Settings) -> dict[Door, tuple[RateLimitItem, RateLimitItem]]:
    """Each door's (per-client, global) limit from the settings."""
    return {
        Door.seekers: (
            parse_limit(settings.seeker_limit_per_client, "SEEKER_LIMIT_PER_CLIENT"),
            parse_limit(settings.seeker_limit_global, "SEEKER_LIMIT_GLOBAL"),
        ),
        Door.queue_join: (
            parse_limit(settings.queue_join_limit_per_client, "QUEUE_JOIN_LIMIT_PER_CLIENT"),
            parse_limit(settings.queue_join_limit_global, "QUEUE_JOIN_LIMIT_GLOBAL"),
        ),
        Door.login: (
            parse_limit(settings.login_limit_per_client, "LOGIN_LIMIT_PER_CLIENT"),
            parse_limit(settings.login_limit_global, "LOGIN_LIMIT_GLOBAL"),
        ),
        Door.return_code: (
            parse_limit(settings.return_code_limit_per_client, "RETURN_CODE_LIMIT_PER_CLIENT"),
            parse_limit(settings.return_code_limit_global, "RETURN_CODE_LIMIT_GLOBAL"),
        ),
    }


class Memory(Protocol):
    """Short-lived strings with a time to live: which client a seeker came from, which
    clients are slowed down."""

    async def put(self, key: str, value: str, ttl_s: int) -> None: ...
    async def first(self, keys: Iterable[str]) -> str | None: ...
    async def close(self) -> None: ...


class LocalMemory:
    def __init__(self) -> None:
        self.entries: dict[str, tuple[str, float]] = {}
        self.prune_at = LOCAL_MEMORY_PRUNE_AT

    async def put(self, key: str, value: str, ttl_s: int) -> None:
        now = time.monotonic()
        if len(self.entries) >= self.prune_at:
            self.entries = {k: v for k, v in self.entries.items() if v[1] > now}
            # Many live entries: prune again only when they have doubled (no O(n) per put).
            self.prune_at = max(LOCAL_MEMORY_PRUNE_AT, 2 * len(self.entries))
        self.entries[key] = (value, now + ttl_s)

    async def first(self, keys: Iterable[str]) -> str | None:
        now = time.monotonic()
        for key in keys:
            entry = self.entries.get(key)
            if entry is not None and entry[1] > now:
                return entry[0]
        return None

    async def close(self) -> None:
        self.entries.clear()


def store_client(url: str) -> aioredis.Redis:
    """A client for the budget stores on the Redis of ``REDIS_URL`` (any form the bus takes).

    At most ``STORE_CONNECTIONS`` connections, and a check that finds them all busy waits for
    one, up to ``STORE_POOL_WAIT_S``. A Sentinel URL gets the bus's Sentinel-managed client,
    whose pool (redis-py's) still refuses past 100 connections.
    """
    address = parse_redis_url(url)
    if address.service is not None:
        return redis_client(address, retries=0)
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=STORE_CONNECTIONS,
        timeout=STORE_POOL_WAIT_S,
        socket_timeout=STORE_TIMEOUT_S,
        socket_connect_timeout=STORE_TIMEOUT_S,
    )
    return aioredis.Redis.from_pool(pool)  # closing the client closes its pool


class RedisMemory:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis: Any = redis

    async def put(self, key: str, value: str, ttl_s: int) -> None:
        await self.redis.set(key, value, ex=ttl_s)

    async def first(self, keys: Iterable[str]) -> str | None:
        found = await self.redis.mget(list(keys))
        return next((value.decode() for value in found if value is not None), None)

    async def close(self) -> None:
        await self.redis.aclose()


class Budgets:
    """Every door's budgets for one process (shared with the others through Redis)."""

    def __init__(self, settings: Settings) -> None:
        self.secret = settings.secret_key
        self.trusted = parse_trusted_proxies(settings.trusted_proxies)
        self.limits = door_limits(settings)
        self.blocked_limit = parse_limit(settings.blocked_client_limit, "BLOCKED_CLIENT_LIMIT")
        self.slowdown_s = int(settings.block_slowdown_s)
        self.prefix = settings.redis_channel_prefix + "budget:"
        storage: Storage
        self.memory: Memory
        if settings.redis_url:
            # One client, one pool, for the counts (limits) and the memory alike.
            redis = store_client(settings.redis_url)
            storage = RedisStorage(
                "async+redis://",  # unused: the pool below says where Redis is
                implementation="redispy",
                key_prefix=self.prefix.rstrip(":"),
                connection_pool=redis.connection_pool,
            )
            self.memory = RedisMemory(redis)
        else:
            storage = MemoryStorage()
            self.memory = LocalMemory()
        self.limiter = MovingWindowRateLimiter(storage)
        self.warned_at = -math.inf
        self.store_down_until = -math.inf

    # -- who is asking -------------------------------------------------------------------
    def client(self, scope: Any) -> Client:
        """The client of an HTTP request or a WebSocket (its ASGI scope), as keyed hashes."""
        peer = scope.get("client")
        forwarded = [
            value.decode("latin-1")
            for name, value in scope.get("headers", ())
            if name == b"x-forwarded-for"
        ]
        address = client_address(peer[0] if peer else None, forwarded, self.trusted)
        return client_hashes(self.secret, address, time.time())

    # -- spending ------------------------------------------------------------------------
    async def spend(self, door: Door, client: Client) -> None:
        """Take one from ``door``'s budgets for ``client``; ``RateLimited`` (with the seconds
        until it would pass) when one is spent. Counted in
        ``peerline_rate_limit_refusals_total{door}``."""
        per_client, overall = self.limits[door]
        if self._store_down():
            return
        try:
            if door in SLOWED_DOORS and await self._slowed(client):
                await self._hit(door, self.blocked_limit, "slowed", client.current)
            await self._hit(door, per_client, "client", client.current)
            await self._hit(door, overall, "all")
        except RateLimited:
            metrics.rate_limit_refused(door.value)
            raise
        except Exception as exc:
            self._store_failed(exc)

    async def _hit(self, door: Door, item: RateLimitItem, *identifiers: str) -> None:
        if await self.limiter.hit(item, door.value, *identifiers):
            return
        stats = await self.limiter.get_window_stats(item, door.value, *identifiers)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(
            "too many requests; please wait a little and try again", retry_after=retry_after
        )

    # -- blocks --------------------------------------------------------------------------
    def _seeker_key(self, seeker_id: str) -> str:
        digest = hmac.new(self.secret.encode(), f"seeker:{seeker_id}".encode(), hashlib.sha256)
        return f"{self.prefix}seeker:{digest.hexdigest()[:32]}"

    def _slow_key(self, client_hash: str) -> str:
        return f"{self.prefix}slow:{client_hash}"

    async def remember_seeker(self, seeker_id: str, client: Client) -> None:
        """Note which client this seeker's session came from, for
        ``SEEKER_CLIENT_MEMORY_S``."""
        if self._store_down():
            return
        try:
            await self.memory.put(
                self._seeker_key(seeker_id), client.current, SEEKER_CLIENT_MEMORY_S
            )
        except Exception as exc:
            self._store_failed(exc)

    async def slow_down_seeker(self, seeker_id: str) -> bool:
        """Slow down the client this (blocked) seeker's session last came from, for
        ``BLOCK_SLOWDOWN_S``; False when it is not remembered (seen too long ago)."""
        if self._store_down():
            return False
        try:
            client_hash = await self.memory.first([self._seeker_key(seeker_id)])
            if client_hash is None:
                return False
            await self.memory.put(self._slow_key(client_hash), "1", self.slowdown_s)
            return True
        except Exception as exc:
            self._store_failed(exc)
            return False

    async def _slowed(self, client: Client) -> bool:
        keys = [self._slow_key(client.current), self._slow_key(client.previous)]
        return await self.memory.first(keys) is not None

    # -- housekeeping --------------------------------------------------------------------
    def _store_down(self) -> bool:
        return time.monotonic() < self.store_down_until

    def _store_failed(self, exc: Exception) -> None:
        now = time.monotonic()
        self.store_down_until = now + STORE_RETRY_AFTER_S
        if now - self.warned_at >= STORE_WARNING_EVERY_S:
            self.warned_at = now
            log.warning(
                "rate-limit store failed (%s); letting requests through",
                type(exc).__name__,
                extra={"event": "budgets.store_failed"},
            )

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.memory.close()
