"""Learning in service: staff mark the cue detector, supervisors review, over a real server."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx

from app.db import utcnow
from app.risk.cues.lists import load_catalogue
from tests.conftest import StaffFactory
from tests.support import Server, WsClient, paired, sql
from tests.test_metrics import scrape, value


async def _say(s: WsClient, cid: str, msg_id: str, text: str) -> int:
    await s.send(
        {"type": "chat.send", "conversation_id": cid, "client_msg_id": msg_id, "text": text}
    )
    return (await s.recv("chat.ack", where=lambda f: f["client_msg_id"] == msg_id))["seq"]


async def test_volunteer_marks_and_supervisor_reviews_paraphrases_and_counts(
    server: Server, staff: StaffFactory, backend
):
    s, v, cid, _ = await paired(server, staff)
    flagged = await _say(s, cid, "m1", "i took 800mg of something")
    await v.recv("risk.cue", where=lambda f: f["seq"] == flagged)
    plain = await _say(s, cid, "m2", "the exam hall smelled of rain today")
    await v.send({"type": "cue.mark", "conversation_id": cid, "seq": flagged, "kind": "not_risk"})
    marked = await v.recv("cue.marked")
    assert (marked["seq"], marked["kind"]) == (flagged, "not_risk")
    await v.send({"type": "cue.mark", "conversation_id": cid, "seq": plain, "kind": "missed"})
    missed = await v.recv("cue.marked", where=lambda f: f["seq"] == plain)
    await s.nothing("cue.marked", within=0.3)  # the seeker never sees marks

    sup = await staff.create("supervisor")
    h = {"Authorization": f"Bearer {sup.token}"}
    async with httpx.AsyncClient(base_url=server.base_url, headers=h) as http:
        r = await http.get("/api/v1/cue-marks", params={"status": "open"})
        mine = {m["mark_id"]: m for m in r.json()["marks"] if m["conversation_id"] == cid}
        wrong = mine[marked["mark_id"]]
        assert wrong["text"] == "i took 800mg of something" and wrong["cue_class"]
        assert wrong["families"] and wrong["patterns"]
        assert mine[missed["mark_id"]]["patterns"] == []
        # The read showed this conversation's words: an admin finds it by the conversation.
        admin = await staff.create("admin")
        entries = (
            await http.get(
                "/api/v1/audit",
                params={"conversation_id": cid, "action": "risk.cue_marks_read"},
                headers={"Authorization": f"Bearer {admin.token}"},
            )
        ).json()["entries"]
        assert [(e["actor_id"], sorted(e["detail"]["marks"])) for e in entries] == [
            (sup.user_id, sorted(mine))
        ]

        r = await http.post(
            f"/api/v1/cue-marks/{marked['mark_id']}/paraphrase",
            json={
                "text": "took a 500mg tablet for my back pain",
                "family": "means_medicine",
                "form": "en",
            },
        )
        assert r.status_code == 409 and r.json()["error"]["code"] == "not_reviewed"
        r = await http.post(
            f"/api/v1/cue-marks/{marked['mark_id']}/review", json={"verdict": "agree"}
        )
        assert r.status_code == 200 and r.json()["status"] == "reviewed"
        r = await http.post(
            f"/api/v1/cue-marks/{marked['mark_id']}/review", json={"verdict": "agree"}
        )
        assert r.json()["error"]["code"] == "invalid_transition"
        r = await http.post(
            f"/api/v1/cue-marks/{marked['mark_id']}/paraphrase",
            json={"text": "I took 800 mg of something!", "family": "means_medicine", "form": "en"},
        )
        assert r.status_code == 400 and r.json()["error"]["code"] == "paraphrase_too_close"
        r = await http.post(
            f"/api/v1/cue-marks/{marked['mark_id']}/paraphrase",
            json={"text": "took a 500mg tablet for my back pain", "family": "vibes", "form": "en"},
        )
        assert r.json()["error"]["code"] == "unknown_family"
        # 3-300 characters once trimmed (as stored): only spaces is refused, never stored empty.
        r = await http.post(
            f"/api/v1/cue-marks/{marked['mark_id']}/paraphrase",
            json={"text": "      ", "family": "means_medicine", "form": "en"},
        )
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request", r.text
        r = await http.post(
            f"/api/v1/cue-marks/{marked['mark_id']}/paraphrase",
            json={
                "text": "took a 500mg tablet for my back pain",
                "family": "means_medicine",
                "form": "en",
            },
        )
        assert r.status_code == 201, r.text
        row = r.json()
        assert (row["label"], row["family"], row["split"]) == (
            "none",
            "means_medicine",
            "candidate",
        )
        r = await http.get("/api/v1/cue-marks/candidates")
        assert row in r.json()["candidates"]

        counts = (await http.get("/api/v1/cue-marks/counts")).json()
        family = wrong["families"][0]
        assert counts["families"][family]["not_risk"] >= 1
        assert counts["families"][family]["flags"] >= 1
        assert counts["families"]["unassigned"]["missed"] >= 1
        assert counts["patterns"][wrong["patterns"][0]]["not_risk"] >= 1
        overview = (await http.get("/api/v1/overview")).json()
        assert overview["cue_feedback_today"]["families"][family]["not_risk"] >= 1

        v_h = {"Authorization": f"Bearer {v.staff.token}"}
        r = await http.get("/api/v1/cue-marks", headers=v_h)
        assert r.status_code == 403  # the review list is for supervisors
    actions = {
        row[0]
        for row in await sql(
            backend.database_url,
            "SELECT action FROM audit_events WHERE conversation_id = :c",
            c=cid,
        )
    }
    assert {"risk.cue_mark", "risk.cue_mark_review", "risk.cue_paraphrase"} <= actions


async def test_bad_marks_are_refused_and_the_socket_stays_usable(server: Server, staff):
    s, v, cid, _ = await paired(server, staff)
    flagged = await _say(s, cid, "m1", "i want to kill myself")
    plain = await _say(s, cid, "m2", "hello, thanks for talking")
    await v.send({"type": "cue.mark", "conversation_id": cid, "seq": flagged, "kind": "missed"})
    await v.error("invalid_mark")
    await v.send({"type": "cue.mark", "conversation_id": cid, "seq": plain, "kind": "not_risk"})
    await v.error("invalid_mark")
    await v.send({"type": "cue.mark", "conversation_id": cid, "seq": 99, "kind": "missed"})
    await v.error("invalid_mark")
    await v.send({"type": "cue.mark", "conversation_id": cid, "seq": plain, "kind": "maybe"})
    await v.error("invalid_frame")
    await s.send({"type": "cue.mark", "conversation_id": cid, "seq": plain, "kind": "missed"})
    await s.error("forbidden")
    stranger = await WsClient.open(server.ws_url, (await staff.create()).token)
    await stranger.send(
        {"type": "cue.mark", "conversation_id": cid, "seq": plain, "kind": "missed"}
    )
    await stranger.error("not_found")
    await v.send({"type": "cue.mark", "conversation_id": cid, "seq": 0, "kind": "missed"})
    await v.error("invalid_frame")
    # The same mark twice is one mark.
    for _ in range(2):
        await v.send({"type": "cue.mark", "conversation_id": cid, "seq": plain, "kind": "missed"})
    first = await v.recv("cue.marked")
    second = await v.recv("cue.marked")
    assert first["mark_id"] == second["mark_id"]


async def test_marks_leave_the_review_list_with_the_message_text_and_come_back_on_resume(
    server: Server, staff: StaffFactory, backend
):
    s, v, cid, _ = await paired(server, staff)
    plain = await _say(s, cid, "m1", "i keep giving my stuff to my cousins lately")
    await v.send({"type": "cue.mark", "conversation_id": cid, "seq": plain, "kind": "missed"})
    mark_id = (await v.recv("cue.marked"))["mark_id"]
    v2 = await WsClient.open(server.ws_url, v.staff.token)
    await v2.send({"type": "conversation.resume", "conversation_id": cid, "after_seq": 0})
    again = await v2.recv("cue.marked")
    assert again["mark_id"] == mark_id

    sup = await staff.create("supervisor")
    h = {"Authorization": f"Bearer {sup.token}"}
    # Retention deletes a conversation's messages; simulate it for this one.
    await sql(backend.database_url, "DELETE FROM messages WHERE conversation_id = :c", c=cid)
    async with httpx.AsyncClient(base_url=server.base_url, headers=h) as http:
        listed = (await http.get("/api/v1/cue-marks")).json()["marks"]
        assert mark_id not in {m["mark_id"] for m in listed}
        r = await http.post(f"/api/v1/cue-marks/{mark_id}/review", json={"verdict": "agree"})
        assert r.status_code == 404
        counts = (await http.get("/api/v1/cue-marks/counts")).json()
        assert counts["families"]["unassigned"]["missed"] >= 1


def _detail(raw: object) -> dict:
    return json.loads(raw) if isinstance(raw, str) else dict(raw)  # type: ignore[arg-type]


async def test_marks_count_in_metrics_per_family_and_pattern_and_never_carry_text(
    server: Server, staff: StaffFactory, backend
):
    s, v, cid, _ = await paired(server, staff)
    _, before = await scrape(server.base_url)
    flagged = await _say(s, cid, "m1", "i took 800mg of something")
    await v.recv("risk.cue", where=lambda f: f["seq"] == flagged)
    plain = await _say(s, cid, "m2", "my grandmother's garden is full of weeds")
    await v.send({"type": "cue.mark", "conversation_id": cid, "seq": flagged, "kind": "not_risk"})
    await v.recv("cue.marked", where=lambda f: f["seq"] == flagged)
    await v.send({"type": "cue.mark", "conversation_id": cid, "seq": plain, "kind": "missed"})
    await v.recv("cue.marked", where=lambda f: f["seq"] == plain)

    # The mark keeps the families the flag's own record names.
    (raw,) = (
        row[0]
        for row in await sql(
            backend.database_url,
            "SELECT detail FROM audit_events WHERE conversation_id = :c AND action = 'risk.cue'",
            c=cid,
        )
    )
    flag = _detail(raw)
    assert flag["families"] and flag["patterns"]
    sup = await staff.create("supervisor")
    async with httpx.AsyncClient(
        base_url=server.base_url, headers={"Authorization": f"Bearer {sup.token}"}
    ) as http:
        listed = (await http.get("/api/v1/cue-marks")).json()["marks"]
    mine = {m["seq"]: m for m in listed if m["conversation_id"] == cid}
    assert mine[flagged]["families"] == flag["families"]
    assert mine[plain]["families"] == []

    text, after = await scrape(server.base_url)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    for family in flag["families"]:
        assert moved("peerline_cue_flag_families_total", family=family) >= 1
        assert moved("peerline_cue_marks_total", kind="not_risk", family=family) == 1
    for pattern in flag["patterns"]:
        assert moved("peerline_cue_mark_patterns_total", kind="not_risk", pattern=pattern) == 1
    assert moved("peerline_cue_marks_total", kind="missed", family="unassigned") == 1
    for secret in (cid, v.staff.user_id, "800mg", "garden", mine[flagged]["mark_id"]):
        assert secret not in text, secret


async def test_candidates_export_as_json_lines_for_a_clinical_lead(
    server: Server, staff: StaffFactory, backend
):
    s, v, cid, _ = await paired(server, staff)
    words = "i have been eating very little this week"
    plain = await _say(s, cid, "m1", words)
    await v.send({"type": "cue.mark", "conversation_id": cid, "seq": plain, "kind": "missed"})
    mark_id = (await v.recv("cue.marked"))["mark_id"]
    sup = await staff.create("supervisor")
    admin = await staff.create("admin")
    async with httpx.AsyncClient(
        base_url=server.base_url, headers={"Authorization": f"Bearer {sup.token}"}
    ) as http:
        r = await http.post(f"/api/v1/cue-marks/{mark_id}/review", json={"verdict": "agree"})
        assert r.status_code == 200
        # Text that cannot be stored is refused at the door; nothing is half-written.
        r = await http.post(
            f"/api/v1/cue-marks/{mark_id}/paraphrase",
            json={
                "text": "staying in bed\u0000 all day",
                "family": "withdrawal_substance",
                "form": "en",
            },
        )
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
        r = await http.post(
            f"/api/v1/cue-marks/{mark_id}/paraphrase",
            json={"text": words.upper(), "family": "withdrawal_substance", "form": "en"},
        )
        assert r.json()["error"]["code"] == "paraphrase_too_close"
        listed = (await http.get("/api/v1/cue-marks", params={"status": "reviewed"})).json()
        assert mark_id in {m["mark_id"] for m in listed["marks"]}
        r = await http.post(
            f"/api/v1/cue-marks/{mark_id}/paraphrase",
            json={
                "text": "hardly touching food for days now",
                "family": "withdrawal_substance",
                "form": "en",
            },
        )
        assert r.status_code == 201, r.text
        candidate = r.json()

        r = await http.get("/api/v1/cue-candidates")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/x-ndjson")
        assert r.headers["cache-control"] == "no-store"
        rows = [json.loads(line) for line in r.text.splitlines()]
        assert r.text.endswith("\n") and candidate in rows
        family = load_catalogue()["withdrawal_substance"]
        assert (candidate["label"], candidate["cue_class"]) == ("risk", family.cue_class.value)
        assert words not in r.text  # the seeker's words never leave in the export
        for token in (v.staff.token, s.token):
            r = await http.get(
                "/api/v1/cue-candidates", headers={"Authorization": f"Bearer {token}"}
            )
            assert r.status_code in (401, 403)
        r = await http.get(
            "/api/v1/cue-candidates", headers={"Authorization": f"Bearer {admin.token}"}
        )
        assert r.status_code == 200 and candidate in map(json.loads, r.text.splitlines())
    exports = await sql(
        backend.database_url,
        "SELECT actor_role FROM audit_events WHERE action = 'risk.cue_candidates_export'"
        " AND actor_id IN (:s, :a)",
        s=sup.user_id,
        a=admin.user_id,
    )
    assert sorted(row[0] for row in exports) == ["admin", "supervisor"]


async def test_bad_review_requests_get_stable_codes_and_change_nothing(
    server: Server, staff: StaffFactory, backend
):
    s, v, cid, _ = await paired(server, staff)
    plain = await _say(s, cid, "m1", "my grandmother's garden is full of weeds")
    await v.send({"type": "cue.mark", "conversation_id": cid, "seq": plain, "kind": "missed"})
    mark_id = (await v.recv("cue.marked"))["mark_id"]
    sup = await staff.create("supervisor")
    async with httpx.AsyncClient(
        base_url=server.base_url, headers={"Authorization": f"Bearer {sup.token}"}
    ) as http:
        for method, path, body, status, code in (
            ("post", "/api/v1/cue-marks/nope/review", {"verdict": "agree"}, 404, "not_found"),
            ("post", f"/api/v1/cue-marks/{mark_id}/review", {"verdict": "maybe"}, 422, None),
            ("post", f"/api/v1/cue-marks/{mark_id}/review", {}, 422, None),
            ("get", "/api/v1/cue-marks?status=lost", None, 422, None),
            ("get", "/api/v1/cue-marks/counts?days=0", None, 422, None),
        ):
            r = await http.request(method, path, json=body)
            assert r.status_code == status, (path, r.text)
            assert r.json()["error"]["code"] == (code or "invalid_request")
        # A volunteer neither reviews nor reads the counts.
        vh = {"Authorization": f"Bearer {v.staff.token}"}
        r = await http.post(
            f"/api/v1/cue-marks/{mark_id}/review", json={"verdict": "agree"}, headers=vh
        )
        assert r.status_code == 403
        assert (await http.get("/api/v1/cue-marks/counts", headers=vh)).status_code == 403
        r = await http.post(f"/api/v1/cue-marks/{mark_id}/review", json={"verdict": "disagree"})
        assert r.status_code == 200 and r.json()["verdict"] == "disagree"
        # A disagreed mark never becomes a candidate, whatever the text.
        r = await http.post(
            f"/api/v1/cue-marks/{mark_id}/paraphrase",
            json={"text": "the plants at home need weeding", "family": "mood_change", "form": "en"},
        )
        assert r.status_code == 409 and r.json()["error"]["code"] == "not_reviewed"
        r = await http.post(
            f"/api/v1/cue-marks/{mark_id}/paraphrase",
            json={"text": "x" * 301, "family": "mood_change", "form": "en"},
        )
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    rows = await sql(
        backend.database_url,
        "SELECT status, verdict FROM cue_marks WHERE id = :m",
        m=mark_id,
    )
    assert [tuple(row) for row in rows] == [("reviewed", "disagree")]
    assert not await sql(
        backend.database_url, "SELECT id FROM cue_candidates WHERE mark_id = :m", m=mark_id
    )


async def test_a_mark_made_before_midnight_still_counts_as_open_in_the_overview(
    server: Server, staff: StaffFactory, backend
):
    """ "Cue marks to review" is every mark still waiting for a supervisor, not today's: a mark
    made at 23:59 does not drop out of the desk's overview at midnight (it is still listed)."""
    s, v, cid, _ = await paired(server, staff)
    plain = await _say(s, cid, "m1", "the exam hall smelled of rain today")
    await v.send({"type": "cue.mark", "conversation_id": cid, "seq": plain, "kind": "missed"})
    mark_id = (await v.recv("cue.marked"))["mark_id"]
    sup = await staff.create("supervisor")
    h = {"Authorization": f"Bearer {sup.token}"}
    async with httpx.AsyncClient(base_url=server.base_url, headers=h) as http:
        before = (await http.get("/api/v1/overview")).json()["cue_feedback_today"]
        # Data setup: the mark was made two days ago.
        await sql(
            backend.database_url,
            "UPDATE cue_marks SET marked_at = :t WHERE id = :m",
            t=utcnow() - timedelta(days=2),
            m=mark_id,
        )
        after = (await http.get("/api/v1/overview")).json()["cue_feedback_today"]
        assert after["open_marks"] == before["open_marks"] >= 1
        # Today's per-family figures no longer count it; the review list still shows it.
        unassigned = before["families"]["unassigned"]["missed"]
        assert after["families"].get("unassigned", {}).get("missed", 0) == unassigned - 1
        listed = (await http.get("/api/v1/cue-marks", params={"status": "open"})).json()
        assert mark_id in {m["mark_id"] for m in listed["marks"]}
        counts = (await http.get("/api/v1/cue-marks/counts", params={"days": 1})).json()
        assert counts["open_marks"] == after["open_marks"]
