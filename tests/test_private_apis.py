"""Every use of a library's private API is pinned and fails loudly when the library changes.

Three remain (#21 §3): uvicorn's sans-I/O WebSocket protocol (``app.socket_protocol``),
aiosqlite's connection internals (``app.db.InlineConnection``) and CPython's private regex
parser (``app.risk.cues.prefilter``). Each module checks its library at import and raises a
``RuntimeError`` naming the private parts (no fallback); these tests run those checks, show
that they do fail on a changed library, and hold pyproject.toml's pins to the tested
versions. The Redis bus has none left: it speaks redis-py's public asyncio API.
"""

from __future__ import annotations

import re
import sqlite3
import sys
import threading
import tomllib
from pathlib import Path

import aiosqlite
import pytest
import uvicorn
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from app import db, socket_protocol
from app.risk.cues import prefilter

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def with_comment(text: str, needle: str) -> str:
    """The line of pyproject.toml holding ``needle``, with the comment lines just above."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if needle in line)
    start = at
    while start > 0 and lines[start - 1].strip().startswith("#"):
        start -= 1
    return "\n".join(lines[start : at + 1])


def requirement(name: str) -> tuple[Requirement, str]:
    """The dependency ``name`` in pyproject.toml, and its line (with its comment)."""
    text = PYPROJECT.read_text()
    for raw in tomllib.loads(text)["project"]["dependencies"]:
        req = Requirement(raw)
        if req.name == name:
            return req, with_comment(text, f'"{raw}"')
    raise AssertionError(f"{name} is not a dependency")


# -- uvicorn ---------------------------------------------------------------------------------


def test_uvicorn_is_the_tested_series_and_pinned_to_it():
    assert uvicorn.__version__.startswith(socket_protocol.UVICORN_TESTED)
    req, line = requirement("uvicorn")
    assert not req.specifier.contains("0.56.0") and req.specifier.contains(uvicorn.__version__)
    assert "#" in line and "socket_protocol" in line  # the comment says why


def test_the_uvicorn_parts_the_socket_protocol_relies_on_are_there():
    socket_protocol.check_uvicorn_protocol()  # also run at import


def test_a_changed_uvicorn_stops_start_up_with_the_parts_named():
    class Changed:  # a release that renamed a method and stopped setting an attribute
        def __init__(self) -> None:
            self.transport = self.loop = self.conn = self.queue = None

        def handle_connect(self, event: object) -> None:
            self.scope = {}

        def connection_made(self) -> None: ...
        def send(self) -> None: ...
        def receive(self) -> None: ...
        def handle_parser_exception(self) -> None: ...

    with pytest.raises(RuntimeError) as raised:
        socket_protocol.check_uvicorn_protocol(Changed, version="0.55.0")
    said = str(raised.value)
    assert "send_receive_event_to_app is gone" in said
    assert "__init__ no longer sets read_paused" in said
    assert "uvicorn 0.55.x" in said
    with pytest.raises(RuntimeError, match=r"uvicorn 0\.56\.0 is installed"):
        socket_protocol.check_uvicorn_protocol(version="0.56.0")


# -- aiosqlite -------------------------------------------------------------------------------


def test_aiosqlite_is_the_tested_series_and_pinned_to_it():
    assert aiosqlite.__version__.startswith(db.AIOSQLITE_TESTED)
    req, line = requirement("aiosqlite")
    assert not req.specifier.contains("0.23.0") and req.specifier.contains(aiosqlite.__version__)
    assert "#" in line and "_tx" in line


def test_the_aiosqlite_internals_the_inline_connection_relies_on_are_there():
    db.check_aiosqlite()  # also run at import


def test_a_changed_aiosqlite_stops_start_up_with_the_parts_named():
    class Changed:  # a release whose queue to its thread was renamed
        def __init__(self, connector: object, iter_chunk_size: int) -> None:
            self._queue = None
            self._thread = self._connection = self._connector = self._running = None

        async def _connect(self) -> None: ...
        async def _execute(self) -> None: ...
        def stop(self) -> None: ...
        def __await__(self): ...  # type: ignore[no-untyped-def]

        _conn = None

    with pytest.raises(RuntimeError) as raised:
        db.check_aiosqlite(Changed, version="0.22.1")
    assert "__init__ no longer sets _tx" in str(raised.value)
    with pytest.raises(RuntimeError, match=r"aiosqlite 0\.23\.0 is installed"):
        db.check_aiosqlite(version="0.23.0")


async def test_the_inline_connection_runs_sqlite_on_the_loops_own_thread(tmp_path: Path):
    threads: list[int] = []

    def connector() -> sqlite3.Connection:
        threads.append(threading.get_ident())
        connection = db.connect_sqlite(str(tmp_path / "inline.db"), timeout=1)
        connection.create_function("where_am_i", 0, lambda: threads.append(threading.get_ident()))
        return connection

    connection = await db.InlineConnection(connector)
    try:
        cursor = await connection.execute("SELECT where_am_i(), 41 + 1")
        assert (await cursor.fetchone())[1] == 42
        assert threads == [threading.get_ident()] * 2  # no thread hop, connect nor query
        assert not connection._thread.is_alive()  # aiosqlite's thread was never started
    finally:
        await connection.close()


# -- CPython's regex parser ------------------------------------------------------------------


def test_this_python_is_a_tested_one_and_requires_python_stops_before_the_next():
    assert prefilter.parser_is_tested(), sys.version
    spec = SpecifierSet(tomllib.loads(PYPROJECT.read_text())["project"]["requires-python"])
    tested = [f"{major}.{minor}" for major, minor in prefilter.TESTED_PYTHONS]
    assert all(spec.contains(f"{v}.0") for v in tested)
    major, minor = prefilter.TESTED_PYTHONS[-1]
    assert not spec.contains(f"{major}.{minor + 1}.0")
    assert "re._parser" in with_comment(PYPROJECT.read_text(), "requires-python")


def test_the_regex_parser_gives_the_clauses_it_gave():
    prefilter.check_parser()  # also run at import


def test_a_changed_regex_parser_stops_start_up_with_the_parts_named(monkeypatch):
    # As if a release renamed BRANCH: alternatives are no longer understood.
    monkeypatch.setattr(prefilter._sre, "BRANCH", object())
    with pytest.raises(RuntimeError) as raised:
        prefilter.check_parser()
    assert "re._parser.parse" in str(raised.value)
    assert "(paracetamol|crocin|dolo)s?" in str(raised.value)


def test_a_parser_error_is_not_swallowed(monkeypatch):
    def broken(pattern: str, flags: int = 0) -> object:
        raise AttributeError("'SubPattern' object has no attribute 'state'")

    monkeypatch.setattr(prefilter._sre_parse, "parse", broken)
    with pytest.raises(AttributeError):
        prefilter.clauses(re.compile("kill"))


# -- redis -----------------------------------------------------------------------------------


def test_redis_py_is_pinned_to_a_major_version_with_hiredis():
    req, line = requirement("redis")
    assert "hiredis" in req.extras
    assert not req.specifier.contains("9.0.0") and "#" in line


def test_no_private_import_from_a_library_remains_in_app():
    """Private modules or names imported from a library: only the three pinned above."""
    allowed = {
        "app/risk/cues/prefilter.py": {"re._constants", "re._parser"},
    }
    found: dict[str, set[str]] = {}
    root = PYPROJECT.parent
    pattern = re.compile(
        r"^[ \t]*(?:from|import)[ \t]+([\w.]+)(?:[ \t]+import[ \t]+([\w, ()]+))?", re.M
    )
    for path in sorted((root / "app").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for module, names in pattern.findall(path.read_text()):
            if module.startswith(("app", ".")):
                continue
            private = {module} if any(p.startswith("_") for p in module.split(".")[1:]) else set()
            private |= {
                f"{module}.{n.strip()}"
                for n in names.replace("(", "").replace(")", "").split(",")
                if n.strip().startswith("_") and not n.strip().startswith("__")
            }
            if private:
                found.setdefault(str(path.relative_to(root)), set()).update(private)
    assert found == allowed
