"""Load generator: real seekers and volunteers speaking the wire protocol to a running server.

    python bench/load.py --url http://127.0.0.1:8000 --seekers 100 --messages 20 --rate 1 \\
        --server-pid 1234 --json out.json

Flow: N seekers are created over REST, open a socket each and ``queue.join``; ceil(N / C)
volunteers (C = ``--volunteer-capacity``) log in, ``availability.set`` and ``queue.take``
until every seeker is paired. Then each side of each conversation sends M messages at R per
second and the generator measures:

- pairing time: ``queue.take`` sent → both sides hold ``conversation.started``. Takes begin
  once every ``queue.join`` and ``availability.set`` has been answered (that burst's length
  is ``pairing_setup_s``), so a take does not queue behind the setup;
- delivery latency: ``chat.send`` written → the *other* side reads the ``chat.message``;
- exact correctness per receiving side: lost (sent, never delivered to the peer), duplicated
  (same seq or same ``client_msg_id`` twice) and out-of-order (seq not last + 1) messages;
- server CPU time per delivered message and server RSS per connection, with ``--server-pid``.

Several processes (two app servers behind one database and bus):

    python bench/load.py --url http://127.0.0.1:8001 --volunteer-url http://127.0.0.1:8002 \\
        --seekers 200 --messages 20 --volunteer-capacity 4 \\
        --server-pid 1234 --server-pid 1235 --infra-auto

- ``--volunteer-url URL``: volunteers log in and connect there, seekers at ``--url``; with
  two processes every message and every ``conversation.started`` crosses the bus.
- ``--server-pid PID`` (repeatable): the app processes; their CPU (children included) is
  summed into ``server_cpu_us_per_msg``, and listed per process in
  ``server_cpu_s_by_process``.
- ``--infra-pid LABEL=PID`` (repeatable) and ``--infra-auto`` (the local PostgreSQL
  postmaster, whose children are the backends, and ``redis-server``, found by name):
  sampled over the same window and reported apart as ``infra_cpu_us_per_msg`` and
  ``infra_cpu_pct``, never added to the server's figure. Reading another user's process
  needs root; an unreadable one is reported as null.

Idle sockets (memory and keepalive cost per connection):

    python bench/load.py --url http://127.0.0.1:8000 --idle 10000 --hold 25 \\
        --server-pid 1234 [--compression deflate]

- ``--idle N``: create N seekers over REST, open and authenticate N sockets that then send
  nothing, hold them for ``--hold`` seconds (default 3; 25 covers one server ping interval,
  so the keepalive pings are in the idle CPU figure) and report: ``authenticated`` (sockets
  that got ``auth.ok``; a failed one is counted by reason in ``connect_failures``, not
  fatal), ``still_open`` at the end, ``server_established_tcp`` (the server's own count of
  established sockets on its port), RSS per connection, CPU per seeker created and per
  connect, ``server_idle_cpu_pct`` and the server's open-files limit.
- ``--connect-concurrency N``: sockets being opened at once (default 64).
- ``--compression deflate``: the client offers permessage-deflate (default: it offers no
  extension); ``deflate_negotiated`` counts the sockets on which the server accepted it.

The generator raises its own open-files soft limit to the hard limit (10,000 sockets are
10,000 descriptors) and reports its own CPU (``generator_cpu_pct`` over the send window,
``generator_cpu_pct_pairing`` over pairing) so a run where it, not the server, was the
bottleneck shows as such.

The hot path is a lean loop over raw ``websockets`` connections, not ``app.client``: the
generator must cost far less CPU than the server it measures. Everything is bounded: each
phase has a deadline, and ``--max-seconds`` caps the whole run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import random
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

REPO = Path(__file__).resolve().parent.parent
CONNECT_CONCURRENCY = 64  # sockets opened at once: enough to be quick, not a SYN flood
CLOSE_CONCURRENCY = 256  # sockets closed at once at the end of a run
REST_CONCURRENCY = 32
OPEN_TIMEOUT_S = 60.0  # TCP + WebSocket handshake, and then again for auth.ok
# A queue.take with no reply in this long is counted in take_timeouts and that volunteer
# takes no more (a late reply would be read as the next take's).
TAKE_REPLY_TIMEOUT_S = 30.0
TAKE_ERRORS = frozenset({"queue_empty", "at_capacity", "rate_limited"})
# A queue.join or availability.set answered with one of these is sent again.
SETUP_RETRY_ERRORS = frozenset({"unavailable", "rate_limited"})
# After the last send, deliveries may still arrive while the server works off its backlog: wait
# as long as they keep coming, and call a message lost only after this long with none.
DRAIN_IDLE_S = 5.0

Frame = dict[str, Any]


# --------------------------------------------------------------------------- measurements


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of ``values`` (q in 0..100); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = math.ceil(round(q * len(ordered) / 100, 9))  # 99.9/100 is not exact in binary
    return ordered[max(0, rank - 1)]


def summarize_ms(values: Sequence[float]) -> dict[str, float | None]:
    """p50/p95/p99/p99.9/max of durations given in seconds, in milliseconds."""

    def ms(v: float | None) -> float | None:
        return None if v is None else round(v * 1000, 2)

    return {
        "n": len(values),
        "p50": ms(percentile(values, 50)),
        "p95": ms(percentile(values, 95)),
        "p99": ms(percentile(values, 99)),
        "p99.9": ms(percentile(values, 99.9)),
        "max": ms(max(values) if values else None),
    }


@dataclass
class Receipt:
    """What one side received in one conversation, checked as it arrives."""

    last_seq: int = 0
    seqs: set[int] = field(default_factory=set)
    client_msg_ids: set[str] = field(default_factory=set)
    duplicated: int = 0
    out_of_order: int = 0

    def record(self, seq: int, client_msg_id: str) -> bool:
        """Account one ``chat.message``; False when it is a duplicate."""
        if seq in self.seqs or client_msg_id in self.client_msg_ids:
            self.duplicated += 1
            return False
        # Out of order means going backwards; a hole shows up as lost.
        if seq < self.last_seq:
            self.out_of_order += 1
        self.last_seq = max(self.last_seq, seq)
        self.seqs.add(seq)
        self.client_msg_ids.add(client_msg_id)
        return True


class ServerProbe:
    """CPU time and RSS of one or more processes and their descendants, via psutil.

    CPU per root = its own time + what it has reaped from children (``children_user`` and
    ``children_system``) + the own time of its live descendants. Short-lived children (a
    PostgreSQL backend that exits) therefore stay counted after they are gone, so a
    difference of two samples is the CPU spent in between. A process that cannot be read
    (gone, or another user's without root) counts as zero; ``readable`` says which could.
    """

    def __init__(self, pids: int | Sequence[int] | None) -> None:
        import psutil

        if isinstance(pids, int):
            pids = [pids]
        self.processes = [psutil.Process(pid) for pid in (pids or [])]
        self.readable = [self._readable(p) for p in self.processes]

    @staticmethod
    def _readable(process: Any) -> bool:
        import psutil

        try:
            process.cpu_times()
            return True
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return False

    @staticmethod
    def _tree(process: Any) -> list[Any]:
        import psutil

        try:
            return [process, *process.children(recursive=True)]
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return [process]

    @staticmethod
    def _root_cpu_s(process: Any) -> float:
        import psutil

        total = 0.0
        for i, p in enumerate(ServerProbe._tree(process)):
            try:
                t = p.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            total += t.user + t.system
            if i == 0:  # reaped children; a live child's own time is added separately
                total += t.children_user + t.children_system
        return total

    def cpu_by_process(self) -> list[float] | None:
        if not self.processes:
            return None
        return [self._root_cpu_s(p) for p in self.processes]

    def cpu_s(self) -> float | None:
        per = self.cpu_by_process()
        return None if per is None else sum(per)

    def rss_kib(self) -> float | None:
        import psutil

        if not self.processes:
            return None
        total = 0
        for process in self.processes:
            for p in self._tree(process):
                with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                    total += p.memory_info().rss
        return total / 1024

    def tcp_established(self, port: int | None = None) -> int | None:
        """Established TCP sockets the processes own (on local ``port`` if given)."""
        import psutil

        if not self.processes:
            return None
        count = 0
        for process in self.processes:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                for c in process.net_connections(kind="tcp"):
                    mine = port is None or c.laddr.port == port
                    if mine and c.status == psutil.CONN_ESTABLISHED:
                        count += 1
        return count

    def fd_limits(self) -> list[int] | None:
        """Each root process's soft RLIMIT_NOFILE (Linux)."""
        import psutil

        if not self.processes or not hasattr(psutil.Process, "rlimit"):
            return None
        limits = []
        for process in self.processes:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                limits.append(process.rlimit(psutil.RLIMIT_NOFILE)[0])
        return limits


def machine_busy_s() -> float:
    """CPU seconds all cores have spent not idle since boot (psutil.cpu_times)."""
    import psutil

    t = psutil.cpu_times()
    return (
        sum(t)
        - t.idle
        - getattr(t, "iowait", 0.0)
        - getattr(t, "guest", 0.0)
        - getattr(t, "guest_nice", 0.0)
    )


class MachineSnapshot:
    """CPU time of every process on the machine at one moment, to name, afterwards, the
    processes outside the run that took CPU during a window."""

    def __init__(self) -> None:
        import psutil

        self.busy_s = machine_busy_s()
        self.cpu: dict[int, tuple[str, float]] = {}
        for p in psutil.process_iter(["pid", "cmdline", "name", "cpu_times"]):
            times = p.info["cpu_times"]
            if times is None:
                continue
            label = " ".join(p.info["cmdline"] or []) or p.info["name"] or "?"
            self.cpu[p.info["pid"]] = (label[:90], times.user + times.system)

    def top_others(
        self, later: MachineSnapshot, exclude: Sequence[int], window_s: float, n: int = 3
    ) -> list[str]:
        """The ``n`` processes (not in ``exclude`` nor their descendants) that used most CPU
        between this snapshot and ``later``, as "pct% label"."""
        import psutil

        skip = set(exclude) | {os.getpid()}
        for pid in list(skip):
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                skip.update(c.pid for c in psutil.Process(pid).children(recursive=True))
        used = []
        for pid, (label, after) in later.cpu.items():
            if pid in skip:
                continue
            before = self.cpu.get(pid, (label, 0.0))[1]
            if after - before > 0.01 * window_s:
                used.append((after - before, label))
        used.sort(reverse=True)
        return [f"{cpu / max(window_s, 1e-9) * 100:.0f}% {label}" for cpu, label in used[:n]]


def other_cpu_pct(busy_s: float, *ours_s: float | None, window_s: float) -> float | None:
    """CPU the rest of the machine used in a window (100 = one core): everything busy minus
    the server(s), the generator and whatever else was measured. Above a few percent, the
    run shared its cores with something else and its figures are suspect. None for a window
    under a second (a run with no messages has a send window of milliseconds, and clock-tick
    accounting makes any figure over it noise)."""
    if window_s < 1.0:
        return None
    return round((busy_s - sum(x or 0.0 for x in ours_s)) / window_s * 100, 1)


def find_infra_pids() -> dict[str, int]:
    """The local PostgreSQL postmaster and redis-server, by process name, if visible.

    The postmaster is the ``postgres`` process whose parent is not a ``postgres``; its
    backends (the app's connections) are its children, so a probe on it covers them.
    """
    import psutil

    found: dict[str, int] = {}
    for p in psutil.process_iter(["pid", "name", "ppid"]):
        name = p.info["name"] or ""
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            if name in ("postgres", "postmaster") and "postgres" not in found:
                parent = psutil.Process(p.info["ppid"]).name() if p.info["ppid"] else ""
                if parent not in ("postgres", "postmaster"):
                    found["postgres"] = p.info["pid"]
            elif name == "redis-server" and "redis" not in found:
                found["redis"] = p.info["pid"]
    return found


def raise_fd_limit() -> tuple[int, int]:
    """Raise this process's soft open-files limit to the hard one (children inherit it):
    10,000 sockets need 10,000 descriptors on each side. Returns (soft, hard)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


# --------------------------------------------------------------------------- provisioning


async def _lean_post_many(
    base_url: str, path: str, body: dict[str, Any], count: int, concurrency: int
) -> list[dict[str, Any]]:
    """``count`` identical JSON POSTs over ``concurrency`` keep-alive HTTP/1.1 connections,
    on plain asyncio streams: a fraction of httpx's CPU per request, so creating 10,000
    seekers is paced by the server, not by this generator. http:// only."""
    from urllib.parse import urlsplit

    url = urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    payload = json.dumps(body).encode()
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload
    results: list[dict[str, Any]] = []
    remaining = count

    async def worker() -> None:
        nonlocal remaining
        reader = writer = None
        try:
            while remaining > 0:
                remaining -= 1
                status_line = b""
                for _attempt in range(2):  # once more on a fresh connection if the kept-alive
                    if writer is None:  # one was closed by the server in the meantime
                        reader, writer = await asyncio.open_connection(host, port)
                    assert reader is not None
                    writer.write(request)
                    status_line = await asyncio.wait_for(reader.readline(), 60)
                    if status_line:
                        break
                    writer.close()
                    reader = writer = None
                if not status_line:
                    raise RuntimeError(f"POST {path}: the server closed the connection")
                assert reader is not None and writer is not None
                length, close = None, False
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    name = name.strip().lower()
                    if name == "content-length":
                        length = int(value)
                    elif name == "connection" and value.strip().lower() == "close":
                        close = True
                if length is None:
                    raise RuntimeError(f"POST {path}: no Content-Length ({status_line!r})")
                data = await reader.readexactly(length)
                status = int(status_line.split()[1])
                if status != 201:
                    raise RuntimeError(f"POST {path} answered {status}: {data[:300]!r}")
                results.append(json.loads(data))
                if close:
                    writer.close()
                    reader = writer = None
        finally:
            if writer is not None:
                writer.close()

    await asyncio.gather(*(worker() for _ in range(min(concurrency, count))))
    return results


async def create_seekers(base_url: str, count: int, language: str = "en") -> list[str]:
    """``count`` seeker tokens over REST."""
    body = {"language": language, "consent": True}
    if base_url.startswith("http://"):
        replies = await _lean_post_many(base_url, "/api/v1/seekers", body, count, REST_CONCURRENCY)
        return [r["seeker_token"] for r in replies]
    limit = asyncio.Semaphore(REST_CONCURRENCY)
    async with httpx.AsyncClient(base_url=base_url, timeout=30.0) as http:

        async def one() -> str:
            async with limit:
                reply = await http.post("/api/v1/seekers", json=body)
                if reply.status_code != 201:
                    raise RuntimeError(
                        f"POST /api/v1/seekers answered {reply.status_code}: {reply.text[:300]}"
                    )
                return reply.json()["seeker_token"]

        return await asyncio.gather(*(one() for _ in range(count)))


def create_volunteers_via_cli(
    count: int, *, capacity: int, database_url: str | None = None, prefix: str | None = None
) -> list[dict[str, str]]:
    """Create trained English-speaking volunteers with ``peerline create-user`` (password on
    stdin), against ``database_url`` (default: ``$DATABASE_URL``). Returns their logins."""
    env = dict(os.environ)
    if database_url:
        env["DATABASE_URL"] = database_url
    prefix = prefix or f"bench-{secrets.token_hex(3)}"
    accounts = [
        {"username": f"{prefix}-v{i}", "password": secrets.token_urlsafe(12)} for i in range(count)
    ]
    procs = []
    for account in accounts:  # a few processes at a time: each one pays interpreter start-up
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "app.cli",
                    "create-user",
                    "--role",
                    "volunteer",
                    "--username",
                    account["username"],
                    "--trained",
                    "--languages",
                    "en",
                    "--max-chats",
                    str(capacity),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                cwd=REPO,
                env=env,
                text=True,
            )
        )
        procs[-1].stdin.write(account["password"] + "\n")  # type: ignore[union-attr]
        procs[-1].stdin.close()  # type: ignore[union-attr]
        if len(procs) % 8 == 0:
            _wait_all(procs[-8:])
    _wait_all(procs)
    return accounts


def _wait_all(procs: Iterable[subprocess.Popen[str]]) -> None:
    for proc in procs:
        if proc.wait(timeout=120) != 0:
            raise RuntimeError(f"peerline create-user failed: {proc.stderr.read()}")  # type: ignore[union-attr]


async def create_volunteers_via_api(
    base_url: str, admin: tuple[str, str], count: int, *, capacity: int
) -> list[dict[str, str]]:
    """Create volunteers with ``POST /api/v1/staff`` as an admin."""
    prefix = f"bench-{secrets.token_hex(3)}"
    accounts = [
        {"username": f"{prefix}-v{i}", "password": secrets.token_urlsafe(12)} for i in range(count)
    ]
    async with httpx.AsyncClient(base_url=base_url, timeout=60.0) as http:
        token = await _login(http, *admin)
        limit = asyncio.Semaphore(8)

        async def one(account: dict[str, str]) -> None:
            async with limit:
                reply = await http.post(
                    "/api/v1/staff",
                    headers={"Authorization": f"Bearer {token}"},
                    json={
                        **account,
                        "role": "volunteer",
                        "languages": ["en"],
                        "trained": True,
                        "max_concurrent_chats": capacity,
                    },
                )
                reply.raise_for_status()

        await asyncio.gather(*(one(a) for a in accounts))
    return accounts


async def _login(http: httpx.AsyncClient, username: str, password: str) -> str:
    reply = await http.post("/api/v1/auth/login", json={"username": username, "password": password})
    reply.raise_for_status()
    return reply.json()["access_token"]


async def login_all(base_url: str, accounts: Sequence[dict[str, str]]) -> list[str]:
    limit = asyncio.Semaphore(8)  # logins hash passwords: do not stall the server
    async with httpx.AsyncClient(base_url=base_url, timeout=60.0) as http:

        async def one(account: dict[str, str]) -> str:
            async with limit:
                return await _login(http, account["username"], account["password"])

        return await asyncio.gather(*(one(a) for a in accounts))


# --------------------------------------------------------------------------- lean connections


class Peer:
    """One authenticated socket and what it has seen. ``run`` reads until the socket closes."""

    def __init__(self, run: LoadRun, role: str, ws: ClientConnection) -> None:
        self.load, self.role, self.ws = run, role, ws
        self.auth_ok: Frame | None = None
        self.replies: asyncio.Queue[Frame] = asyncio.Queue()  # direct replies for take/join
        self.errors: list[Frame] = []
        # Set by the first queue.status (a seeker's join answered) or availability.ok.
        self.ready = asyncio.Event()
        # queue.join or availability.set, resent if the server answers it unavailable.
        self.setup_frame: Frame | None = None

    async def send(self, frame: Frame) -> None:
        await self.ws.send(json.dumps(frame))

    async def read(self) -> None:
        load = self.load
        with contextlib.suppress(ConnectionClosed):
            await self._read_frames()
        if not load.closing:  # the server dropped us mid-run: the lean path does not resume
            code = str(self.ws.close_code)
            load.disconnects[code] = load.disconnects.get(code, 0) + 1

    async def _read_frames(self) -> None:
        load = self.load
        async for raw in self.ws:
            now = time.perf_counter()
            frame = json.loads(raw)
            kind = frame.get("type")
            if kind == "chat.message":
                load.on_message(self, frame, now)
            elif kind == "chat.ack":
                load.on_ack(frame, now)
            elif kind == "conversation.started":
                load.on_started(self, frame, now)
                if self.role == "volunteer":
                    self.replies.put_nowait(frame)
            elif kind in ("queue.status", "availability.ok"):
                self.ready.set()
            elif kind == "error":
                self.errors.append(frame)
                code = frame.get("code", "?")
                load.errors[code] = load.errors.get(code, 0) + 1
                ref = frame.get("ref") or ""
                if ref == "setup" and code in SETUP_RETRY_ERRORS and self.setup_frame:
                    # A join or availability.set refused under a burst: retry, as a client
                    # would, after a pause.
                    asyncio.get_running_loop().call_later(
                        0.2 + random.random() * 0.3,
                        lambda: asyncio.ensure_future(self.send(self.setup_frame or {})),
                    )
                elif ref.startswith("send:"):
                    load.send_errors[ref.removeprefix("send:")] = code
                elif ref.startswith("take") or (not ref and code in TAKE_ERRORS):
                    self.replies.put_nowait(frame)


async def open_peer(run: LoadRun, url: str, token: str, role: str, compression: str | None) -> Peer:
    # ping_interval=None: the client sends no pings of its own, but it still answers the
    # server's (uvicorn pings every 20 s), as long as its reader runs.
    ws = await connect(
        url,
        compression=compression,
        proxy=None,
        open_timeout=OPEN_TIMEOUT_S,
        close_timeout=5,
        max_queue=None,
        ping_interval=None,
    )
    try:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        auth_ok = json.loads(await asyncio.wait_for(ws.recv(), OPEN_TIMEOUT_S))
        if auth_ok.get("type") != "auth.ok":
            raise RuntimeError(f"expected auth.ok, got {str(auth_ok)[:200]}")
    except BaseException:
        await ws.close()
        raise
    peer = Peer(run, role, ws)
    peer.auth_ok = auth_ok
    run.readers.append(asyncio.create_task(peer.read()))
    return peer


async def open_peers(
    run: LoadRun, url: str, tokens: Sequence[str], role: str, compression: str | None = None
) -> list[Peer]:
    limit = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(token: str) -> Peer:
        async with limit:
            return await open_peer(run, url, token, role, compression)

    return await asyncio.gather(*(one(t) for t in tokens))


def describe_failure(exc: BaseException) -> str:
    """A short, countable label for why a socket could not be opened."""
    text = str(exc).splitlines()[0][:120] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def open_peers_counting(
    run: LoadRun,
    url: str,
    tokens: Sequence[str],
    role: str,
    compression: str | None = None,
    *,
    concurrency: int = CONNECT_CONCURRENCY,
) -> tuple[list[Peer], dict[str, int]]:
    """Like ``open_peers``, but a socket that fails is counted (by reason), not fatal."""
    limit = asyncio.Semaphore(concurrency)
    failures: dict[str, int] = {}

    async def one(token: str) -> Peer | None:
        async with limit:
            try:
                return await open_peer(run, url, token, role, compression)
            except Exception as exc:
                label = describe_failure(exc)
                failures[label] = failures.get(label, 0) + 1
                return None

    opened = await asyncio.gather(*(one(t) for t in tokens))
    return [p for p in opened if p is not None], failures


async def close_peers(run: LoadRun, peers: Sequence[Peer]) -> None:
    """Close every socket (a bounded number at a time) and stop the readers."""
    run.closing = True
    limit = asyncio.Semaphore(CLOSE_CONCURRENCY)

    async def one(peer: Peer) -> None:
        async with limit:
            with contextlib.suppress(Exception):
                await peer.ws.close()

    await asyncio.gather(*(one(p) for p in peers))
    for reader in run.readers:
        reader.cancel()


# --------------------------------------------------------------------------- the run


@dataclass
class Conversation:
    conversation_id: str
    seeker: Peer | None = None
    volunteer: Peer | None = None
    take_sent: float = 0.0
    started_at: dict[str, float] = field(default_factory=dict)  # role → when it saw started
    paired: asyncio.Event = field(default_factory=asyncio.Event)  # both sides saw started


class LoadRun:
    """The accounting of one run: every send, ack and delivery, exactly."""

    def __init__(self) -> None:
        self.readers: list[asyncio.Task[None]] = []
        self.conversations: dict[str, Conversation] = {}
        self.sent: dict[tuple[str, str], tuple[str, float]] = {}  # (conv, cmid) → (role, t)
        self.acked: dict[tuple[str, str], float] = {}
        self.delivered: dict[tuple[str, str], float] = {}  # to the peer: (conv, cmid) → t
        self.receipts: dict[tuple[str, str], Receipt] = {}  # (conv, receiving role)
        self.echoes = 0
        self.errors: dict[str, int] = {}
        self.all_delivered = asyncio.Event()
        self.disconnects: dict[str, int] = {}  # close code → sockets the server closed mid-run
        self.closing = False
        self.expected = 0
        self.take_timeouts = 0
        self.setup_s = 0.0  # joins and availability.set sent → all answered
        self.send_errors: dict[str, str] = {}  # client_msg_id → error code the send got
        self.started = time.perf_counter()

    def progress(self, what: str) -> None:
        """One line on stderr per phase, so a run that stalls shows where."""
        elapsed = time.perf_counter() - self.started
        print(f"   [{elapsed:7.1f} s] {what}", file=sys.stderr, flush=True)

    def on_started(self, peer: Peer, frame: Frame, now: float) -> None:
        conv = self.conversations.setdefault(
            frame["conversation_id"], Conversation(frame["conversation_id"])
        )
        setattr(conv, peer.role, peer)
        conv.started_at.setdefault(peer.role, now)
        if len(conv.started_at) == 2:
            conv.paired.set()

    def on_ack(self, frame: Frame, now: float) -> None:
        self.acked.setdefault((frame["conversation_id"], frame["client_msg_id"]), now)

    def on_message(self, peer: Peer, frame: Frame, now: float) -> None:
        key = (frame["conversation_id"], frame.get("client_msg_id") or "")
        receipt = self.receipts.setdefault((key[0], peer.role), Receipt())
        fresh = receipt.record(int(frame["seq"]), key[1])
        if frame.get("sender_role") == peer.role:
            self.echoes += 1
            return
        if fresh and key in self.sent and key not in self.delivered:
            self.delivered[key] = now
            if len(self.delivered) >= self.expected:
                self.all_delivered.set()


def lost_by_cause(run: LoadRun) -> dict[str, int]:
    """Why each sent message never reached the peer (the lean client neither resends nor
    resumes, so each of these is "not delivered in this run", and only ``acked_receiver_open``
    would be a loss for a real client):

    - ``refused_<code>``: the send was answered with an error (``unavailable``: nothing was
      stored; a real client resends with the same ``client_msg_id``);
    - ``acked_receiver_dropped``: stored (acked), but the server closed the receiving socket
      (a real client resumes and gets it);
    - ``not_acked_sender_dropped``: neither ack nor error, and the server closed the
      sender's socket;
    - ``not_acked``: neither ack nor error, sender still connected (still queued when the
      run stopped waiting);
    - ``acked_receiver_open``: stored and acked, the receiver's socket stayed open, and it
      never arrived.
    """
    causes: dict[str, int] = {}
    for key, (role, _) in run.sent.items():
        if key in run.delivered:
            continue
        conv = run.conversations.get(key[0])
        sender = getattr(conv, role, None) if conv else None
        receiver = getattr(conv, "volunteer" if role == "seeker" else "seeker", None)
        if key[1] in run.send_errors:
            cause = f"refused_{run.send_errors[key[1]]}"
        elif key in run.acked:
            dropped = receiver is None or receiver.ws.close_code is not None
            cause = "acked_receiver_dropped" if dropped else "acked_receiver_open"
        elif sender is not None and sender.ws.close_code is not None:
            cause = "not_acked_sender_dropped"
        else:
            cause = "not_acked"
        causes[cause] = causes.get(cause, 0) + 1
    return causes


async def pair_everyone(
    run: LoadRun,
    seekers: list[Peer],
    volunteers: list[Peer],
    *,
    capacity: int,
    take_rate: float,
    deadline: float,
) -> list[Pairing]:
    """Seekers join; volunteers go available and take until every seeker is paired.

    Pairing time: the successful ``queue.take`` sent → both sides saw ``conversation.started``.
    """
    for seeker in seekers:
        seeker.setup_frame = {"type": "queue.join", "ref": "setup"}
        await seeker.send(seeker.setup_frame)
    for volunteer in volunteers:
        volunteer.setup_frame = {
            "type": "availability.set",
            "available": True,
            "capacity": capacity,
            "auto_assign": False,
            "ref": "setup",
        }
        await volunteer.send(volunteer.setup_frame)
    # Takes start once every join and availability.set is answered: pairing time measures a
    # take, not the server working through the burst of setup frames before it.
    t_setup = time.perf_counter()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(
            asyncio.gather(*(p.ready.wait() for p in [*seekers, *volunteers])),
            max(0.1, deadline - time.perf_counter()),
        )
    run.setup_s = time.perf_counter() - t_setup
    pairings: list[Pairing] = []
    interval = 1.0 / take_rate if take_rate > 0 else 0.0
    slots = [v for _ in range(capacity) for v in volunteers][: len(seekers)]
    start = time.perf_counter()

    async def take(volunteer: Peer, index: int) -> bool:
        """False when this volunteer must take no more (no reply, or its socket closed)."""
        await asyncio.sleep(max(0.0, start + index * interval - time.perf_counter()))
        attempts = 0
        while time.perf_counter() < deadline:
            attempts += 1
            sent = time.perf_counter()
            try:
                await volunteer.send({"type": "queue.take", "ref": f"take-{index}"})
                reply = await asyncio.wait_for(
                    volunteer.replies.get(), min(TAKE_REPLY_TIMEOUT_S, deadline - sent)
                )
            except TimeoutError:
                run.take_timeouts += 1
                return False
            except ConnectionClosed:
                return False
            if reply.get("type") == "conversation.started":
                conv = run.conversations[reply["conversation_id"]]
                conv.take_sent = sent
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(conv.paired.wait(), deadline - time.perf_counter())
                seen = conv.started_at
                pairings.append(
                    Pairing(
                        max(seen.values()) - sent,
                        seen["volunteer"] - sent,
                        seen.get("seeker", math.inf) - sent,
                        attempts,
                    )
                )
                return True
            await asyncio.sleep(0.05 + random.random() * 0.05)  # queue_empty: a seeker lags
        return False

    # One take in flight per volunteer: replies are read from its own queue in order.
    by_volunteer: dict[int, list[int]] = {}
    for index, volunteer in enumerate(slots):
        by_volunteer.setdefault(id(volunteer), []).append(index)

    async def volunteer_takes(volunteer: Peer, indexes: list[int]) -> None:
        for index in indexes:
            if not await take(volunteer, index):
                return

    owners = {id(v): v for v in volunteers}
    await asyncio.gather(*(volunteer_takes(owners[k], ix) for k, ix in by_volunteer.items()))
    return pairings


async def chat(run: LoadRun, conv: Conversation, role: str, messages: int, rate: float) -> None:
    """One side of one conversation: ``messages`` sends at ``rate`` per second."""
    peer = conv.seeker if role == "seeker" else conv.volunteer
    assert peer is not None
    interval = 1.0 / rate if rate > 0 else 0.0
    start = time.perf_counter() + random.random() * interval  # spread the conversations
    for i in range(messages):
        await asyncio.sleep(max(0.0, start + i * interval - time.perf_counter()))
        cmid = f"{role[0]}{i}-{uuid.uuid4().hex[:12]}"
        if peer.ws.close_code is not None:
            return  # dropped by the server: counted in disconnects, not as lost
        key = (conv.conversation_id, cmid)
        run.sent[key] = (role, time.perf_counter())
        frame = {
            "type": "chat.send",
            "conversation_id": key[0],
            "client_msg_id": cmid,
            "text": f"bench {role} {i} t={time.time_ns()}",
            "ref": f"send:{cmid}",  # an error frame for this send names it
        }
        try:
            await peer.send(frame)
        except ConnectionClosed:
            del run.sent[key]
            return


@dataclass
class Pairing:
    both_s: float
    volunteer_s: float
    seeker_s: float
    takes: int  # queue.take frames it needed (more than one after queue_empty)


@dataclass
class LoadConfig:
    url: str
    seekers: int = 10
    messages: int = 10
    rate: float = 1.0
    volunteer_capacity: int = 1
    take_rate: float = 0.0  # takes per second over all volunteers; 0 = as fast as they go
    # The app server processes whose CPU (summed) is the cost per message; several when a
    # run spans several processes.
    server_pids: list[int] = field(default_factory=list)
    # Volunteers log in and connect here; seekers at ``url``. Two processes: every message
    # then crosses the bus.
    volunteer_url: str | None = None
    # Other processes on the message path, sampled over the same window and reported apart
    # from the server's figure: label → pid (children included), e.g. postgres, redis.
    infra_pids: dict[str, int] = field(default_factory=dict)
    staff_accounts: list[dict[str, str]] = field(default_factory=list)  # from --staff-file
    admin: str | None = None  # "user:password" to create volunteers over the admin API
    database_url: str | None = None  # for `peerline create-user` (default $DATABASE_URL)
    compression: str | None = None
    max_seconds: float = 600.0


async def run_load(config: LoadConfig) -> dict[str, Any]:
    """One benchmark run; returns the results as a JSON-able dict."""
    t_begin = time.perf_counter()
    deadline = t_begin + config.max_seconds
    run = LoadRun()
    base = config.url.rstrip("/")
    ws_url = base.replace("http", "ws", 1) + "/ws"
    vbase = (config.volunteer_url or config.url).rstrip("/")
    vws_url = vbase.replace("http", "ws", 1) + "/ws"
    probe = ServerProbe(config.server_pids)
    infra = {label: ServerProbe(pid) for label, pid in config.infra_pids.items()}
    n_volunteers = math.ceil(config.seekers / config.volunteer_capacity)

    if config.staff_accounts:
        accounts = config.staff_accounts[:n_volunteers]
    elif config.admin:
        user, _, password = config.admin.partition(":")
        accounts = await create_volunteers_via_api(
            vbase, (user, password), n_volunteers, capacity=config.volunteer_capacity
        )
    else:
        accounts = await asyncio.to_thread(
            create_volunteers_via_cli,
            n_volunteers,
            capacity=config.volunteer_capacity,
            database_url=config.database_url,
        )
    if len(accounts) < n_volunteers:
        raise SystemExit(f"need {n_volunteers} volunteer accounts, have {len(accounts)}")
    run.progress(f"{len(accounts)} volunteer accounts ready")
    seeker_tokens = await create_seekers(base, config.seekers)
    volunteer_tokens = await login_all(vbase, accounts)
    run.progress(f"{len(seeker_tokens)} seekers created, {len(volunteer_tokens)} logged in")

    rss_before, cpu_before_connect = probe.rss_kib(), probe.cpu_s()
    t0 = time.perf_counter()
    seekers = await open_peers(run, ws_url, seeker_tokens, "seeker", config.compression)
    volunteers = await open_peers(run, vws_url, volunteer_tokens, "volunteer", config.compression)
    connect_s = time.perf_counter() - t0
    await asyncio.sleep(0.5)
    rss_connected = probe.rss_kib()
    connections = len(seekers) + len(volunteers)
    run.progress(f"{connections} sockets authenticated; pairing")

    t0, gen_pairing = time.perf_counter(), time.process_time()
    pairings = await pair_everyone(
        run,
        seekers,
        volunteers,
        capacity=config.volunteer_capacity,
        take_rate=config.take_rate,
        deadline=deadline,
    )
    pairing_s = time.perf_counter() - t0
    gen_pairing = time.process_time() - gen_pairing
    convs = [c for c in run.conversations.values() if c.seeker and c.volunteer]
    run.progress(
        f"{len(convs)} conversations paired ({run.take_timeouts} takes unanswered); "
        f"{config.messages} msgs/side at {config.rate}/s"
    )

    run.expected = 2 * len(convs) * config.messages
    if not run.expected:
        run.all_delivered.set()
    # This process's own full garbage collections took 40-90 ms every ~11 s of a 1,000-
    # conversation run, and every message arriving meanwhile looked that late. Nothing
    # here is cyclic garbage worth collecting for a few minutes: the collector stays off
    # while the clock runs.
    gc.collect()
    gc.freeze()
    gc.disable()
    cpu_before_by = probe.cpu_by_process()
    infra_before = {label: p.cpu_s() for label, p in infra.items()}
    cpu_before, t_send, gen_send = probe.cpu_s(), time.perf_counter(), time.process_time()
    snap_before = MachineSnapshot()
    busy_before = snap_before.busy_s
    senders = [
        chat(run, c, role, config.messages, config.rate)
        for c in convs
        for role in ("seeker", "volunteer")
    ]
    await asyncio.gather(*senders)
    t_last_send = time.perf_counter()
    while not run.all_delivered.is_set() and time.perf_counter() < deadline:
        before = len(run.delivered)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(run.all_delivered.wait(), DRAIN_IDLE_S)
        if len(run.delivered) == before:
            break
    drain_s = time.perf_counter() - t_last_send
    gc.enable()
    gc.unfreeze()
    run.progress(f"sends done; {len(run.delivered)}/{len(run.sent)} delivered ({drain_s:.1f} s)")
    t_end = max(run.delivered.values(), default=t_last_send)
    cpu_after_by = probe.cpu_by_process()
    infra_after = {label: p.cpu_s() for label, p in infra.items()}
    cpu_after, rss_after = probe.cpu_s(), probe.rss_kib()
    gen_send, gen_window = time.process_time() - gen_send, time.perf_counter() - t_send
    snap_after = MachineSnapshot()
    busy_send = snap_after.busy_s - busy_before

    lost_causes = lost_by_cause(run)  # before closing: it reads which sockets the server closed
    await close_peers(run, [*seekers, *volunteers])

    latencies = [run.delivered[k] - run.sent[k][1] for k in run.delivered]
    ack_latencies = [run.acked[k] - run.sent[k][1] for k in run.acked if k in run.sent]
    delivered = len(run.delivered)
    window = max(t_end - t_send, 1e-9)
    results: dict[str, Any] = {
        "config": {k: v for k, v in asdict(config).items() if k not in ("admin",)},
        "connections": connections,
        "connect_s": round(connect_s, 3),
        "conversations": len(convs),
        "pairing_setup_s": round(run.setup_s, 3),
        "pairing_total_s": round(pairing_s, 3),
        "pairing_ms": summarize_ms([p.both_s for p in pairings]),
        "pairing_volunteer_ms": summarize_ms([p.volunteer_s for p in pairings]),
        "pairing_seeker_ms": summarize_ms([p.seeker_s for p in pairings]),
        "pairing_retried_takes": sum(p.takes - 1 for p in pairings),
        "take_timeouts": run.take_timeouts,
        "unpaired": config.seekers - len(convs),
        "sent": len(run.sent),
        "acked": len(run.acked),
        "delivered": delivered,
        "lost": len(run.sent) - delivered,
        "lost_by_cause": lost_causes,
        "duplicated": sum(r.duplicated for r in run.receipts.values()),
        "out_of_order": sum(r.out_of_order for r in run.receipts.values()),
        "echoes": run.echoes,
        "errors": run.errors,
        "latency_ms": summarize_ms(latencies),
        "ack_ms": summarize_ms(ack_latencies),
        "disconnects": run.disconnects,
        "send_window_s": round(t_last_send - t_send, 3),
        "drain_s": round(drain_s, 3),
        "delivered_per_s": round(delivered / window, 1),
        # Over the send window (None without one), and over pairing: a figure near 100 means
        # the generator, not the server, set the pace there.
        "generator_cpu_pct": round(gen_send / gen_window * 100, 1) if run.sent else None,
        "generator_cpu_pct_pairing": round(gen_pairing / max(pairing_s, 1e-9) * 100, 1),
        "other_cpu_pct": other_cpu_pct(
            busy_send,
            None if cpu_before is None or cpu_after is None else cpu_after - cpu_before,
            gen_send,
            *(
                (infra_after[k] or 0.0) - (infra_before[k] or 0.0)
                for k in infra
                if all(infra[k].readable)
            ),
            window_s=gen_window,
        ),
        "other_cpu_top": snap_before.top_others(
            snap_after, [*config.server_pids, *config.infra_pids.values()], gen_window
        ),
        "wall_s": round(time.perf_counter() - t_begin, 2),
    }
    if cpu_before is not None and cpu_after is not None and delivered:
        results["server_cpu_us_per_msg"] = round((cpu_after - cpu_before) / delivered * 1e6, 1)
        results["server_cpu_pct"] = round((cpu_after - cpu_before) / window * 100, 1)
        results["server_cpu_connect_s"] = round(cpu_before - (cpu_before_connect or 0.0), 3)
        if cpu_before_by is not None and cpu_after_by is not None and len(cpu_before_by) > 1:
            results["server_cpu_s_by_process"] = [
                round(a - b, 3) for a, b in zip(cpu_after_by, cpu_before_by, strict=True)
            ]
    if infra and delivered:
        # Not part of server_cpu_us_per_msg: the database and bus servers' own CPU.
        results["infra_cpu_us_per_msg"] = {}
        results["infra_cpu_pct"] = {}
        for label, p in infra.items():
            before, after = infra_before[label], infra_after[label]
            if not all(p.readable) or before is None or after is None:
                results["infra_cpu_us_per_msg"][label] = None  # not readable (not root?)
                continue
            results["infra_cpu_us_per_msg"][label] = round((after - before) / delivered * 1e6, 1)
            results["infra_cpu_pct"][label] = round((after - before) / window * 100, 1)
    if rss_before is not None and rss_connected is not None:
        results["server_rss_before_mib"] = round(rss_before / 1024, 1)
        results["server_rss_after_mib"] = round((rss_after or 0.0) / 1024, 1)
        results["server_rss_kib_per_conn"] = round((rss_connected - rss_before) / connections, 1)
    return results


async def run_idle(
    url: str,
    count: int,
    *,
    server_pids: Sequence[int] = (),
    hold_s: float = 3.0,
    compression: str | None = None,
    connect_concurrency: int = CONNECT_CONCURRENCY,
) -> dict[str, Any]:
    """Open ``count`` authenticated seeker sockets that then do nothing, and hold them.

    Measures: seekers created over REST per second; sockets opened and authenticated (a
    socket that fails is counted by reason, not fatal); permessage-deflate negotiated on how
    many; server RSS per connection; server CPU per connect; and, over ``hold_s`` seconds of
    idling, the server's CPU (its keepalive pings included: hold at least one ping interval,
    20 s, to see them all) and how many sockets are still open at the end.
    """
    base = url.rstrip("/")
    port = int(base.rsplit(":", 1)[1]) if base.count(":") == 2 else None
    probe = ServerProbe(list(server_pids))
    t_start = time.perf_counter()
    cpu_create, t0, gen0 = probe.cpu_s(), time.perf_counter(), time.process_time()
    busy0, gen_start = machine_busy_s(), gen0
    run = LoadRun()
    tokens = await create_seekers(base, count)
    create_s, gen_create = time.perf_counter() - t0, time.process_time() - gen0
    run.progress(f"{len(tokens)} seekers created in {create_s:.1f} s; connecting")
    rss_before, cpu_before = probe.rss_kib(), probe.cpu_s()
    t0, gen0 = time.perf_counter(), time.process_time()
    peers, failures = await open_peers_counting(
        run,
        base.replace("http", "ws", 1) + "/ws",
        tokens,
        "seeker",
        compression,
        concurrency=connect_concurrency,
    )
    connect_s, gen_connect = time.perf_counter() - t0, time.process_time() - gen0
    run.progress(f"{len(peers)} sockets authenticated in {connect_s:.1f} s; holding {hold_s} s")
    await asyncio.sleep(1.0)  # let the server settle (queue refresh after the last auth)
    rss_connected, cpu0, t_hold = probe.rss_kib(), probe.cpu_s(), time.perf_counter()
    busy_setup, gen_setup = machine_busy_s() - busy0, time.process_time() - gen_start
    setup_s, snap0 = time.perf_counter() - t_start, MachineSnapshot()
    gen0 = time.process_time()
    await asyncio.sleep(hold_s)
    held_s, gen_hold = time.perf_counter() - t_hold, time.process_time() - gen0
    snap1 = MachineSnapshot()
    busy_hold = snap1.busy_s - snap0.busy_s
    rss_after, cpu1 = probe.rss_kib(), probe.cpu_s()
    established = probe.tcp_established(port)
    open_after = sum(1 for p in peers if p.ws.close_code is None)
    negotiated = sum(1 for p in peers if p.ws.protocol.extensions)
    t_close = time.perf_counter()
    await close_peers(run, peers)
    close_s = time.perf_counter() - t_close
    results: dict[str, Any] = {
        "idle_connections": count,
        "compression_offered": compression or "none",
        "seekers_created_per_s": round(count / max(create_s, 1e-9), 1),
        "seekers_create_s": round(create_s, 2),
        "authenticated": len(peers),
        "connect_failures": failures,
        "deflate_negotiated": negotiated,
        "connect_s": round(connect_s, 3),
        "connects_per_s": round(len(peers) / max(connect_s, 1e-9), 1),
        "hold_s": round(held_s, 2),
        "still_open": open_after,
        "server_established_tcp": established,
        "disconnects": run.disconnects,
        "close_s": round(close_s, 2),
        # This generator's own CPU, to show it was not the bottleneck (100 = one core).
        "generator_cpu_pct": {
            "create": round(gen_create / max(create_s, 1e-9) * 100, 1),
            "connect": round(gen_connect / max(connect_s, 1e-9) * 100, 1),
            "hold": round(gen_hold / max(held_s, 1e-9) * 100, 1),
        },
    }
    if cpu_create is not None and cpu0 is not None and cpu1 is not None:
        results["other_cpu_pct"] = {
            "create+connect": other_cpu_pct(
                busy_setup, cpu0 - cpu_create, gen_setup, window_s=setup_s
            ),
            "hold": other_cpu_pct(busy_hold, cpu1 - cpu0, gen_hold, window_s=held_s),
        }
        results["other_cpu_top_hold"] = snap0.top_others(snap1, server_pids, held_s)
    limits = probe.fd_limits()
    if limits:
        results["server_fd_limit"] = limits
    if rss_before is not None and rss_after is not None and peers:
        results["server_rss_before_mib"] = round(rss_before / 1024, 1)
        results["server_rss_after_mib"] = round(rss_after / 1024, 1)
        # After the hold: every socket has had its ping (and any lazy buffers) by then.
        results["server_rss_kib_per_conn"] = round((rss_after - rss_before) / len(peers), 1)
        if rss_connected is not None:
            results["server_rss_kib_per_conn_at_connect"] = round(
                (rss_connected - rss_before) / len(peers), 1
            )
    if cpu_create is not None and cpu_before is not None:
        results["server_cpu_us_per_seeker_created"] = round((cpu_before - cpu_create) / count * 1e6)
    if cpu_before is not None and cpu0 is not None and cpu1 is not None:
        if peers:
            results["server_cpu_us_per_connect"] = round((cpu0 - cpu_before) / len(peers) * 1e6)
        results["server_idle_cpu_pct"] = round((cpu1 - cpu0) / max(held_s, 1e-9) * 100, 2)
    return results


# --------------------------------------------------------------------------- command line


def format_table(results: dict[str, Any]) -> str:
    """The results as a two-column plain-text table."""
    rows: list[tuple[str, str]] = []
    for key, value in results.items():
        if key == "config":
            continue
        if isinstance(value, dict) and key.endswith("_ms"):
            value = " ".join(f"{k}={v}" for k, v in value.items())
        rows.append((key, str(value)))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def use_uvloop() -> None:
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def parse_infra_pids(specs: Sequence[str], auto: bool) -> dict[str, int]:
    """``LABEL=PID`` pairs, plus the local PostgreSQL and Redis when ``auto``."""
    pids = find_infra_pids() if auto else {}
    for spec in specs:
        label, sep, pid = spec.partition("=")
        if not sep or not pid.isdigit():
            raise SystemExit(f"--infra-pid wants LABEL=PID, got {spec!r}")
        pids[label] = int(pid)
    return pids


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="server base URL")
    parser.add_argument(
        "--volunteer-url", help="volunteers log in and connect here (default --url)"
    )
    parser.add_argument("--seekers", type=int, default=10, help="conversations (N)")
    parser.add_argument("--messages", type=int, default=10, help="messages per side (M)")
    parser.add_argument("--rate", type=float, default=1.0, help="messages/s per side (R)")
    parser.add_argument("--volunteer-capacity", type=int, default=1, help="chats per volunteer")
    parser.add_argument("--take-rate", type=float, default=0.0, help="takes/s (0: unpaced)")
    parser.add_argument(
        "--server-pid",
        type=int,
        action="append",
        default=[],
        help="sample this server process with psutil (repeat for several; CPU is summed)",
    )
    parser.add_argument(
        "--infra-pid",
        action="append",
        default=[],
        metavar="LABEL=PID",
        help="also sample this process tree apart, e.g. postgres=<postmaster pid> (repeatable)",
    )
    parser.add_argument(
        "--infra-auto",
        action="store_true",
        help="sample the local PostgreSQL postmaster and redis-server (found by name)",
    )
    parser.add_argument("--staff-file", help='JSON [{"username", "password"}] of volunteers')
    parser.add_argument("--admin", help="USER:PASSWORD of an admin, to create volunteers")
    parser.add_argument("--database-url", help="for `peerline create-user` (default env)")
    parser.add_argument(
        "--compression",
        choices=["deflate"],
        default=None,
        help="offer permessage-deflate to the server (default: offer nothing)",
    )
    parser.add_argument(
        "--idle", type=int, default=0, help="instead: hold this many idle authenticated sockets"
    )
    parser.add_argument(
        "--hold",
        type=float,
        default=3.0,
        help="with --idle: seconds to hold them (≥ 20 s covers one server ping interval)",
    )
    parser.add_argument(
        "--connect-concurrency",
        type=int,
        default=CONNECT_CONCURRENCY,
        help="with --idle: sockets opened at once",
    )
    parser.add_argument("--max-seconds", type=float, default=600.0, help="hard cap")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--cpu", type=int, help="pin the generator to this CPU")
    args = parser.parse_args(argv)
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    raise_fd_limit()
    use_uvloop()
    staff_accounts = json.loads(Path(args.staff_file).read_text()) if args.staff_file else []
    if args.idle:
        coro = run_idle(
            args.url,
            args.idle,
            server_pids=args.server_pid,
            hold_s=args.hold,
            compression=args.compression,
            connect_concurrency=args.connect_concurrency,
        )
    else:
        coro = run_load(
            LoadConfig(
                url=args.url,
                volunteer_url=args.volunteer_url,
                seekers=args.seekers,
                messages=args.messages,
                rate=args.rate,
                volunteer_capacity=args.volunteer_capacity,
                take_rate=args.take_rate,
                server_pids=args.server_pid,
                infra_pids=parse_infra_pids(args.infra_pid, args.infra_auto),
                staff_accounts=staff_accounts,
                admin=args.admin,
                database_url=args.database_url,
                compression=args.compression,
                max_seconds=args.max_seconds,
            )
        )
    results = asyncio.run(asyncio.wait_for(coro, args.max_seconds + 60))
    print(format_table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0 if scenario_passed(results) else 1


def scenario_passed(results: dict[str, Any]) -> bool:
    """Nothing lost or duplicated; for an idle run, every socket authenticated and held."""
    if (
        "error" in results
        or results.get("lost")
        or results.get("duplicated")
        or results.get("misrouted")
    ):
        return False
    if "idle_connections" in results:
        return results["authenticated"] == results["idle_connections"] == results["still_open"]
    return True


if __name__ == "__main__":
    raise SystemExit(main())
