"""Consented emergency share over a real server (SQLite and PostgreSQL): asked by the
supervisor who acknowledged an imminent escalation, answered by the seeker, readable only by
that supervisor (audited), deleted on resolution or after 72 hours, and never seen by the
volunteer, stored in the messages, written in the log or counted in a metric label."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import httpx

from app.bus import MemoryBus
from app.db import Database, create_engine, utcnow
from app.emergency_share import service
from tests.conftest import Backend, StaffFactory
from tests.support import Server, WsClient, paired, shows_test_phone, sql

PHONE = "+91 98765 43210"
PLACE = "Hostel B, room 214, near the north gate"


async def _imminent(
    server: Server, staff: StaffFactory, *, level: str = "imminent"
) -> tuple[WsClient, WsClient, WsClient, str, str, Any]:
    """(seeker, volunteer, supervisor who acknowledged, conversation id, escalation id,
    the supervisor's account)."""
    person = await staff.create("supervisor")
    sup = await WsClient.open(server.ws_url, person.token)
    await sup.send({"type": "oncall.set", "on_call": True})
    await sup.recv("oncall.ok")
    s, v, cid, _ = await paired(server, staff)
    await v.send(
        {"type": "risk.concern", "conversation_id": cid, "level": level, "reason": "worried"}
    )
    page = await sup.recv("escalation.page", where=lambda f: f["conversation_id"] == cid)
    await sup.send({"type": "escalation.ack", "escalation_id": page["escalation_id"]})
    await sup.recv(
        "escalation.updated",
        where=lambda f: (
            f["escalation_id"] == page["escalation_id"] and f["status"] == "acknowledged"
        ),
    )
    return s, v, sup, cid, page["escalation_id"], person


async def _audit(database_url: str, action: str, share_id: str) -> list[Any]:
    rows = await sql(
        database_url, "SELECT actor_id, detail FROM audit_events WHERE action = :a", a=action
    )
    return [r for r in rows if share_id in str(r[1])]


async def test_a_seeker_shares_and_only_the_acknowledging_supervisor_reads_it(
    server: Server, staff: StaffFactory, backend: Backend
):
    s, v, sup, cid, eid, person = await _imminent(server, staff)

    await sup.send({"type": "emergency_share.ask", "escalation_id": eid, "ref": "a1"})
    request = await s.recv("emergency_share.request")
    assert request["conversation_id"] == cid
    assert request["supervisor_alias"] == person.alias
    assert request["keep_hours"] == 72
    asked = await sup.recv("emergency_share.updated", where=lambda f: f["status"] == "requested")
    share_id = request["request_id"]
    assert asked["share_id"] == share_id and asked["escalation_id"] == eid

    # A reload shows the unanswered request again.
    again = await WsClient.open(server.ws_url, s.token)
    await again.send({"type": "conversation.resume", "conversation_id": cid, "after_seq": 0})
    assert (await again.recv("emergency_share.request"))["request_id"] == share_id
    await again.close()

    await s.send(
        {
            "type": "emergency_share.answer",
            "request_id": share_id,
            "share": True,
            "phone": f"  {PHONE} ",
            "location": PLACE,
            "ref": "ans",
        }
    )
    ok = await s.recv("emergency_share.ok")
    assert ok == {
        "type": "emergency_share.ok",
        "request_id": share_id,
        "conversation_id": cid,
        "status": "shared",
        "ref": "ans",
    }
    updated = await sup.recv("emergency_share.updated", where=lambda f: f["status"] == "shared")
    assert updated["has_phone"] and updated["has_location"]
    assert PHONE not in str(updated) and "Hostel" not in str(updated)
    assert updated["delete_by"] is not None

    async with httpx.AsyncClient(base_url=server.base_url) as http:
        auth = {"Authorization": f"Bearer {person.token}"}
        listed = (await http.get("/api/v1/emergency-shares", headers=auth)).json()["shares"]
        assert [x["share_id"] for x in listed] == [share_id]
        assert "phone" not in listed[0]
        read = await http.get(f"/api/v1/emergency-shares/{share_id}", headers=auth)
        assert read.status_code == 200, read.text
        assert read.json()["phone"] == PHONE and read.json()["location"] == PLACE
        assert read.json()["readable"] is True

        # Another supervisor, an admin, the volunteer and the seeker cannot read it.
        other = await staff.create("supervisor")
        admin = await staff.create("admin")
        for token, status in (
            (other.token, 403),
            (admin.token, 403),
            (v.staff.token, 403),  # type: ignore[attr-defined]
            (s.token, 403),
        ):
            denied = await http.get(
                f"/api/v1/emergency-shares/{share_id}",
                headers={"Authorization": f"Bearer {token}"},
            )
            assert denied.status_code == status, denied.text
            assert PHONE not in denied.text
        unknown = await http.get("/api/v1/emergency-shares/" + "0" * 32, headers=auth)
        assert unknown.status_code == 404

        # Never in the transcript (the messages), for the seeker or a supervisor.
        messages = await http.get(f"/api/v1/conversations/{cid}/messages", headers=auth)
        assert messages.status_code == 200 and PHONE not in messages.text
        assert "Hostel" not in messages.text
        metrics = await http.get("/metrics")
        assert PHONE not in metrics.text and "Hostel" not in metrics.text

    # Each read is audited; the share itself only by kind.
    reads = await _audit(backend.database_url, "emergency_share.read", share_id)
    assert [r[0] for r in reads] == [person.user_id]
    shared = await _audit(backend.database_url, "emergency_share.shared", share_id)
    assert len(shared) == 1 and PHONE not in str(shared) and "Hostel" not in str(shared)

    # Stored sealed: not in any column as plain text, nor in the messages table.
    stored = await sql(
        backend.database_url, "SELECT sealed FROM emergency_shares WHERE id = :i", i=share_id
    )
    assert stored[0][0] and PHONE not in stored[0][0] and "Hostel" not in stored[0][0]
    in_messages = await sql(
        backend.database_url,
        "SELECT count(*) FROM messages WHERE text LIKE :p OR text LIKE :q",
        p="%98765%",
        q="%Hostel B%",
    )
    assert in_messages[0][0] == 0

    # The volunteer heard nothing of it; nor did the log.
    await v.send({"type": "ping"})
    await v.recv("pong")
    assert not [f for f in v.pending if f["type"].startswith("emergency_share")]
    assert PHONE not in str(v.pending) and "Hostel" not in str(v.pending)
    log = server.log_text()
    assert not shows_test_phone(log) and "Hostel B" not in log

    # Resolving deletes it at once.
    await sup.send({"type": "escalation.resolve", "escalation_id": eid, "outcome": "other"})
    gone = await sup.recv("emergency_share.updated", where=lambda f: f["status"] == "deleted")
    assert gone["deleted_reason"] == "resolved" and gone["deleted_at"]
    stored = await sql(
        backend.database_url, "SELECT sealed FROM emergency_shares WHERE id = :i", i=share_id
    )
    assert stored[0][0] is None
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        after = await http.get(
            f"/api/v1/emergency-shares/{share_id}",
            headers={"Authorization": f"Bearer {person.token}"},
        )
        assert after.json()["phone"] is None and after.json()["status"] == "deleted"
    assert await _audit(backend.database_url, "emergency_share.deleted", share_id)
    for c in (s, v, sup):
        await c.close()


async def test_declining_changes_nothing_and_the_supervisor_may_ask_again(
    server: Server, staff: StaffFactory, backend: Backend
):
    s, v, sup, cid, eid, _ = await _imminent(server, staff)
    await sup.send({"type": "emergency_share.ask", "escalation_id": eid})
    first = await s.recv("emergency_share.request")
    await s.send(
        {"type": "emergency_share.answer", "request_id": first["request_id"], "share": False}
    )
    assert (await s.recv("emergency_share.ok"))["status"] == "declined"
    declined = await sup.recv("emergency_share.updated", where=lambda f: f["status"] == "declined")
    assert not declined["has_phone"] and not declined["has_location"]
    stored = await sql(
        backend.database_url,
        "SELECT sealed, delete_by FROM emergency_shares WHERE id = :i",
        i=first["request_id"],
    )
    assert stored == [(None, None)]

    # The chat goes on as before.
    await s.send({"type": "chat.send", "conversation_id": cid, "client_msg_id": "d1", "text": "ok"})
    await v.recv("chat.message", where=lambda f: f["text"] == "ok")
    # Answering twice is refused.
    await s.send(
        {"type": "emergency_share.answer", "request_id": first["request_id"], "share": False}
    )
    await s.error("share_closed")

    # An unanswered request is withdrawn when the escalation is resolved.
    await sup.send({"type": "emergency_share.ask", "escalation_id": eid})
    second = await s.recv("emergency_share.request")
    assert second["request_id"] != first["request_id"]
    await sup.send({"type": "escalation.resolve", "escalation_id": eid, "outcome": "other"})
    withdrawn = await s.recv("emergency_share.withdrawn")
    assert withdrawn["request_id"] == second["request_id"]
    await s.send(
        {
            "type": "emergency_share.answer",
            "request_id": second["request_id"],
            "share": True,
            "phone": PHONE,
        }
    )
    await s.error("share_closed")
    assert (
        await sql(
            backend.database_url,
            "SELECT sealed FROM emergency_shares WHERE id = :i",
            i=second["request_id"],
        )
    ) == [(None,)]
    for c in (s, v, sup):
        await c.close()


async def test_refusals_name_their_reason_and_keep_the_socket(
    server: Server, staff: StaffFactory, backend: Backend
):
    s, v, sup, cid, eid, _ = await _imminent(server, staff)
    # A volunteer or a seeker cannot ask; nor can a supervisor who did not acknowledge.
    await v.send({"type": "emergency_share.ask", "escalation_id": eid})
    await v.error("forbidden")
    await s.send({"type": "emergency_share.ask", "escalation_id": eid})
    await s.error("forbidden")
    other_person = await staff.create("supervisor")
    other = await WsClient.open(server.ws_url, other_person.token)
    await other.send({"type": "emergency_share.ask", "escalation_id": eid})
    await other.error("forbidden")
    await sup.send({"type": "emergency_share.ask", "escalation_id": "0" * 32})
    await sup.error("not_found")
    await sup.send({"type": "emergency_share.ask"})
    await sup.error("invalid_frame")

    await sup.send({"type": "emergency_share.ask", "escalation_id": eid})
    request = await s.recv("emergency_share.request")
    rid = request["request_id"]
    await sup.send({"type": "emergency_share.ask", "escalation_id": eid})
    await sup.error("share_pending")

    # The seeker's bad answers: nothing given, too long, not theirs, wrong shape.
    bad: list[tuple[dict[str, Any], str]] = [
        ({"share": True}, "text_empty"),
        ({"share": True, "phone": "   ", "location": ""}, "text_empty"),
        ({"share": True, "phone": "9" * 41}, "text_too_long"),
        ({"share": True, "location": "x" * 501}, "text_too_long"),
        ({"share": True, "location": "x" * 5000}, "text_too_long"),
        ({"share": True, "phone": 12345}, "invalid_frame"),
        ({"share": "maybe"}, "invalid_frame"),
        ({"share": True, "phone": "1\u0000"}, "invalid_frame"),
    ]
    for extra, code in bad:
        await s.send({"type": "emergency_share.answer", "request_id": rid, **extra})
        await s.error(code)
    stranger, _, _, _ = await paired(server, staff)
    await stranger.send(
        {"type": "emergency_share.answer", "request_id": rid, "share": True, "phone": PHONE}
    )
    await stranger.error("not_found")
    await v.send({"type": "emergency_share.answer", "request_id": rid, "share": False})
    await v.error("forbidden")
    stored = await sql(
        backend.database_url, "SELECT status, sealed FROM emergency_shares WHERE id = :i", i=rid
    )
    assert stored == [("requested", None)]
    # Still usable, and the request still stands.
    await s.send({"type": "ping", "ref": "p"})
    assert (await s.recv("pong"))["ref"] == "p"
    await s.send(
        {"type": "emergency_share.answer", "request_id": rid, "share": True, "location": PLACE}
    )
    ok = await s.recv("emergency_share.ok")
    assert ok["status"] == "shared"
    for c in (s, v, sup, other, stranger):
        await c.close()


async def test_only_imminent_escalations_may_ask(server: Server, staff: StaffFactory):
    s, v, sup, cid, eid, _ = await _imminent(server, staff, level="high")
    await sup.send({"type": "emergency_share.ask", "escalation_id": eid})
    await sup.error("share_not_allowed")
    await s.nothing("emergency_share.request", within=0.3)
    for c in (s, v, sup):
        await c.close()


async def test_a_share_is_deleted_72_hours_after_it_was_given(
    server: Server, staff: StaffFactory, backend: Backend
):
    s, v, sup, cid, eid, person = await _imminent(server, staff)
    await sup.send({"type": "emergency_share.ask", "escalation_id": eid})
    rid = (await s.recv("emergency_share.request"))["request_id"]
    await s.send(
        {"type": "emergency_share.answer", "request_id": rid, "share": True, "phone": PHONE}
    )
    await s.recv("emergency_share.ok")
    shared = await sup.recv("emergency_share.updated", where=lambda f: f["status"] == "shared")
    answered_at = datetime.fromisoformat(shared["answered_at"])
    delete_by = datetime.fromisoformat(shared["delete_by"])
    assert delete_by - answered_at == timedelta(hours=72)

    # The leader's sweep (here run directly, at a time 72 hours on) deletes it.
    engine = create_engine(backend.database_url)
    try:
        database = Database(engine, MemoryBus())
        async with database.unit_of_work() as uow:
            await service.erase_due(uow, now=utcnow() + timedelta(hours=71))
        kept = await sql(
            backend.database_url, "SELECT sealed FROM emergency_shares WHERE id = :i", i=rid
        )
        assert kept[0][0] is not None
        async with database.unit_of_work() as uow:
            await service.erase_due(uow, now=utcnow() + timedelta(hours=72, seconds=1))
    finally:
        await engine.dispose()
    gone = await sql(
        backend.database_url,
        "SELECT status, sealed, deleted_reason FROM emergency_shares WHERE id = :i",
        i=rid,
    )
    assert gone == [("deleted", None, "expired")]
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        after = await http.get(
            f"/api/v1/emergency-shares/{rid}",
            headers={"Authorization": f"Bearer {person.token}"},
        )
        assert after.json()["phone"] is None
    for c in (s, v, sup):
        await c.close()


async def test_a_quick_exit_withdraws_the_unanswered_request_and_keeps_what_was_shared(
    server: Server, staff: StaffFactory, backend: Backend
):
    """After a quick exit the seeker's token is dead: a request they had not answered can
    never be answered, so the supervisor sees it ``withdrawn`` (``deleted_reason``
    ``quick_exit``) instead of waiting on it. A share already given is kept: a seeker at
    imminent risk who vanished is when the supervisor may need it most."""
    s, _, sup, _, eid, _ = await _imminent(server, staff)
    await sup.send({"type": "emergency_share.ask", "escalation_id": eid})
    first = (await s.recv("emergency_share.request"))["request_id"]
    await s.send(
        {"type": "emergency_share.answer", "request_id": first, "share": True, "phone": PHONE}
    )
    await s.recv("emergency_share.ok")
    await sup.send({"type": "emergency_share.ask", "escalation_id": eid})
    second = (await s.recv("emergency_share.request"))["request_id"]
    await s.send({"type": "quick_exit"})
    withdrawn = await sup.recv(
        "emergency_share.updated",
        where=lambda f: f["share_id"] == second and f["status"] == "withdrawn",
    )
    assert withdrawn["deleted_reason"] == "quick_exit"
    rows = await sql(
        backend.database_url,
        "SELECT id, status, sealed IS NOT NULL FROM emergency_shares WHERE escalation_id = :e"
        " ORDER BY requested_at",
        e=eid,
    )
    assert [tuple(r) for r in rows] == [(first, "shared", True), (second, "withdrawn", False)]
    audited = await _audit(backend.database_url, "emergency_share.withdrawn", second)
    assert len(audited) == 1
    await sup.close()


async def test_a_quick_exit_from_the_ended_screen_withdraws_the_unanswered_request(
    server: Server, staff: StaffFactory, backend: Backend
):
    """A request asked before the chat ended stays answerable from the ended screen; a quick
    exit there kills the token, so it is withdrawn then too (it was left ``requested``, the
    supervisor waiting on an answer that could not come)."""
    s, _, sup, cid, eid, _ = await _imminent(server, staff)
    await sup.send({"type": "emergency_share.ask", "escalation_id": eid})
    request = (await s.recv("emergency_share.request"))["request_id"]
    await s.send({"type": "conversation.end", "conversation_id": cid})
    await s.recv("conversation.ended")
    await s.send({"type": "quick_exit"})
    withdrawn = await sup.recv(
        "emergency_share.updated",
        where=lambda f: f["share_id"] == request and f["status"] == "withdrawn",
    )
    assert withdrawn["deleted_reason"] == "quick_exit"
    audited = await _audit(backend.database_url, "emergency_share.withdrawn", request)
    assert len(audited) == 1
    await sup.close()


async def test_a_block_withdraws_the_seekers_unanswered_request(
    server: Server, staff: StaffFactory, backend: Backend
):
    """A block revokes the seeker's token, so a request they had not answered never can be:
    it is withdrawn (``deleted_reason`` ``blocked``), audited, instead of left waiting."""
    s, _, sup, cid, eid, _ = await _imminent(server, staff)
    await sup.send({"type": "emergency_share.ask", "escalation_id": eid})
    request = (await s.recv("emergency_share.request"))["request_id"]
    await sup.send({"type": "seeker.block", "conversation_id": cid})
    await sup.recv("seeker.block.ok")
    withdrawn = await sup.recv(
        "emergency_share.updated",
        where=lambda f: f["share_id"] == request and f["status"] == "withdrawn",
    )
    assert withdrawn["deleted_reason"] == "blocked"
    audited = await _audit(backend.database_url, "emergency_share.withdrawn", request)
    assert [json.loads(r[1]) if isinstance(r[1], str) else r[1] for r in audited] == [
        {"share_id": request, "escalation_id": eid, "reason": "blocked"}
    ]
    await sup.close()
