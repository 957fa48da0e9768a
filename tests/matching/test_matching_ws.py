"""The queue over real sockets: positions, leaving, capacity, training, auto-assign."""

from __future__ import annotations

import asyncio

from tests.conftest import StaffFactory
from tests.support import Server, WsClient, new_seeker, unique_language


async def join(server: Server, language: str, **extra) -> tuple[WsClient, dict, str]:
    seeker = await new_seeker(server.base_url, language, **extra)
    c = await WsClient.open(server.ws_url, seeker["seeker_token"])
    await c.send({"type": "queue.join"})
    # queue.status, unless a volunteer (auto-assign) takes the chat at once.
    first = await c.recv(("queue.status", "conversation.started"))
    if first["type"] == "conversation.started":
        c.pending.insert(0, first)
    return c, seeker, first["conversation_id"]


async def test_positions_update_as_the_queue_moves(server: Server, staff: StaffFactory):
    language = unique_language()
    first, _, c1 = await join(server, language)
    second = await WsClient.open(
        server.ws_url, (await new_seeker(server.base_url, language))["seeker_token"]
    )
    await second.send({"type": "queue.join"})
    status = await second.recv("queue.status")
    assert status["position"] == 2
    c2 = status["conversation_id"]
    volunteer = await staff.create(languages=[language])
    v = await WsClient.open(server.ws_url, volunteer.token)
    await v.send({"type": "queue.take"})
    started = await v.recv("conversation.started")
    assert started["conversation_id"] == c1  # the longest wait first
    moved = await second.recv("queue.status", where=lambda f: f["position"] == 1)
    assert moved["conversation_id"] == c2


async def test_a_seeker_who_left_is_never_assigned(server: Server, staff: StaffFactory):
    language = unique_language()
    c, _, cid = await join(server, language)
    await c.send({"type": "queue.leave", "conversation_id": cid})
    ended = await c.recv("conversation.ended")
    assert ended["status"] == "abandoned"
    volunteer = await staff.create(languages=[language])
    v = await WsClient.open(server.ws_url, volunteer.token)
    await v.send({"type": "queue.take"})
    await v.error("queue_empty")
    # The seeker can queue again afterwards, but not twice at once.
    await c.send({"type": "queue.join"})
    await c.recv("queue.status")
    await c.send({"type": "queue.join"})
    await c.error("already_queued")


async def test_untrained_volunteer_cannot_take(server: Server, staff: StaffFactory):
    language = unique_language()
    await join(server, language)
    volunteer = await staff.create(languages=[language], trained=False)
    v = await WsClient.open(server.ws_url, volunteer.token)
    await v.send({"type": "queue.take"})
    await v.error("not_trained")


async def test_capacity_is_never_exceeded(server: Server, staff: StaffFactory):
    language = unique_language()
    for _ in range(3):
        await join(server, language)
    volunteer = await staff.create(languages=[language], max_chats=2)
    v = await WsClient.open(server.ws_url, volunteer.token)
    await v.send({"type": "availability.set", "available": True, "capacity": 3})
    await v.error("invalid_frame")
    for _ in range(2):
        await v.send({"type": "queue.take"})
        await v.recv("conversation.started")
    await v.send({"type": "queue.take"})
    await v.error("at_capacity")


async def test_auto_assign_gives_the_next_seeker_when_capacity_frees(
    server: Server, staff: StaffFactory
):
    language = unique_language()
    volunteer = await staff.create(languages=[language], max_chats=1)
    v = await WsClient.open(server.ws_url, volunteer.token)
    await v.send({"type": "availability.set", "available": True, "auto_assign": True})
    await v.recv("availability.ok")
    s1, _, c1 = await join(server, language)
    started = await v.recv("conversation.started", timeout=5)
    assert started["conversation_id"] == c1
    await s1.recv("conversation.started")
    s2, _, c2 = await join(server, language)
    await v.nothing("conversation.started", within=0.5)  # at capacity: s2 waits
    await v.send({"type": "conversation.end", "conversation_id": c1, "reason": "done"})
    nxt = await v.recv("conversation.started", timeout=5)
    assert nxt["conversation_id"] == c2


async def test_no_volunteer_online_is_said_honestly_then_updates(
    server: Server, staff: StaffFactory
):
    language = unique_language()
    c, _, _ = await join(server, language)
    await asyncio.sleep(0)
    volunteer = await staff.create(languages=[language])
    v = await WsClient.open(server.ws_url, volunteer.token)
    await v.send({"type": "availability.set", "available": True})
    status = await c.recv("queue.status", where=lambda f: f["eligible_online"] == 1)
    assert status["no_volunteer_online"] is False
    await v.close()  # a volunteer whose socket closed is no longer online
    gone = await c.recv("queue.status", where=lambda f: f["eligible_online"] == 0)
    assert gone["no_volunteer_online"] is True and gone["estimated_wait_s"] is None
