"""Logins against a real database (SQLite and PostgreSQL), no server: the growing delay per
username, the same for usernames that exist and those that do not, kept in the database so
every process sees it (issue #16 §2)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from app.bus import MemoryBus
from app.config import Settings
from app.db import Database, create_engine, utcnow
from app.errors import AppError, TooManyRequests
from app.identity import service as identity_service
from app.identity.login_delay import FORGET_AFTER_S
from app.identity.models import LoginFailureRun, StaffUser
from tests import factories
from tests.conftest import Backend

PASSWORD = "the-right-password"
SETTINGS = Settings(login_delay_base_s=1.0, login_delay_max_s=60.0)


async def _supervisor(database: Database) -> StaffUser:
    password_hash = await identity_service.hash_password(PASSWORD)
    async with database.unit_of_work() as uow:
        return await factories.staff(uow.session, "supervisor", password_hash=password_hash)


async def attempt(database: Database, username: str, password: str, now: datetime) -> str:
    """What the login answers: ``ok``, or the error code with its Retry-After."""
    try:
        await identity_service.login(
            database, settings=SETTINGS, username=username, password=password, now=now
        )
    except TooManyRequests as exc:
        return f"{exc.code} {exc.retry_after_s}"
    except AppError as exc:
        return exc.code
    return "ok"


def at(t0: datetime, seconds: float) -> datetime:
    return t0 + timedelta(seconds=seconds)


async def test_wrong_passwords_delay_the_next_attempt_and_the_right_one_then_works(
    database: Database,
):
    supervisor = await _supervisor(database)
    t0 = utcnow()
    answers = []
    # Each wrong password tried as soon as the previous delay ends: 1, 2, 4, 8 s.
    when = 0.0
    for delay in (1, 2, 4, 8, 16):
        answers.append(await attempt(database, supervisor.username, "wrong", at(t0, when)))
        when += delay + 0.5
    assert answers == ["invalid_credentials"] * 5
    # During the wait even the right password is refused, without being checked...
    assert await attempt(database, supervisor.username, PASSWORD, at(t0, when - 1)) == (
        "login_throttled 1"
    )
    # ...and that refusal does not count: after the wait the right password works.
    assert await attempt(database, supervisor.username, PASSWORD, at(t0, when)) == "ok"
    # The run is cleared: a wrong password now waits 1 s again, not 32.
    assert await attempt(database, supervisor.username, "wrong", at(t0, when + 1)) == (
        "invalid_credentials"
    )
    assert await attempt(database, supervisor.username, "wrong", at(t0, when + 1.2)) == (
        "login_throttled 1"
    )


async def test_an_attack_on_a_username_never_locks_its_owner_out_for_more_than_the_cap(
    database: Database,
):
    supervisor = await _supervisor(database)
    t0 = utcnow()
    for i in range(12):  # a guess each time the delay allows one, up to the 60 s cap
        await attempt(database, supervisor.username, f"guess-{i}", at(t0, 61 * i))
    answer = await attempt(database, supervisor.username, PASSWORD, at(t0, 61 * 11 + 1))
    assert answer == "login_throttled 59"
    assert await attempt(database, supervisor.username, PASSWORD, at(t0, 61 * 12 + 1)) == "ok"


async def test_unknown_and_known_usernames_get_the_same_answers_and_delays(database: Database):
    supervisor = await _supervisor(database)
    unknown = "nobody_" + uuid.uuid4().hex[:8]
    t0 = utcnow()
    script = [0, 0.5, 1.2, 2.0, 3.5, 5, 7.5, 12, 15.6]
    known_answers = [
        await attempt(database, supervisor.username, "wrong", at(t0, s)) for s in script
    ]
    unknown_answers = [await attempt(database, unknown, "wrong", at(t0, s)) for s in script]
    assert known_answers == unknown_answers == [
        "invalid_credentials", "login_throttled 1", "invalid_credentials", "login_throttled 2",
        "invalid_credentials", "login_throttled 3", "invalid_credentials", "login_throttled 4",
        "invalid_credentials",
    ]  # fmt: skip


async def test_an_inactive_account_fails_like_an_unknown_username(database: Database):
    supervisor = await _supervisor(database)
    async with database.unit_of_work() as uow:
        row = await uow.session.get(StaffUser, supervisor.id)
        assert row is not None
        row.active = False
    t0 = utcnow()
    assert await attempt(database, supervisor.username, PASSWORD, t0) == "invalid_credentials"
    assert await attempt(database, supervisor.username, PASSWORD, at(t0, 0.1)) == (
        "login_throttled 1"
    )


async def test_the_table_holds_no_username_and_forgets_old_runs(database: Database):
    username = "typed_" + uuid.uuid4().hex[:8]
    t0 = utcnow() - timedelta(seconds=FORGET_AFTER_S + 10)
    await attempt(database, username, "wrong", t0)
    await attempt(database, "recent_" + uuid.uuid4().hex[:8], "wrong", utcnow())
    key = identity_service.login_key(username, SETTINGS.secret_key)
    async with database.reader() as session:
        dump = " ".join(
            str(v)
            for row in (await session.execute(text("SELECT * FROM login_failure_runs"))).all()
            for v in row
        )
        assert username not in dump and key in dump
    async with database.unit_of_work() as uow:
        forgotten = await identity_service.forget_failure_runs(uow.session, now=utcnow())
    assert forgotten >= 1
    async with database.reader() as session:
        assert await session.get(LoginFailureRun, key) is None
        assert await session.scalar(select(func.count()).select_from(LoginFailureRun)) >= 1


@pytest.fixture
async def second_process(service_backend: Backend):  # type: ignore[no-untyped-def]
    """Another process's view of the same database: its own engine and connections."""
    engine = create_engine(service_backend.database_url)
    try:
        yield Database(engine, MemoryBus())
    finally:
        await engine.dispose()


async def test_failures_on_two_processes_at_once_all_count(
    database: Database, second_process: Database
):
    """Memory alone would let each process of a deployment give a guesser its own delay."""
    username = "shared_" + uuid.uuid4().hex[:8]
    t0 = utcnow()
    key = identity_service.login_key(username, SETTINGS.secret_key)
    policy = identity_service.login_delay_policy(SETTINGS)

    async def fail(db: Database) -> None:
        async with db.unit_of_work() as uow:
            await identity_service.record_failure(uow.session, key=key, policy=policy, now=t0)

    await asyncio.gather(*(fail(db) for db in [database, second_process] * 4))
    async with second_process.reader() as session:
        run = await identity_service.failure_run(session, key)
    assert run is not None and run.failures == 8
    # The other process refuses the next attempt for the same 2^7 = 60 s (capped).
    assert await attempt(second_process, username, "anything", at(t0, 1)) == ("login_throttled 59")
