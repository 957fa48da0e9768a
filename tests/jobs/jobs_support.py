"""Settings and helpers for the background-jobs tests."""

from __future__ import annotations

from app.jobs import LEASE
from tests.conftest import FAST
from tests.support import sql

# Presence refreshed every 0.4 s; a seeker unseen for 2 s leaves the queue (five missed
# refreshes of margin for a slow machine); retention deletes two rows per transaction, so
# even a short conversation takes several batches.
JOBS = {
    **FAST,
    "PRESENCE_INTERVAL_S": "0.4",
    "QUEUE_ABANDON_AFTER_S": "2",
    "HOUSEKEEPING_INTERVAL_S": "0.2",
    "RETENTION_INTERVAL_S": "0.2",
    "RETENTION_BATCH_SIZE": "2",
}


async def conversation_row(database_url: str, conversation_id: str) -> dict:
    rows = await sql(
        database_url,
        "SELECT status, ended_by, end_reason, wrapup_note, text_deleted_at, last_seq "
        "FROM conversations WHERE id = :c",
        c=conversation_id,
    )
    return dict(rows[0]._mapping)


async def lease_holder_pid(database_url: str) -> int | None:
    """The process id of the jobs' leader (the lease holder is named ``<pid>-<random>``)."""
    rows = await sql(database_url, "SELECT holder FROM leases WHERE name = :n", n=LEASE)
    return int(rows[0][0].split("-")[0]) if rows else None
