"""State that survives a reload or a second look: the seeker's chosen language, a
supervisor's on-call switch and a volunteer's limits, as the server keeps them. Real server and
sockets, on SQLite and on PostgreSQL."""

from __future__ import annotations

import httpx

from tests.conftest import StaffFactory
from tests.support import Server, WsClient, paired


async def me(server: Server, token: str) -> dict:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        answer = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def test_a_language_chosen_mid_chat_is_kept_and_the_volunteer_is_told(
    server: Server, staff: StaffFactory
):
    s, v, cid, seeker = await paired(server, staff)
    await s.send({"type": "conversation.language", "conversation_id": cid, "language": "hi"})
    told = await v.recv("conversation.language")
    assert (told["conversation_id"], told["language"]) == (cid, "hi")
    assert told["previous"] not in (None, "hi")
    # A reload on either side finds the new language.
    back = await WsClient.open(server.ws_url, seeker["seeker_token"])
    assert back.auth_ok["active_conversations"][0]["language"] == "hi"
    again = await WsClient.open(server.ws_url, v.staff.token)
    assert again.auth_ok["active_conversations"][0]["language"] == "hi"
    assert (await me(server, seeker["seeker_token"]))["languages"] == ["hi"]
    # Saying it twice changes nothing and tells nobody again.
    await s.send({"type": "conversation.language", "conversation_id": cid, "language": "hi"})
    await v.nothing("conversation.language", within=0.4)


async def test_only_the_seeker_changes_the_language(server: Server, staff: StaffFactory):
    s, v, cid, _ = await paired(server, staff)
    await v.send({"type": "conversation.language", "conversation_id": cid, "language": "hi"})
    await v.error("forbidden")
    await s.send({"type": "conversation.language", "conversation_id": cid, "language": "Hindi!"})
    await s.error("invalid_frame")


async def test_me_tells_a_supervisor_whether_they_are_on_call(server: Server, staff: StaffFactory):
    person = await staff.create("supervisor")
    assert (await me(server, person.token))["on_call"] is False
    sup = await WsClient.open(server.ws_url, person.token)
    await sup.send({"type": "oncall.set", "on_call": True})
    await sup.recv("oncall.ok")
    assert (await me(server, person.token))["on_call"] is True
    await sup.send({"type": "oncall.set", "on_call": False})
    await sup.recv("oncall.ok")


async def test_me_tells_a_volunteer_the_most_chats_they_may_take(
    server: Server, staff: StaffFactory
):
    person = await staff.create(max_chats=1)
    account = await me(server, person.token)
    assert account["max_concurrent_chats"] == 1 and account["capacity"] >= 1
    v = await WsClient.open(server.ws_url, person.token)
    await v.send({"type": "availability.set", "available": True, "capacity": 2})
    await v.error("invalid_frame")
    assert (await me(server, person.token))["available"] is False


async def test_an_admin_lowering_the_most_chats_tells_the_volunteers_sockets_at_once(
    server: Server, staff: StaffFactory
):
    """An admin's change to a volunteer's most chats at once reached their console only at
    a reload: the console kept offering the old capacity, and every availability change
    was then refused. Each socket of the volunteer now gets ``availability.ok`` (no ``ref``)
    with the new ``max_concurrent_chats`` and the capacity lowered with it; another
    volunteer hears nothing, and a change of something else sends nothing."""
    person = await staff.create(max_chats=3)
    admin = await staff.create("admin")
    v = await WsClient.open(server.ws_url, person.token)
    second = await WsClient.open(server.ws_url, person.token)
    other = await WsClient.open(server.ws_url, (await staff.create()).token)
    await v.send({"type": "availability.set", "available": True, "capacity": 3, "ref": "a"})
    ok = await v.recv("availability.ok")
    assert (ok["ref"], ok["capacity"], ok["max_concurrent_chats"]) == ("a", 3, 3)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        answer = await http.patch(
            f"/api/v1/staff/{person.user_id}",
            json={"max_concurrent_chats": 1},
            headers={"Authorization": f"Bearer {admin.token}"},
        )
        assert answer.status_code == 200, answer.text
        for socket in (v, second):
            told = await socket.recv("availability.ok")
            assert told["ref"] is None
            assert (told["max_concurrent_chats"], told["capacity"]) == (1, 1)
            assert (told["available"], told["active_chats"]) == (True, 0)
        await other.nothing("availability.ok", within=0.3)
        answer = await http.patch(
            f"/api/v1/staff/{person.user_id}",
            json={"topics": ["exams"]},
            headers={"Authorization": f"Bearer {admin.token}"},
        )
        assert answer.status_code == 200, answer.text
        await v.nothing("availability.ok", within=0.3)
    await v.send({"type": "availability.set", "available": True, "capacity": 1})
    assert (await v.recv("availability.ok"))["capacity"] == 1


async def test_a_supervisor_who_joined_is_told_again_on_resume(server: Server, staff: StaffFactory):
    s, v, cid, seeker = await paired(server, staff)
    person = await staff.create("supervisor")
    sup = await WsClient.open(server.ws_url, person.token)
    await sup.send({"type": "conversation.join", "conversation_id": cid})
    joined = await s.recv("conversation.joined")
    assert joined["staff_alias"] == person.alias

    back = await WsClient.open(server.ws_url, seeker["seeker_token"])
    await back.send({"type": "conversation.resume", "conversation_id": cid, "after_seq": 0})
    again = await back.recv("conversation.joined")
    assert (again["conversation_id"], again["staff_alias"]) == (cid, person.alias)
    await back.recv("conversation.resumed")

    console = await WsClient.open(server.ws_url, v.staff.token)
    await console.send({"type": "conversation.resume", "conversation_id": cid, "after_seq": 0})
    assert (await console.recv("conversation.joined"))["staff_alias"] == person.alias
