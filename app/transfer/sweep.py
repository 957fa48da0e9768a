"""The vanished-volunteer sweep, a leader-run job (``app/jobs.py``).

Every ``HOUSEKEEPING_INTERVAL_S`` on the leader: active chats whose volunteer has had no
socket on any process for ``VOLUNTEER_VANISH_S`` go back to the front of the queue
(``transfer.service.requeue_vanished``). Like the queue's housekeeping, it waits until this
process has led for a presence staleness window, so that after an outage every live process
has refreshed its rows before anyone is judged gone.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from app import presence
from app.db import utcnow
from app.jobs import Job
from app.transfer import service as transfer_service

if TYPE_CHECKING:
    from app.runtime import Runtime


async def run(runtime: Runtime) -> int:
    settings = runtime.settings
    stale_after_s = presence.stale_after_s(settings)
    if runtime.jobs.leading_for_s() < stale_after_s:
        return 0
    now = utcnow()
    async with runtime.db.unit_of_work() as uow:
        moved = await transfer_service.requeue_vanished(
            uow,
            vanish_s=settings.volunteer_vanish_s,
            present_since=now - timedelta(seconds=stale_after_s),
            connected_here=runtime.connections.keys(),
            now=now,
        )
    return len(moved)


def job(runtime: Runtime) -> Job:
    return Job("vanished-volunteers", runtime.settings.housekeeping_interval_s, run)
