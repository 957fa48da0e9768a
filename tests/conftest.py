"""Shared fixtures: real databases, real Redis, real servers.

PostgreSQL and Redis tests skip on a laptop without them, and fail when ``CI`` is set.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.support import ROOT, Server, env_for, login, run_cli

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


def create_pg_database() -> str:
    name = "peerline_test_" + uuid.uuid4().hex[:12]

    async def create() -> None:
        import asyncpg

        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
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
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_available: bool
) -> Iterator[Backend]:
    """A migrated, empty database of each kind, shared by the tests of a session."""
    b = make_backend(request.param, tmp_path_factory, pg_available)
    run_cli(["migrate"], env_for(b.database_url))
    yield b
    if b.name == "postgres":
        drop_pg_database(b.database_url)


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


@pytest.fixture
def fresh(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory, pg_available: bool
) -> Iterator[Fresh]:
    """A server on its own empty database, for tests that need a quiet world (who is on
    call, what is open)."""
    b = make_backend(backend.name, tmp_path_factory, pg_available)
    env = env_for(b.database_url, **FAST)
    run_cli(["migrate"], env)
    srv = Server(env).start()
    yield Fresh(srv, StaffFactory(b.database_url, srv.base_url), b.database_url)
    srv.stop()
    if b.name == "postgres":
        drop_pg_database(b.database_url)


@pytest.fixture(autouse=True, scope="session")
def _test_env() -> Iterator[None]:
    # In-process imports of app modules read settings; keep them off any real deployment.
    os.environ.setdefault("SECRET_KEY", "test-secret-" + "x" * 32)
    os.environ.setdefault("PEERLINE_ENV", "test")
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    yield
