"""Test servers forked from a process that has imported the app once (a fork server).

A ``peerline serve`` spends about 2 s of CPU before it answers, nearly all of it importing
FastAPI, SQLAlchemy, pydantic and the app's ~170 modules and loading the clinical data; the
suite starts about 170 servers. So each pytest process keeps one fork server (the standard
library's ``multiprocessing`` "forkserver") that has imported all that once
(tests/forkserver_preload.py), and ``Server.start`` forks each plain ``peerline serve`` from
it: the child takes the server's environment, working directory and log file, then runs
``app.cli.main(["serve", ...])``, the function the ``peerline`` command runs. Its pid is the
server's own (signals, ``/proc``, a job lease's holder are the server's), and its exit code
is reported as ``subprocess.Popen`` reports one (negative for a signal).

Servers are started as new processes instead when their environment differs from the fork
server's in a variable read at import (``READ_AT_IMPORT``), or when ``TEST_FORK_SERVERS=0``.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import signal
import subprocess
import sys
from multiprocessing.process import BaseProcess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Read by Python, the locale or prometheus-client (its multiprocess directory) as they are
# imported, so a forked server would keep the fork server's value.
READ_AT_IMPORT = ("PYTHON", "LC_", "LANG", "TZ", "PROMETHEUS_MULTIPROC_DIR")

_imported_with: dict[str, str] | None = None  # the fork server's READ_AT_IMPORT variables


def _read_at_import(env: os._Environ[str] | dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith(READ_AT_IMPORT)}


def can_fork(env: dict[str, str]) -> bool:
    """Whether a server with this environment may be forked from the fork server."""
    if os.environ.get("TEST_FORK_SERVERS", "1") == "0":
        return False
    expected = _imported_with if _imported_with is not None else _read_at_import(os.environ)
    return _read_at_import(env) == expected


def _context() -> multiprocessing.context.ForkServerContext:
    global _imported_with
    context = multiprocessing.get_context("forkserver")
    if _imported_with is None:
        context.set_forkserver_preload(["tests.forkserver_preload"])
        # The fork server finds tests.forkserver_preload on its working directory
        # (python -c puts it first on sys.path): start it from the repository's root.
        here = os.getcwd()
        os.chdir(ROOT)
        try:
            multiprocessing.forkserver.ensure_running()
        finally:
            os.chdir(here)
        _imported_with = _read_at_import(os.environ)
    return context  # type: ignore[return-value]


def _serve(args: list[str], env: dict[str, str], cwd: str, log_path: str) -> None:
    """In the forked child: become ``peerline <args>`` with this environment and log."""
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    sys.argv = ["peerline", *args]
    from app.cli import main

    main(args)


class ForkedProcess:
    """The part of ``subprocess.Popen``'s interface the tests use, for a forked server."""

    def __init__(self, process: BaseProcess, args: list[str]) -> None:
        self._process = process
        self.args = args

    @property
    def pid(self) -> int:
        assert self._process.pid is not None
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        code = self._process.exitcode
        if code is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return code

    def send_signal(self, sig: int) -> None:
        if self._process.exitcode is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def start(args: list[str], *, env: dict[str, str], cwd: Path, log_path: Path) -> ForkedProcess:
    """Fork ``peerline <args>`` from this process's fork server (started on first use)."""
    process = _context().Process(
        target=_serve,
        args=(args, env, str(cwd), str(log_path)),
        name="peerline " + " ".join(args),
        daemon=True,  # a server a test left running is stopped when its pytest process ends
    )
    process.start()
    return ForkedProcess(process, ["peerline", *args])
