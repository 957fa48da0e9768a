"""Queue housekeeping, a leader-run job (``app/jobs.py``): keep the queue true to who is here.

Every ``HOUSEKEEPING_INTERVAL_S`` on the leader, four steps, each a short transaction of
its own (a failure ends the run; the job runner retries it). Steps 1 to 3 wait until this
process has led for three presence intervals, so that after a database outage (when nobody
could refresh, and the lease changed hands) every process has refreshed before anyone is
judged gone:

1. waiting seekers not seen on any process for ``QUEUE_ABANDON_AFTER_S`` leave the queue
   (``abandoned`` by ``system``, reason ``seeker_disconnected``, audited);
2. flagged waiting seekers gone (no socket on any live process) and not seen for
   ``FLAGGED_GHOST_CLOSE_S`` are closed by the system (``close_flagged_ghosts``: audited, and
   the escalations the system opened for them resolved ``seeker_left``);
3. available volunteers with no socket on any live process become unavailable (their process
   died, or two processes saw them leave at the same moment);
4. presence rows nobody was seen on for that long are forgotten.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from app import presence
from app.db import utcnow
from app.jobs import Job
from app.matching import service as matching_service

if TYPE_CHECKING:
    from app.runtime import Runtime


async def run(runtime: Runtime) -> int:
    settings = runtime.settings
    unseen_after = timedelta(seconds=settings.queue_abandon_after_s)
    stale_after_s = presence.stale_after_s(settings)
    abandoned: list[object] = []
    ghosts: list[object] = []
    released = 0
    # A new leader may come after a database outage, during which no process could refresh
    # its presence rows: give every live process a stale window to refresh before deciding
    # that anyone is gone.
    if runtime.jobs.leading_for_s() >= stale_after_s:
        now = utcnow()
        async with runtime.db.unit_of_work() as uow:
            abandoned = await matching_service.abandon_unseen(
                uow,
                seen_since=now - unseen_after,
                connected_here=runtime.connections.keys(),
                now=now,
            )
        now = utcnow()
        async with runtime.db.unit_of_work() as uow:
            ghosts = await matching_service.close_flagged_ghosts(
                uow,
                close_after_s=settings.flagged_ghost_close_s,
                present_since=now - timedelta(seconds=stale_after_s),
                connected_here=runtime.connections.keys(),
                now=now,
            )
        now = utcnow()
        async with runtime.db.unit_of_work() as uow:
            released = await matching_service.release_absent_volunteers(
                uow, present_since=now - timedelta(seconds=stale_after_s)
            )
    async with runtime.db.unit_of_work() as uow:
        # QUEUE_ABANDON_AFTER_S is at least the stale time (Settings checks), so a forgotten
        # row could no longer keep anyone in the queue or available.
        forgotten = await presence.forget_before(uow.session, before=utcnow() - unseen_after)
    return len(abandoned) + len(ghosts) + released + forgotten


def job(runtime: Runtime) -> Job:
    return Job("queue-housekeeping", runtime.settings.housekeeping_interval_s, run)
