"""The leader-run jobs mechanism on a real database: one leader, isolation, failover.

Two ``JobRunner``s in this process stand for two app processes (each has its own bus origin,
the lease holder's name); the jobs are small test functions that count their runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Iterator

import pytest

from app.bus import MemoryBus
from app.cli import migrate
from app.config import Settings
from app.db import Database, create_engine
from app.jobs import LEASE, Job, JobRunner
from app.realtime import FrameRouter
from app.runtime import Runtime
from tests.conftest import Backend, drop_pg_database, make_backend
from tests.support import eventually, sql

SECRET_WORDS = "words a seeker wrote"


@pytest.fixture(scope="module")
def database_url(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory, pg_available: bool
) -> Iterator[str]:
    """A database of this module's own: no server's jobs compete for the lease. Every test
    stops its runners, which hands the lease back."""
    b = make_backend(backend.name, tmp_path_factory, pg_available)
    migrate(b.database_url)
    yield b.database_url
    if b.name == "postgres":
        drop_pg_database(b.database_url)


class Process:
    """What one app process holds for the jobs: its own engine, bus origin and runner."""

    def __init__(self, database_url: str, jobs: list[Job], lease_s: float) -> None:
        settings = Settings(database_url=database_url, jobs_lease_s=lease_s)
        bus = MemoryBus()
        self.engine = create_engine(database_url)
        self.runtime = Runtime(
            settings=settings, db=Database(self.engine, bus), bus=bus, router=FrameRouter()
        )
        self.runner = JobRunner(self.runtime, jobs)
        self.task = asyncio.get_running_loop().create_task(self.runner.run())

    async def die(self) -> None:
        """Stop without handing over, as a killed process would."""
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.engine.dispose()

    async def stop(self) -> None:
        """Stop the way SIGTERM does: hand the lease over."""
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.runner.release()
        await self.engine.dispose()


def counting_job(name: str, runs: Counter[str], *, fails: bool = False) -> Job:
    async def run(runtime: Runtime) -> int:
        runs[(name, runtime.bus.origin)] += 1
        if fails:
            raise RuntimeError(SECRET_WORDS)
        return 1

    return Job(name, 0.05, run)


async def test_one_process_leads_and_a_failing_job_never_stops_the_others(database_url, caplog):
    runs: Counter = Counter()
    jobs = [counting_job("broken", runs, fails=True), counting_job("steady", runs)]
    caplog.set_level(logging.WARNING, logger="app.jobs")
    a = Process(database_url, jobs, lease_s=3.0)
    b = Process(database_url, jobs, lease_s=3.0)
    try:
        await eventually(
            lambda: sum(n for (job, _), n in runs.items() if job == "steady") >= 3,
            what="three runs of the steady job",
        )
        # The broken job is retried, and it never held the steady one back.
        assert sum(n for (job, _), n in runs.items() if job == "broken") >= 2
        # Exactly one process ran anything: the holder of the lease.
        runners = {origin for (_, origin) in runs}
        assert len(runners) == 1
        holder = (await sql(database_url, "SELECT holder FROM leases WHERE name = :n", n=LEASE))[0][
            0
        ]
        assert runners == {holder}
        assert [a.runner.leading, b.runner.leading].count(True) == 1
        # The failure is logged by job name and error type, never the exception's text.
        assert "job broken failed (RuntimeError)" in caplog.text
        assert SECRET_WORDS not in caplog.text
    finally:
        await a.stop()
        await b.stop()


async def test_when_the_leader_dies_the_other_process_takes_over_within_the_lease(database_url):
    runs: Counter = Counter()
    jobs = [counting_job("steady", runs)]
    a = Process(database_url, jobs, lease_s=1.0)
    b = Process(database_url, jobs, lease_s=1.0)
    try:
        await eventually(lambda: a.runner.leading or b.runner.leading, what="a leader")
        leader, other = (a, b) if a.runner.leading else (b, a)
        await leader.die()
        before = runs[("steady", other.runtime.bus.origin)]
        await eventually(
            lambda: runs[("steady", other.runtime.bus.origin)] > before,
            timeout=10,
            what="the surviving process running the job",
        )
        assert other.runner.leading
    finally:
        await a.stop()
        await b.stop()


async def test_a_leader_stopped_cleanly_hands_the_lease_over(database_url):
    runs: Counter = Counter()
    jobs = [counting_job("steady", runs)]
    # A long lease: only the hand-over can explain a quick takeover.
    a = Process(database_url, jobs, lease_s=600.0)
    await eventually(lambda: a.runner.leading, what="the first process leading")
    await a.stop()
    b = Process(database_url, jobs, lease_s=600.0)
    try:
        await eventually(lambda: b.runner.leading, what="the second process leading")
        assert runs[("steady", b.runtime.bus.origin)] >= 1
    finally:
        await b.stop()
