"""``GET /api/v1/method-cues``: the chats whose method-cue alert still stands, read from the
database, so a supervisors' desk that loads or reconnects after a ``staff.alert`` of code
``method_cue`` still knows the chat is unscreened (docs/protocol.md, Supervisors' REST).
Real servers, sockets and HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from tests.conftest import StaffFactory
from tests.escalation.test_escalation_ws import run_checklist
from tests.support import Server, WsClient, new_seeker, paired, unique_language

METHOD_CUE = "i have pills"  # means_medicine: method_or_attempt (lexicon v15)
WARNING_SIGN = "I feel like a burden to everyone"  # a cue that alerts no supervisor


async def listed(server: Server, token: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        r = await http.get("/api/v1/method-cues", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert list(r.json()) == ["method_cues"]
    return list(r.json()["method_cues"])


def about(cues: list[dict[str, Any]], *conversation_ids: str) -> list[dict[str, Any]]:
    """The entries of these conversations (the shared server holds other tests' chats)."""
    return [c for c in cues if c["conversation_id"] in conversation_ids]


async def seeker_writes(s: WsClient, v: WsClient, cid: str, text: str, *, seq: int) -> dict:
    """The seeker writes message ``seq``; returns the volunteer's ``risk.cue`` for it (it
    comes after the flag is committed)."""
    await s.send({"type": "chat.send", "conversation_id": cid, "client_msg_id": f"m{seq}",
                  "text": text})  # fmt: skip
    return await v.recv("risk.cue", where=lambda f: f["seq"] == seq)


async def test_a_method_cue_is_listed_until_the_chat_is_screened(
    server: Server, staff: StaffFactory
):
    sup = await staff.create("supervisor")  # not on call: the list is every supervisor's
    admin = await staff.create("admin")
    s, v, cid, seeker = await paired(server, staff)
    assert about(await listed(server, sup.token), cid) == []

    # A warning sign alerts no supervisor: not listed.
    cue = await seeker_writes(s, v, cid, WARNING_SIGN, seq=1)
    assert cue["cue_class"] != "method_or_attempt"
    assert about(await listed(server, sup.token), cid) == []

    before = datetime.now().astimezone()
    cue = await seeker_writes(s, v, cid, METHOD_CUE, seq=2)
    assert cue["cue_class"] == "method_or_attempt"
    [entry] = about(await listed(server, sup.token), cid)
    assert set(entry) == {"conversation_id", "seq", "flagged_at", "level", "status"}
    assert (entry["seq"], entry["level"], entry["status"]) == (2, "none", "active")
    assert entry["flagged_at"].endswith("Z")
    flagged_at = datetime.fromisoformat(entry["flagged_at"])
    assert before.timestamp() - 1 <= flagged_at.timestamp() <= datetime.now().timestamp() + 1
    assert METHOD_CUE not in str(entry) and seeker["alias"] not in str(entry)
    assert about(await listed(server, admin.token), cid) == [entry]

    # The newest flagged message is the one named; clinical judgment is not a screen.
    await s.send({"type": "chat.send", "conversation_id": cid, "client_msg_id": "m3",
                  "text": "thanks for listening"})  # fmt: skip
    await v.recv("chat.message", where=lambda f: f["seq"] == 3)
    await seeker_writes(s, v, cid, "i took 20 sleeping pills", seq=4)
    await v.send({"type": "risk.concern", "conversation_id": cid, "level": "low",
                  "reason": "pills"})  # fmt: skip
    await v.recv("risk.assessed")
    [entry] = about(await listed(server, sup.token), cid)
    assert (entry["seq"], entry["level"], entry["status"]) == (4, "low", "active")

    # The first screen answers it: gone for good, a later method cue included.
    await run_checklist(v, cid, {})
    assert about(await listed(server, sup.token), cid) == []
    await seeker_writes(s, v, cid, METHOD_CUE, seq=5)
    assert about(await listed(server, admin.token), cid) == []


async def test_only_supervisors_and_admins_may_read_the_list(server: Server, staff: StaffFactory):
    s, v, cid, seeker = await paired(server, staff)
    await seeker_writes(s, v, cid, METHOD_CUE, seq=1)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        for token in (v.staff.token, seeker["seeker_token"]):  # type: ignore[attr-defined]
            r = await http.get("/api/v1/method-cues", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", r.text
        r = await http.get("/api/v1/method-cues")
        assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated", r.text
        r = await http.get("/api/v1/method-cues", headers={"Authorization": "Bearer nonsense"})
        assert r.status_code == 401, r.text


async def test_an_ended_chat_leaves_the_list(server: Server, staff: StaffFactory):
    sup = await staff.create("supervisor")
    s, v, cid, _ = await paired(server, staff)
    await seeker_writes(s, v, cid, METHOD_CUE, seq=1)
    assert [c["seq"] for c in about(await listed(server, sup.token), cid)] == [1]
    await v.send({"type": "conversation.end", "conversation_id": cid})
    await s.recv("conversation.ended")
    assert about(await listed(server, sup.token), cid) == []


async def test_a_seeker_who_wrote_a_method_while_waiting_is_listed_once_a_volunteer_has_the_chat(
    server: Server, staff: StaffFactory
):
    """While waiting, the seeker is one of the flagged seekers waiting (``flagged.waiting``),
    not a method-cue alert; the volunteer who takes the chat has an unscreened method cue."""
    sup = await staff.create("supervisor")
    language = unique_language()
    seeker = await new_seeker(server.base_url, language)
    s = await WsClient.open(server.ws_url, seeker["seeker_token"])
    await s.send({"type": "queue.join"})
    cid = (await s.recv("queue.status"))["conversation_id"]
    await s.send({"type": "chat.send", "conversation_id": cid, "client_msg_id": "w1",
                  "text": METHOD_CUE})  # fmt: skip
    await s.recv("chat.ack")
    assert about(await listed(server, sup.token), cid) == []

    volunteer = await staff.create(languages=[language])
    v = await WsClient.open(server.ws_url, volunteer.token)
    await v.send({"type": "queue.take"})
    assert (await v.recv("conversation.started"))["conversation_id"] == cid
    [entry] = about(await listed(server, sup.token), cid)
    assert (entry["seq"], entry["status"]) == (1, "active")


async def test_the_list_is_oldest_first_by_each_chats_newest_flag(
    server: Server, staff: StaffFactory
):
    """The last entry is the chat a desk listening all along was alerted about last."""
    sup = await staff.create("supervisor")
    s1, v1, first, _ = await paired(server, staff)
    s2, v2, second, _ = await paired(server, staff)
    await seeker_writes(s1, v1, first, METHOD_CUE, seq=1)
    await seeker_writes(s2, v2, second, METHOD_CUE, seq=1)
    cues = about(await listed(server, sup.token), first, second)
    assert [c["conversation_id"] for c in cues] == [first, second]
    await seeker_writes(s1, v1, first, "i took 20 sleeping pills", seq=2)
    cues = about(await listed(server, sup.token), first, second)
    assert [(c["conversation_id"], c["seq"]) for c in cues] == [(second, 1), (first, 2)]


async def test_a_chat_handed_back_to_the_queue_stays_listed_as_waiting(
    server: Server, staff: StaffFactory
):
    """A volunteer had the chat, so the method cue was a supervisors' alert: it still stands
    while the chat waits for its next volunteer."""
    sup = await staff.create("supervisor")
    s, v, cid, _ = await paired(server, staff)
    await seeker_writes(s, v, cid, METHOD_CUE, seq=1)
    await v.send({"type": "conversation.transfer", "conversation_id": cid, "to": "queue",
                  "note": "I have to go; please screen."})  # fmt: skip
    await v.recv("conversation.transfer.ok")
    [entry] = about(await listed(server, sup.token), cid)
    assert (entry["seq"], entry["status"]) == (1, "waiting")
