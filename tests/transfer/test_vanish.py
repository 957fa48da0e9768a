"""A volunteer who vanishes, with real processes: their client is killed (SIGKILL), every
socket of theirs is gone, and after ``VOLUNTEER_VANISH_S`` the chat goes back to the front
of the queue with its history, the seeker is told kindly, and the supervisor of its open
escalation is alerted. Also: silent hand-offs (``TRANSFER_ANNOUNCE=false``). On SQLite and
PostgreSQL, each on a server of its own (it must lead the background jobs)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from tests.conftest import FAST, Backend, StaffFactory, drop_pg_database
from tests.support import ROOT, Server, WsClient, env_for, new_seeker, sql, unique_language

VANISH_S = 4.0
# Presence staleness (3 x 0.5 s) and the vanish window, the sweep's interval, and slack.
TOLD_WITHIN = VANISH_S + 6.0

# A volunteer's client as a process of its own: it signs in with the token and holds the
# socket open until it is killed.
CLIENT = """
import asyncio, json, sys
from websockets.asyncio.client import connect

async def main():
    async with connect(sys.argv[1]) as ws:
        await ws.send(json.dumps({"type": "auth", "token": sys.argv[2]}))
        assert json.loads(await ws.recv())["type"] == "auth.ok"
        print("ready", flush=True)
        await asyncio.Event().wait()

asyncio.run(main())
"""


@dataclass
class World:
    server: Server
    staff: StaffFactory
    database_url: str


@pytest.fixture(scope="module")
def world(backend: Backend, migrated: Callable[[str], Backend]) -> Iterator[World]:
    b = migrated(backend.name)
    env = env_for(
        b.database_url,
        **FAST,
        PRESENCE_INTERVAL_S="0.5",
        VOLUNTEER_VANISH_S=str(VANISH_S),
        HOUSEKEEPING_INTERVAL_S="0.3",
        TRANSFER_ANNOUNCE="false",
    )
    srv = Server(env).start()
    yield World(srv, StaffFactory(b.database_url, srv.base_url), b.database_url)
    srv.stop()
    if b.name == "postgres":
        drop_pg_database(b.database_url)


def client_process(ws_url: str, token: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CLIENT, ws_url, token],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


async def chat_with_escalation(w: World, language: str):
    """A seeker, a volunteer (in a process of its own), and a supervisor who acknowledged the
    chat's escalation."""
    seeker = await new_seeker(w.server.base_url, language)
    s = await WsClient.open(w.server.ws_url, seeker["seeker_token"])
    volunteer = await w.staff.create(languages=[language])
    v = await WsClient.open(w.server.ws_url, volunteer.token)
    await s.send({"type": "queue.join"})
    cid = (await s.recv("queue.status"))["conversation_id"]
    await v.send({"type": "queue.take"})
    await v.recv("conversation.started")
    await s.recv("conversation.started")
    await s.send({"type": "chat.send", "conversation_id": cid, "client_msg_id": "s1", "text": "hi"})
    await s.recv("chat.ack")
    boss = await w.staff.create("supervisor")
    sup = await WsClient.open(w.server.ws_url, boss.token)
    await sup.send({"type": "oncall.set", "on_call": True})
    await sup.recv("oncall.ok")
    await v.send({"type": "escalation.raise", "conversation_id": cid, "reason": "worried"})
    page = await sup.recv("escalation.page", timeout=10)
    await sup.send({"type": "escalation.ack", "escalation_id": page["escalation_id"]})
    await sup.recv("escalation.updated", where=lambda f: f["status"] == "acknowledged")
    return s, v, volunteer, sup, cid, page["escalation_id"]


async def test_a_killed_volunteer_client_sends_the_chat_back_to_the_front_of_the_queue(
    world: World,
):
    language = unique_language()
    s, v, volunteer, sup, cid, escalation_id = await chat_with_escalation(world, language)
    await v.send(
        {"type": "risk.concern", "conversation_id": cid, "level": "high", "reason": "plan"}
    )
    await v.recv("risk.assessed")
    proc = client_process(world.server.ws_url, volunteer.token)
    await v.close()  # only the process's socket is left
    await asyncio.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=5)
    killed_at = time.monotonic()

    told = await s.recv("conversation.handed_over", timeout=TOLD_WITHIN)
    assert time.monotonic() - killed_at >= VANISH_S - 0.5  # not before the window
    assert told["to"] == "queue" and told["reason"] == "volunteer_vanished"
    assert told["announce"] is True  # always explained, even with silent hand-offs
    status = await s.recv("queue.status", where=lambda f: f["conversation_id"] == cid)
    assert status["position"] == 1
    alert = await sup.recv("staff.alert", where=lambda f: f["code"] == "volunteer_vanished")
    assert alert["conversation_id"] == cid and alert["escalation_id"] == escalation_id
    moved = await sup.recv("conversation.transferred", where=lambda f: f["conversation_id"] == cid)
    assert moved["by_role"] == "system" and moved["note"] is None

    # The next volunteer gets it with its history; the escalation stays open with it.
    nxt = await world.staff.create(languages=[language])
    n = await WsClient.open(world.server.ws_url, nxt.token)
    await n.send({"type": "queue.take"})
    started = await n.recv("conversation.started")
    assert started["conversation_id"] == cid
    assert (await n.recv("chat.message"))["text"] == "hi"
    # The vanished volunteer, back later, no longer has it; their part of a high-risk chat
    # is over, so a cool-down and a debrief wait for them.
    back = await WsClient.open(world.server.ws_url, volunteer.token)
    assert cid not in [c["conversation_id"] for c in back.auth_ok["active_conversations"]]
    ((cooldown_until,),) = await sql(
        world.database_url,
        "SELECT cooldown_until FROM staff_users WHERE id = :v",
        v=volunteer.user_id,
    )
    assert cooldown_until is not None
    told = await back.recv("volunteer.cooldown")  # after their auth.ok: they were away
    assert (told["conversation_id"], told["debrief"]) == (cid, True)


async def test_a_volunteer_who_comes_back_in_time_keeps_the_chat(world: World):
    language = unique_language()
    s, v, volunteer, sup, cid, _ = await chat_with_escalation(world, language)
    await v.close()
    await asyncio.sleep(VANISH_S / 2)
    v2 = await WsClient.open(world.server.ws_url, volunteer.token)
    assert cid in [c["conversation_id"] for c in v2.auth_ok["active_conversations"]]
    await s.nothing("conversation.handed_over", within=VANISH_S + 2)
    await v2.send({"type": "chat.send", "conversation_id": cid, "client_msg_id": "v", "text": "hi"})
    await s.recv("chat.message", where=lambda f: f["client_msg_id"] == "v")


async def test_a_silent_hand_off_shows_the_seeker_no_message(world: World):
    language = unique_language()
    seeker = await new_seeker(world.server.base_url, language)
    s = await WsClient.open(world.server.ws_url, seeker["seeker_token"])
    first = await world.staff.create(languages=[language])
    v = await WsClient.open(world.server.ws_url, first.token)
    second = await world.staff.create(languages=[language])
    w = await WsClient.open(world.server.ws_url, second.token)
    await w.send({"type": "availability.set", "available": True})
    await w.recv("availability.ok")
    await s.send({"type": "queue.join"})
    cid = (await s.recv("queue.status"))["conversation_id"]
    await v.send({"type": "queue.take"})
    await s.recv("conversation.started")
    await v.send(
        {
            "type": "conversation.transfer",
            "conversation_id": cid,
            "to": "volunteer",
            "volunteer_id": second.user_id,
            "note": "quiet hand-off",
        }
    )
    await v.recv("conversation.transfer.ok")
    told = await s.recv("conversation.handed_over")
    assert told["announce"] is False and told["peer_alias"] == second.alias
    assert "note" not in told
    # Back to the queue is always explained, even here.
    await w.recv("conversation.started")
    await w.send(
        {"type": "conversation.transfer", "conversation_id": cid, "to": "queue", "note": "break"}
    )
    await w.recv("conversation.transfer.ok")
    told = await s.recv("conversation.handed_over")
    assert told["to"] == "queue" and told["announce"] is True
