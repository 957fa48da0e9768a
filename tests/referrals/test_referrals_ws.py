"""Referrals that cannot trap a chat: one open referral per conversation, honest ways out for
the volunteer and the supervisor, and automatic cards with verified lines only. Real server
and sockets, on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid

import httpx
import pytest

from app.referrals.directory import load_directory
from tests.conftest import Fresh
from tests.escalation.test_escalation_ws import HIGH_ANSWERS, run_checklist, supervisor
from tests.support import WsClient, paired


async def high_risk_chat(fresh: Fresh) -> tuple[WsClient, WsClient, WsClient, str, dict, dict]:
    """A chat at high risk whose escalation the supervisor acknowledged and resolved:
    (seeker, volunteer, supervisor, conversation id, the seeker's card, the referral)."""
    sup = await supervisor(fresh, rank=1)
    s, v, cid, _ = await paired(fresh.server, fresh.staff)
    assessed = await run_checklist(v, cid, HIGH_ANSWERS)
    assert assessed["level"] == "high"
    card = await s.recv("referral.card")
    page = await sup.recv("escalation.page")
    await sup.send({"type": "escalation.ack", "escalation_id": page["escalation_id"]})
    await sup.recv("escalation.updated", where=lambda f: f["status"] == "acknowledged")
    await sup.send(
        {
            "type": "escalation.resolve",
            "escalation_id": page["escalation_id"],
            "outcome": "safe_plan_agreed",
        }
    )
    await sup.recv("escalation.updated", where=lambda f: f["status"] == "resolved")
    referral = await v.recv("referral.updated")
    return s, v, sup, cid, card, referral


async def test_the_automatic_card_holds_only_verified_lines_and_the_mandatory_two(fresh: Fresh):
    s, v, sup, cid, card, referral = await high_risk_chat(fresh)
    ids = [line["id"] for line in card["helplines"]]
    # Tele-MANAS (verified) and 112 (mandatory); none of the unverified or foreign lines.
    assert ids == ["tele_manas", "emergency_112"]
    assert referral["helpline_ids"] == ids


async def test_a_second_offer_joins_the_open_referral(fresh: Fresh):
    s, v, sup, cid, card, referral = await high_risk_chat(fresh)
    await v.send({"type": "referral.offer", "conversation_id": cid, "helpline_ids": ["icall"]})
    second = await s.recv("referral.card")
    assert second["referral_id"] == card["referral_id"]
    assert [line["id"] for line in second["helplines"]] == ["tele_manas", "emergency_112", "icall"]
    updated = await v.recv("referral.updated", where=lambda f: "icall" in f["helpline_ids"])
    assert updated["referral_id"] == referral["referral_id"]
    async with httpx.AsyncClient(base_url=fresh.server.base_url) as http:
        answer = await http.get(
            "/api/v1/referrals", headers={"Authorization": f"Bearer {sup.staff.token}"}
        )
    open_here = [r for r in answer.json()["referrals"] if r["conversation_id"] == cid]
    assert len(open_here) == 1


@pytest.mark.parametrize("outcome", ["declined", "unreachable", "completed"])
async def test_the_volunteer_ends_a_high_chat_after_recording_the_referral(
    fresh: Fresh, outcome: str
):
    s, v, sup, cid, card, referral = await high_risk_chat(fresh)
    await v.send({"type": "conversation.end", "conversation_id": cid})
    await v.error("referral_open")
    steps = {
        "declined": ["declined"],
        "unreachable": ["accepted", "unreachable"],
        "completed": ["accepted", "handed_over", "completed"],
    }[outcome]
    for status in steps:
        await v.send(
            {"type": "referral.update", "referral_id": referral["referral_id"], "status": status}
        )
        await v.recv("referral.updated", where=lambda f, st=status: f["status"] == st)
    await v.send({"type": "conversation.end", "conversation_id": cid})
    ended = await s.recv("conversation.ended")
    assert ended["by"] == "volunteer"


async def test_a_supervisor_closes_the_referral_with_a_reason_and_the_chat_can_end(
    fresh: Fresh,
):
    s, v, sup, cid, card, referral = await high_risk_chat(fresh)
    await sup.send(
        {"type": "referral.update", "referral_id": referral["referral_id"], "status": "closed"}
    )
    await sup.error("invalid_frame")  # a reason is required
    # Only white space is no reason (it was stored as the closed_reason), and a status
    # that is no step is the frame's fault, whatever referral it names.
    await sup.send(
        {
            "type": "referral.update",
            "referral_id": referral["referral_id"],
            "status": "closed",
            "reason": " \n ",
        }
    )
    await sup.error("invalid_frame")
    await v.send({"type": "referral.update", "referral_id": uuid.uuid4().hex, "status": "offered"})
    await v.error("invalid_frame")
    await v.send(
        {
            "type": "referral.update",
            "referral_id": referral["referral_id"],
            "status": "closed",
            "reason": "x",
        }
    )
    await v.error("forbidden")  # only supervisors close early
    await sup.send(
        {
            "type": "referral.update",
            "referral_id": referral["referral_id"],
            "status": "closed",
            "reason": "  seeker has the numbers and chose not to call tonight\n",
        }
    )
    closed = await v.recv("referral.updated", where=lambda f: f["closed_reason"] is not None)
    assert closed["closed_reason"] == "seeker has the numbers and chose not to call tonight"
    assert closed["next_step"] is None
    # Closed is the end: no later step, no second close ("offered" is no step at all).
    rid = referral["referral_id"]
    await v.send({"type": "referral.update", "referral_id": rid, "status": "accepted"})
    await v.error("invalid_transition")
    await sup.send(
        {"type": "referral.update", "referral_id": rid, "status": "closed", "reason": "y"}
    )
    await sup.error("invalid_transition")
    await v.send({"type": "referral.update", "referral_id": rid, "status": "offered"})
    await v.error("invalid_frame")
    await v.send({"type": "conversation.end", "conversation_id": cid})
    assert (await s.recv("conversation.ended"))["by"] == "volunteer"


async def test_a_card_names_the_lines_in_the_chats_language_with_admins_translations(
    fresh: Fresh,
):
    """A Hindi chat's card names the lines in Hindi (the directory's translations, an
    admin-added line's too); an English chat's in English; the numbers never change."""
    admin = await fresh.staff.create("admin")
    auth = {"Authorization": f"Bearer {admin.token}"}
    new_line = {
        "name": "Test Line (India)",
        "contacts": [{"kind": "phone", "display": "1800 000 0000", "uri": "tel:18000000000"}],
        "hours": "10:00-18:00",
        "languages": ["hi", "en"],
        "channels": ["phone"],
        "region": "IN",
        "source": "test",
        "verified_on": None,
        "verified": False,
        "translations": [{"language": "hi", "name": "परीक्षण लाइन", "hours": "सुबह 10 से शाम 6"}],
    }
    # An edit sent without translations keeps the shipped ones; [] removes them.
    tele_manas = load_directory().get("tele_manas").model_dump(mode="json")
    del tele_manas["translations"]
    kiran = {**load_directory().get("kiran").model_dump(mode="json"), "translations": []}
    async with httpx.AsyncClient(base_url=fresh.server.base_url, headers=auth) as http:
        for helpline_id, entry in (("test_line", new_line), ("tele_manas", tele_manas)):
            r = await http.put(f"/api/v1/helplines/{helpline_id}", json=entry)
            assert r.status_code == 200, r.text
        r = await http.put("/api/v1/helplines/kiran", json=kiran)
        assert r.status_code == 200, r.text
        listed = {h["id"]: h for h in (await http.get("/api/v1/helplines")).json()["helplines"]}
    assert listed["test_line"]["name"] == "Test Line (India)"
    assert listed["test_line"]["translations"] == new_line["translations"]
    assert [t["name"] for t in listed["tele_manas"]["translations"]] == ["टेली-मानस (भारत सरकार)"]
    assert listed["kiran"]["translations"] == []

    cards = {}
    for language in ("hi-" + uuid.uuid4().hex[:8], None):
        s, v, cid, _ = await paired(fresh.server, fresh.staff, language=language)
        await v.send(
            {"type": "referral.offer", "conversation_id": cid, "helpline_ids": ["test_line"]}
        )
        cards["hi" if language else "en"] = (await s.recv("referral.card"))["helplines"]
    # An unverified line never comes alone: Tele-MANAS and 112 join it.
    assert [(h["name"], h["hours"]) for h in cards["hi"]] == [
        ("परीक्षण लाइन", "सुबह 10 से शाम 6"),
        ("टेली-मानस (भारत सरकार)", "24\u00d77 (दिन-रात)"),
        ("आपातकालीन सेवाएँ", "24\u00d77 (दिन-रात)"),
    ]
    assert [(h["name"], h["hours"]) for h in cards["en"]] == [
        ("Test Line (India)", "10:00-18:00"),
        ("Tele-MANAS (Govt. of India)", "24x7"),
        ("Emergency (India)", "24x7"),
    ]
    assert [h["contacts"] for h in cards["hi"]] == [h["contacts"] for h in cards["en"]]


async def test_a_card_offered_after_an_escalation_by_hand_is_a_high_risk_card(fresh: Fresh):
    """A volunteer worried enough to escalate without a screen pages at high. A card offered
    then carried only the chosen line (as at no risk), and the desk's referral row said "No
    risk found" beside the chat's "High" escalation. Now the chat is handled at the
    escalation's level: Tele-MANAS and 112 always, and the referral says high."""
    sup = await supervisor(fresh, rank=1)
    offer = {"type": "referral.offer", "helpline_ids": ["tele_manas"]}
    s, v, cid, _ = await paired(fresh.server, fresh.staff)
    await v.send({**offer, "conversation_id": cid})  # no escalation: the line chosen alone
    assert [h["id"] for h in (await s.recv("referral.card"))["helplines"]] == ["tele_manas"]
    assert (await v.recv("referral.updated"))["level"] == "none"

    s, v, cid, _ = await paired(fresh.server, fresh.staff)
    await v.send({"type": "escalation.raise", "conversation_id": cid, "reason": "plan mentioned"})
    page = await sup.recv("escalation.page", where=lambda f: f["conversation_id"] == cid)
    assert page["level"] == "high"
    await v.send({**offer, "conversation_id": cid})
    card = await s.recv("referral.card")
    assert [h["id"] for h in card["helplines"]] == ["tele_manas", "emergency_112"]
    assert (await v.recv("referral.updated"))["level"] == "high"
