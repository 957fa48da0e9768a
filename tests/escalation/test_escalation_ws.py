"""Escalation end to end: checklist → page → missed deadline → backup → ack → whisper →
join → resolve, with real servers and sockets. Deadlines are scaled to about a second."""

from __future__ import annotations

import asyncio
import contextlib
import json

import httpx
import pytest
from sqlalchemy import text

from app.db import create_engine
from tests.conftest import Fresh, StaffFactory
from tests.support import Server, WsClient, login, new_seeker, paired, sql, unique_language

HIGH_ANSWERS = {"asq1": "yes", "asq3": "yes", "asq5": "yes", "safe_now": "yes"}


async def run_checklist(v: WsClient, cid: str, answers: dict[str, str]) -> dict:
    """Answer whatever the server asks next until the checklist is complete; submit."""
    await v.send({"type": "risk.start", "conversation_id": cid})
    asked = []
    while True:
        frame = await v.recv("risk.checklist")
        if frame["item"] is None:
            break
        item_id = frame["item"]["item_id"]
        asked.append(item_id)
        await v.send(
            {
                "type": "risk.answer",
                "conversation_id": cid,
                "item_id": item_id,
                "value": answers.get(item_id, "no"),
            }
        )
    await v.send({"type": "risk.submit", "conversation_id": cid})
    assessed = await v.recv("risk.assessed")
    assessed["asked"] = asked
    return assessed


async def supervisor(fresh: Fresh, *, rank: int) -> WsClient:
    person = await fresh.staff.create("supervisor", backup_rank=rank)
    c = await WsClient.open(fresh.server.ws_url, person.token)
    c.staff = person  # type: ignore[attr-defined]
    await c.send({"type": "oncall.set", "on_call": True})
    await c.recv("oncall.ok")
    return c


async def audit_actions(database_url: str, action: str) -> list[dict]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT actor_id, conversation_id, detail FROM audit_events WHERE action = :a"
                    " ORDER BY id"  # in the order written (PostgreSQL's heap order is not)
                ),
                {"a": action},
            )
            return [dict(r._mapping) for r in rows]
    finally:
        await engine.dispose()


async def test_high_risk_pages_repages_backup_and_supervisor_takes_it_to_the_end(fresh: Fresh):
    srv = fresh.server
    primary = await supervisor(fresh, rank=1)
    backup = await supervisor(fresh, rank=2)
    s, v, cid, _ = await paired(srv, fresh.staff)
    await s.send(
        {
            "type": "chat.send",
            "conversation_id": cid,
            "client_msg_id": "1",
            "text": "i can't do this anymore",
        }
    )

    assessed = await run_checklist(v, cid, HIGH_ANSWERS)
    assert assessed["level"] == "high"
    assert "page_supervisor" in assessed["actions"]
    assert "asq5" in assessed["asked"] and assessed["asked"][:4] == ["asq1", "asq2", "asq3", "asq4"]

    page = await primary.recv("escalation.page")
    assert (page["conversation_id"], page["level"], page["tier"]) == (cid, "high", "primary")
    await backup.nothing("escalation.page", within=0.3)  # the backup is not paged yet
    # Nobody acknowledges: at the deadline the backup is paged too (tier "backup").
    repage = await backup.recv("escalation.page", timeout=5)
    assert repage["tier"] == "backup" and repage["escalation_id"] == page["escalation_id"]

    # The seeker got a helpline card with Tele-MANAS and 112, and nothing of the machinery.
    card = await s.recv("referral.card")
    numbers = {c["uri"] for h in card["helplines"] for c in h["contacts"]}
    assert {"tel:14416", "tel:112"} <= numbers
    await s.nothing("risk.checklist", within=0.1)
    assert not [f for f in s.pending if f["type"].startswith(("risk.", "escalation."))]

    # The volunteer cannot end the chat while the escalation is open.
    await v.send({"type": "conversation.end", "conversation_id": cid})
    await v.error("escalation_open")

    esc_id = page["escalation_id"]
    await backup.send({"type": "escalation.ack", "escalation_id": esc_id})
    updated = await backup.recv("escalation.updated", where=lambda f: f["status"] == "acknowledged")
    assert updated["acknowledged_by"] == backup.staff.user_id
    # Acknowledging subscribes the supervisor to the conversation from the start.
    first = await backup.recv("chat.message")
    assert first["seq"] == 1

    await backup.send({"type": "chat.whisper", "conversation_id": cid, "text": "ask about tonight"})
    whisper = await v.recv("chat.whisper")
    assert whisper["text"] == "ask about tonight"
    await s.nothing("chat.whisper", within=0.3)

    await backup.send({"type": "conversation.join", "conversation_id": cid})
    joined = await s.recv("conversation.joined")
    assert joined["staff_role"] == "supervisor"
    await backup.send(
        {
            "type": "chat.send",
            "conversation_id": cid,
            "client_msg_id": "sup1",
            "text": "I'm here too.",
        }
    )
    msg = await s.recv("chat.message", where=lambda f: f["client_msg_id"] == "sup1")
    assert msg["sender_role"] == "supervisor"

    await backup.send(
        {"type": "escalation.resolve", "escalation_id": esc_id, "outcome": "referred_helpline"}
    )
    await backup.recv("escalation.updated", where=lambda f: f["status"] == "resolved")
    # The referral is still open, so the volunteer still cannot end alone.
    await v.send({"type": "conversation.end", "conversation_id": cid})
    await v.error("referral_open")
    referral = await backup.recv("referral.updated")
    await backup.send(
        {"type": "referral.update", "referral_id": referral["referral_id"], "status": "accepted"}
    )
    await backup.send(
        {"type": "referral.update", "referral_id": referral["referral_id"], "status": "handed_over"}
    )
    await backup.send(
        {"type": "referral.update", "referral_id": referral["referral_id"], "status": "completed"}
    )
    await backup.recv("referral.updated", where=lambda f: f["status"] == "completed")
    await v.send({"type": "conversation.end", "conversation_id": cid, "reason": "safe"})
    await s.recv("conversation.ended")
    cooldown = await v.recv("volunteer.cooldown")
    assert cooldown["debrief"] is True

    answers = await audit_actions(fresh.database_url, "risk.answer")
    assert len(answers) == len(assessed["asked"]) and all(
        a["actor_id"] == v.staff.user_id for a in answers
    )
    assert len(await audit_actions(fresh.database_url, "escalation.acknowledged")) == 1
    async with httpx.AsyncClient(base_url=srv.base_url) as http:
        h = {"Authorization": f"Bearer {backup.staff.token}"}
        metrics = (await http.get("/api/v1/escalations/metrics", headers=h)).json()
        assert metrics["time_to_ack"]["high"]["count"] == 1


async def test_seeker_cannot_send_risk_or_escalation_frames_and_volunteer_cannot_ack(fresh: Fresh):
    s, v, cid, _ = await paired(fresh.server, fresh.staff)
    for frame in (
        {"type": "risk.start", "conversation_id": cid},
        {"type": "risk.answer", "conversation_id": cid, "item_id": "asq1", "value": "no"},
        {"type": "risk.submit", "conversation_id": cid},
        {"type": "risk.concern", "conversation_id": cid, "level": "high", "reason": "x"},
        {"type": "escalation.raise", "conversation_id": cid, "reason": "x"},
        {"type": "escalation.ack", "escalation_id": "x"},
        {"type": "chat.whisper", "conversation_id": cid, "text": "x"},
        {"type": "referral.offer", "conversation_id": cid, "helpline_ids": []},
    ):
        await s.send(frame)
        await s.error("forbidden")
    await v.send({"type": "escalation.raise", "conversation_id": cid, "reason": "worried"})
    await v.send({"type": "escalation.ack", "escalation_id": "whatever"})
    await v.error("forbidden")
    await v.send({"type": "oncall.set", "on_call": True})
    await v.error("forbidden")


async def test_bad_checklist_answers_are_refused_and_nothing_is_stored(fresh: Fresh):
    s, v, cid, _ = await paired(fresh.server, fresh.staff)
    await v.send({"type": "risk.start", "conversation_id": cid})
    await v.recv("risk.checklist")
    await v.send(
        {"type": "risk.answer", "conversation_id": cid, "item_id": "asq1", "value": "maybe"}
    )
    await v.error("invalid_answer")
    await v.send({"type": "risk.answer", "conversation_id": cid, "item_id": "nope", "value": "yes"})
    await v.error("invalid_answer")
    await v.send({"type": "risk.answer", "conversation_id": cid, "item_id": "asq5", "value": "yes"})
    await v.error("invalid_answer")  # not askable before a positive screen
    await v.send({"type": "risk.concern", "conversation_id": cid, "level": "severe", "reason": "x"})
    await v.error("invalid_frame")
    # A concern is low to imminent (not "none"), with a reason that is more than spaces.
    await v.send({"type": "risk.concern", "conversation_id": cid, "level": "none", "reason": "x"})
    assert (await v.error("invalid_frame"))["message"].startswith("level:")
    await v.send({"type": "risk.concern", "conversation_id": cid, "level": "low", "reason": "  "})
    assert (await v.error("invalid_frame"))["message"].startswith("reason:")
    await v.nothing("risk.assessed", within=0.2)
    assert await audit_actions(fresh.database_url, "risk.answer") == []


async def test_partial_answers_survive_a_reconnect_and_nothing_lowers_a_level(fresh: Fresh):
    s, v, cid, _ = await paired(fresh.server, fresh.staff)
    await v.send(
        {"type": "risk.concern", "conversation_id": cid, "level": "moderate", "reason": "withdrawn"}
    )
    assert (await v.recv("risk.assessed"))["level"] == "moderate"
    await v.send({"type": "risk.start", "conversation_id": cid})
    await v.recv("risk.checklist")
    await v.send({"type": "risk.answer", "conversation_id": cid, "item_id": "asq1", "value": "no"})
    await v.recv("risk.checklist")
    await v.close()
    v2 = await WsClient.open(fresh.server.ws_url, v.staff.token)
    await v2.send({"type": "conversation.resume", "conversation_id": cid, "after_seq": 0})
    progress = await v2.recv("risk.checklist")
    assert progress["answers"] == {"asq1": "no"} and progress["item"]["item_id"] == "asq2"
    # A negative screen after a judged "moderate" does not lower the level.
    for item in ("asq2", "asq3", "asq4"):
        await v2.send(
            {"type": "risk.answer", "conversation_id": cid, "item_id": item, "value": "no"}
        )
        await v2.recv("risk.checklist", where=lambda f, item=item: item in f["answers"])
    await v2.send({"type": "risk.submit", "conversation_id": cid})
    result = await v2.recv("risk.assessed", where=lambda f: f["assessed_level"] == "none")
    assert result["level"] == "moderate"


async def test_nobody_on_call_is_an_alert_to_every_staff_connection(fresh: Fresh):
    other = await fresh.staff.create()
    watcher = await WsClient.open(fresh.server.ws_url, other.token)
    s, v, cid, _ = await paired(fresh.server, fresh.staff)
    await v.send(
        {"type": "escalation.raise", "conversation_id": cid, "reason": "worried about tonight"}
    )
    for c in (v, watcher):
        alert = await c.recv("staff.alert")
        assert alert["code"] == "nobody_on_call"


async def test_a_supervisor_on_call_who_signs_out_of_their_last_session_goes_off_call(
    fresh: Fresh,
):
    """A supervisor who signed out while on call stayed on call: pages went to nobody at any
    desk, and nobody_on_call never came. Their last sign-out now ends their on-call, as
    oncall.set false would; one of two sessions does not."""
    sup = await supervisor(fresh, rank=1)
    watcher = await WsClient.open(fresh.server.ws_url, (await fresh.staff.create()).token)
    person = sup.staff  # type: ignore[attr-defined]
    second = await login(fresh.server.base_url, person.username, person.password)
    async with httpx.AsyncClient(base_url=fresh.server.base_url) as http:
        r = await http.post(
            "/api/v1/auth/logout", headers={"Authorization": f"Bearer {second['access_token']}"}
        )
        assert r.status_code == 204
        await watcher.nothing("staff.alert", within=0.5)  # still signed in at the desk
        r = await http.post(
            "/api/v1/auth/logout", headers={"Authorization": f"Bearer {person.token}"}
        )
        assert r.status_code == 204
    alert = await watcher.recv("staff.alert")
    assert alert["code"] == "nobody_on_call"
    stored = await sql(
        fresh.database_url, "SELECT on_call FROM staff_users WHERE id = :u", u=person.user_id
    )
    assert not stored[0][0]
    detail = (await audit_actions(fresh.database_url, "oncall.set"))[-1]["detail"]
    assert (detail if isinstance(detail, dict) else json.loads(detail)) == {"on_call": False}


async def test_cue_in_a_seeker_message_prompts_the_volunteer_without_echoing_words(fresh: Fresh):
    sup = await supervisor(fresh, rank=1)
    s, v, cid, _ = await paired(fresh.server, fresh.staff)
    await s.send(
        {
            "type": "chat.send",
            "conversation_id": cid,
            "client_msg_id": "c1",
            "text": "i want to kill myself",
        }
    )
    cue = await v.recv("risk.cue")
    assert cue["seq"] == 1 and cue["cue_class"] in ("first_person_ideation", "method_or_attempt")
    assert "kill" not in str(cue)
    await s.send(
        {
            "type": "chat.send",
            "conversation_id": cid,
            "client_msg_id": "c2",
            "text": "i took 20 sleeping pills",
        }
    )
    cue2 = await v.recv("risk.cue", where=lambda f: f["seq"] == 2)
    assert cue2["cue_class"] == "method_or_attempt"
    alert = await sup.recv("staff.alert")
    assert alert["code"] == "method_cue" and alert["conversation_id"] == cid
    await s.nothing("risk.cue", within=0.3)
    await v.send(
        {
            "type": "chat.send",
            "conversation_id": cid,
            "client_msg_id": "n1",
            "text": "i want to kill myself",
        }
    )
    await v.nothing("risk.cue", within=0.3)  # volunteers' own words are not screened


async def test_the_first_screen_after_a_method_cue_tells_every_supervisor_and_admin_once(
    fresh: Fresh,
):
    """The desk's method-cue banner said "no screening is done yet" after the screen: the
    screen went to the conversation's staff only, and a low or no-risk one paged nobody."""
    on_call = await supervisor(fresh, rank=1)
    off_call = await WsClient.open(
        fresh.server.ws_url, (await fresh.staff.create("supervisor")).token
    )
    admin = await WsClient.open(fresh.server.ws_url, (await fresh.staff.create("admin")).token)
    s, v, cid, _ = await paired(fresh.server, fresh.staff)
    await s.send(
        {"type": "chat.send", "conversation_id": cid, "client_msg_id": "m1", "text": "i have pills"}
    )
    for c in (on_call, admin):
        alert = await c.recv("staff.alert")
        assert (alert["code"], alert["conversation_id"], alert["seq"]) == ("method_cue", cid, 1)
    await off_call.nothing("staff.alert", within=0.3)  # alerted: the on-call and admins only

    # Clinical judgment is not a screen: the alert stands.
    await v.send(
        {"type": "risk.concern", "conversation_id": cid, "level": "low", "reason": "pills"}
    )
    await v.recv("risk.assessed")
    await on_call.nothing("method_cue.screened", within=0.3)

    await run_checklist(v, cid, {})  # "no" to everything: no level, nobody paged
    for c in (on_call, off_call, admin):
        screened = await c.recv("method_cue.screened")
        assert screened == {"type": "method_cue.screened", "conversation_id": cid, "level": "low"}
    await v.nothing("method_cue.screened", within=0.3)
    await s.nothing("method_cue.screened", within=0.1)

    # No more method-cue alerts for this chat, and a later screen says nothing more.
    await s.send(
        {"type": "chat.send", "conversation_id": cid, "client_msg_id": "m2", "text": "i have pills"}
    )
    await v.recv("risk.cue", where=lambda f: f["seq"] == 2)
    await run_checklist(v, cid, {})
    for c in (on_call, admin):
        await c.nothing("staff.alert", within=0.3)
        await c.nothing("method_cue.screened", within=0.1)


async def test_a_screen_in_a_chat_without_a_method_cue_tells_no_supervisor(fresh: Fresh):
    sup = await supervisor(fresh, rank=1)
    s, v, cid, _ = await paired(fresh.server, fresh.staff)
    await s.send(
        {
            "type": "chat.send",
            "conversation_id": cid,
            "client_msg_id": "b1",
            "text": "I feel like a burden to everyone",
        }
    )
    cue = await v.recv("risk.cue")
    assert cue["cue_class"] != "method_or_attempt"
    await run_checklist(v, cid, {})
    await sup.nothing("method_cue.screened", within=0.5)


async def test_flagged_waiting_seeker_jumps_the_queue_and_counts_in_the_group_page(fresh: Fresh):
    from tests.support import new_seeker, unique_language

    sup = await supervisor(fresh, rank=1)
    language = unique_language()
    calm = await new_seeker(fresh.server.base_url, language)
    c1 = await WsClient.open(fresh.server.ws_url, calm["seeker_token"])
    await c1.send({"type": "queue.join"})
    await c1.recv("queue.status")
    flagged = await new_seeker(fresh.server.base_url, language)
    c2 = await WsClient.open(fresh.server.ws_url, flagged["seeker_token"])
    await c2.send({"type": "queue.join"})
    cid2 = (await c2.recv("queue.status"))["conversation_id"]
    await c2.send(
        {
            "type": "chat.send",
            "conversation_id": cid2,
            "client_msg_id": "w",
            "text": "jeena nahi chahta ab",
        }
    )
    ahead = await c2.recv("queue.status", where=lambda f: f["position"] == 1)
    assert ahead["conversation_id"] == cid2
    # FLAGGED_WAIT_PAGE_S = 1: the seeker now counts in the one group of flagged seekers
    # waiting (other tests on this server may have flagged seekers waiting too).
    group = await sup.recv("flagged.waiting", timeout=6, where=lambda f: f["count"] >= 1)
    assert group["oldest_wait_s"] >= 0 and "conversation_id" not in group
    volunteer = await fresh.staff.create(languages=[language])
    v = await WsClient.open(fresh.server.ws_url, volunteer.token)
    await v.send({"type": "queue.take"})
    assert (await v.recv("conversation.started"))["conversation_id"] == cid2
    # The volunteer who takes it gets the message, and the cue raised on it while nobody had
    # the chat with the conversation's state, on the resume a client sends after the start.
    message = await v.recv("chat.message")
    assert message["seq"] == 1 and message["text"] == "jeena nahi chahta ab"
    await v.send({"type": "conversation.resume", "conversation_id": cid2, "after_seq": 1})
    await v.recv("conversation.resumed")
    cue = await v.recv("risk.cue", timeout=2)
    assert cue["conversation_id"] == cid2 and cue["seq"] == 1
    assert cue["cue_class"] == "first_person_ideation"


async def test_a_supervisor_acknowledges_the_flagged_group_once_for_everyone(fresh: Fresh):
    from tests.support import new_seeker, unique_language

    sup = await supervisor(fresh, rank=1)
    other = await fresh.staff.create("supervisor", backup_rank=2)
    watcher = await WsClient.open(fresh.server.ws_url, other.token)
    language = unique_language()
    seeker = await new_seeker(fresh.server.base_url, language)
    s = await WsClient.open(fresh.server.ws_url, seeker["seeker_token"])
    await s.send({"type": "queue.join"})
    cid = (await s.recv("queue.status", timeout=15))["conversation_id"]
    # A method cue while waiting: no staff.alert of its own, it counts in the group at once.
    await s.send(
        {
            "type": "chat.send",
            "conversation_id": cid,
            "client_msg_id": "m",
            "text": "i took 20 sleeping pills",
        }
    )
    page = await sup.recv("flagged.waiting", timeout=15, where=lambda f: f["alert"])
    assert (page["count"], page["pages"], page["acknowledged_by"]) == (1, 1, None)
    await sup.nothing("staff.alert", within=0.3)
    await sup.nothing("escalation.page", within=0.3)
    async with httpx.AsyncClient(base_url=fresh.server.base_url) as http:
        r = await http.get(
            "/api/v1/escalations/flagged-waiting",
            headers={"Authorization": f"Bearer {other.token}"},
        )
        # Pages: 1, or 2 when this loaded machine took longer than the scaled re-page (~1 s).
        assert r.status_code == 200 and r.json()["count"] == 1 and r.json()["pages"] >= 1
        volunteer = await fresh.staff.create(languages=[language])
        r = await http.get(
            "/api/v1/escalations/flagged-waiting",
            headers={"Authorization": f"Bearer {volunteer.token}"},
        )
        assert r.status_code == 403
    v = await WsClient.open(fresh.server.ws_url, volunteer.token)
    await v.send({"type": "flagged.ack"})
    await v.error("forbidden", timeout=15)

    await sup.send({"type": "flagged.ack"})
    for client in (sup, watcher):
        acked = await client.recv(
            "flagged.waiting", timeout=15, where=lambda f: f["acknowledged_by"]
        )
        assert (acked["count"], acked["alert"]) == (1, False)
        assert acked["acknowledged_by"] == sup.staff.user_id  # type: ignore[attr-defined]
    [row] = await audit_actions(fresh.database_url, "flagged.acknowledged")
    assert row["actor_id"] == sup.staff.user_id  # type: ignore[attr-defined]

    # The volunteer takes the chat: the group ends (count 0), quietly.
    await v.send({"type": "queue.take"})
    assert (await v.recv("conversation.started", timeout=15))["conversation_id"] == cid
    ended = await sup.recv("flagged.waiting", timeout=15, where=lambda f: f["count"] == 0)
    assert ended["alert"] is False


async def test_supervisor_transcript_read_is_audited(fresh: Fresh):
    s, v, cid, _ = await paired(fresh.server, fresh.staff)
    sup = await fresh.staff.create("supervisor")
    async with httpx.AsyncClient(base_url=fresh.server.base_url) as http:
        r = await http.get(
            f"/api/v1/conversations/{cid}/messages",
            headers={"Authorization": f"Bearer {sup.token}"},
        )
    assert r.status_code == 200
    reads = await audit_actions(fresh.database_url, "transcript.read")
    assert [(r["actor_id"], r["conversation_id"]) for r in reads] == [(sup.user_id, cid)]


async def test_a_restart_between_page_and_deadline_repages_exactly_once(backend, migrated):
    from tests.conftest import FAST
    from tests.support import env_for

    if backend.name != "sqlite":
        pytest.skip("one SQLite restart suffices; PostgreSQL is covered by the two-process test")
    url = migrated("sqlite").database_url
    env = env_for(url, **{**FAST, "ESCALATION_TIME_SCALE": "0.03"})  # high: ~4 s
    srv = Server(env).start()
    fresh = Fresh(srv, StaffFactory(url, srv.base_url), url)
    sup = await supervisor(fresh, rank=1)
    s, v, cid, _ = await paired(srv, fresh.staff)
    await v.send({"type": "escalation.raise", "conversation_id": cid, "reason": "plan mentioned"})
    await sup.recv("escalation.page")
    srv.stop()  # the process goes away between the page and the deadline
    srv2 = Server(env, port=srv.port).start()
    try:
        sup2 = await WsClient.open(srv2.ws_url, sup.staff.token)
        # Paged again after the restart: page 2, or a later one when the restart outlasted a
        # deadline (a slow machine) and page 2 went out before this socket opened.
        repage = await sup2.recv("escalation.page", timeout=10)
        assert repage["page"] >= 2
        # The schedule carries on from the restarted process: the next page is the next
        # number (each page is audited in the transaction that sends it).
        following = await sup2.recv("escalation.page", timeout=15)
        assert following["page"] == repage["page"] + 1
        audited = await audit_actions(url, "escalation.paged")
        pages = [
            (d if isinstance(d, dict) else json.loads(d))["page"]
            for d in (a["detail"] for a in audited)
        ]
        # Each page exactly once, none skipped: neither process paged twice for a deadline.
        assert sorted(pages) == list(range(1, len(pages) + 1))
        assert {repage["page"], following["page"]} <= set(pages)
    finally:
        srv2.stop()


async def test_takeover_makes_the_volunteer_an_observer(fresh: Fresh):
    s, v, cid, _ = await paired(fresh.server, fresh.staff)
    sup = await supervisor(fresh, rank=1)
    await sup.send({"type": "conversation.takeover", "conversation_id": cid})
    for side in (s, v):
        note = await side.recv("conversation.taken_over")
        assert note["staff_role"] == "supervisor"
    await v.send({"type": "chat.send", "conversation_id": cid, "client_msg_id": "v", "text": "hi"})
    await v.error("forbidden")  # the volunteer stays, read-only
    await v.send({"type": "conversation.end", "conversation_id": cid})
    await v.error("forbidden")  # the lead's chat now
    await sup.send(
        {"type": "chat.send", "conversation_id": cid, "client_msg_id": "s1", "text": "I'm here"}
    )
    assert (await s.recv("chat.message"))["sender_role"] == "supervisor"
    assert (await v.recv("chat.message"))["client_msg_id"] == "s1"
    takeovers = await audit_actions(fresh.database_url, "conversation.lead")
    assert [t["actor_id"] for t in takeovers] == [sup.staff.user_id]


async def test_after_a_takeover_the_checklist_is_the_supervisors(fresh: Fresh):
    """The volunteer who began a checklist reads along after a takeover: the four risk frames
    are refused them (``forbidden``), and the supervisor who leads continues the same
    checklist where it stood, so two people never answer one checklist."""
    s, v, cid, _ = await paired(fresh.server, fresh.staff)
    await v.send({"type": "risk.start", "conversation_id": cid})
    begun = await v.recv("risk.checklist")
    first = begun["item"]["item_id"]
    await v.send({"type": "risk.answer", "conversation_id": cid, "item_id": first, "value": "no"})
    await v.recv("risk.checklist")
    sup = await supervisor(fresh, rank=1)
    await sup.send({"type": "conversation.takeover", "conversation_id": cid})
    await v.recv("conversation.taken_over")
    for frame in (
        {"type": "risk.start"},
        {"type": "risk.answer", "item_id": first, "value": "yes"},
        {"type": "risk.submit"},
        {"type": "risk.concern", "level": "high", "reason": "worried"},
    ):
        await v.send({**frame, "conversation_id": cid, "ref": frame["type"]})
        refused = await v.error("forbidden")
        assert refused["ref"] == frame["type"]
        assert "took this conversation over" in refused["message"]
    await sup.send({"type": "risk.start", "conversation_id": cid})
    carried = await sup.recv("risk.checklist")
    assert carried["assessment_id"] == begun["assessment_id"]
    assert carried["answers"] == {first: "no"}  # the volunteer's answer, not overwritten


async def test_supervisor_rest_overview_referral_queue_and_helpline_editing(fresh: Fresh):
    s, v, cid, _ = await paired(fresh.server, fresh.staff)
    sup = await fresh.staff.create("supervisor")
    admin = await fresh.staff.create("admin")
    await v.send({"type": "referral.offer", "conversation_id": cid, "helpline_ids": ["icall"]})
    card = await s.recv("referral.card")
    ids = [h["id"] for h in card["helplines"]]
    assert ids[0] == "icall" and "tele_manas" in ids  # an unverified line is never alone
    async with httpx.AsyncClient(base_url=fresh.server.base_url) as http:
        h_sup = {"Authorization": f"Bearer {sup.token}"}
        h_vol = {"Authorization": f"Bearer {v.staff.token}"}
        h_admin = {"Authorization": f"Bearer {admin.token}"}
        queue = (await http.get("/api/v1/referrals", headers=h_sup)).json()["referrals"]
        assert [(r["conversation_id"], r["status"]) for r in queue] == [(cid, "offered")]
        assert queue[0]["next_step"]
        assert (await http.get("/api/v1/referrals", headers=h_vol)).status_code == 403
        overview = (await http.get("/api/v1/overview", headers=h_sup)).json()
        assert overview["active_chats"] == 1 and overview["waiting"] == 0
        assert (await http.get("/api/v1/overview", headers=h_vol)).status_code == 403
        # Admins verify a helpline; the whole directory must stay valid.
        lines = (await http.get("/api/v1/helplines", params={"region": "IN"})).json()["helplines"]
        icall = next(h for h in lines if h["id"] == "icall")
        assert icall["verified"] is False
        entry = {
            "name": "iCALL (TISS)",
            "contacts": [{"kind": "phone", "display": "9152987821", "uri": "tel:9152987821"}],
            "hours": "Mon-Sat 10:00-20:00", "languages": ["en", "hi"], "channels": ["phone"],
            "region": "IN", "source": "called by the clinical lead", "verified_on": "2026-11-20",
            "verified": True,
        }  # fmt: skip
        r = await http.put("/api/v1/helplines/icall", json=entry, headers=h_admin)
        assert r.status_code == 200 and r.json()["verified"] is True
        assert (
            await http.put("/api/v1/helplines/icall", json=entry, headers=h_sup)
        ).status_code == 403
        bad = await http.put(
            "/api/v1/helplines/tele_manas", json={**entry, "name": "x"}, headers=h_admin
        )
        assert bad.status_code == 400  # Tele-MANAS must keep 14416
        again = (await http.get("/api/v1/helplines", params={"language": "hi"})).json()
        assert (
            next(h for h in again["helplines"] if h["id"] == "icall")["verified_on"] == "2026-11-20"
        )


async def test_staff_frames_of_a_conversation_reach_its_volunteer_and_supervisors_only(
    server: Server, staff: StaffFactory
):
    # escalation.updated carries a free-text reason and referral.updated the seeker's
    # helplines: the conversation's volunteer and every supervisor get them, another
    # volunteer online at the same time does not (docs/protocol.md).
    s, v, cid, _ = await paired(server, staff)
    other = await WsClient.open(server.ws_url, (await staff.create()).token)
    boss = await WsClient.open(server.ws_url, (await staff.create("supervisor")).token)
    await v.send({"type": "escalation.raise", "conversation_id": cid, "reason": "she told me"})
    await v.send({"type": "referral.offer", "conversation_id": cid, "helpline_ids": ["icall"]})
    for receiver in (v, boss):
        updated = await receiver.recv(
            "escalation.updated", where=lambda f: f["conversation_id"] == cid
        )
        assert updated["reason"] == "she told me"
        await receiver.recv("referral.updated", where=lambda f: f["conversation_id"] == cid)
    await s.recv("referral.card")
    for kind in ("escalation.updated", "referral.updated"):
        await other.nothing(kind, within=0.3)
    assert not [f for f in s.pending if f["type"].endswith(".updated")]
    # The seeker of a chat at risk quick-exits: the alert names the conversation and its
    # level, so it goes to the same people and no further.
    await s.send({"type": "quick_exit"})
    for receiver in (v, boss):
        alert = await receiver.recv("staff.alert", where=lambda f: f["code"] == "quick_exit")
        assert alert["conversation_id"] == cid
    with pytest.raises(TimeoutError):
        await other.recv("staff.alert", where=lambda f: f["code"] == "quick_exit", timeout=0.3)
    assert not [f for f in other.pending if f.get("conversation_id") == cid]


async def test_supervisor_rest_ack_resolve_and_metrics_answer_as_documented(fresh: Fresh):
    """docs/protocol.md, Supervisors' REST: ack and resolve answer the escalation; an
    unknown outcome is 422 invalid_request (it was 409 invalid_frame), an unknown id 404, a
    step the state does not allow 409 invalid_transition; metrics per level."""
    s, v, cid, _ = await paired(fresh.server, fresh.staff)
    sup = await fresh.staff.create("supervisor")
    await v.send({"type": "escalation.raise", "conversation_id": cid, "reason": "worried"})
    # The raise is done when the volunteer is told (the REST call below, on another
    # connection, once overtook it under load and listed nothing).
    await v.recv("escalation.updated", where=lambda f: f["conversation_id"] == cid)
    async with httpx.AsyncClient(base_url=fresh.server.base_url) as http:
        h = {"Authorization": f"Bearer {sup.token}"}
        listed = (await http.get("/api/v1/escalations", headers=h)).json()["escalations"]
        assert [(e["conversation_id"], e["level"]) for e in listed] == [(cid, "high")]
        assert listed[0]["volunteer_alias"] == v.staff.alias
        esc = listed[0]["escalation_id"]
        assert (await http.post("/api/v1/escalations/nope/ack", headers=h)).status_code == 404
        r = await http.post(f"/api/v1/escalations/{esc}/ack", headers=h)
        assert r.status_code == 200, r.text
        assert (r.json()["status"], r.json()["acknowledged_by"]) == ("acknowledged", sup.user_id)
        again = await http.post(f"/api/v1/escalations/{esc}/ack", headers=h)
        assert (again.status_code, again.json()["error"]["code"]) == (409, "invalid_transition")
        bad = await http.post(
            f"/api/v1/escalations/{esc}/resolve", json={"outcome": "bogus"}, headers=h
        )
        assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_request")
        r = await http.post(
            f"/api/v1/escalations/{esc}/resolve",
            json={"outcome": "false_alarm", "note": "ok"},
            headers=h,
        )
        assert r.status_code == 200, r.text
        assert (r.json()["status"], r.json()["outcome"]) == ("resolved", "false_alarm")
        metrics = (await http.get("/api/v1/escalations/metrics", headers=h)).json()
        assert metrics["window_s"] == 86400
        assert set(metrics["time_to_ack"]["high"]) == {"count", "mean_s", "max_s"}
    await v.send(
        {"type": "escalation.resolve", "escalation_id": esc, "outcome": "bogus", "ref": "r"}
    )
    assert (await v.error("forbidden"))["ref"] == "r"


async def test_an_observing_supervisor_cannot_run_the_checklist_until_they_join(fresh: Fresh):
    """docs/protocol.md: risk.start/answer/submit/concern are for the volunteer and a joined
    supervisor. One who only observes (or was granted observer by acknowledging) watches
    silently: it must not change the chat's level or page anyone."""
    s, v, cid, _ = await paired(fresh.server, fresh.staff)
    sup = await supervisor(fresh, rank=1)
    await sup.send({"type": "conversation.observe", "conversation_id": cid})
    await sup.recv("conversation.resumed")
    for frame in (
        {"type": "risk.start", "conversation_id": cid},
        {"type": "risk.answer", "conversation_id": cid, "item_id": "asq1", "value": "yes"},
        {"type": "risk.submit", "conversation_id": cid},
        {"type": "risk.concern", "conversation_id": cid, "level": "imminent", "reason": "x"},
    ):
        await sup.send(frame)
        await sup.error("forbidden")
    await v.nothing("risk.assessed")
    assert await audit_actions(fresh.database_url, "risk.assessed") == []
    # Nor may the seeker learn of them: no typing, no "seen" mark, no ending the chat.
    await sup.send({"type": "chat.typing", "conversation_id": cid})
    await sup.error("forbidden")
    await s.send({"type": "chat.send", "conversation_id": cid, "client_msg_id": "m", "text": "hi"})
    seq = (await s.recv("chat.ack"))["seq"]
    await sup.send({"type": "chat.read", "conversation_id": cid, "seq": seq})
    await sup.send({"type": "conversation.end", "conversation_id": cid})
    await sup.error("forbidden")
    await s.nothing("chat.typing")
    await s.nothing("chat.read")
    await s.nothing("conversation.ended", within=0.1)
    # Joined, the same supervisor runs it.
    await sup.send({"type": "conversation.join", "conversation_id": cid})
    await s.recv("conversation.joined")
    await sup.send(
        {"type": "risk.concern", "conversation_id": cid, "level": "moderate", "reason": "x"}
    )
    assert (await v.recv("risk.assessed"))["level"] == "moderate"


async def test_a_volunteer_whose_chat_was_taken_over_is_not_seen_typing(fresh: Fresh):
    """After a takeover the volunteer reads along and can no longer write (chat.send and
    conversation.end: forbidden), but their chat.typing still reached the seeker, who then
    waited for words that could not come. It is forbidden now, as for an observer; the
    supervisor who leads is seen typing."""
    s, v, cid, _ = await paired(fresh.server, fresh.staff)
    sup = await supervisor(fresh, rank=1)
    await sup.send({"type": "conversation.takeover", "conversation_id": cid})
    await s.recv("conversation.taken_over")
    await v.recv("conversation.taken_over")
    await v.send({"type": "chat.typing", "conversation_id": cid, "ref": "t"})
    assert (await v.error("forbidden"))["ref"] == "t"
    await v.send({"type": "chat.typing", "conversation_id": cid, "typing": False})
    await v.error("forbidden")
    await s.nothing("chat.typing")
    await sup.send({"type": "chat.typing", "conversation_id": cid})
    typing = await s.recv("chat.typing")
    assert (typing["sender_role"], typing["typing"]) == ("supervisor", True)


async def test_steps_out_of_their_state_are_refused_or_change_nothing(fresh: Fresh):
    """docs/protocol.md: join and takeover need an active conversation; queue.leave a waiting
    one; risk.answer and risk.submit a checklist in progress; and a second escalation.raise
    while the first escalation is open pages nobody again."""
    sup = await supervisor(fresh, rank=1)
    seeker = await new_seeker(fresh.server.base_url, unique_language())
    w = await WsClient.open(fresh.server.ws_url, seeker["seeker_token"])
    await w.send({"type": "queue.join"})
    waiting = (await w.recv("queue.status"))["conversation_id"]
    for step in ("conversation.join", "conversation.takeover"):
        await sup.send({"type": step, "conversation_id": waiting})
        await sup.error("invalid_transition")
    await w.nothing("conversation.joined", within=0.2)

    s, v, cid, _ = await paired(fresh.server, fresh.staff)
    await s.send({"type": "queue.leave", "conversation_id": cid})
    await s.error("invalid_transition")
    answer = {"type": "risk.answer", "conversation_id": cid, "item_id": "asq1", "value": "no"}
    await v.send(answer)
    await v.error("invalid_transition")
    await v.send({"type": "risk.submit", "conversation_id": cid})
    await v.error("invalid_transition")
    await v.send({"type": "escalation.raise", "conversation_id": cid, "reason": "worried"})
    first = await sup.recv("escalation.page")
    assert first["conversation_id"] == cid
    await v.send({"type": "escalation.raise", "conversation_id": cid, "reason": "still worried"})
    # No new escalation is paged. The first one's own re-page may come (at this time scale
    # its deadline is about a second away, which a busy machine can pass in this window).
    loop = asyncio.get_running_loop()
    until = loop.time() + 0.5
    with contextlib.suppress(TimeoutError):
        while (left := until - loop.time()) > 0:
            page = await sup.recv("escalation.page", timeout=left)
            assert (page["escalation_id"], page["page"] > 1) == (first["escalation_id"], True), page
    await v.nothing("error", within=0.1)
    for client in (w, s, v, sup):
        await client.close()


async def test_the_volunteer_resuming_is_told_each_escalation_again_and_a_supervisor_is_not(
    fresh: Fresh,
):
    """docs/protocol.md (On conversation.resume): a reloaded console knew only the level, and
    at high risk guessed whether a supervisor had resolved the escalation. The volunteer now
    gets escalation.updated for each of the conversation's escalations, resolved ones too."""
    sup = await supervisor(fresh, rank=1)
    s, v, cid, _ = await paired(fresh.server, fresh.staff)
    await v.send({"type": "escalation.raise", "conversation_id": cid, "reason": "worried"})
    first = (await sup.recv("escalation.page"))["escalation_id"]
    await sup.send({"type": "escalation.ack", "escalation_id": first})
    await sup.recv("escalation.updated", where=lambda f: f["status"] == "acknowledged")
    await sup.send({"type": "escalation.resolve", "escalation_id": first, "outcome": "false_alarm"})
    live = await v.recv("escalation.updated", where=lambda f: f["status"] == "resolved")
    await sup.recv("escalation.updated", where=lambda f: f["status"] == "resolved")
    await v.send({"type": "escalation.raise", "conversation_id": cid, "reason": "worried again"})
    second = (await sup.recv("escalation.page", where=lambda f: f["escalation_id"] != first))[
        "escalation_id"
    ]
    await v.close()

    v2 = await WsClient.open(fresh.server.ws_url, v.staff.token)
    await v2.send({"type": "conversation.resume", "conversation_id": cid, "after_seq": 0})
    await v2.recv("conversation.resumed")
    replayed = [await v2.recv("escalation.updated") for _ in range(2)]
    assert [(f["escalation_id"], f["status"]) for f in replayed] == [
        (first, "resolved"),
        (second, "open"),
    ]
    # The same frame as the live one, but for its age.
    assert {**replayed[0], "age_s": None} == {**live, "age_s": None}

    # A supervisor resuming (the desk lists escalations over REST) gets none of them again.
    await sup.send({"type": "conversation.resume", "conversation_id": cid, "after_seq": 0})
    await sup.recv("conversation.resumed")
    with contextlib.suppress(TimeoutError):
        while True:  # the frames of the raises and re-pages may come; no replay of the first
            update = await sup.recv("escalation.updated", timeout=0.5)
            assert (update["escalation_id"], update["status"]) != (first, "resolved"), update
    for client in (s, v2, sup):
        await client.close()
