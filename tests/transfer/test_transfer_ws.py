"""Warm transfer over real sockets, on SQLite and PostgreSQL: a chat handed to another
volunteer or back to the queue, what each person sees, and what is refused."""

from __future__ import annotations

import json

import httpx

from tests.conftest import Backend, StaffFactory
from tests.escalation.test_escalation_ws import audit_actions
from tests.support import Server, WsClient, new_seeker, paired, sql, unique_language

NOTE = "Exams next week, sleeping badly; she finds breathing exercises help. ASQ half done."


async def available(server: Server, staff: StaffFactory, language: str, **kw) -> WsClient:
    """A volunteer who is online and available (a possible receiver of a chat)."""
    person = await staff.create(languages=[language], **kw)
    c = await WsClient.open(server.ws_url, person.token)
    c.staff = person  # type: ignore[attr-defined]
    await c.send({"type": "availability.set", "available": True})
    await c.recv("availability.ok")
    return c


async def say(c: WsClient, cid: str, text: str, msg_id: str) -> None:
    await c.send(
        {"type": "chat.send", "conversation_id": cid, "client_msg_id": msg_id, "text": text}
    )
    await c.recv("chat.ack", where=lambda f: f["client_msg_id"] == msg_id)


def transfer(cid: str, *, to: str = "volunteer", volunteer_id: str | None = None, **kw) -> dict:
    frame = {"type": "conversation.transfer", "conversation_id": cid, "to": to, "note": NOTE}
    if volunteer_id is not None:
        frame["volunteer_id"] = volunteer_id
    return {**frame, **kw}


async def transfers_stored(database_url: str, cid: str) -> list:
    return await sql(
        database_url,
        "SELECT to_volunteer_id, note FROM conversation_transfers WHERE conversation_id = :c",
        c=cid,
    )


async def test_a_chat_handed_to_another_volunteer_moves_with_its_history_and_note(
    server: Server, staff: StaffFactory, backend: Backend
):
    language = unique_language()
    s, v, cid, _ = await paired(server, staff, language=language)
    boss = await staff.create("supervisor")
    sup = await WsClient.open(server.ws_url, boss.token)
    await say(s, cid, "I can't sleep before exams", "s1")
    await say(v, cid, "That sounds exhausting. I'm here.", "v1")
    await v.send({"type": "risk.start", "conversation_id": cid})
    first = await v.recv("risk.checklist")
    await v.send({"type": "risk.answer", "conversation_id": cid, "item_id": "asq1", "value": "yes"})
    await v.recv("risk.checklist", where=lambda f: len(f["answered"]) == 1)
    w = await available(server, staff, language)

    await v.send({**transfer(cid, volunteer_id=w.staff.user_id), "ref": "t1"})
    ok = await v.recv("conversation.transfer.ok")
    assert ok["ref"] == "t1" and ok["conversation_id"] == cid

    # The new volunteer: the chat, who had it, the note, and every message from seq 1.
    started = await w.recv("conversation.started")
    assert started["conversation_id"] == cid and started["your_role"] == "volunteer"
    handover = started["handover"]
    assert handover["note"] == NOTE and handover["from_alias"] == v.staff.alias
    assert handover["to"] == "volunteer" and handover["reason"] == "handover"
    history = [await w.recv("chat.message") for _ in range(2)]
    assert [m["text"] for m in history] == [
        "I can't sleep before exams",
        "That sounds exhausting. I'm here.",
    ]

    # The seeker: the new alias, and nothing of the note.
    told = await s.recv("conversation.handed_over")
    assert told == {
        "type": "conversation.handed_over",
        "conversation_id": cid,
        "to": "volunteer",
        "peer_alias": w.staff.alias,
        "reason": "handover",
        "announce": True,
    }
    # The old volunteer is told, with the note, and stops receiving the chat.
    gone = await v.recv("conversation.transferred")
    assert gone["to_alias"] == w.staff.alias and gone["note"] == NOTE
    # Supervisors see the hand-over and its note.
    seen = await sup.recv("conversation.transferred", where=lambda f: f["conversation_id"] == cid)
    assert seen["note"] == NOTE and seen["by_role"] == "volunteer"

    # The checklist in progress continues with the new volunteer.
    await w.send({"type": "risk.start", "conversation_id": cid})
    resumed = await w.recv("risk.checklist")
    assert resumed["assessment_id"] == first["assessment_id"]
    assert resumed["answers"] == {"asq1": "yes"}

    # They talk; the old volunteer can no longer read or write.
    await say(w, cid, "Hi, I'm here now too.", "w1")
    assert (await s.recv("chat.message", where=lambda f: f["seq"] == 3))[
        "sender_alias"
    ] == w.staff.alias
    v.pending.clear()  # what arrived before the hand-over
    await v.nothing("chat.message", within=0.3)
    await v.send({"type": "chat.send", "conversation_id": cid, "client_msg_id": "v2", "text": "x"})
    await v.error("not_found")
    await v.send({"type": "conversation.resume", "conversation_id": cid, "after_seq": 0})
    await v.error("not_found")
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        r = await http.get(
            f"/api/v1/conversations/{cid}/messages",
            headers={"Authorization": f"Bearer {v.staff.token}"},
        )
        assert r.status_code == 404
    again = await WsClient.open(server.ws_url, v.staff.token)
    assert cid not in [c["conversation_id"] for c in again.auth_ok["active_conversations"]]

    # The seeker reconnecting sees the new volunteer; nothing the seeker received held the note.
    s2 = await WsClient.open(server.ws_url, s.token)
    listed = [c for c in s2.auth_ok["active_conversations"] if c["conversation_id"] == cid]
    assert listed[0]["peer_alias"] == w.staff.alias
    assert all(NOTE not in json.dumps(f) for f in s.pending + s2.pending)

    # The new volunteer resuming is told of the hand-over again, note included.
    w2 = await WsClient.open(server.ws_url, w.staff.token)
    await w2.send({"type": "conversation.resume", "conversation_id": cid, "after_seq": 0})
    await w2.recv("conversation.resumed")
    assert (await w2.recv("conversation.transferred"))["note"] == NOTE

    # Stored and audited, the audit without the note.
    assert await transfers_stored(backend.database_url, cid) == [(w.staff.user_id, NOTE)]
    [entry] = [
        a
        for a in await audit_actions(backend.database_url, "conversation.transferred")
        if a["conversation_id"] == cid
    ]
    detail = entry["detail"] if isinstance(entry["detail"], dict) else json.loads(entry["detail"])
    assert entry["actor_id"] == v.staff.user_id and NOTE not in json.dumps(detail)
    assert detail["to"] == "volunteer" and detail["to_volunteer_id"] == w.staff.user_id


async def test_the_new_volunteer_gets_the_chats_cues_level_plan_and_hand_over(
    server: Server, staff: StaffFactory
):
    """Everything the conversation holds goes with it: the messages at once, and the cues,
    the level, the plan and the hand-overs with the resume a client sends after the start."""
    language = unique_language()
    s, v, cid, _ = await paired(server, staff, language=language)
    await say(s, cid, "I want to kill myself tonight", "s1")
    await v.recv("risk.cue")
    await v.send(
        {"type": "risk.concern", "conversation_id": cid, "level": "low", "reason": "low mood"}
    )
    await v.recv("risk.assessed")
    await v.send({"type": "safety_plan.open", "conversation_id": cid})
    plan = await v.recv("safety_plan")
    w = await available(server, staff, language)
    await v.send(transfer(cid, volunteer_id=w.staff.user_id))
    await w.recv("conversation.started")
    assert (await w.recv("chat.message"))["seq"] == 1
    await w.send({"type": "conversation.resume", "conversation_id": cid, "after_seq": 1})
    await w.recv("conversation.resumed")
    cue = await w.recv("risk.cue", timeout=2)
    assert cue["conversation_id"] == cid and cue["seq"] == 1
    assert (await w.recv("risk.assessed", timeout=2))["level"] == "low"
    assert (await w.recv("safety_plan", timeout=2))["plan_id"] == plan["plan_id"]
    told = await w.recv("conversation.transferred", timeout=2)
    assert told["history"] is True and told["note"] == NOTE
    # Once each, and the seeker's socket is sent none of the staff's state.
    await w.nothing("risk.cue", within=0.3)
    await s.nothing("risk.assessed", within=0.1)


async def test_a_chat_handed_back_to_the_queue_is_served_first_with_its_history(
    server: Server, staff: StaffFactory
):
    language = unique_language()
    s, v, cid, _ = await paired(server, staff, language=language)
    await say(s, cid, "hello", "s1")
    newcomer = await new_seeker(server.base_url, language)
    n = await WsClient.open(server.ws_url, newcomer["seeker_token"])
    await n.send({"type": "queue.join"})
    await n.recv("queue.status")

    await v.send(transfer(cid, to="queue"))
    await v.recv("conversation.transfer.ok")
    told = await s.recv("conversation.handed_over")
    assert told["to"] == "queue" and told["peer_alias"] is None and told["announce"] is True
    status = await s.recv("queue.status", where=lambda f: f["conversation_id"] == cid)
    assert status["position"] == 1  # ahead of the seeker who joined before the hand-over
    assert (await v.recv("conversation.transferred"))["to"] == "queue"

    other = await staff.create(languages=[language])
    o = await WsClient.open(server.ws_url, other.token)
    await o.send({"type": "queue.take"})
    started = await o.recv("conversation.started")
    assert started["conversation_id"] == cid
    assert (await o.recv("chat.message"))["text"] == "hello"
    assert (await s.recv("conversation.started"))["peer_alias"] == other.alias


async def test_a_supervisor_reassigns_a_chat_and_it_is_audited(
    server: Server, staff: StaffFactory, backend: Backend
):
    language = unique_language()
    s, v, cid, _ = await paired(server, staff, language=language)
    w = await available(server, staff, language)
    boss = await staff.create("supervisor")
    sup = await WsClient.open(server.ws_url, boss.token)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        r = await http.get(
            f"/api/v1/conversations/{cid}/transfer-targets",
            headers={"Authorization": f"Bearer {boss.token}"},
        )
    assert r.status_code == 200
    assert [t["volunteer_id"] for t in r.json()["targets"]] == [w.staff.user_id]
    await sup.send(transfer(cid, volunteer_id=w.staff.user_id))
    await sup.recv("conversation.transfer.ok")
    assert (await w.recv("conversation.started"))["handover"]["by_role"] == "supervisor"
    assert (await v.recv("conversation.transferred"))["by_alias"] == boss.alias
    await s.recv("conversation.handed_over")
    audited = [
        a
        for a in await audit_actions(backend.database_url, "conversation.transferred")
        if a["conversation_id"] == cid
    ]
    assert [a["actor_id"] for a in audited] == [boss.user_id]
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        metrics = (await http.get("/metrics")).text
    assert 'peerline_transfers_total{reason="handover",to="volunteer"}' in metrics


async def test_transfer_targets_list_only_who_could_take_it(server: Server, staff: StaffFactory):
    language = unique_language()
    s, v, cid, _ = await paired(server, staff, language=language)
    fits = await available(server, staff, language)
    await available(server, staff, "zz-" + language[:4])  # another language
    full = await available(server, staff, language, max_chats=1)
    await full.send({"type": "availability.set", "available": True, "capacity": 1})
    await full.recv("availability.ok")
    busy_seeker = await new_seeker(server.base_url, language)
    b = await WsClient.open(server.ws_url, busy_seeker["seeker_token"])
    await b.send({"type": "queue.join"})
    await b.recv("queue.status")
    await full.send({"type": "queue.take"})
    await full.recv("conversation.started")
    await staff.create(languages=[language])  # never said they are available
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        mine = await http.get(
            f"/api/v1/conversations/{cid}/transfer-targets",
            headers={"Authorization": f"Bearer {v.staff.token}"},
        )
        stranger = await http.get(
            f"/api/v1/conversations/{cid}/transfer-targets",
            headers={"Authorization": f"Bearer {fits.staff.token}"},
        )
        seeker = await http.get(
            f"/api/v1/conversations/{cid}/transfer-targets",
            headers={"Authorization": f"Bearer {s.token}"},
        )
    assert mine.status_code == 200
    assert [t["alias"] for t in mine.json()["targets"]] == [fits.staff.alias]
    assert mine.json()["targets"][0]["free_slots"] == 2
    assert stranger.status_code == 404
    assert seeker.status_code == 403

    # Only an active chat can be handed over: once it ended, nobody could take it.
    await v.send({"type": "conversation.end", "conversation_id": cid})
    await v.recv("conversation.ended")
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        ended = await http.get(
            f"/api/v1/conversations/{cid}/transfer-targets",
            headers={"Authorization": f"Bearer {v.staff.token}"},
        )
    assert ended.status_code == 200
    assert ended.json() == {"conversation_id": cid, "targets": []}


async def test_bad_and_hostile_transfers_are_refused_and_store_nothing(
    server: Server, staff: StaffFactory, backend: Backend
):
    language = unique_language()
    s, v, cid, _ = await paired(server, staff, language=language)
    other_language = await available(server, staff, "zz-" + language[:4])
    stranger = await available(server, staff, language)
    resting = await staff.create(languages=[language])  # not available
    full = await available(server, staff, language, max_chats=1)
    await full.send({"type": "availability.set", "available": True, "capacity": 1})
    await full.recv("availability.ok")
    busy = await new_seeker(server.base_url, language)
    b = await WsClient.open(server.ws_url, busy["seeker_token"])
    await b.send({"type": "queue.join"})
    await b.recv("queue.status")
    await full.send({"type": "queue.take"})
    await full.recv("conversation.started")

    cases = [
        (transfer(cid, volunteer_id=other_language.staff.user_id), "target_language"),
        (transfer(cid, volunteer_id=resting.user_id), "target_unavailable"),
        (transfer(cid, volunteer_id="0" * 32), "target_unavailable"),
        (transfer(cid, volunteer_id=full.staff.user_id), "target_at_capacity"),
        (transfer(cid, volunteer_id=v.staff.user_id), "same_volunteer"),
        (transfer(cid), "invalid_frame"),  # to volunteer without volunteer_id
        (transfer(cid, to="queue", volunteer_id=stranger.staff.user_id), "invalid_frame"),
        (transfer(cid, to="elsewhere"), "invalid_frame"),
        (transfer(cid, to="queue", note="   "), "text_empty"),
        (transfer(cid, to="queue", note="\u200b\u200c "), "text_empty"),  # shows nothing
        (transfer(cid, to="queue", note="x" * 1001), "text_too_long"),
        (transfer(cid, to="queue", note="hi\u0000there"), "invalid_frame"),
        (transfer(cid, to="queue", note=None), "invalid_frame"),
        (transfer("nope", to="queue"), "not_found"),
    ]
    for frame, code in cases:
        await v.send(frame)
        answer = await v.recv("error")
        assert answer["code"] == code, (frame, answer)
    # Someone else's chat cannot be told from one that does not exist; a seeker may not.
    await stranger.send(transfer(cid, to="queue"))
    await stranger.error("not_found")
    await s.send(transfer(cid, to="queue"))
    await s.error("forbidden")
    # Nothing moved, nothing stored, every socket still usable.
    assert await transfers_stored(backend.database_url, cid) == []
    await s.nothing("conversation.handed_over", within=0.2)
    await say(v, cid, "still here", "v-after")
    await s.recv("chat.message", where=lambda f: f["text"] == "still here")

    # A waiting or ended chat cannot be handed over.
    await v.send({"type": "conversation.end", "conversation_id": cid, "reason": "done"})
    await v.recv("conversation.ended")
    await v.send(transfer(cid, to="queue"))
    await v.error("conversation_closed")
    waiting = await new_seeker(server.base_url, language)
    wc = await WsClient.open(server.ws_url, waiting["seeker_token"])
    await wc.send({"type": "queue.join"})
    wid = (await wc.recv("queue.status"))["conversation_id"]
    boss = await staff.create("supervisor")
    sup = await WsClient.open(server.ws_url, boss.token)
    await sup.send(transfer(wid, to="queue"))
    await sup.error("invalid_transition")


async def test_a_volunteer_whose_chat_was_taken_over_cannot_hand_it_on(
    server: Server, staff: StaffFactory
):
    language = unique_language()
    s, v, cid, _ = await paired(server, staff, language=language)
    boss = await staff.create("supervisor")
    sup = await WsClient.open(server.ws_url, boss.token)
    await sup.send({"type": "conversation.takeover", "conversation_id": cid})
    await v.recv("conversation.taken_over")
    await v.send(transfer(cid, to="queue"))
    await v.error("forbidden")
    # The supervisor hands it to another volunteer, who can write: the lead is given up.
    w = await available(server, staff, language)
    await sup.send(transfer(cid, volunteer_id=w.staff.user_id))
    await sup.recv("conversation.transfer.ok")
    await w.recv("conversation.started")
    await say(w, cid, "I'm here with you now.", "w1")
    await s.recv("chat.message", where=lambda f: f["client_msg_id"] == "w1")


async def test_a_volunteer_the_chat_was_handed_on_from_may_still_report_its_seeker(
    server: Server, staff: StaffFactory, backend: Backend
):
    """A volunteer who hands a chat on because of how the seeker treats them must still be
    able to report it (``seeker.report``), during the chat and after it ended; another
    volunteer, who never had it, still gets ``not_found``."""
    language = unique_language()
    s, v, cid, _ = await paired(server, staff, language=language)
    receiver = await available(server, staff, language)
    await v.send(transfer(cid, volunteer_id=receiver.staff.user_id))  # type: ignore[attr-defined]
    await v.recv("conversation.transfer.ok")
    await receiver.recv("conversation.started")
    sup = await WsClient.open(server.ws_url, (await staff.create("supervisor")).token)
    await v.send({"type": "seeker.report", "conversation_id": cid, "ref": "r1"})
    assert (await v.recv("seeker.report.ok"))["ref"] == "r1"
    alert = await sup.recv(
        "staff.alert",
        where=lambda f: f["code"] == "seeker_reported" and f.get("conversation_id") == cid,
    )
    assert alert["reporter_role"] == "volunteer"
    await receiver.send({"type": "conversation.end", "conversation_id": cid})
    await s.recv("conversation.ended")
    await v.send({"type": "seeker.report", "conversation_id": cid, "ref": "r2"})
    assert (await v.recv("seeker.report.ok"))["ref"] == "r2"
    reports = await audit_actions(backend.database_url, "seeker.reported")
    assert [r["actor_id"] for r in reports if r["conversation_id"] == cid] == [v.staff.user_id] * 2
    stranger = await WsClient.open(server.ws_url, (await staff.create(languages=[language])).token)
    await stranger.send({"type": "seeker.report", "conversation_id": cid})
    await stranger.error("not_found")
