"""Background jobs across two app processes on one PostgreSQL and one Redis: presence seen
from the other process, volunteer tabs on both, and failover when the leader is killed.

The processes share one cluster; the failover test kills one of them, so it comes last.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from app.cli import migrate
from tests.conftest import StaffFactory, create_pg_database, drop_pg_database, need
from tests.jobs.jobs_support import JOBS, conversation_row, lease_holder_pid
from tests.support import Server, WsClient, env_for, eventually, new_seeker, sql, unique_language

pytestmark = pytest.mark.slow


class Cluster:
    def __init__(self, a: Server, b: Server, database_url: str) -> None:
        self.servers = (a, b)
        self.database_url = database_url

    async def leader_and_other(self) -> tuple[Server, Server]:
        """(the process that runs the jobs, the other one)."""
        pid = await eventually(
            lambda: lease_holder_pid(self.database_url), what="a process taking the jobs"
        )
        leader = next(srv for srv in self.servers if srv.process.pid == pid)  # type: ignore[union-attr]
        return leader, next(srv for srv in self.servers if srv is not leader)

    def staff(self, srv: Server) -> StaffFactory:
        return StaffFactory(self.database_url, srv.base_url)

    async def has_status(self, conversation_id: str, status: str) -> bool:
        return (await conversation_row(self.database_url, conversation_id))["status"] == status

    async def is_available(self, user_id: str) -> bool:
        rows = await sql(
            self.database_url, "SELECT available FROM staff_users WHERE id = :u", u=user_id
        )
        return bool(rows[0][0])

    async def is_unavailable(self, user_id: str) -> bool:
        return not await self.is_available(user_id)

    async def presence_is(self, user_id: str, connected: list[bool]) -> bool:
        rows = await sql(
            self.database_url, "SELECT connected FROM presence WHERE user_id = :u", u=user_id
        )
        return sorted(bool(r[0]) for r in rows) == connected


@pytest.fixture(scope="module")
def cluster(pg_available: bool, redis_url: str) -> Iterator[Cluster]:
    need(pg_available, "PostgreSQL")
    database_url = create_pg_database()
    migrate(database_url)
    prefix = f"jobs-{uuid.uuid4().hex[:8]}:"
    env = env_for(database_url, redis_url, REDIS_CHANNEL_PREFIX=prefix, **JOBS)
    a, b = Server(dict(env)).start(), Server(dict(env)).start()
    yield Cluster(a, b, database_url)
    a.stop()
    b.stop()
    drop_pg_database(database_url)


async def join_queue(srv: Server, language: str) -> tuple[WsClient, str]:
    seeker = await new_seeker(srv.base_url, language)
    c = await WsClient.open(srv.ws_url, seeker["seeker_token"])
    await c.send({"type": "queue.join"})
    return c, (await c.recv("queue.status"))["conversation_id"]


async def test_a_seeker_connected_to_the_other_process_is_never_abandoned(cluster: Cluster):
    leader, other = await cluster.leader_and_other()
    language = unique_language()
    # Connected only to the process that does not run housekeeping, and queued first: when
    # the later seeker's deadline has passed, so has theirs, and only presence keeps them.
    stays, stays_cid = await join_queue(other, language)
    leaves, leaves_cid = await join_queue(leader, language)
    await leaves.close()
    await eventually(
        lambda: cluster.has_status(leaves_cid, "abandoned"),
        timeout=20,
        what="the seeker who left being abandoned",
    )
    assert await cluster.has_status(stays_cid, "waiting")
    await stays.close()


async def test_a_volunteer_with_tabs_on_both_processes_stays_available_until_the_last_closes(
    cluster: Cluster,
):
    a, b = cluster.servers
    volunteer = await cluster.staff(a).create()
    on_a = await WsClient.open(a.ws_url, volunteer.token)
    on_b = await WsClient.open(b.ws_url, volunteer.token)
    await on_a.send({"type": "availability.set", "available": True})
    await on_a.recv("availability.ok")
    await eventually(
        lambda: cluster.presence_is(volunteer.user_id, [True, True]), what="both tabs recorded"
    )

    await on_a.close()
    # Process A records the departure and decides availability in the same transaction.
    await eventually(
        lambda: cluster.presence_is(volunteer.user_id, [False, True]),
        what="the first tab's departure",
    )
    assert await cluster.is_available(volunteer.user_id)

    await on_b.close()
    await eventually(
        lambda: cluster.is_unavailable(volunteer.user_id),
        what="the volunteer becoming unavailable when the last tab closed",
    )


async def test_when_the_leader_is_killed_the_other_process_takes_over_the_jobs(cluster: Cluster):
    leader, survivor = await cluster.leader_and_other()
    # A volunteer whose only tab is on the leader: nobody will record that they left.
    volunteer = await cluster.staff(survivor).create()
    tab = await WsClient.open(leader.ws_url, volunteer.token)
    await tab.send({"type": "availability.set", "available": True})
    await tab.recv("availability.ok")

    leader.kill()
    # After the kill only the survivor can run housekeeping: a seeker who leaves now is
    # abandoned by it, and the volunteer of the dead process is released by it.
    seeker, cid = await join_queue(survivor, unique_language())
    await seeker.close()
    await eventually(
        lambda: cluster.has_status(cid, "abandoned"),
        timeout=20,
        what="housekeeping on the surviving process",
    )
    await eventually(
        lambda: cluster.is_unavailable(volunteer.user_id),
        timeout=20,
        what="the dead process's volunteer being released",
    )
    assert await lease_holder_pid(cluster.database_url) == survivor.process.pid  # type: ignore[union-attr]
