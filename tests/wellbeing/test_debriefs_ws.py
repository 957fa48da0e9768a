"""Debriefs reach the supervisor who handled the escalation; activity is counts (real server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.support import Server, WsClient, paired, sql, unique_language


async def _heavy_chat_handled_by(server: Server, staff, supervisor):  # type: ignore[no-untyped-def]
    """A chat that went high, whose escalation ``supervisor`` acknowledged, ended by the
    seeker: (volunteer socket, conversation id)."""
    s, v, cid, _ = await paired(server, staff)
    await v.send(
        {"type": "risk.concern", "conversation_id": cid, "level": "high", "reason": "plan"}
    )
    opened = await v.recv("escalation.updated", where=lambda f: f["conversation_id"] == cid)
    sup = await WsClient.open(server.ws_url, supervisor.token)
    await sup.send({"type": "escalation.ack", "escalation_id": opened["escalation_id"]})
    await v.recv(
        "escalation.updated",
        where=lambda f: f["conversation_id"] == cid and f["status"] == "acknowledged",
    )
    await s.send({"type": "conversation.end", "conversation_id": cid})
    await s.recv("conversation.ended")
    await v.recv("volunteer.cooldown")
    await s.close()
    return v, cid, sup


async def test_a_debrief_reaches_the_supervisor_who_handled_the_escalation(
    server: Server, staff, backend
):
    handler = await staff.create("supervisor")
    other = await staff.create("supervisor")
    v, cid, handler_ws = await _heavy_chat_handled_by(server, staff, handler)
    other_ws = await WsClient.open(server.ws_url, other.token)
    vh = {"Authorization": f"Bearer {v.staff.token}"}
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        body = {
            "conversation_id": cid,
            "feeling": "unsettled",
            "wants": ["talk", "rest"],
            "note": "the silence at the end stayed with me",
        }
        r = await http.post("/api/v1/debriefs", json=body, headers=vh)
        assert r.status_code == 201, r.text
        debrief = r.json()
        assert debrief["supervisor_id"] == handler.user_id and debrief["level"] == "high"
        received = await handler_ws.recv("debrief.received")
        assert received["debrief_id"] == debrief["debrief_id"]
        assert (received["feeling"], received["wants"]) == ("unsettled", ["rest", "talk"])
        assert received["volunteer_alias"] == v.staff.alias
        await other_ws.nothing("debrief.received", within=0.5)

        r = await http.post("/api/v1/debriefs", json=body, headers=vh)
        assert r.status_code == 409 and r.json()["error"]["code"] == "debrief_given"

        hh = {"Authorization": f"Bearer {handler.token}"}
        oh = {"Authorization": f"Bearer {other.token}"}
        mine = (await http.get("/api/v1/debriefs?status=open", headers=hh)).json()["debriefs"]
        assert debrief["debrief_id"] in {d["debrief_id"] for d in mine}
        theirs = (await http.get("/api/v1/debriefs", headers=oh)).json()["debriefs"]
        assert debrief["debrief_id"] not in {d["debrief_id"] for d in theirs}
        assert (await http.get("/api/v1/debriefs", headers=vh)).status_code == 403
        r = await http.post(f"/api/v1/debriefs/{debrief['debrief_id']}/seen", headers=oh)
        assert r.status_code == 404
        r = await http.post(f"/api/v1/debriefs/{debrief['debrief_id']}/seen", headers=hh)
        assert r.status_code == 200 and r.json()["status"] == "seen"
        r = await http.post(f"/api/v1/debriefs/{debrief['debrief_id']}/seen", headers=hh)
        assert r.json()["error"]["code"] == "invalid_transition"

        own = (await http.get("/api/v1/me/activity", headers=vh)).json()
        assert own["windows"]["7d"]["chats"] == 1
        assert own["windows"]["7d"]["high_risk_chats"] == 1
        assert own["windows"]["7d"]["debriefs"] == 1
        assert own["by_week"][-1]["high_risk_chats"] == 1
        assert "transcript" not in own and "messages" not in own
        viewed = await http.get(f"/api/v1/volunteers/{v.staff.user_id}/activity", headers=hh)
        assert viewed.json()["windows"] == own["windows"]
        other_volunteer = await staff.create()
        r = await http.get(f"/api/v1/volunteers/{other_volunteer.user_id}/activity", headers=vh)
        assert r.status_code == 403
        team = (await http.get("/api/v1/volunteers/activity", headers=hh)).json()["volunteers"]
        row = next(t for t in team if t["volunteer_id"] == v.staff.user_id)
        assert row["windows"]["30d"]["high_risk_chats"] == 1 and row["open_debriefs"] == 0
    actions = {
        r[0]
        for r in await sql(
            backend.database_url,
            "SELECT action FROM audit_events WHERE actor_id = :a",
            a=handler.user_id,
        )
    }
    assert {"wellbeing.debriefs_read", "wellbeing.debrief_seen", "wellbeing.activity_read"} <= (
        actions
    )
    logged = await sql(
        backend.database_url,
        "SELECT detail FROM audit_events WHERE action = 'wellbeing.debrief' "
        "AND conversation_id = :c",
        c=cid,
    )
    assert len(logged) == 1 and "silence" not in str(logged[0][0])


async def test_no_debrief_for_a_calm_chat_or_someone_elses(server: Server, staff):
    s, v, cid, _ = await paired(server, staff)
    vh = {"Authorization": f"Bearer {v.staff.token}"}
    body = {"conversation_id": cid, "feeling": "okay"}
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        r = await http.post("/api/v1/debriefs", json=body, headers=vh)
        assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_transition"
        await s.send({"type": "conversation.end", "conversation_id": cid})
        await s.recv("conversation.ended")
        r = await http.post("/api/v1/debriefs", json=body, headers=vh)
        assert r.status_code == 409  # ended, but never high or imminent
        stranger = await staff.create()
        r = await http.post(
            "/api/v1/debriefs", json=body, headers={"Authorization": f"Bearer {stranger.token}"}
        )
        assert r.status_code == 404
        r = await http.post("/api/v1/debriefs", json={**body, "feeling": "fine"}, headers=vh)
        assert r.status_code == 422


async def test_a_volunteer_who_hands_a_high_risk_chat_on_gets_the_cool_down_and_a_debrief(
    server: Server, staff, backend
):
    """The volunteer who carried a chat to high and then handed it on (perhaps because it was
    too much) is the one who most needs the cool-down and a debrief; they had neither, as the
    chat had not ended and was no longer theirs. Now their part being over counts as the end
    of it for them, and the volunteer who takes the chat on debriefs too, once it ends."""
    from tests.transfer.test_transfer_ws import available, transfer

    language = unique_language()
    s, v, cid, _ = await paired(server, staff, language=language)
    handler = await staff.create("supervisor")
    sup = await WsClient.open(server.ws_url, handler.token)
    await v.send(
        {"type": "risk.concern", "conversation_id": cid, "level": "high", "reason": "plan"}
    )
    opened = await v.recv("escalation.updated", where=lambda f: f["conversation_id"] == cid)
    await sup.send({"type": "escalation.ack", "escalation_id": opened["escalation_id"]})
    await sup.recv("escalation.updated", where=lambda f: f["status"] == "acknowledged")
    w = await available(server, staff, language)
    # The volunteer has had the chat for two hours.
    taken_at = datetime.now(UTC) - timedelta(hours=2)
    await sql(
        backend.database_url,
        "UPDATE conversations SET started_at = :t WHERE id = :c",
        t=taken_at,
        c=cid,
    )
    await v.send(transfer(cid, volunteer_id=w.staff.user_id))
    await v.recv("conversation.transferred")
    cooldown = await v.recv("volunteer.cooldown")
    assert (cooldown["conversation_id"], cooldown["debrief"]) == (cid, True)
    await w.recv("conversation.started")
    await w.nothing("volunteer.cooldown", within=0.3)  # their part goes on
    stored = await sql(
        backend.database_url,
        "SELECT cooldown_until FROM staff_users WHERE id = :v",
        v=v.staff.user_id,
    )
    assert stored[0][0] is not None

    vh = {"Authorization": f"Bearer {v.staff.token}"}
    wh = {"Authorization": f"Bearer {w.staff.token}"}
    body = {"conversation_id": cid, "feeling": "struggling", "wants": ["talk"]}
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        # The chat goes on without them: their debrief reaches the escalation's supervisor.
        r = await http.post("/api/v1/debriefs", json=body, headers=vh)
        assert r.status_code == 201, r.text
        assert (r.json()["volunteer_id"], r.json()["supervisor_id"]) == (
            v.staff.user_id,
            handler.user_id,
        )
        received = await sup.recv("debrief.received")
        assert received["volunteer_alias"] == v.staff.alias
        r = await http.post("/api/v1/debriefs", json=body, headers=vh)
        assert r.status_code == 409 and r.json()["error"]["code"] == "debrief_given"
        # The volunteer who has the chat now debriefs when it ends, not before.
        r = await http.post("/api/v1/debriefs", json=body, headers=wh)
        assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_transition"
        await s.send({"type": "conversation.end", "conversation_id": cid})
        await w.recv("volunteer.cooldown")
        r = await http.post("/api/v1/debriefs", json={**body, "feeling": "okay"}, headers=wh)
        assert r.status_code == 201, r.text
        # Each one's activity holds their own part of the chat: one high-risk chat each, the
        # first volunteer's two hours, the second's minutes (not the first one's part too).
        for person, hours in ((v.staff, 2.0), (w.staff, 0.0)):
            counts = (await http.get("/api/v1/me/activity", headers=_bearer(person))).json()
            week = counts["windows"]["7d"]
            assert (week["chats"], week["high_risk_chats"], week["debriefs"]) == (1, 1, 1)
            assert week["hours"] == hours, (person.alias, week)
        mine = (await http.get("/api/v1/debriefs", headers=_bearer(handler))).json()["debriefs"]
        assert {d["volunteer_id"] for d in mine if d["conversation_id"] == cid} == {
            v.staff.user_id,
            w.staff.user_id,
        }


async def test_a_calm_chat_handed_on_brings_no_cool_down(server: Server, staff):
    from tests.transfer.test_transfer_ws import available, transfer

    language = unique_language()
    s, v, cid, _ = await paired(server, staff, language=language)
    w = await available(server, staff, language)
    await v.send(transfer(cid, volunteer_id=w.staff.user_id))
    await v.recv("conversation.transferred")
    await v.nothing("volunteer.cooldown", within=0.5)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        r = await http.post(
            "/api/v1/debriefs",
            json={"conversation_id": cid, "feeling": "okay"},
            headers={"Authorization": f"Bearer {v.staff.token}"},
        )
        assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_transition"


def _bearer(person) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"Authorization": f"Bearer {person.token}"}


async def test_a_reloaded_console_is_told_of_the_cool_down_and_the_debrief_again(
    server: Server, staff, backend
):
    """``volunteer.cooldown`` went once, to the sockets open when the chat ended: a console
    reloaded after a heavy chat (or a volunteer back after their connection dropped) lost the
    cool-down and the debrief's offer. Every ``auth.ok`` during a cool-down is now followed by
    it again, without the debrief once it was sent."""
    handler = await staff.create("supervisor")
    v, cid, _ = await _heavy_chat_handled_by(server, staff, handler)
    await v.close()
    again = await WsClient.open(server.ws_url, v.staff.token)
    told = await again.recv("volunteer.cooldown")
    assert (told["conversation_id"], told["debrief"]) == (cid, True)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        r = await http.post(
            "/api/v1/debriefs",
            json={"conversation_id": cid, "feeling": "okay"},
            headers=_bearer(v.staff),
        )
        assert r.status_code == 201, r.text
    later = await WsClient.open(server.ws_url, v.staff.token)
    told_later = await later.recv("volunteer.cooldown")
    assert (told_later["conversation_id"], told_later["debrief"]) == (cid, False)
    assert told_later["until"] == told["until"]
    # Once the cool-down is over, nothing is said.
    await sql(
        backend.database_url,
        "UPDATE staff_users SET cooldown_until = :t WHERE id = :v",
        t=datetime.now(UTC) - timedelta(seconds=1),
        v=v.staff.user_id,
    )
    after = await WsClient.open(server.ws_url, v.staff.token)
    await after.nothing("volunteer.cooldown", within=0.5)
    calm = await staff.create()
    calm_ws = await WsClient.open(server.ws_url, calm.token)
    await calm_ws.nothing("volunteer.cooldown", within=0.3)
