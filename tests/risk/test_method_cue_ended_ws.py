"""A chat whose supervisors' method-cue alert still stands tells every supervisor and admin
when it ends (docs/protocol.md, ``method_cue.ended``): ``GET /api/v1/method-cues`` stopped
listing an ended chat, but a desk that stays open never learnt it and kept offering "Open
conversation" for a chat that was over. Real servers and sockets, on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.conftest import Fresh
from tests.escalation.test_escalation_ws import run_checklist, supervisor
from tests.risk.test_method_cue_take_ws import (
    METHOD_CUE,
    one_method_cue,
    volunteer_takes,
    waiting_seeker_writes,
)
from tests.risk.test_method_cues_api import about, listed
from tests.support import WsClient, unique_language


async def no_method_cue_ended(c: WsClient, cid: str, *, within: float) -> None:
    try:
        frame = await c.recv(
            "method_cue.ended", timeout=within, where=lambda f: f["conversation_id"] == cid
        )
    except TimeoutError:
        return
    raise AssertionError(f"unexpected method_cue.ended: {frame}")


async def cued_chat(fresh: Fresh, on_call: WsClient) -> tuple[WsClient, WsClient, str]:
    """A seeker who wrote a method cue while waiting, taken by a volunteer: the on-call
    supervisor has its ``method_cue`` alert. The seeker's and the volunteer's sockets, the id."""
    language = unique_language()
    s, cid = await waiting_seeker_writes(fresh, language, METHOD_CUE)
    v = await volunteer_takes(fresh, language, cid)
    await one_method_cue(on_call, cid)
    return s, v, cid


async def test_a_seeker_ending_a_chat_with_a_standing_method_cue_tells_every_supervisor(
    fresh: Fresh,
):
    on_call = await supervisor(fresh, rank=1)
    off_call = await WsClient.open(
        fresh.server.ws_url, (await fresh.staff.create("supervisor")).token
    )
    admin = await WsClient.open(fresh.server.ws_url, (await fresh.staff.create("admin")).token)
    s, v, cid = await cued_chat(fresh, on_call)

    await s.send({"type": "conversation.end", "conversation_id": cid})
    await v.recv("conversation.ended")
    for c in (on_call, off_call, admin):  # on call or not: who was alerted is not kept
        ended = await c.recv("method_cue.ended", where=lambda f: f["conversation_id"] == cid)
        assert ended == {"type": "method_cue.ended", "conversation_id": cid}
        await no_method_cue_ended(c, cid, within=0.3)  # once
    assert about(await listed(fresh.server, on_call.staff.token), cid) == []  # type: ignore[attr-defined]
    await no_method_cue_ended(v, cid, within=0.3)  # supervisors and admins only


async def test_the_volunteer_ending_the_chat_tells_the_supervisors_too(fresh: Fresh):
    on_call = await supervisor(fresh, rank=1)
    _, v, cid = await cued_chat(fresh, on_call)
    await v.send({"type": "conversation.end", "conversation_id": cid})
    await v.recv("conversation.ended")
    await on_call.recv("method_cue.ended", where=lambda f: f["conversation_id"] == cid)


async def test_a_quick_exit_ends_the_method_cue_before_its_quick_exit_alert(fresh: Fresh):
    """The desk shows the ``quick_exit`` alert: it comes after the method cue's end."""
    on_call = await supervisor(fresh, rank=1)
    s, _, cid = await cued_chat(fresh, on_call)
    await s.send({"type": "quick_exit"})
    first = await on_call.recv(
        ("method_cue.ended", "staff.alert"), where=lambda f: f.get("conversation_id") == cid
    )
    assert first["type"] == "method_cue.ended"
    alert = await on_call.recv("staff.alert", where=lambda f: f.get("conversation_id") == cid)
    assert alert["code"] == "quick_exit"


async def test_a_chat_screened_before_it_ends_sends_no_method_cue_end(fresh: Fresh):
    on_call = await supervisor(fresh, rank=1)
    s, v, cid = await cued_chat(fresh, on_call)
    await run_checklist(v, cid, {})
    await on_call.recv("method_cue.screened", where=lambda f: f["conversation_id"] == cid)
    await s.send({"type": "conversation.end", "conversation_id": cid})
    await v.recv("conversation.ended")
    await no_method_cue_ended(on_call, cid, within=1.0)


async def test_a_chat_without_a_method_cue_sends_no_method_cue_end(fresh: Fresh):
    on_call = await supervisor(fresh, rank=1)
    language = unique_language()
    s, cid = await waiting_seeker_writes(fresh, language, "hello, is anyone there?")
    v = await volunteer_takes(fresh, language, cid)
    await s.send({"type": "conversation.end", "conversation_id": cid})
    await v.recv("conversation.ended")
    await no_method_cue_ended(on_call, cid, within=1.0)
