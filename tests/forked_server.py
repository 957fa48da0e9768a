"""``peerline`` processes for the tests, forked from one that has imported the app (a fork server).

A ``peerline serve`` spends about 2 s of CPU before it answers, nearly all of it importing
FastAPI, SQLAlchemy, pydantic and the app's ~170 modules and loading the clinical data, and a
``peerline create-user`` about 1.5 s; the suite starts some 300 of them. So each pytest process
keeps one fork server (the standard library's ``multiprocessing`` "forkserver") that has
imported all that once (tests/forkserver_preload.py), and ``tests.support.launch`` and
``run_cli`` fork each ``peerline`` from it: the child takes the environment, working directory,
input and output files it is given, then runs ``app.cli.main(args)``, the function the
``peerline`` command runs. Its pid is the server's own (signals, ``/proc``, a job lease's
holder are the server's), and its exit code is reported as ``subprocess.Popen`` reports one
(negative for a signal).

A new process is started instead (``can_fork``) for a command other than this interpreter's
``peerline`` (uvicorn, a wheel's script, a script with a fault in it), for several workers,
when the environment differs from the fork server's in a variable read at import
(``READ_AT_IMPORT``), or when ``TEST_FORK_SERVERS=0``.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import signal
import subprocess
import sys
import tempfile
from multiprocessing.process import BaseProcess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEERLINE = str(Path(sys.executable).parent / "peerline")  # this interpreter's script
# Read by Python, the locale or prometheus-client (its multiprocess directory) as they are
# imported, so a forked server would keep the fork server's value.
READ_AT_IMPORT = ("PYTHON", "LC_", "LANG", "TZ", "PROMETHEUS_MULTIPROC_DIR")

_imported_with: dict[str, str] | None = None  # the fork server's READ_AT_IMPORT variables


def _read_at_import(env: os._Environ[str] | dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith(READ_AT_IMPORT)}


def can_fork(command: list[str], env: dict[str, str]) -> bool:
    """Whether ``command`` with this environment may be forked from the fork server: it is
    this interpreter's ``peerline`` in one process (uvicorn's workers are ``multiprocessing``
    children, which a forked, daemonic process may not have), and its environment agrees
    with the fork server's in every variable read at import."""
    if os.environ.get("TEST_FORK_SERVERS", "1") == "0":
        return False
    if command[:1] != [PEERLINE] or "--workers" in command:
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


def _redirect(fd: int, path: str, flags: int) -> None:
    opened = os.open(path, flags, 0o644)
    os.dup2(opened, fd)
    os.close(opened)


def _peerline(
    args: list[str], env: dict[str, str], cwd: str, out: str, err: str, stdin: str
) -> None:
    """In the forked child: become ``peerline <args>`` with this environment, directory and
    files for its output, error output and input."""
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    appending = os.O_WRONLY | os.O_APPEND | os.O_CREAT
    _redirect(1, out, appending)
    _redirect(2, err, appending)
    _redirect(0, stdin, os.O_RDONLY)
    sys.stdin = open(0, closefd=False)  # multiprocessing had put /dev/null there
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


def start(
    args: list[str],
    *,
    env: dict[str, str],
    cwd: Path,
    out: Path,
    err: Path | None = None,
    stdin: Path | None = None,
) -> ForkedProcess:
    """Fork ``peerline <args>`` from this process's fork server (started on first use), its
    output appended to ``out`` (and its error output to ``err``, or ``out`` too)."""
    process = _context().Process(
        target=_peerline,
        args=(args, env, str(cwd), str(out), str(err or out), str(stdin or os.devnull)),
        name="peerline " + " ".join(args),
        daemon=True,  # a server a test left running is stopped when its pytest process ends
    )
    process.start()
    return ForkedProcess(process, ["peerline", *args])


def run(
    args: list[str], *, env: dict[str, str], cwd: Path, stdin: str | None, timeout: float
) -> subprocess.CompletedProcess[str]:
    """``peerline <args>`` to its end, forked, as ``subprocess.run(..., capture_output=True,
    text=True)`` would run and report it."""
    with tempfile.TemporaryDirectory(prefix="peerline-cli-") as directory:
        files = {name: Path(directory) / name for name in ("out", "err", "in")}
        files["in"].write_text(stdin or "")
        process = start(
            args, env=env, cwd=cwd, out=files["out"], err=files["err"], stdin=files["in"]
        )
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
        return subprocess.CompletedProcess(
            process.args, code, files["out"].read_text(), files["err"].read_text()
        )
