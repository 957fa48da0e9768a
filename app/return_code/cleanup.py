"""A leader-run job (``app/jobs.py``): delete return codes not used for
``RETURN_CODE_KEEP_DAYS`` (their plan copy and links with them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.db import utcnow
from app.jobs import Job
from app.return_code import service

if TYPE_CHECKING:
    from app.runtime import Runtime


async def run(runtime: Runtime) -> int:
    async with runtime.db.unit_of_work() as uow:
        return await service.forget_unused(
            uow.session, before=utcnow() - service.keep_for(runtime.settings)
        )


def job(runtime: Runtime) -> Job:
    return Job("return-code-cleanup", runtime.settings.housekeeping_interval_s, run)
