"""A volunteer is present before they are available: the housekeeping that releases
available volunteers with no socket anywhere (``release_absent_volunteers``) must never catch
one whose socket just opened, while this process's presence flusher still holds the arrival
back (it batches arrivals, up to ``FLUSH_GAP_S`` apart)."""

from __future__ import annotations

from datetime import timedelta

from app.bus import MemoryBus
from app.db import Database, create_engine, utcnow
from app.matching import service as matching_service
from tests.conftest import Backend, StaffFactory
from tests.support import Server, WsClient, sql, unique_language


async def housekeeping_now(database_url: str, volunteer_id: str) -> int:
    """What any process's housekeeping does, at this moment, for one volunteer."""
    engine = create_engine(database_url)
    try:
        async with Database(engine, MemoryBus()).unit_of_work() as uow:
            return await matching_service.release_absent_volunteers(
                uow, present_since=utcnow() - timedelta(seconds=90), volunteer_ids=[volunteer_id]
            )
    finally:
        await engine.dispose()


async def test_a_volunteer_who_just_went_available_is_not_released_as_absent(
    server: Server, staff: StaffFactory, backend: Backend
):
    language = unique_language()
    # Another socket's arrival first: the flusher writes it, then waits before its next write.
    other = await staff.create(languages=[language])
    await WsClient.open(server.ws_url, other.token)
    person = await staff.create(languages=[language])
    v = await WsClient.open(server.ws_url, person.token)
    await v.send({"type": "availability.set", "available": True})
    assert (await v.recv("availability.ok"))["available"] is True

    assert await housekeeping_now(backend.database_url, person.user_id) == 0
    rows = await sql(
        backend.database_url, "SELECT available FROM staff_users WHERE id = :i", i=person.user_id
    )
    assert bool(rows[0][0]) is True
