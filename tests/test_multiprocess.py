"""Two app processes on one PostgreSQL and one Redis serve one service."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy import text

from app.db import create_engine
from tests.conftest import (
    Backend,
    StaffFactory,
    drop_pg_database,
    need,
)
from tests.escalation.test_escalation_ws import run_checklist
from tests.support import Server, WsClient, env_for, new_seeker, paired, unique_language

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster(
    pg_available: bool, redis_url: str, migrated: Callable[[str], Backend]
) -> Iterator[tuple[Server, Server, str]]:
    need(pg_available, "PostgreSQL")
    database_url = migrated("postgres").database_url
    env = env_for(
        database_url,
        redis_url,
        REDIS_CHANNEL_PREFIX=f"mp-{uuid.uuid4().hex[:8]}:",
        RATE_LIMIT_PER_S="500",
        RATE_LIMIT_BURST="1000",
        ESCALATION_TIME_SCALE="0.03",  # high: about 4 s to acknowledge
        SWEEP_INTERVAL_S="0.1",
        JOBS_LEASE_S="2",
    )
    a, b = Server(dict(env)).start(), Server(dict(env)).start()
    yield a, b, database_url
    a.stop()
    b.stop()
    drop_pg_database(database_url)


async def test_seeker_on_one_process_chats_with_volunteer_on_the_other(cluster):
    a, b, database_url = cluster
    language = unique_language()
    staff = StaffFactory(database_url, b.base_url)
    volunteer = await staff.create(languages=[language])
    seeker = await new_seeker(a.base_url, language)
    s = await WsClient.open(a.ws_url, seeker["seeker_token"])
    v = await WsClient.open(b.ws_url, volunteer.token)
    await s.send({"type": "queue.join"})
    cid = (await s.recv("queue.status"))["conversation_id"]
    await v.send({"type": "queue.take"})
    assert (await v.recv("conversation.started"))["conversation_id"] == cid
    await s.recv("conversation.started")
    for i in range(10):
        await s.send(
            {"type": "chat.send", "conversation_id": cid, "client_msg_id": f"s{i}", "text": f"s{i}"}
        )
        await v.send(
            {"type": "chat.send", "conversation_id": cid, "client_msg_id": f"v{i}", "text": f"v{i}"}
        )
    got_v = [await v.recv("chat.message") for _ in range(20)]
    assert [m["seq"] for m in got_v] == list(range(1, 21))

    # The seeker drops and comes back through the other process: nothing lost or doubled.
    await s.close()
    for i in range(5):
        await v.send(
            {"type": "chat.send", "conversation_id": cid, "client_msg_id": f"w{i}", "text": "x"}
        )
        await v.recv("chat.ack")
    s2 = await WsClient.open(b.ws_url, seeker["seeker_token"])
    await s2.send({"type": "conversation.resume", "conversation_id": cid, "after_seq": 20})
    replay = [await s2.recv("chat.message") for _ in range(5)]
    assert [m["seq"] for m in replay] == [21, 22, 23, 24, 25]
    await s2.recv("conversation.resumed")
    await v.send(
        {"type": "chat.send", "conversation_id": cid, "client_msg_id": "live", "text": "x"}
    )
    assert (await s2.recv("chat.message"))["seq"] == 26
    await s2.nothing("chat.message", within=0.3)


async def test_fifty_seekers_ten_volunteers_two_processes_assign_atomically(cluster):
    a, b, database_url = cluster
    language = unique_language()
    staff = StaffFactory(database_url, a.base_url)
    # One after another: ten logins at once can meet the server's hashing queue
    # (LOGIN_HASH_QUEUE, ``login_busy``), which is not what this test is about.
    volunteers = [await staff.create(languages=[language], max_chats=2) for _ in range(10)]
    servers = [a, b]

    async def seeker_journey(i: int) -> tuple[WsClient, str, bool]:
        srv = servers[i % 2]
        seeker = await new_seeker(srv.base_url, language)
        c = await WsClient.open(srv.ws_url, seeker["seeker_token"])
        await c.send({"type": "queue.join"})
        # A volunteer may take the chat before the first queue.status is sent.
        first = await c.recv(("queue.status", "conversation.started"), timeout=15)
        cid = first["conversation_id"]
        if first["type"] == "conversation.started":
            c.pending.insert(0, first)
        leaves = i % 5 == 0  # ten of them give up at once
        if leaves:
            await c.send({"type": "queue.leave", "conversation_id": cid})
        return c, cid, leaves

    async def volunteer_journey(i: int) -> list[str]:
        srv = servers[(i + 1) % 2]
        c = await WsClient.open(srv.ws_url, volunteers[i].token)
        taken: list[str] = []
        deadline = asyncio.get_running_loop().time() + 20
        # Keep taking until full, and then once more to prove capacity holds.
        while asyncio.get_running_loop().time() < deadline:
            await c.send({"type": "queue.take"})
            frame = await c.recv(("conversation.started", "error"), timeout=15)
            if frame["type"] == "conversation.started":
                taken.append(frame["conversation_id"])
            elif frame["code"] == "at_capacity":
                break
            else:
                await asyncio.sleep(0.1)  # queue_empty: more seekers are still arriving
        return taken

    results = await asyncio.gather(
        *(seeker_journey(i) for i in range(50)), *(volunteer_journey(i) for i in range(10))
    )
    seekers, takes = results[:50], results[50:]
    taken = [cid for t in takes for cid in t]
    assert len(taken) == len(set(taken)), "a seeker was given to two volunteers"
    assert all(len(t) <= 2 for t in takes), "a volunteer went over capacity"
    # Each seeker taken hears conversation.started (across processes), once; no one else.
    for c, cid, _ in seekers:
        if cid in taken:
            await c.recv(
                "conversation.started", where=lambda f, cid=cid: f["conversation_id"] == cid
            )
    await asyncio.gather(*(c.nothing("conversation.started", within=0.5) for c, _, _ in seekers))
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text("SELECT id, status, volunteer_id FROM conversations WHERE language = :l"),
                    {"l": language},
                )
            ).all()
    finally:
        await engine.dispose()
    by_id = {r[0]: r for r in rows}
    for _, cid, left in seekers:
        if left and by_id[cid][1] == "abandoned":
            assert by_id[cid][2] is None, "a seeker who left was assigned"
    per_volunteer = Counter(r[2] for r in rows if r[1] == "active")
    assert max(per_volunteer.values()) <= 2
    assert sum(per_volunteer.values()) == len(taken) == 20  # 20 slots, 40+ seekers waiting


async def test_two_processes_never_double_page(cluster):
    a, b, database_url = cluster
    staff_a = StaffFactory(database_url, a.base_url)
    sup = await staff_a.create("supervisor", backup_rank=1)
    sc = await WsClient.open(a.ws_url, sup.token)
    await sc.send({"type": "oncall.set", "on_call": True})
    await sc.recv("oncall.ok")
    language = unique_language()
    volunteer = await StaffFactory(database_url, b.base_url).create(languages=[language])
    seeker = await new_seeker(b.base_url, language)
    s = await WsClient.open(b.ws_url, seeker["seeker_token"])
    await s.send({"type": "queue.join"})
    await s.recv("queue.status")
    v = await WsClient.open(b.ws_url, volunteer.token)
    await v.send({"type": "queue.take"})
    cid = (await v.recv("conversation.started"))["conversation_id"]
    await v.send({"type": "escalation.raise", "conversation_id": cid, "reason": "worried"})
    first = await sc.recv("escalation.page", timeout=5)
    second = await sc.recv("escalation.page", timeout=10)
    assert (first["page"], second["page"]) == (1, 2)
    await sc.nothing("escalation.page", within=1.0)  # both processes sweep; one pages
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            pages = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM audit_events WHERE action = 'escalation.paged' "
                        "AND conversation_id = :c"
                    ),
                    {"c": cid},
                )
            ).scalar()
    finally:
        await engine.dispose()
    assert pages == 2
    await sc.send({"type": "oncall.set", "on_call": False})


async def test_a_method_cue_written_through_one_process_is_listed_by_the_other(cluster):
    """A desk that loads on process A after a seeker on process B mentioned a method learns
    of the unscreened chat from the database (``GET /api/v1/method-cues``), and that the
    screen on B answered it."""
    a, b, database_url = cluster
    sup = await StaffFactory(database_url, a.base_url).create("supervisor")
    s, v, cid, _ = await paired(b, StaffFactory(database_url, b.base_url))
    await s.send({"type": "chat.send", "conversation_id": cid, "client_msg_id": "m1",
                  "text": "i have pills"})  # fmt: skip
    assert (await v.recv("risk.cue"))["cue_class"] == "method_or_attempt"

    async def listed() -> list[tuple[str, int]]:
        async with httpx.AsyncClient(base_url=a.base_url) as http:
            r = await http.get(
                "/api/v1/method-cues", headers={"Authorization": f"Bearer {sup.token}"}
            )
        assert r.status_code == 200, r.text
        return [(c["conversation_id"], c["seq"]) for c in r.json()["method_cues"]]

    assert (cid, 1) in await listed()
    await run_checklist(v, cid, {})
    assert cid not in [c for c, _ in await listed()]


async def test_a_take_on_one_process_alerts_a_supervisor_on_the_other_of_a_waiting_method_cue(
    cluster,
):
    """A seeker on process B writes a method cue while waiting (the flagged seekers' group,
    no method-cue alert); a volunteer on B takes the chat; the on-call supervisor on A hears
    one ``method_cue`` alert about it, through Redis."""
    a, b, database_url = cluster
    sup = await StaffFactory(database_url, a.base_url).create("supervisor")
    sc = await WsClient.open(a.ws_url, sup.token)
    await sc.send({"type": "oncall.set", "on_call": True})
    await sc.recv("oncall.ok")
    try:
        language = unique_language()
        seeker = await new_seeker(b.base_url, language)
        s = await WsClient.open(b.ws_url, seeker["seeker_token"])
        await s.send({"type": "queue.join"})
        cid = (await s.recv("queue.status"))["conversation_id"]
        await s.send({"type": "chat.send", "conversation_id": cid, "client_msg_id": "w1",
                      "text": "i have pills right here"})  # fmt: skip
        await s.recv("chat.ack")

        def about(f: dict) -> bool:
            return f["code"] == "method_cue" and f.get("conversation_id") == cid

        with pytest.raises(TimeoutError):  # waiting: no method-cue alert
            await sc.recv("staff.alert", where=about, timeout=0.5)
        volunteer = await StaffFactory(database_url, b.base_url).create(languages=[language])
        v = await WsClient.open(b.ws_url, volunteer.token)
        await v.send({"type": "queue.take"})
        assert (await v.recv("conversation.started"))["conversation_id"] == cid
        alert = await sc.recv("staff.alert", where=about, timeout=10)
        assert alert["seq"] == 1
        with pytest.raises(TimeoutError):  # one, though both processes hear the take
            await sc.recv("staff.alert", where=about, timeout=0.5)
    finally:
        await sc.send({"type": "oncall.set", "on_call": False})


async def test_a_session_ended_on_one_process_closes_its_socket_on_the_other(cluster):
    """Issue #16 §3 and §5 across processes: an admin's password reset and a deactivation on
    process A, and a seeker's quick-exit beacon to A, close the sockets those tokens hold on
    process B at once (4401, through Redis), and B refuses the tokens from then on; another
    account's socket on B stays open."""
    a, b, database_url = cluster
    staff = StaffFactory(database_url, a.base_url)
    admin = await staff.create("admin")
    reset, deactivated, bystander = [await staff.create() for _ in range(3)]
    seeker = await new_seeker(a.base_url, unique_language())
    on_b = {
        "reset": await WsClient.open(b.ws_url, reset.token),
        "deactivated": await WsClient.open(b.ws_url, deactivated.token),
        "seeker": await WsClient.open(b.ws_url, seeker["seeker_token"]),
        "bystander": await WsClient.open(b.ws_url, bystander.token),
    }
    admin_h = {"Authorization": f"Bearer {admin.token}"}
    async with httpx.AsyncClient(base_url=a.base_url) as http:
        r = await http.patch(
            f"/api/v1/staff/{reset.user_id}", headers=admin_h, json={"password": "a-new-password"}
        )
        assert r.status_code == 200, r.text
        assert await on_b["reset"].close_code(timeout=10) == 4401
        r = await http.patch(
            f"/api/v1/staff/{deactivated.user_id}", headers=admin_h, json={"active": False}
        )
        assert r.status_code == 200, r.text
        assert await on_b["deactivated"].close_code(timeout=10) == 4401
        r = await http.post("/api/v1/seekers/quick-exit", json={"token": seeker["seeker_token"]})
        assert r.status_code == 204
        assert await on_b["seeker"].close_code(timeout=10) == 4401
    async with httpx.AsyncClient(base_url=b.base_url) as http:
        for token in (reset.token, deactivated.token, seeker["seeker_token"]):
            me = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 401
    for token in (reset.token, seeker["seeker_token"]):
        late = await WsClient.open(b.ws_url, token, expect_ok=False)
        assert await late.close_code() == 4401
    await on_b["bystander"].send({"type": "ping", "ref": "still"})
    assert (await on_b["bystander"].recv("pong"))["ref"] == "still"
    await on_b["bystander"].close()
