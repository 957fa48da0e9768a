"""Quick exit as the people on the other side live it: the volunteer is told, a supervisor is
alerted when the chat was at risk, the queue forgets the seeker, and the token is dead.
Real server and sockets, on SQLite and on PostgreSQL."""

from __future__ import annotations

import httpx

from tests.conftest import Fresh, StaffFactory
from tests.support import Server, WsClient, new_seeker, paired, unique_language

CLOSE_QUICK_EXIT = 4100


async def token_is_dead(server: Server, token: str) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        me = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401
    again = await WsClient.open(server.ws_url, token, expect_ok=False)
    assert await again.close_code() == 4401


async def supervisor_on_call(server: Server, staff: StaffFactory) -> WsClient:
    person = await staff.create("supervisor")
    sup = await WsClient.open(server.ws_url, person.token)
    await sup.send({"type": "oncall.set", "on_call": True})
    await sup.recv("oncall.ok")
    return sup


async def test_quick_exit_frame_ends_the_chat_for_the_volunteer_and_kills_the_token(
    server: Server, staff: StaffFactory
):
    s, v, cid, seeker = await paired(server, staff)
    sup = await supervisor_on_call(server, staff)
    await s.send(
        {"type": "chat.send", "conversation_id": cid, "client_msg_id": "1", "text": "wait"}
    )
    await v.recv("chat.message")

    await s.send({"type": "quick_exit"})

    ended = await v.recv("conversation.ended")
    assert (ended["conversation_id"], ended["by"], ended["reason"], ended["status"]) == (
        cid,
        "seeker",
        "quick_exit",
        "ended",
    )
    assert await s.close_code() == 4401
    await token_is_dead(server, seeker["seeker_token"])
    # Nothing was at risk: supervisors are not disturbed.
    await sup.nothing("staff.alert", within=0.5)
    await v.send({"type": "chat.send", "conversation_id": cid, "client_msg_id": "x", "text": "hi"})
    await v.error("conversation_closed")


async def test_quick_exit_from_a_chat_at_risk_alerts_the_supervisor(
    server: Server, staff: StaffFactory
):
    sup = await supervisor_on_call(server, staff)
    s, v, cid, _ = await paired(server, staff)
    await v.send(
        {"type": "risk.concern", "conversation_id": cid, "level": "low", "reason": "worried"}
    )
    assert (await v.recv("risk.assessed"))["level"] == "low"

    await s.send({"type": "quick_exit"})

    alert = await sup.recv(
        "staff.alert", where=lambda f: f.get("conversation_id") == cid, timeout=5
    )
    assert alert["code"] == "quick_exit" and alert["level"] == "low"
    assert (await v.recv("conversation.ended"))["reason"] == "quick_exit"


async def test_quick_exit_beacon_takes_a_waiting_seeker_out_of_the_queue(
    server: Server, staff: StaffFactory
):
    language = unique_language()
    seeker = await new_seeker(server.base_url, language)
    s = await WsClient.open(server.ws_url, seeker["seeker_token"])
    await s.send({"type": "queue.join"})
    cid = (await s.recv("queue.status"))["conversation_id"]

    # navigator.sendBeacon cannot set headers: the token travels in the body.
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        answer = await http.post(
            "/api/v1/seekers/quick-exit", json={"token": seeker["seeker_token"]}
        )
        assert answer.status_code == 204
        again = await http.post(
            "/api/v1/seekers/quick-exit", json={"token": seeker["seeker_token"]}
        )
        assert again.status_code == 401

    assert await s.close_code() == 4401
    await token_is_dead(server, seeker["seeker_token"])
    volunteer = await staff.create(languages=[language])
    v = await WsClient.open(server.ws_url, volunteer.token)
    await v.send({"type": "queue.take"})
    await v.error("queue_empty")
    await v.send({"type": "availability.set", "available": True})
    summary = await v.recv("queue.summary")
    assert language not in summary["by_language"]
    assert cid  # the conversation is gone from the queue, not handed to anyone


async def test_closing_the_socket_with_the_quick_exit_code_is_a_quick_exit(
    server: Server, staff: StaffFactory
):
    s, v, cid, seeker = await paired(server, staff)

    await s.ws.close(code=CLOSE_QUICK_EXIT, reason="quick exit")

    ended = await v.recv("conversation.ended", timeout=5)
    assert (ended["conversation_id"], ended["reason"]) == (cid, "quick_exit")
    await token_is_dead(server, seeker["seeker_token"])


async def test_an_ordinary_disconnect_is_not_a_quick_exit(server: Server, staff: StaffFactory):
    s, v, cid, seeker = await paired(server, staff)
    await s.close()
    await v.nothing("conversation.ended", within=0.7)
    back = await WsClient.open(server.ws_url, seeker["seeker_token"])
    assert [c["conversation_id"] for c in back.auth_ok["active_conversations"]] == [cid]


async def test_staff_cannot_quick_exit(server: Server, staff: StaffFactory):
    person = await staff.create()
    v = await WsClient.open(server.ws_url, person.token)
    await v.send({"type": "quick_exit"})
    await v.error("forbidden")
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        answer = await http.post(
            "/api/v1/seekers/quick-exit", headers={"Authorization": f"Bearer {person.token}"}
        )
    assert answer.status_code == 401


async def test_a_flagged_seeker_who_quick_exits_from_the_queue_leaves_the_group_without_an_alert(
    fresh: Fresh,
):
    sup = await supervisor_on_call(fresh.server, fresh.staff)
    language = unique_language()
    seekers = []
    for n in range(3):
        seeker = await new_seeker(fresh.server.base_url, language)
        s = await WsClient.open(fresh.server.ws_url, seeker["seeker_token"])
        await s.send({"type": "queue.join"})
        cid = (await s.recv("queue.status"))["conversation_id"]
        await s.send(
            {"type": "chat.send", "conversation_id": cid, "client_msg_id": f"w{n}",
             "text": "i want to die"}
        )  # fmt: skip
        seekers.append(s)
    # FLAGGED_WAIT_PAGE_S = 1: the three count in the one group of flagged seekers waiting.
    await sup.recv("flagged.waiting", timeout=10, where=lambda f: f["count"] == 3)

    for s in seekers:
        await s.send({"type": "quick_exit"})
        assert await s.close_code() == 4401

    # One quiet update ends the group; nobody is alerted seeker by seeker.
    ended = await sup.recv("flagged.waiting", timeout=10, where=lambda f: f["count"] == 0)
    assert ended["alert"] is False
    await sup.nothing("staff.alert", within=0.5)


async def test_quick_exit_after_a_cue_in_the_chat_alerts_the_volunteer_and_the_supervisor(
    server: Server, staff: StaffFactory
):
    """A cue flagged on a message in the chat (not while waiting) counts as "had a cue flag":
    a colleague's audit found the alert went only for cues flagged in the queue."""
    sup = await supervisor_on_call(server, staff)
    s, v, cid, _ = await paired(server, staff)
    await s.send(
        {"type": "chat.send", "conversation_id": cid, "client_msg_id": "1",
         "text": "i want to die, i have the rope ready"}
    )  # fmt: skip
    assert (await v.recv("risk.cue"))["cue_class"] == "method_or_attempt"

    await s.send({"type": "quick_exit"})

    for who in (sup, v):
        alert = await who.recv(
            "staff.alert",
            where=lambda f: f.get("code") == "quick_exit" and f.get("conversation_id") == cid,
            timeout=5,
        )
        assert alert["level"] == "none"
    assert (await v.recv("conversation.ended"))["reason"] == "quick_exit"
