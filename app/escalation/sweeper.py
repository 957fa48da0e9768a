"""The background job that re-pages on missed deadlines, run by one process at a time.

Every process runs this loop; only the holder of the ``escalation-sweeper`` lease sweeps.
A holder that dies stops renewing, and another process takes over once the lease
(``SWEEPER_LEASE_S``) expires. Even if two processes ever swept at once, the conditional
update in ``service.sweep`` lets only one of them re-page each deadline.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from app.db import utcnow
from app.escalation import service as escalation_service

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)
LEASE = "escalation-sweeper"


async def run(runtime: Runtime) -> None:
    settings = runtime.settings
    holder = runtime.bus.origin
    while True:
        try:
            now = utcnow()
            async with runtime.db.unit_of_work() as uow:
                leader = await escalation_service.hold_lease(
                    uow, name=LEASE, holder=holder, now=now, ttl_s=settings.sweeper_lease_s
                )
            if leader:
                async with runtime.db.unit_of_work() as uow:
                    await escalation_service.sweep(
                        uow,
                        now=utcnow(),
                        scale=settings.escalation_time_scale,
                        flagged_wait_s=settings.flagged_wait_page_s,
                    )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("escalation sweep failed (%s); retrying", type(exc).__name__)
        await asyncio.sleep(settings.sweep_interval_s)
