"""One contract for every bus backend; the Redis one runs against the real server."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator

import pytest

from app.bus import RESET, Bus, Event, MemoryBus, RedisBus, create_bus, parse_redis_url
from tests.support import RedisProcess, TcpProxy


class Inbox:
    def __init__(self) -> None:
        self.events: asyncio.Queue[tuple[str, Event]] = asyncio.Queue()

    def deliver(self, channel: str, event: Event) -> None:
        self.events.put_nowait((channel, event))

    async def next(self, timeout: float = 3.0) -> tuple[str, Event]:
        return await asyncio.wait_for(self.events.get(), timeout)

    async def empty_for(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self.events.get(), seconds)
        except TimeoutError:
            return True
        return False


@pytest.fixture(params=["memory", "redis"])
async def bus_pair(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Bus, Bus]]:
    """Two buses as two processes would have them (the memory bus is one process)."""
    if request.param == "memory":
        bus = MemoryBus()
        yield bus, bus
        return
    async with redis_pair(request.getfixturevalue("redis_url")) as pair:
        yield pair


@contextlib.asynccontextmanager
async def redis_pair(url: str) -> AsyncIterator[tuple[RedisBus, RedisBus]]:
    """Two started Redis buses on ``url``, sharing a channel prefix of their own."""
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    a, b = RedisBus(url, prefix=prefix), RedisBus(url, prefix=prefix)
    try:
        await a.start()
        await b.start()
        yield a, b
    finally:
        await a.stop()
        await b.stop()


async def test_subscriber_gets_published_events_once(bus_pair):
    a, b = bus_pair
    inbox = Inbox()
    b.subscribe("conv:1", inbox)
    await asyncio.sleep(0.05)
    await a.publish("conv:1", Event("chat.message", '{"x":1}', "1", 7))
    channel, event = await inbox.next()
    assert (channel, event.kind, event.frame, event.seq) == ("conv:1", "chat.message", '{"x":1}', 7)
    assert await inbox.empty_for(0.3)


async def test_unsubscribed_and_other_channels_get_nothing(bus_pair):
    a, b = bus_pair
    inbox = Inbox()
    async with b.subscription("conv:2", inbox):
        pass
    b.subscribe("conv:3", inbox)
    await a.publish("conv:2", Event("chat.message", "{}"))
    assert await inbox.empty_for(0.3)


async def test_publisher_local_subscriber_gets_its_own_event_once(bus_pair):
    a, _ = bus_pair
    inbox = Inbox()
    a.subscribe("user:u", inbox)
    await asyncio.sleep(0.05)
    await a.publish("user:u", Event("x", "{}"))
    await inbox.next()
    assert await inbox.empty_for(0.3)


async def test_order_is_kept_per_publisher(bus_pair):
    a, b = bus_pair
    inbox = Inbox()
    b.subscribe("conv:o", inbox)
    await asyncio.sleep(0.05)
    for seq in range(1, 51):
        await a.publish("conv:o", Event("chat.message", "{}", "o", seq))
    got = [(await inbox.next())[1].seq for _ in range(50)]
    assert got == list(range(1, 51))


async def test_order_is_kept_when_publishes_overlap(bus_pair):
    """Several tasks publish at once (the chat writer's batches and other units of work):
    the events arrive in the order the calls were made, a batch's own events in a row."""
    a, b = bus_pair
    inbox = Inbox()
    b.subscribe("conv:v", inbox)
    await asyncio.sleep(0.05)
    calls = [
        a.publish_many([("conv:v", Event("chat.message", "{}", "v", 3 * n + k)) for k in (1, 2, 3)])
        for n in range(40)
    ]
    await asyncio.gather(*calls)
    got = [(await inbox.next())[1].seq for _ in range(120)]
    assert got == list(range(1, 121))


def test_event_round_trips_through_its_wire_form():
    event = Event("chat.typing", '{"a":"b\\n"}', "c", 3, exclude="u")
    origin, back = Event.decode(event.encode("p1"))
    assert origin == "p1" and back == event


def test_backend_is_chosen_by_url():
    assert isinstance(create_bus(None), MemoryBus)
    assert isinstance(create_bus("memory://"), MemoryBus)
    assert isinstance(create_bus("redis://localhost:6379/0"), RedisBus)
    with pytest.raises(ValueError, match="unsupported"):
        create_bus("kafka://x")


async def test_redis_link_loss_tells_subscribers_to_resync(redis_url):
    import redis.asyncio as redis

    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    bus = RedisBus(redis_url, prefix=prefix, reconnect_max_s=0.2)
    await bus.start()
    inbox = Inbox()
    bus.subscribe("conv:r", inbox)
    admin = redis.Redis.from_url(redis_url)
    try:
        await admin.client_kill_filter(_type="pubsub")
        channel, event = await inbox.next(timeout=10)
        assert event.kind == RESET
        other = RedisBus(redis_url, prefix=prefix)
        await other.start()
        await asyncio.sleep(0.1)
        await other.publish("conv:r", Event("chat.message", "{}", "r", 1))
        _, live = await inbox.next(timeout=5)
        assert live.kind == "chat.message"  # delivery resumed by itself
        await other.stop()
    finally:
        await admin.aclose()
        await bus.stop()


def test_redis_urls_are_understood():
    plain = parse_redis_url("redis://127.0.0.1:6390/2")
    assert (plain.host, plain.port, plain.tls, plain.password) == ("127.0.0.1", 6390, False, None)
    secure = parse_redis_url("rediss://app:p%40ss@cache.internal")
    assert (secure.host, secure.port, secure.tls) == ("cache.internal", 6379, True)
    assert (secure.username, secure.password) == ("app", "p@ss")
    assert parse_redis_url("unix:///run/redis.sock").path == "/run/redis.sock"
    with pytest.raises(ValueError, match="unsupported"):
        parse_redis_url("http://127.0.0.1:6379")


async def test_a_password_protected_redis_carries_events_and_a_wrong_password_is_not_ready(
    redis_url, caplog
):
    server = RedisProcess("--requirepass", "s3cret-pass").start()
    wrong = RedisBus(f"redis://:nope@127.0.0.1:{server.port}/0")
    try:
        async with redis_pair(f"redis://:s3cret-pass@127.0.0.1:{server.port}/0") as (a, b):
            inbox = Inbox()
            b.subscribe("conv:p", inbox)
            await a.publish("conv:p", Event("chat.message", "{}", "p", 1))
            assert (await inbox.next())[1].seq == 1
            assert await a.ping()
            assert not await wrong.ping()
            nameless = RedisBus(f"redis://127.0.0.1:{server.port}/0", prefix=a.prefix)
            await nameless.publish("conv:p", Event("chat.message", "{}", "p", 2))
            assert "redis refused a publish (NOAUTH" in caplog.text  # said, not silently lost
            await nameless.stop()
            assert await inbox.empty_for(0.2)
    finally:
        await wrong.stop()
        server.kill()


async def test_a_redis_on_a_unix_socket_carries_events(redis_url, tmp_path):
    path = tmp_path / "redis.sock"
    server = RedisProcess("--unixsocket", str(path), "--unixsocketperm", "700").start()
    try:
        async with redis_pair(f"unix://{path}") as (a, b):
            inbox = Inbox()
            b.subscribe("conv:u", inbox)
            await a.publish("conv:u", Event("chat.message", "{}", "u", 4))
            assert (await inbox.next())[1].seq == 4
    finally:
        server.kill()


async def test_a_silent_redis_link_is_reopened_and_subscribers_resync(redis_url):
    """A link that stays open but carries nothing (a half-open connection) is found out by
    the health ping and reopened; what was missed meanwhile is announced as a reset."""
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    proxy = TcpProxy(port)
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    listener = RedisBus(
        f"redis://127.0.0.1:{proxy.port}/0", prefix=prefix, reconnect_max_s=0.2,
        health_interval_s=0.2,
    )  # fmt: skip
    publisher = RedisBus(redis_url, prefix=prefix)
    inbox = Inbox()
    try:
        await listener.start()
        await publisher.start()
        listener.subscribe("conv:s", inbox)
        proxy.frozen = True
        await publisher.publish("conv:s", Event("chat.message", "{}", "s", 1))  # lost
        await asyncio.sleep(1.0)
        assert await inbox.empty_for(0.1)
        proxy.frozen = False
        _, event = await inbox.next(timeout=10)
        assert event.kind == RESET
        await publisher.publish("conv:s", Event("chat.message", "{}", "s", 2))
        _, live = await inbox.next(timeout=5)
        assert (live.kind, live.seq) == ("chat.message", 2)
    finally:
        await listener.stop()
        await publisher.stop()
        proxy.close()


def test_sentinel_urls_are_understood():
    address = parse_redis_url(
        "redis+sentinel://:s%40cret@10.0.0.1:26380,10.0.0.2,[::1]:26381/peerline/0"
        "?sentinel_password=watch&protocol=3"
    )
    assert address.sentinels == (("10.0.0.1", 26380), ("10.0.0.2", 26379), ("::1", 26381))
    assert (address.service, address.password, address.sentinel_password) == (
        "peerline", "s@cret", "watch",
    )  # fmt: skip
    assert address.protocol == 3 and not address.tls
    assert parse_redis_url("rediss+sentinel://h/svc").tls
    assert isinstance(create_bus("redis+sentinel://127.0.0.1:26379/peerline"), RedisBus)
    with pytest.raises(ValueError, match="service"):
        parse_redis_url("redis+sentinel://127.0.0.1:26379")
    assert parse_redis_url("redis://h").protocol == 2  # RESP2 unless asked


async def test_a_redis_behind_sentinel_carries_events_and_a_failover_is_a_reset(
    redis_url, tmp_path
):
    """Two buses find the master through a real Sentinel; when the master dies and Sentinel
    names another, the subscribers are told to resync and delivery resumes by itself."""
    first = RedisProcess().start()
    replica = RedisProcess("--replicaof", "127.0.0.1", str(first.port)).start()
    conf = tmp_path / "sentinel.conf"
    sentinel_port = RedisProcess().port
    conf.write_text(
        f"port {sentinel_port}\nbind 127.0.0.1\n"
        f"sentinel monitor peerline-test 127.0.0.1 {first.port} 1\n"
        "sentinel down-after-milliseconds peerline-test 500\n"
        "sentinel failover-timeout peerline-test 2000\n"
    )
    sentinel = subprocess.Popen(  # noqa: ASYNC220 (a server the test kills itself)
        ["redis-server", str(conf), "--sentinel"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis+sentinel://127.0.0.1:{sentinel_port}/peerline-test"
    try:
        await wait_for_port(sentinel_port)
        async with redis_pair(url) as (a, b):
            b.reconnect_max_s = 0.2
            inbox = Inbox()
            b.subscribe("conv:h", inbox)
            await a.publish("conv:h", Event("chat.message", "{}", "h", 1))
            assert (await inbox.next(timeout=5))[1].seq == 1
            first.kill()  # the master dies; Sentinel promotes the replica
            _, event = await inbox.next(timeout=30)
            assert event.kind == RESET
            for _ in range(100):  # the publisher finds the new master too
                await a.publish("conv:h", Event("chat.message", "{}", "h", 2))
                with contextlib.suppress(TimeoutError):
                    _, live = await inbox.next(timeout=0.3)
                    if live.kind != RESET:
                        break
            assert (live.kind, live.seq) == ("chat.message", 2)
    finally:
        sentinel.send_signal(signal.SIGKILL)
        sentinel.wait()
        replica.kill()
        first.kill()


async def wait_for_port(port: int) -> None:
    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


async def test_a_publish_that_cannot_reach_redis_is_counted_not_raised(redis_url):
    """After redis-py's retries a publish to an unreachable Redis is logged and counted
    (``on_publish_failed``, wired to peerline_bus_publish_failures_total); the caller goes on."""
    dead = RedisProcess()  # a free port nobody listens on
    bus = RedisBus(f"redis://127.0.0.1:{dead.port}/0")
    failed: list[int] = []
    bus.on_publish_failed.append(lambda: failed.append(1))
    inbox = Inbox()
    bus.subscribe("conv:d", inbox)
    try:
        await bus.publish("conv:d", Event("chat.message", "{}", "d", 1))
        assert (await inbox.next())[1].seq == 1  # local subscribers still get it
        assert failed == [1]
    finally:
        await bus.stop()


def test_redis_py_parses_with_hiredis():
    from redis.utils import HIREDIS_AVAILABLE

    assert HIREDIS_AVAILABLE  # redis[hiredis] in pyproject.toml: the C parser, not Python's
