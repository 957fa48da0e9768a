"""A volunteer reports an abusive seeker, a supervisor blocks them (issue #16 §5): the chat
ends neutrally, the token dies, supervisors are alerted, and it is all audited. Real server
and sockets, SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Backend, StaffFactory
from tests.support import Server, WsClient, new_seeker, paired, sql, unique_language


async def audit_rows(database_url: str, action: str, cid: str) -> list[tuple]:
    return [
        tuple(r)
        for r in await sql(
            database_url,
            "SELECT actor_role, detail FROM audit_events "
            "WHERE action = :a AND conversation_id = :c",
            a=action,
            c=cid,
        )
    ]


async def test_a_report_alerts_supervisors_and_a_block_ends_the_chat_and_the_session(
    server: Server, staff: StaffFactory, backend: Backend
):
    s, v, cid, seeker = await paired(server, staff)
    sup = await WsClient.open(server.ws_url, (await staff.create("supervisor")).token)
    other = await WsClient.open(server.ws_url, (await staff.create()).token)

    # Only the conversation's staff report; a seeker cannot, a stranger finds nothing.
    await s.send({"type": "seeker.report", "conversation_id": cid})
    await s.error("forbidden")
    await other.send({"type": "seeker.report", "conversation_id": cid})
    await other.error("not_found")
    await v.send({"type": "seeker.block", "conversation_id": cid})
    await v.error("forbidden")

    await v.send({"type": "seeker.report", "conversation_id": cid, "note": "threats", "ref": "rep"})
    ok = await v.recv("seeker.report.ok")
    assert (ok["conversation_id"], ok["ref"]) == (cid, "rep")
    alert = await sup.recv("staff.alert", where=lambda f: f["code"] == "seeker_reported")
    assert alert["conversation_id"] == cid and alert["reporter_role"] == "volunteer"
    with pytest.raises(TimeoutError):
        await other.recv("staff.alert", where=lambda f: f["code"] == "seeker_reported", timeout=0.3)
    # A report changes nothing in the chat.
    await s.send({"type": "chat.send", "conversation_id": cid, "client_msg_id": "1", "text": "x"})
    await s.recv("chat.ack")

    await sup.send({"type": "seeker.block", "conversation_id": cid, "ref": "blk"})
    done = await sup.recv("seeker.block.ok")
    assert done["closed"] == [cid] and done["ref"] == "blk"
    ended = await s.recv("conversation.ended")
    assert (ended["by"], ended["reason"], ended["status"]) == (
        "system",
        "ended_by_service",
        "ended",
    )
    assert await s.close_code() == 4401
    assert (await v.recv("conversation.ended"))["reason"] == "ended_by_service"
    blocked = await v.recv("staff.alert", where=lambda f: f["code"] == "seeker_blocked")
    assert blocked["conversation_id"] == cid
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        me = await http.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {seeker['seeker_token']}"}
        )
    assert me.status_code == 401
    again = await WsClient.open(server.ws_url, seeker["seeker_token"], expect_ok=False)
    assert await again.close_code() == 4401
    assert [r[0] for r in await audit_rows(backend.database_url, "seeker.reported", cid)] == [
        "volunteer"
    ]
    assert [r[0] for r in await audit_rows(backend.database_url, "seeker.blocked", cid)] == [
        "supervisor"
    ]
    # Blocking again finds nothing open.
    await sup.send({"type": "seeker.block", "conversation_id": cid})
    assert (await sup.recv("seeker.block.ok"))["closed"] == []


async def test_blocking_a_waiting_seeker_takes_them_out_of_the_queue(
    server: Server, staff: StaffFactory
):
    seeker = await new_seeker(server.base_url, unique_language())
    s = await WsClient.open(server.ws_url, seeker["seeker_token"])
    await s.send({"type": "queue.join"})
    cid = (await s.recv("queue.status"))["conversation_id"]
    admin = await WsClient.open(server.ws_url, (await staff.create("admin")).token)
    await admin.send({"type": "seeker.block", "conversation_id": cid})
    assert (await admin.recv("seeker.block.ok"))["closed"] == [cid]
    ended = await s.recv("conversation.ended")
    assert (ended["status"], ended["reason"]) == ("abandoned", "ended_by_service")
    assert await s.close_code() == 4401
    await admin.send({"type": "seeker.block", "conversation_id": "nope"})
    await admin.error("not_found")
