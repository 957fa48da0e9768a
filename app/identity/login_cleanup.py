"""A leader-run job (``app/jobs.py``): delete the failed-login runs the rule has forgotten.

A run is forgotten an hour after its last failure (``login_delay.FORGET_AFTER_S``); until then
the delay it sets is read from it. Without this job, every username anyone ever tried would
keep a row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.db import utcnow
from app.identity import service as identity_service
from app.jobs import Job

if TYPE_CHECKING:
    from app.runtime import Runtime


async def run(runtime: Runtime) -> int:
    async with runtime.db.unit_of_work() as uow:
        return await identity_service.forget_failure_runs(uow.session, now=utcnow())


def job(runtime: Runtime) -> Job:
    return Job("login-cleanup", runtime.settings.housekeeping_interval_s, run)
