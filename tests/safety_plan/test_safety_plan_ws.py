"""The safety plan over a real server: opened when the level calls for it, edited by both,
seen by a supervisor, back on resume, audited without the words."""

from __future__ import annotations

import httpx

from tests.conftest import Fresh
from tests.support import Server, WsClient, new_seeker, paired, sql


async def _level(v: WsClient, cid: str, level: str) -> None:
    await v.send(
        {"type": "risk.concern", "conversation_id": cid, "level": level, "reason": "worried"}
    )
    await v.recv("risk.assessed", where=lambda f: f["conversation_id"] == cid)


async def test_plan_is_opened_edited_by_both_and_resumed(server: Server, staff, backend):
    s, v, cid, seeker = await paired(server, staff)
    await v.send({"type": "safety_plan.open", "conversation_id": cid})
    await v.error("safety_plan_not_offered")
    await s.send({"type": "safety_plan.open", "conversation_id": cid})
    await s.error("forbidden")
    await _level(v, cid, "low")

    await v.send({"type": "safety_plan.open", "conversation_id": cid})
    opened = await v.recv("safety_plan")
    seen = await s.recv("safety_plan")
    assert seen == opened
    assert [step["step_id"] for step in seen["steps"]] == [
        "warning_signs",
        "coping_alone",
        "distractions",
        "people_to_ask",
        "professionals",
        "safer_surroundings",
    ]
    assert all(step["items"] == [] for step in seen["steps"])
    numbers = {c["uri"] for line in seen["helplines"] for c in line["contacts"]}
    assert "tel:14416" in numbers
    assert seen["revision"] == 1 and seen["updated_by_role"] == "volunteer"

    await s.send(
        {
            "type": "safety_plan.update",
            "conversation_id": cid,
            "step": "coping_alone",
            "items": ["  a long walk ", "", "music"],
        }
    )
    by_seeker = await v.recv("safety_plan", where=lambda f: f["revision"] == 2)
    coping = next(x for x in by_seeker["steps"] if x["step_id"] == "coping_alone")
    assert coping["items"] == ["a long walk", "music"]
    assert by_seeker["updated_by_role"] == "seeker"
    await s.recv("safety_plan", where=lambda f: f["revision"] == 2)
    await v.send(
        {
            "type": "safety_plan.update",
            "conversation_id": cid,
            "step": "people_to_ask",
            "items": ["my elder sister"],
        }
    )
    await s.recv("safety_plan", where=lambda f: f["revision"] == 3)

    await s.send({"type": "safety_plan.update", "conversation_id": cid, "step": "x", "items": []})
    await s.error("invalid_frame")
    await s.send(
        {
            "type": "safety_plan.update",
            "conversation_id": cid,
            "step": "warning_signs",
            "items": ["x" * 301],
        }
    )
    await s.error("text_too_long")
    # However long: an entry over the limit is text_too_long, never invalid_frame.
    await s.send(
        {
            "type": "safety_plan.update",
            "conversation_id": cid,
            "step": "warning_signs",
            "items": ["x" * 2001],
        }
    )
    await s.error("text_too_long")

    # A supervisor who observes sees the plan and cannot edit it.
    sup = await staff.create("supervisor")
    desk = await WsClient.open(server.ws_url, sup.token)
    await desk.send({"type": "conversation.observe", "conversation_id": cid})
    watched = await desk.recv("safety_plan")
    assert watched["revision"] == 3
    await desk.send(
        {"type": "safety_plan.update", "conversation_id": cid, "step": "x", "items": []}
    )
    await desk.error("forbidden")

    # The seeker comes back on another socket: the plan comes with the resume.
    again = await WsClient.open(server.ws_url, seeker["seeker_token"])
    await again.send({"type": "conversation.resume", "conversation_id": cid, "after_seq": 0})
    await again.recv("conversation.resumed")
    back = await again.recv("safety_plan")
    assert back["revision"] == 3
    assert next(x for x in back["steps"] if x["step_id"] == "people_to_ask")["items"] == [
        "my elder sister"
    ]
    # Opening again answers the one who asked, with the same plan.
    await v.send({"type": "safety_plan.open", "conversation_id": cid})
    assert (await v.recv("safety_plan", where=lambda f: f["revision"] == 3))["plan_id"] == (
        back["plan_id"]
    )
    await again.nothing("safety_plan", within=0.3)

    async with httpx.AsyncClient(base_url=server.base_url) as http:

        async def get(token: str) -> httpx.Response:
            return await http.get(
                f"/api/v1/conversations/{cid}/safety-plan",
                headers={"Authorization": f"Bearer {token}"},
            )

        mine = await get(seeker["seeker_token"])
        assert mine.status_code == 200 and mine.json()["revision"] == 3
        assert mine.json()["steps"] == back["steps"]
        stranger = await new_seeker(server.base_url, "en")
        assert (await get(stranger["seeker_token"])).status_code == 404
        assert (await get(sup.token)).status_code == 200

    await again.send({"type": "conversation.end", "conversation_id": cid})
    await again.recv("conversation.ended")
    await again.send(
        {"type": "safety_plan.update", "conversation_id": cid, "step": "coping_alone", "items": []}
    )
    await again.error("conversation_closed")
    # After the end the conversation's language is fixed; a page switched to another asks
    # for the plan in it: the fixed words follow, the seeker's own stay as written.
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        url = f"/api/v1/conversations/{cid}/safety-plan"
        auth = {"Authorization": f"Bearer {seeker['seeker_token']}"}
        plans = {}
        for language in ("hi", "en"):
            answer = await http.get(url, params={"language": language}, headers=auth)
            assert answer.status_code == 200, answer.text
            plans[language] = answer.json()
            assert plans[language]["language"] == language
        assert [x["title"] for x in plans["hi"]["steps"]] != [
            x["title"] for x in plans["en"]["steps"]
        ]
        assert [x["items"] for x in plans["hi"]["steps"]] == [x["items"] for x in back["steps"]]
        bad = await http.get(url, params={"language": "x"}, headers=auth)
        assert bad.status_code == 422

    audited = await sql(
        backend.database_url,
        "SELECT action, actor_role, detail FROM audit_events "
        "WHERE conversation_id = :c AND action LIKE 'safety_plan.%' ORDER BY id",
        c=cid,
    )
    assert [(a, r) for a, r, _ in audited] == [
        ("safety_plan.opened", "volunteer"),
        ("safety_plan.updated", "seeker"),
        ("safety_plan.updated", "volunteer"),
        ("safety_plan.read", "supervisor"),
    ]
    assert "walk" not in str(audited) and "sister" not in str(audited)


async def test_a_hindi_chats_plan_names_its_helplines_in_hindi(fresh: Fresh):
    s, v, cid, _ = await paired(fresh.server, fresh.staff, language="hi")
    await _level(v, cid, "low")
    await v.send({"type": "safety_plan.open", "conversation_id": cid})
    plan = await s.recv("safety_plan")
    assert plan["language"] == "hi"
    names = {line["id"]: line["name"] for line in plan["helplines"]}
    assert names["tele_manas"] == "टेली-मानस (भारत सरकार)"
    assert names["emergency_112"] == "आपातकालीन सेवाएँ"
