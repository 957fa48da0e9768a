"""A block forgets the seeker's return code, over a real server (SQLite and PostgreSQL): the
blocked seeker's words then get exactly the answer any wrong code gets, every session the
code linked (a spare one kept ready on another device included) is blocked too, no code is
made afterwards, the seeker is never told why, and the audit of the block names the code."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.conftest import Backend, StaffFactory
from tests.return_code.test_return_code_api import (
    _end,
    _low_with_plan,
    _make_code,
    _rows_of_code,
    bearer,
    words_found,
)
from tests.support import Server, WsClient, paired, sql

NEVER_A_CODE = "acorn bagel cable dance eagle"


async def redeem(http: httpx.AsyncClient, typed: str) -> httpx.Response:
    return await http.post("/api/v1/return-codes/redeem", json={"code": typed})


async def language_of(backend: Backend, seeker_id: str) -> str:
    rows = await sql(
        backend.database_url, "SELECT language FROM seekers WHERE id = :i", i=seeker_id
    )
    return str(rows[0][0])


async def block_audit(backend: Backend, cid: str) -> dict[str, Any]:
    rows = await sql(
        backend.database_url,
        "SELECT detail FROM audit_events WHERE action = 'seeker.blocked' AND conversation_id = :c",
        c=cid,
    )
    assert len(rows) == 1
    detail = rows[0][0]
    return dict(detail) if isinstance(detail, dict) else dict(json.loads(detail))


async def test_a_blocked_seekers_code_opens_nothing_and_says_nothing_of_the_block(
    server: Server, staff: StaffFactory, backend: Backend
):
    s, v, cid, seeker = await paired(server, staff)
    await _low_with_plan(s, v, cid)
    await _end(s, cid)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        made = await _make_code(http, seeker["seeker_token"], cid)
        code = made["code"]
        code_id = (
            await sql(
                backend.database_url,
                "SELECT return_code_id FROM returning_seekers WHERE seeker_id = :s",
                s=seeker["seeker_id"],
            )
        )[0][0]
        wrong = await redeem(http, NEVER_A_CODE)
        assert wrong.status_code == 401

        # The hostile case: a spare session opened with the code on another device and kept
        # ready, with its socket open, before the block.
        spare = (await redeem(http, code)).json()
        spare_ws = await WsClient.open(server.ws_url, spare["seeker_token"])

        # Back with the code, matched again, then blocked by a supervisor.
        back = await redeem(http, code)
        assert back.status_code == 201
        returning = back.json()
    s2 = await WsClient.open(server.ws_url, returning["seeker_token"])
    await s2.send({"type": "queue.join"})
    await s2.recv("queue.status")
    v2 = await WsClient.open(
        server.ws_url,
        (await staff.create(languages=[await language_of(backend, returning["seeker_id"])])).token,
    )
    await v2.send({"type": "queue.take"})
    started = await v2.recv("conversation.started")
    cid2 = started["conversation_id"]
    assert started["returning"]["chats_before"] == 1
    await s2.recv("conversation.started")

    sup = await WsClient.open(server.ws_url, (await staff.create("supervisor")).token)
    await sup.send({"type": "seeker.block", "conversation_id": cid2, "ref": "b"})
    done = await sup.recv("seeker.block.ok")
    assert done["closed"] == [cid2]
    ended = await s2.recv("conversation.ended")
    assert (ended["by"], ended["reason"]) == ("system", "ended_by_service")
    assert await s2.close_code() == 4401
    # Every session the code linked is the same young person: all are ended.
    assert await spare_ws.close_code() == 4401
    await v2.recv("staff.alert", where=lambda f: f["code"] == "seeker_blocked")

    async with httpx.AsyncClient(base_url=server.base_url) as http:
        # The words, however typed, get exactly the answer a code that never was gets.
        for typed in (code, "  " + "-".join(w.upper() for w in made["words"])):
            again = await redeem(http, typed)
            assert (again.status_code, again.json()) == (401, wrong.json())
            assert "block" not in again.text.lower()
        # No session of that seeker makes, reads or forgets a code any more.
        for token in (seeker["seeker_token"], spare["seeker_token"], returning["seeker_token"]):
            for_first = await http.post(
                "/api/v1/return-codes", json={"conversation_id": cid}, headers=bearer(token)
            )
            assert for_first.status_code == 401
            assert for_first.json()["error"]["code"] == "not_authenticated"
            assert "block" not in for_first.text.lower()
            mine = await http.get("/api/v1/return-codes/mine", headers=bearer(token))
            assert mine.status_code == 401
        for_second = await http.post(
            "/api/v1/return-codes",
            json={"conversation_id": cid2},
            headers=bearer(returning["seeker_token"]),
        )
        assert for_second.status_code == 401

    # The code, its plan copy and its links are gone; the block's audit names them (never
    # the words), and no seeker action is invented for it.
    assert await _rows_of_code(backend.database_url, code_id) == (0, 0)
    detail = await block_audit(backend, cid2)
    assert detail["return_codes"] == [code_id]
    assert detail["linked_sessions"] == sorted([seeker["seeker_id"], spare["seeker_id"]])
    assert words_found(made["words"], detail) == set()
    forgotten = await sql(
        backend.database_url,
        "SELECT detail FROM audit_events WHERE action = 'return_code.forgotten'",
    )
    assert all(code_id not in str(row) for row in forgotten)
    assert code not in server.log_text()
    for client in (s, v, v2, sup):
        await client.close()


async def test_a_session_blocked_in_a_later_chat_cannot_keep_a_code_for_an_earlier_one(
    server: Server, staff: StaffFactory, backend: Backend
):
    s, v, first, seeker = await paired(server, staff)
    await _end(s, first)
    await s.send({"type": "queue.join"})
    second = (await s.recv("queue.status"))["conversation_id"]
    await v.send({"type": "queue.take"})
    await v.recv("conversation.started", where=lambda f: f["conversation_id"] == second)
    sup = await WsClient.open(server.ws_url, (await staff.create("supervisor")).token)
    await sup.send({"type": "seeker.block", "conversation_id": second})
    assert (await sup.recv("seeker.block.ok"))["closed"] == [second]
    assert await s.close_code() == 4401
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        refused = await http.post(
            "/api/v1/return-codes",
            json={"conversation_id": first},
            headers=bearer(seeker["seeker_token"]),
        )
    assert refused.status_code == 401 and "block" not in refused.text.lower()
    linked = await sql(
        backend.database_url,
        "SELECT count(*) FROM returning_seekers WHERE seeker_id = :s",
        s=seeker["seeker_id"],
    )
    assert linked[0][0] == 0
    assert (await block_audit(backend, second))["return_codes"] == []
    await v.close()
    await sup.close()


async def test_a_block_leaves_another_seekers_code_working(
    server: Server, staff: StaffFactory, backend: Backend
):
    s, v, cid, seeker = await paired(server, staff)
    await _end(s, cid)
    other_s, other_v, other_cid, other = await paired(server, staff)
    await _end(other_s, other_cid)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        await _make_code(http, seeker["seeker_token"], cid)
        kept = await _make_code(http, other["seeker_token"], other_cid)
        sup = await WsClient.open(server.ws_url, (await staff.create("supervisor")).token)
        await sup.send({"type": "seeker.block", "conversation_id": cid})
        assert (await sup.recv("seeker.block.ok"))["closed"] == []
        assert (await redeem(http, kept["code"])).status_code == 201
    for client in (s, v, other_s, other_v, sup):
        await client.close()
