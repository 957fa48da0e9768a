"""Background work that must happen once: run by one process at a time, with failover.

Every process runs ``JobRunner.run``. It takes or renews one lease (the ``leases`` row
``LEASE``) every third of ``JOBS_LEASE_S``; while it holds the lease, this process is the
leader and runs each registered ``Job`` at the job's own interval. A leader that dies stops
renewing, and another process takes the lease once it expires and runs the jobs from then on;
a leader that stops cleanly (SIGTERM) gives the lease up at once.

Invariants:
- At most one process believes it holds the lease at a time, given clocks that agree to
  well under a third of the lease: the holder stops running jobs at the expiry it wrote,
  measured on its own monotonic clock from before the write.
- Every job is still written so that running it twice does no harm (a conditional update
  or a row lock decides), because a process that stalls longer than the lease cannot know
  that it did.
- A job that fails is logged by name and exception type only (an exception's text may quote
  SQL parameters, i.e. what someone wrote) and runs again after ``RETRY_AFTER_S`` (or its
  interval, if shorter); the other jobs run regardless.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import String, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UnitOfWork, UTCDateTime, utcnow

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)

LEASE = "background-jobs"
# Never sleep less than this between ticks, whatever the intervals say.
MIN_TICK_S = 0.05
# A failed job runs again this soon (or at its interval, if shorter): a database that was
# briefly away should not delay an escalation re-page by a whole interval.
RETRY_AFTER_S = 1.0


class Lease(Base):
    """Who runs the once-only background jobs right now, and until when."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


async def hold_lease(
    uow: UnitOfWork, *, name: str, holder: str, now: datetime, ttl_s: float
) -> bool:
    """Take or renew a lease; True if ``holder`` runs the job until ``now + ttl_s``."""
    session = uow.session
    expires = now + timedelta(seconds=ttl_s)
    result = await session.execute(
        update(Lease)
        .where(Lease.name == name, (Lease.holder == holder) | (Lease.expires_at < now))
        .values(holder=holder, expires_at=expires)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return True
    if await session.get(Lease, name) is not None:
        return False
    try:
        async with session.begin_nested():
            session.add(Lease(name=name, holder=holder, expires_at=expires))
    except IntegrityError:
        return False
    return True


async def release_lease(uow: UnitOfWork, *, name: str, holder: str, now: datetime) -> None:
    """Give the lease up (if ``holder`` has it), so another process takes it at once."""
    await uow.session.execute(
        update(Lease)
        .where(Lease.name == name, Lease.holder == holder)
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True, slots=True)
class Job:
    """One piece of once-only work: ``run(runtime)`` every ``interval_s`` on the leader. It
    opens its own units of work and returns how much it did (for the debug log)."""

    name: str
    interval_s: float
    run: Callable[[Runtime], Awaitable[int]]


class JobRunner:
    """Holds or waits for the lease, and while it holds it runs each job when due."""

    def __init__(self, runtime: Runtime, jobs: Sequence[Job]) -> None:
        self.runtime = runtime
        self.jobs = list(jobs)
        self.holder = runtime.bus.origin
        self.ttl = runtime.settings.jobs_lease_s
        self.leading = False
        self._leading_since = 0.0  # loop time at which this process became the leader
        self._lease_until = 0.0  # loop time up to which this process may run jobs
        self._renew_at = 0.0
        self._due = {job.name: 0.0 for job in self.jobs}

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._renew_if_due()
            for job in self.jobs:
                if not self.leading:
                    break
                if loop.time() >= self._due[job.name]:
                    self._due[job.name] = loop.time() + await self._run_one(job)
                    await self._renew_if_due()  # a slow job must not cost the lease
            wake = min([self._renew_at, *(self._due.values() if self.leading else ())])
            await asyncio.sleep(max(MIN_TICK_S, wake - loop.time()))

    async def _renew_if_due(self) -> None:
        loop = asyncio.get_running_loop()
        asked = loop.time()
        if asked >= self._renew_at:
            self._renew_at = asked + self.ttl / 3
            try:
                async with self.runtime.db.unit_of_work() as uow:
                    held = await hold_lease(
                        uow, name=LEASE, holder=self.holder, now=utcnow(), ttl_s=self.ttl
                    )
                # Measured from before the write, so this process stops first.
                self._lease_until = asked + self.ttl if held else 0.0
            except Exception as exc:
                # Keep leading until the lease already held runs out; try again soon.
                log.warning(
                    "jobs lease renewal failed (%s); retrying",
                    type(exc).__name__,
                    extra={"event": "jobs.lease_failed"},
                )
                self._renew_at = asked + min(self.ttl / 3, RETRY_AFTER_S)
        leading = loop.time() < self._lease_until
        if leading != self.leading:
            self.leading = leading
            self._leading_since = loop.time()
            log.info(
                "this process %s the background jobs",
                "runs" if leading else "no longer runs",
                extra={"event": "jobs.leader" if leading else "jobs.follower"},
            )
            self._due = dict.fromkeys(self._due, 0.0)  # a new leader runs everything at once

    def leading_for_s(self) -> float:
        """How long this process has been the leader without a break (0 if it is not)."""
        if not self.leading:
            return 0.0
        return asyncio.get_running_loop().time() - self._leading_since

    async def _run_one(self, job: Job) -> float:
        """Run ``job``; return the delay until it runs again."""
        try:
            done = await job.run(self.runtime)
        except Exception as exc:
            log.warning(
                "job %s failed (%s); retrying",
                job.name,
                type(exc).__name__,
                extra={"event": "jobs.failed", "job": job.name},
            )
            return min(job.interval_s, RETRY_AFTER_S)
        if done:
            log.debug("job %s did %d", job.name, done)
        return job.interval_s

    async def release(self) -> None:
        """At shutdown: hand the jobs over now rather than when the lease runs out."""
        if not self.leading:
            return
        self.leading = False
        async with self.runtime.db.unit_of_work() as uow:
            await release_lease(uow, name=LEASE, holder=self.holder, now=utcnow())
