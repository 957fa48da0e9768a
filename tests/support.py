"""Test helpers: a real server in a subprocess, and a small WebSocket test client.

The server is the real app (``peerline serve``) on a free port, against a real database;
the client speaks the real protocol over a real socket. Nothing of ours is mocked.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from tests import forked_server

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TEST_SECRET = "test-secret-" + "x" * 32
# A fixed Fernet key for the servers tests start (production refuses to start without one).
TEST_SHARE_KEY = "x3PXKA4FGcDcEbBrb9XnQR7n4mi-yacDqBIccq9-t0Y="


# Ports for what tests start (servers, proxies, redis-servers): below Linux's ephemeral
# range (32768-60999), so no outgoing connection (to a server, PostgreSQL, Redis) can take a
# port between its choice here and the server's bind; under pytest-xdist each worker
# ("gw0", "gw1", ...) draws from its own block, so two workers never hand out the same port.
# Within a block: a random start, then the next free port each time (no early reuse).
PORTS = range(10_000, 32_768)
_next_port: int | None = None


def port_block() -> range:
    """This process's share of ``PORTS``: all of it, or one block per xdist worker."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "") or 1)
    if not (worker.startswith("gw") and worker[2:].isdigit()) or workers < 2:
        return PORTS
    size = len(PORTS) // workers
    start = PORTS.start + int(worker[2:]) % workers * size
    return range(start, start + size)


def free_port() -> int:
    """A port nothing listens on, from this process's block (``port_block``)."""
    global _next_port
    block = port_block()
    if _next_port is None:
        _next_port = random.randrange(len(block))
    for _ in range(len(block)):
        port = block[_next_port % len(block)]
        _next_port += 1
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue  # taken (or a connection on it lingers): the next one
            return port
    raise RuntimeError(f"no free port in {block}")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on ``port``."""
    with socket.socket() as s:
        return s.connect_ex((host, port)) == 0


def shows_test_phone(text: str) -> bool:
    """Whether ``text`` holds the tests' phone number (+91 98765 43210) in any spacing, or
    its first five digits standing alone. Not merely "98765": the logs are full of random hex
    ids, and one in a few thousand runs holds those digits inside an id."""
    return bool(re.search(r"98765\D{0,3}43210|(?<![0-9a-f])98765(?![0-9a-f])", text))


def unique_language() -> str:
    """A language tag no other test uses, so tests sharing a server never share a queue."""
    return "en-" + uuid.uuid4().hex[:8]


def run_cli(
    args: list[str], env: dict[str, str], stdin: str | None = None, timeout: float = 120
) -> str:
    """``peerline <args>`` to its end (forked from the fork server when it can be, see
    ``launch``): its output, or RuntimeError with its error output if it failed."""
    if forked_server.can_fork([forked_server.PEERLINE, *args], env):
        result = forked_server.run(args, env=env, cwd=ROOT, stdin=stdin, timeout=timeout)
    else:
        result = run_peerline(args, env, stdin or "", timeout)
    if result.returncode != 0:
        raise RuntimeError(
            f"peerline {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    return result.stdout


def run_peerline(
    args: list[str], env: dict[str, str], stdin: str = "", timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The ``peerline`` script itself, a new process, to its end: its code and output."""
    return subprocess.run(
        [forked_server.PEERLINE, *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
    )


def launch(
    command: list[str], env: dict[str, str], cwd: Path, log_path: Path
) -> subprocess.Popen[bytes] | forked_server.ForkedProcess:
    """``command`` running, its output appended to ``log_path``: forked from this process's
    fork server, which has imported the app already, when it can be
    (``forked_server.can_fork``: this interpreter's ``peerline`` in one process, with an
    environment that agrees with the fork server's); otherwise a new process."""
    if forked_server.can_fork(command, env):
        return forked_server.start(command[1:], env=env, cwd=cwd, out=log_path)
    with log_path.open("ab") as log:
        return subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)


def assert_script_check_passes(script: str) -> None:
    """``python <script> --check`` from the repository's root exits 0: a generated data file
    (the scorer's weights, the prefilter's clauses) is what its script derives now."""
    done = subprocess.run(
        [sys.executable, script, "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


# How long tests wait for a server to answer. A server starts in about 7 s on an idle 2-core
# machine (4.8 s of CPU, two thirds of it compiling the cue lists); in a full CI-mode run,
# beside three other workers and the browsers, its first log line came 2-24 s and more after
# it was launched (session 15), and 30 s timed out. Waiting longer costs nothing when it
# starts in time.
START_TIMEOUT_S = 90.0


@dataclass
class Server:
    """A running ``peerline serve`` process (or ``command`` with ``--port N`` added)."""

    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | forked_server.ForkedProcess | None = None
    log_path: Path | None = None
    command: list[str] = field(default_factory=lambda: [forked_server.PEERLINE, "serve"])
    cwd: Path = ROOT
    ready_path: str = "/healthz"  # asked until it answers 200

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self, timeout: float = START_TIMEOUT_S) -> Server:
        log_dir = ROOT / "test-artifacts" / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"server-{self.port}.log"
        self.process = launch(
            [*self.command, "--port", str(self.port)], self.env, self.cwd, self.log_path
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early; see {self.log_path}")
            # Ask /healthz once the port takes connections (uvicorn listens once the app
            # has started): a refused connect costs microseconds, an HTTP client ~20 ms.
            if port_open(self.port):
                try:
                    if httpx.get(self.base_url + self.ready_path, timeout=1).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
            time.sleep(0.02)
        self.stop(signal.SIGKILL)  # not left running: a leaked server slows every later test
        raise RuntimeError(f"server did not start within {timeout} s; see {self.log_path}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""


class WsClient:
    """A bare protocol client for tests: send frames, wait for the ones you expect.

    Frames that arrive while waiting for another type are kept, in order, for later waits.
    """

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.pending: list[dict[str, Any]] = []
        self.auth_ok: dict[str, Any] = {}
        self.token: str | None = None

    @classmethod
    async def open(
        cls,
        url: str,
        token: str | None = None,
        *,
        expect_ok: bool = True,
        headers: dict[str, str] | None = None,
    ) -> WsClient:
        ws = await connect(
            url, open_timeout=10, max_size=2**20, compression=None, additional_headers=headers
        )
        client = cls(ws)
        client.token = token
        if token is not None:
            await client.send({"type": "auth", "token": token})
            if expect_ok:
                first = await client.recv(timeout=10)
                assert first["type"] == "auth.ok", f"auth.ok must come first, got {first}"
                client.auth_ok = first
        return client

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def send_raw(self, data: str | bytes) -> None:
        await self.ws.send(data)

    async def recv(
        self,
        type_: str | tuple[str, ...] | None = None,
        *,
        timeout: float = 5.0,
        where: Callable[[dict[str, Any]], bool] | None = None,
    ) -> dict[str, Any]:
        types = (type_,) if isinstance(type_, str) else type_

        def wanted(frame: dict[str, Any]) -> bool:
            return (types is None or frame.get("type") in types) and (where is None or where(frame))

        for i, frame in enumerate(self.pending):
            if wanted(frame):
                return self.pending.pop(i)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"no {types} frame within {timeout}s; pending: {self.pending}")
            raw = await asyncio.wait_for(self.ws.recv(), timeout=remaining)
            frame = json.loads(raw)
            if wanted(frame):
                return frame
            self.pending.append(frame)

    async def error(self, code: str, *, timeout: float = 5.0) -> dict[str, Any]:
        frame = await self.recv("error", timeout=timeout)
        assert frame["code"] == code, frame
        return frame

    async def nothing(self, type_: str, *, within: float = 0.5) -> None:
        """Assert that no frame of this type arrives within ``within`` seconds."""
        try:
            frame = await self.recv(type_, timeout=within)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected {type_}: {frame}")

    async def close_code(self, timeout: float = 5.0) -> int | None:
        try:
            while True:
                await asyncio.wait_for(self.ws.recv(), timeout=timeout)
        except Exception:
            pass
        return self.ws.close_code

    async def close(self) -> None:
        await self.ws.close()


async def new_seeker(base_url: str, language: str, **extra: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url) as http:
        r = await http.post(
            "/api/v1/seekers", json={"language": language, "consent": True, **extra}
        )
        assert r.status_code == 201, r.text
        return dict(r.json())


async def login(base_url: str, username: str, password: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url) as http:
        r = await http.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return dict(r.json())


GENEROUS_BUDGETS = {
    "SEEKER_LIMIT_PER_CLIENT": "100000/minute",
    "SEEKER_LIMIT_GLOBAL": "100000/minute",
    "QUEUE_JOIN_LIMIT_PER_CLIENT": "100000/minute",
    "QUEUE_JOIN_LIMIT_GLOBAL": "100000/minute",
    "LOGIN_LIMIT_PER_CLIENT": "100000/minute",
    "LOGIN_LIMIT_GLOBAL": "100000/minute",
    "RETURN_CODE_LIMIT_PER_CLIENT": "100000/minute",
    "RETURN_CODE_LIMIT_GLOBAL": "100000/minute",
    # The moderation tests block seekers, and every test's client is 127.0.0.1.
    "BLOCKED_CLIENT_LIMIT": "100000/minute",
    "MAX_WAITING_SEEKERS": "100000",
}


def env_for(database_url: str, redis_url: str | None = None, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "REDIS_URL", "PEERLINE_", "SECRET_KEY"))
    }
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=TEST_SECRET,
        EMERGENCY_SHARE_KEY=TEST_SHARE_KEY,
        PEERLINE_ENV="test",
        QUEUE_BROADCAST_DEBOUNCE_S="0.05",
        # Every test talks from 127.0.0.1: generous flood budgets and queue, so only the
        # tests of those limits (which set their own) ever meet them.
        **{**GENEROUS_BUDGETS, **extra},
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


async def eventually(
    check: Callable[[], Any], *, timeout: float = 15.0, what: str = "the condition"
) -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy; fail after
    ``timeout`` seconds. For waiting on background work without sleeping a fixed time."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        await asyncio.sleep(0.05)


async def sql(database_url: str, statement: str, **params: Any) -> list[Any]:
    """Run one SQL statement on its own connection; the rows it returns, if any. Tests use
    it to look at what the server stored, and to set data up (e.g. backdate a row)."""
    from datetime import datetime

    from sqlalchemy import bindparam, text

    from app.db import UTCDateTime, create_engine

    query = text(statement).bindparams(
        *(bindparam(k, type_=UTCDateTime()) for k, v in params.items() if isinstance(v, datetime))
    )
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(query, params)
            return list(result.all()) if result.returns_rows else []
    finally:
        await engine.dispose()


async def paired(
    server: Server, staff: Any, *, language: str | None = None
) -> tuple[WsClient, WsClient, str, dict[str, Any]]:
    """A seeker and a volunteer in an active conversation: (seeker, volunteer, id, seeker)."""
    language = language or unique_language()
    seeker = await new_seeker(server.base_url, language)
    volunteer = await staff.create(languages=[language])
    s = await WsClient.open(server.ws_url, seeker["seeker_token"])
    await s.send({"type": "queue.join"})
    status = await s.recv("queue.status")
    v = await WsClient.open(server.ws_url, volunteer.token)
    v.staff = volunteer  # type: ignore[attr-defined]
    await v.send({"type": "queue.take"})
    started = await v.recv("conversation.started")
    assert started["conversation_id"] == status["conversation_id"]
    await s.recv("conversation.started")
    return s, v, started["conversation_id"], seeker


class TcpProxy:
    """A loopback TCP forwarder in its own thread that a test can cut and heal.

    ``cut()`` drops every open connection and refuses new ones, as a database that went
    away would; ``heal()`` accepts again. ``frozen = True`` keeps every connection open but
    silently drops what it carries (a half-open link: nothing says it died). It runs in its own event loop so that blocking
    calls in the test never stall the traffic it carries.
    """

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        import threading

        self.target = (target_host, target_port)
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.frozen = False
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.heal()

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=10)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if self.frozen:
                    continue
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def heal(self) -> None:
        if self._server is None:
            self._call(self._start())

    def cut(self) -> None:
        self._call(self._cut())

    def close(self) -> None:
        self.cut()
        self.loop.call_soon_threadsafe(self.loop.stop)


class RedisProcess:
    """A private redis-server on a free port that a test may kill and start again."""

    def __init__(self, *args: str) -> None:
        self.port = free_port()
        self.args = list(args)  # more redis-server options, e.g. "--requirepass", "x"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisProcess:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", *self.args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
