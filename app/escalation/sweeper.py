"""The escalation sweep, a leader-run job (``app/jobs.py``): re-page on missed deadlines, and
page (or update) the one group of flagged seekers waiting.

Only the process holding the jobs lease sweeps, every ``SWEEP_INTERVAL_S``; another takes
over when it dies. Even if two processes ever swept at once, the conditional update in
``service.sweep`` lets only one of them re-page each deadline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.db import utcnow
from app.escalation import paging
from app.jobs import Job

if TYPE_CHECKING:
    from app.runtime import Runtime


async def sweep(runtime: Runtime) -> int:
    settings = runtime.settings
    async with runtime.db.unit_of_work() as uow:
        pages = await paging.sweep(uow, now=utcnow(), scale=settings.escalation_time_scale)
    async with runtime.db.unit_of_work() as uow:
        pages += await paging.sweep_flagged(
            uow,
            now=utcnow(),
            wait_s=settings.flagged_wait_page_s,
            update_s=settings.flagged_update_s,
            scale=settings.escalation_time_scale,
        )
    return pages


def job(runtime: Runtime) -> Job:
    return Job("escalation-sweep", runtime.settings.sweep_interval_s, sweep)
