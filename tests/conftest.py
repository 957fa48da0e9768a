"""Shared fixtures: real databases, real Redis, real servers.

PostgreSQL and Redis tests skip on a laptop without them, and fail when ``CI`` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import secrets
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# In-process imports of app modules read settings (and cache them: some tests' modules
# import app.main, which builds the app, while pytest collects): keep them off any real
# deployment from the start.
os.environ.setdefault("SECRET_KEY", "test-secret-" + "x" * 32)
os.environ.setdefault("PEERLINE_ENV", "test")
# New password hashes (staff the factories make here, accounts the servers and the CLI make)
# with argon2id's least work: the standard 64 MiB hash costs a core 0.1-0.2 s, twice per
# account (the hash, then the login's check), hundreds of accounts a run. Checks follow each
# hash's own parameters; a server's hash for unknown usernames keeps the standard cost.
os.environ.setdefault("PASSWORD_HASH_COST", "test")

from app.bus import MemoryBus
from app.cli import migrate
from app.db import Database, create_engine
from tests.support import ROOT, TEST_SHARE_KEY, Server, env_for, login, run_cli

os.environ.setdefault("EMERGENCY_SHARE_KEY", TEST_SHARE_KEY)  # in-process app imports

IN_CI = bool(os.environ.get("CI"))
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def need(condition: bool, what: str) -> None:
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{what} is required when CI is set")
    pytest.skip(f"{what} is not available")


def _pg_available() -> bool:
    async def probe() -> bool:
        import asyncpg

        try:
            conn = await asyncpg.connect(PG_ADMIN_URL, timeout=3)
        except Exception:
            return False
        await conn.close()
        return True

    return asyncio.run(probe())


def _redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_available() -> bool:
    return _pg_available()


@pytest.fixture(scope="session")
def redis_url() -> str:
    need(_redis_available(), "Redis at " + REDIS_URL)
    return REDIS_URL


def create_pg_database(template: str | None = None) -> str:
    """A new database; a copy of the database ``template`` (a URL) when given, which no one
    may be connected to (PostgreSQL's ``CREATE DATABASE ... TEMPLATE``)."""
    name = "peerline_test_" + uuid.uuid4().hex[:12]
    copy_of = f' TEMPLATE "{template.rsplit("/", 1)[1]}"' if template else ""

    async def create() -> None:
        import asyncpg

        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"{copy_of}')
        finally:
            await conn.close()

    asyncio.run(create())
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]

    async def drop() -> None:
        import asyncpg

        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


# Short deadlines instead of sleeping: high/imminent pages lapse after ~1 s, moderate ~9 s.
FAST = {
    "RATE_LIMIT_PER_S": "200",
    "RATE_LIMIT_BURST": "400",
    "ESCALATION_TIME_SCALE": "0.01",
    "SWEEP_INTERVAL_S": "0.2",
    "JOBS_LEASE_S": "2",
    "FLAGGED_WAIT_PAGE_S": "1",
    "FLAGGED_UPDATE_S": "0.2",
}


@dataclass
class Backend:
    name: str
    database_url: str


def make_backend(name: str, tmp_path_factory: pytest.TempPathFactory, pg_ok: bool) -> Backend:
    if name == "sqlite":
        path = tmp_path_factory.mktemp("db") / "peerline.db"
        return Backend("sqlite", f"sqlite+aiosqlite:///{path}")
    need(pg_ok, "PostgreSQL at " + PG_ADMIN_URL)
    return Backend("postgres", create_pg_database())


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    pg_available: bool,
    migrated_templates: dict[str, Backend],
) -> Iterator[Backend]:
    """A migrated, empty database of each kind, shared by the tests of a session (a copy of
    the session's migrated template, ``migrated_copy``)."""
    b = migrated_copy(request.param, migrated_templates, tmp_path_factory, pg_available)
    yield b
    if b.name == "postgres":
        drop_pg_database(b.database_url)


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def service_backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_available: bool
) -> Iterator[Backend]:
    """A migrated database of each kind for service-layer tests only (no server writes to
    it, so a sweep or a query over all rows sees only what those tests made)."""
    b = make_backend(request.param, tmp_path_factory, pg_available)
    migrate(b.database_url)  # in this process: a service test starts none
    yield b
    if b.name == "postgres":
        drop_pg_database(b.database_url)


@pytest.fixture
async def database(service_backend: Backend) -> AsyncIterator[Database]:
    """The service layer's world: a real database and an in-memory bus, no server."""
    engine = create_engine(service_backend.database_url)
    try:
        yield Database(engine, MemoryBus())
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def server(backend: Backend) -> Iterator[Server]:
    """One real server per database kind, with short deadlines for tests."""
    srv = Server(env_for(backend.database_url, **FAST))
    srv.start()
    yield srv
    srv.stop()


@dataclass
class Staff:
    username: str
    password: str
    token: str
    user_id: str
    alias: str


class StaffFactory:
    """Creates staff accounts through our own service code, then logs in over HTTP."""

    def __init__(self, database_url: str, base_url: str) -> None:
        self.database_url = database_url
        self.base_url = base_url

    async def create(
        self,
        role: str = "volunteer",
        *,
        languages: list[str] | None = None,
        trained: bool = True,
        max_chats: int = 2,
        topics: list[str] | None = None,
        backup_rank: int = 100,
    ) -> Staff:
        from app.bus import MemoryBus
        from app.db import Database, create_engine, utcnow
        from app.identity import service as identity_service
        from app.identity.models import Role

        username = f"{role}_{uuid.uuid4().hex[:10]}"
        password = secrets.token_urlsafe(12)
        engine = create_engine(self.database_url)
        try:
            async with Database(engine, MemoryBus()).unit_of_work() as uow:
                await identity_service.create_staff(
                    uow.session,
                    username=username,
                    password=password,
                    role=Role(role),
                    languages=languages or ["en"],
                    topics=topics or [],
                    max_concurrent_chats=max_chats,
                    trained=trained,
                    backup_rank=backup_rank,
                    now=utcnow(),
                )
        finally:
            await engine.dispose()
        body = await login(self.base_url, username, password)
        return Staff(username, password, body["access_token"], body["user_id"], body["alias"])


@pytest.fixture
def staff(server: Server, backend: Backend) -> StaffFactory:
    return StaffFactory(backend.database_url, server.base_url)


@dataclass
class Fresh:
    server: Server
    staff: StaffFactory
    database_url: str


@pytest.fixture(scope="session")
def migrated_templates(
    tmp_path_factory: pytest.TempPathFactory, pg_available: bool
) -> Iterator[dict[str, Backend]]:
    """Empty databases migrated once per session by ``peerline migrate`` (made on first
    use, per kind), which ``migrated_copy`` copies: migrating anew for every test cost a
    process start and the whole chain of migrations each time."""
    templates: dict[str, Backend] = {}
    yield templates
    for b in templates.values():
        if b.name == "postgres":
            drop_pg_database(b.database_url)


def migrated_copy(
    kind: str,
    templates: dict[str, Backend],
    tmp_path_factory: pytest.TempPathFactory,
    pg_ok: bool,
) -> Backend:
    """A new database of ``kind`` at the newest schema and empty: a copy of the session's
    migrated template (a file copy for SQLite, ``CREATE DATABASE ... TEMPLATE`` for
    PostgreSQL). Drop a PostgreSQL one with ``drop_pg_database`` after use."""
    if kind not in templates:
        template = make_backend(kind, tmp_path_factory, pg_ok)
        run_cli(["migrate"], env_for(template.database_url))
        templates[kind] = template
    template = templates[kind]
    if kind == "postgres":
        return Backend("postgres", create_pg_database(template=template.database_url))
    source = Path(template.database_url.split(":///", 1)[1])
    target = tmp_path_factory.mktemp("db") / "peerline.db"
    for item in source.parent.iterdir():  # the database and its -wal/-shm files, if any
        if item.name.startswith(source.name):
            shutil.copy(item, target.parent / item.name.replace(source.name, target.name, 1))
    return Backend("sqlite", f"sqlite+aiosqlite:///{target}")


@pytest.fixture(scope="session")
def migrated(
    migrated_templates: dict[str, Backend],
    tmp_path_factory: pytest.TempPathFactory,
    pg_available: bool,
) -> Callable[[str], Backend]:
    """``migrated(kind)``: a new, empty database of ``kind`` ("sqlite" or "postgres") at the
    newest schema, a copy of the session's template (``migrated_copy``), for a test that
    starts servers of its own; drop a PostgreSQL one with ``drop_pg_database`` after use.
    Tests of ``peerline migrate`` itself run it (tests/test_cli.py, tests/test_migrations.py,
    tests/test_backup.py, and the template is made by it)."""
    return lambda kind: migrated_copy(kind, migrated_templates, tmp_path_factory, pg_available)


@pytest.fixture
def fresh(
    backend: Backend,
    tmp_path_factory: pytest.TempPathFactory,
    pg_available: bool,
    migrated_templates: dict[str, Backend],
) -> Iterator[Fresh]:
    """A server on its own empty database, for tests that need a quiet world (who is on
    call, what is open)."""
    b = migrated_copy(backend.name, migrated_templates, tmp_path_factory, pg_available)
    env = env_for(b.database_url, **FAST)
    srv = Server(env).start()
    yield Fresh(srv, StaffFactory(b.database_url, srv.base_url), b.database_url)
    srv.stop()
    if b.name == "postgres":
        drop_pg_database(b.database_url)


@pytest.fixture(autouse=True, scope="session")
def _test_env() -> Iterator[None]:
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    yield


# -- layers -----------------------------------------------------------------------------
# Every test is marked by what it needs, from the fixtures it uses, so tests written later
# are marked too: ``service`` (a real database, no server), ``system`` (a running server,
# several processes, Redis, a browser), else ``unit`` (pure, milliseconds). While working:
# ``bash scripts/test -m "unit or service"``.
SYSTEM_FIXTURES = {"server", "fresh", "backend", "staff", "redis_url"}
SERVICE_FIXTURES = {"database", "service_backend"}
# Whole modules of processes, threads against the clock, or benchmarks.
SYSTEM_PATHS = (
    "tests/web/",
    "tests/faults/",
    "tests/test_bench.py",
    "tests/test_migrations.py",
    "tests/test_multiprocess.py",
    "tests/test_wal.py",
)
# A test (or a fixture of the tests) that starts a server or another process itself.
STARTS_PROCESSES = ("Server(", "run_cli(", "subprocess", "RedisProcess(", "TcpProxy(")


def _starts_processes(item: pytest.Item) -> bool:
    module = getattr(item, "module", None)
    functions = [getattr(module, getattr(item, "originalname", ""), None)]
    fixture_info = getattr(item, "_fixtureinfo", None)
    if fixture_info is not None:
        functions += [defs[-1].func for defs in fixture_info.name2fixturedefs.values() if defs]
    tests_dir = str(ROOT / "tests")
    for function in functions:
        if function is None:
            continue
        with contextlib.suppress(OSError, TypeError):
            if not (inspect.getsourcefile(function) or "").startswith(tests_dir):
                continue
            if any(call in inspect.getsource(function) for call in STARTS_PROCESSES):
                return True
    return False


def layer_of(item: pytest.Item) -> str:
    fixtures = set(getattr(item, "fixturenames", ()))
    path = item.path.relative_to(ROOT).as_posix()
    if fixtures & SYSTEM_FIXTURES or path.startswith(SYSTEM_PATHS):
        return "system"
    if any(item.iter_markers("slow")) or any(item.iter_markers("browser")):
        return "system"
    params = getattr(getattr(item, "callspec", None), "params", {})
    if "redis" in params.values():  # a backend contract test run against Redis
        return "system"
    if _starts_processes(item):
        return "system"
    if fixtures & SERVICE_FIXTURES:
        return "service"
    return "unit"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--serial",
        choices=("include", "skip", "only"),
        default="include",
        help="tests marked serial (load tests: they must have the machine to themselves): "
        "run them with the rest (include, the default), leave them out (skip: scripts/test's "
        "parallel pass) or run only them (only: its second pass, in one process)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(layer_of(item))
    wanted = config.getoption("serial")
    if wanted == "include":
        return
    keep = [
        item for item in items if (item.get_closest_marker("serial") is None) == (wanted == "skip")
    ]
    if len(keep) < len(items):
        kept = set(keep)
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = keep
