"""The leader's sweep (``app/jobs.py``) that deletes emergency shares at ``delete_by``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.db import utcnow
from app.emergency_share import service
from app.jobs import Job

if TYPE_CHECKING:
    from app.runtime import Runtime


async def run(runtime: Runtime) -> int:
    async with runtime.db.unit_of_work() as uow:
        return await service.erase_due(uow, now=utcnow())


def job(runtime: Runtime) -> Job:
    return Job("emergency-share-expiry", runtime.settings.housekeeping_interval_s, run)
