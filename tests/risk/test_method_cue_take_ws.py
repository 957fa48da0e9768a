"""A method cue written while the seeker waited becomes a supervisors' ``method_cue`` alert
when a volunteer takes the chat (docs/protocol.md, ``staff.alert``): while waiting the seeker
counts in ``flagged.waiting``, and leaves that group at the take, so without the alert a desk
that stays open would never hear of an unscreened high-risk chat. Real servers and sockets,
on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.conftest import Fresh
from tests.escalation.test_escalation_ws import run_checklist, supervisor
from tests.support import WsClient, new_seeker, unique_language

METHOD_CUE = "i have pills right here"  # means at hand: method_or_attempt
ALERT_TEXT = "A seeker's message mentions a method or an attempt and no screen is done yet."


def about(cid: str) -> Callable[[dict[str, Any]], bool]:
    return lambda f: f["code"] == "method_cue" and f.get("conversation_id") == cid


async def no_method_cue(c: WsClient, cid: str, *, within: float) -> None:
    """No ``staff.alert`` of code ``method_cue`` about ``cid`` reaches ``c`` within ``within``
    seconds (alerts about other chats are left for later waits)."""
    try:
        frame = await c.recv("staff.alert", timeout=within, where=about(cid))
    except TimeoutError:
        return
    raise AssertionError(f"unexpected method_cue alert: {frame}")


async def one_method_cue(c: WsClient, cid: str) -> dict[str, Any]:
    """The ``method_cue`` alert about ``cid`` that reaches ``c``, and no second one."""
    alert = await c.recv("staff.alert", where=about(cid))
    await no_method_cue(c, cid, within=0.5)
    return alert


async def waiting_seeker_writes(fresh: Fresh, language: str, *texts: str) -> tuple[WsClient, str]:
    """A seeker joins the queue and writes ``texts`` while waiting: (their socket, chat id)."""
    seeker = await new_seeker(fresh.server.base_url, language)
    s = await WsClient.open(fresh.server.ws_url, seeker["seeker_token"])
    await s.send({"type": "queue.join"})
    cid = (await s.recv("queue.status"))["conversation_id"]
    for i, text in enumerate(texts, start=1):
        await s.send({"type": "chat.send", "conversation_id": cid, "client_msg_id": f"w{i}",
                      "text": text})  # fmt: skip
        await s.recv("chat.ack", where=lambda f, i=i: f["seq"] == i)
    return s, cid


async def volunteer_takes(fresh: Fresh, language: str, cid: str) -> WsClient:
    volunteer = await fresh.staff.create(languages=[language])
    v = await WsClient.open(fresh.server.ws_url, volunteer.token)
    await v.send({"type": "queue.take"})
    assert (await v.recv("conversation.started"))["conversation_id"] == cid
    return v


async def hand_back(v: WsClient, cid: str) -> None:
    await v.send({"type": "conversation.transfer", "conversation_id": cid, "to": "queue",
                  "note": "I have to go."})  # fmt: skip
    await v.recv("conversation.transfer.ok")


async def test_a_method_cue_written_while_waiting_alerts_the_on_call_once_at_the_take(
    fresh: Fresh,
):
    on_call = await supervisor(fresh, rank=1)
    off_call = await WsClient.open(
        fresh.server.ws_url, (await fresh.staff.create("supervisor")).token
    )
    admin = await WsClient.open(fresh.server.ws_url, (await fresh.staff.create("admin")).token)
    language = unique_language()
    _, cid = await waiting_seeker_writes(fresh, language, METHOD_CUE, "is anyone there?")

    # While waiting, the seeker is one of the flagged seekers waiting, not a method-cue alert.
    page = await on_call.recv("flagged.waiting", where=lambda f: f["alert"] and f["count"] == 1)
    assert "conversation_id" not in page
    await no_method_cue(on_call, cid, within=0.5)

    await volunteer_takes(fresh, language, cid)
    for c in (on_call, admin):
        alert = await one_method_cue(c, cid)
        assert alert == {
            "type": "staff.alert",
            "code": "method_cue",
            "message": ALERT_TEXT,
            "conversation_id": cid,
            "seq": 1,
        }
    await no_method_cue(off_call, cid, within=0.3)  # the on-call and admins only


async def test_auto_assignment_alerts_too(fresh: Fresh):
    on_call = await supervisor(fresh, rank=1)
    language = unique_language()
    _, cid = await waiting_seeker_writes(fresh, language, "hello", METHOD_CUE)
    await no_method_cue(on_call, cid, within=0.3)
    volunteer = await fresh.staff.create(languages=[language])
    v = await WsClient.open(fresh.server.ws_url, volunteer.token)
    await v.send({"type": "availability.set", "available": True, "auto_assign": True})
    assert (await v.recv("conversation.started", timeout=10))["conversation_id"] == cid
    assert (await one_method_cue(on_call, cid))["seq"] == 2


async def test_a_chat_handed_back_unscreened_alerts_again_at_its_next_take(fresh: Fresh):
    on_call = await supervisor(fresh, rank=1)
    language = unique_language()
    _, cid = await waiting_seeker_writes(fresh, language, METHOD_CUE)
    first = await volunteer_takes(fresh, language, cid)
    assert (await one_method_cue(on_call, cid))["seq"] == 1
    await hand_back(first, cid)
    await no_method_cue(on_call, cid, within=0.3)  # waiting again: no alert
    await volunteer_takes(fresh, language, cid)
    assert (await one_method_cue(on_call, cid))["seq"] == 1


async def test_a_chat_screened_then_handed_back_alerts_nobody_at_its_next_take(fresh: Fresh):
    on_call = await supervisor(fresh, rank=1)
    language = unique_language()
    _, cid = await waiting_seeker_writes(fresh, language, METHOD_CUE)
    first = await volunteer_takes(fresh, language, cid)
    await one_method_cue(on_call, cid)
    await run_checklist(first, cid, {})
    await on_call.recv("method_cue.screened", where=lambda f: f["conversation_id"] == cid)
    await hand_back(first, cid)
    await volunteer_takes(fresh, language, cid)
    await no_method_cue(on_call, cid, within=1.0)


async def test_taking_a_chat_without_a_method_cue_alerts_nobody(fresh: Fresh):
    on_call = await supervisor(fresh, rank=1)
    language = unique_language()
    _, cid = await waiting_seeker_writes(
        fresh, language, "I feel like a burden to everyone", "i want to kill myself"
    )
    # Flagged (the seeker counts in the group), but with no method or attempt.
    await on_call.recv("flagged.waiting", where=lambda f: f["alert"] and f["count"] == 1)
    await volunteer_takes(fresh, language, cid)
    await no_method_cue(on_call, cid, within=1.0)
