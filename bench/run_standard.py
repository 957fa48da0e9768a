"""Standard benchmark scenarios against a server this script starts itself.

    python bench/run_standard.py            # the standard set (~10 minutes)
    python bench/run_standard.py --quick    # a one-minute smoke run

Each scenario gets a fresh server: embedded SQLite in a temporary directory, ``peerline
migrate`` then ``peerline serve --port <free port>``, pinned to CPU 0 with ``taskset`` when it
exists; the load generator (this process) pins itself to CPU 1. Volunteers are created over the
admin API, by an admin that ``peerline create-user`` makes. Results: a markdown table on
stdout and JSON under ``bench/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
SERVER_START_TIMEOUT_S = 30.0


@dataclass
class Scenario:
    name: str
    description: str
    seekers: int = 0
    messages: int = 0
    rate: float = 1.0
    volunteer_capacity: int = 1
    take_rate: float = 0.0
    idle: int = 0  # > 0: an idle-connections memory scenario instead of a chat one
    env: dict[str, str] = field(default_factory=dict)  # extra server settings
    max_seconds: float = 180.0  # hard cap on the load run, drain included


STANDARD = [
    Scenario("chat-100x20", "100 conversations x 20 msgs/side at 1 msg/s", 100, 20, 1.0, 2),
    Scenario(
        "chat-1000x30s",
        "1000 conversations at 1 msg/s/side for 30 s",
        1000,
        30,
        1.0,
        5,
        max_seconds=240,
    ),
    Scenario("pairing-100/s", "300 takes paced at 100 takes/s", 300, 0, 1.0, 3, take_rate=100),
    Scenario("idle-2000", "2000 idle authenticated sockets", idle=2000),
]
QUICK = [
    Scenario("chat-20x10", "20 conversations x 10 msgs/side at 2 msg/s", 20, 10, 2.0, 2),
    Scenario("pairing-50/s", "50 takes paced at 50 takes/s", 50, 0, 1.0, 2, take_rate=50),
    Scenario("idle-200", "200 idle authenticated sockets", idle=200),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def peerline_command() -> list[str]:
    """``peerline`` from the venv if installed, else ``python -m app.cli``."""
    script = Path(sys.executable).parent / "peerline"
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


@contextlib.contextmanager
def server(env_extra: dict[str, str], *, cpu: int | None) -> Iterator[tuple[str, int, dict]]:
    """A migrated, listening server on a fresh SQLite file; yields (base_url, pid, env)."""
    workdir = Path(tempfile.mkdtemp(prefix="peerline-bench-"))
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/bench.db",
        "PEERLINE_ENV": "development",
        "SECRET_KEY": secrets.token_urlsafe(32),
        **env_extra,
    }
    env.pop("REDIS_URL", None)
    log = (workdir / "server.log").open("w")
    proc = None
    try:
        subprocess.run(
            [*peerline_command(), "migrate"],
            cwd=REPO,
            env=env,
            check=True,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=120,
        )
        port = free_port()
        pin = ["taskset", "-c", str(cpu)] if cpu is not None and shutil.which("taskset") else []
        proc = subprocess.Popen(
            [*pin, *peerline_command(), "serve", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base_url = f"http://127.0.0.1:{port}"
        wait_ready(base_url, proc, workdir / "server.log")
        yield base_url, server_pid(proc), env
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()
        if os.environ.get("BENCH_KEEP_TMP"):
            print(f"(server files kept in {workdir})", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def server_pid(proc: subprocess.Popen[bytes]) -> int:
    """The server's own pid: taskset execs, so it is the Popen's pid either way."""
    return proc.pid


def wait_ready(base_url: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"server exited ({proc.returncode}):\n{log_path.read_text()[-3000:]}"
            )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(base_url + "/readyz", timeout=1.0).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(
        f"server not ready in {SERVER_START_TIMEOUT_S}s:\n{log_path.read_text()[-3000:]}"
    )


def create_admin(env: dict[str, str]) -> tuple[str, str]:
    username, password = f"bench-admin-{secrets.token_hex(3)}", secrets.token_urlsafe(16)
    subprocess.run(
        [*peerline_command(), "create-user", "--role", "admin", "--username", username],
        input=password + "\n",
        text=True,
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return username, password


def run_scenario(scenario: Scenario, *, server_cpu: int | None) -> dict[str, Any]:
    with server(scenario.env, cpu=server_cpu) as (base_url, pid, env):
        if scenario.idle:
            coro = load.run_idle(base_url, scenario.idle, server_pids=[pid])
        else:
            admin = ":".join(create_admin(env))
            coro = load.run_load(
                load.LoadConfig(
                    url=base_url,
                    seekers=scenario.seekers,
                    messages=scenario.messages,
                    rate=scenario.rate,
                    volunteer_capacity=scenario.volunteer_capacity,
                    take_rate=scenario.take_rate,
                    server_pids=[pid],
                    admin=admin,
                    max_seconds=scenario.max_seconds,
                )
            )
        results = asyncio.run(coro)
    return {"scenario": scenario.name, "description": scenario.description, **results}


def fmt(value: Any) -> str:
    return "-" if value is None else str(value)


def markdown(rows: list[dict[str, Any]]) -> str:
    header = (
        "| scenario | conns | convs | sent | delivered | lost | dup | out-of-order "
        "| latency p50 / p95 / p99 / max (ms) | delivered/s | pairing p50 / p95 (ms) "
        "| server CPU µs/msg | server RSS KiB/conn |"
    )
    lines = [header, "|" + "---|" * 13]
    for r in rows:
        lat, pair = r.get("latency_ms", {}), r.get("pairing_ms", {})
        lines.append(
            "| "
            + " | ".join(
                [
                    r["scenario"],
                    fmt(r.get("connections", r.get("idle_connections"))),
                    fmt(r.get("conversations")),
                    fmt(r.get("sent")),
                    fmt(r.get("delivered")),
                    fmt(r.get("lost")),
                    fmt(r.get("duplicated")),
                    fmt(r.get("out_of_order")),
                    " / ".join(fmt(lat.get(k)) for k in ("p50", "p95", "p99", "max"))
                    if lat
                    else "-",
                    fmt(r.get("delivered_per_s")),
                    " / ".join(fmt(pair.get(k)) for k in ("p50", "p95")) if pair.get("n") else "-",
                    fmt(r.get("server_cpu_us_per_msg")),
                    fmt(r.get("server_rss_kib_per_conn")),
                ]
            )
            + " |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one-minute smoke version")
    parser.add_argument("--only", action="append", help="run only this scenario (repeatable)")
    args = parser.parse_args()
    scenarios = QUICK if args.quick else STANDARD
    if args.only:
        scenarios = [s for s in [*STANDARD, *QUICK] if s.name in args.only]
    server_cpu = None
    if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2:
        cpus = sorted(os.sched_getaffinity(0))
        server_cpu = cpus[0]
        os.sched_setaffinity(0, {cpus[1]})  # the generator, and the CLI processes it starts
    load.use_uvloop()
    rows = []
    for scenario in scenarios:
        print(f"== {scenario.name}: {scenario.description}", file=sys.stderr, flush=True)
        try:
            rows.append(run_scenario(scenario, server_cpu=server_cpu))
        except Exception as exc:  # one broken scenario must not hide the others' numbers
            print(f"   failed: {exc!r}", file=sys.stderr)
            rows.append(
                {"scenario": scenario.name, "description": scenario.description, "error": repr(exc)}
            )
        print(load.format_table(rows[-1]), file=sys.stderr, flush=True)
    print(markdown(rows))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = (
        RESULTS / f"standard-{'quick-' if args.quick else ''}{time.strftime('%Y%m%d-%H%M%S')}.json"
    )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    out.write_text(
        json.dumps(
            {
                "machine": {
                    "cpu": platform.processor() or platform.machine(),
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "commit": commit,
                    "server_cpu": server_cpu,
                },
                "scenarios": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nresults: {out.relative_to(REPO)}", file=sys.stderr)
    failed = any("error" in r or r.get("lost") or r.get("duplicated") for r in rows)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
