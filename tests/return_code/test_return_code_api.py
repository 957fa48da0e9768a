"""Coming back without an account, over a real server (SQLite and PostgreSQL): a code made
at the end of a chat opens the safety plan from a new session, the next volunteer is told
the seeker talked before and gets the plan (never the old transcript), wrong codes learn
nothing, the seeker can forget the code, and the words are stored and logged nowhere."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import Backend
from tests.support import Server, WsClient, env_for, new_seeker, paired, sql, unique_language


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _low_with_plan(s: WsClient, v: WsClient, cid: str) -> None:
    await v.send(
        {"type": "risk.concern", "conversation_id": cid, "level": "low", "reason": "worried"}
    )
    await v.recv("risk.assessed", where=lambda f: f["conversation_id"] == cid)
    await v.send({"type": "safety_plan.open", "conversation_id": cid})
    await s.recv("safety_plan")
    await s.send(
        {
            "type": "safety_plan.update",
            "conversation_id": cid,
            "step": "coping_alone",
            "items": ["a long walk", "music"],
        }
    )
    await v.recv("safety_plan", where=lambda f: f["revision"] == 2)


async def _end(s: WsClient, cid: str) -> None:
    await s.send({"type": "conversation.end", "conversation_id": cid})
    await s.recv("conversation.ended")


async def _make_code(http: httpx.AsyncClient, token: str, cid: str) -> dict[str, Any]:
    r = await http.post(
        "/api/v1/return-codes", json={"conversation_id": cid}, headers=bearer(token)
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _rows_of_code(database_url: str, code_id: str) -> tuple[int, int]:
    """How many rows the code and its links still have: (return_codes, returning_seekers)."""
    rows = await sql(
        database_url,
        "SELECT (SELECT count(*) FROM return_codes WHERE id = :c), "
        "(SELECT count(*) FROM returning_seekers WHERE return_code_id = :c)",
        c=code_id,
    )
    return tuple(rows[0])


def words_found(words: list[str], stored: object) -> set[str]:
    """The code's words that occur in ``stored`` as whole tokens. A substring check failed by
    chance: the list holds "cod" (in "return_code") and hex words such as "fade" (in ids)."""
    return set(words) & set(re.findall(r"[a-z0-9]+", str(stored).lower()))


def _items(plan: dict[str, Any], step: str) -> list[str]:
    return next(x for x in plan["steps"] if x["step_id"] == step)["items"]


async def test_a_code_brings_back_the_plan_and_tells_the_next_volunteer(
    server: Server, staff, backend: Backend
):
    s, v, cid, seeker = await paired(server, staff)
    await v.send(
        {
            "type": "chat.send",
            "conversation_id": cid,
            "client_msg_id": "v1",
            "text": "I'm glad you wrote",
        }
    )
    await s.recv("chat.message")
    await _low_with_plan(s, v, cid)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        # Not before the chat has ended.
        early = await http.post(
            "/api/v1/return-codes",
            json={"conversation_id": cid},
            headers=bearer(seeker["seeker_token"]),
        )
        assert early.status_code == 409 and early.json()["error"]["code"] == "invalid_transition"
        await _end(s, cid)
        made = await _make_code(http, seeker["seeker_token"], cid)
        code = made["code"]
        assert len(made["words"]) == 5 and code == " ".join(made["words"])
        assert made["has_plan"] is True and made["chats"] == 1 and made["keep_days"] == 90

        # Stored only as a keyed hash; never in the audit trail or the log.
        stored = await sql(backend.database_url, "SELECT code_hash, plan FROM return_codes")
        assert all(code not in str(row) for row in stored)
        assert any(h != code and len(h) == 64 for h, _ in stored)
        audited = await sql(
            backend.database_url,
            "SELECT action, detail FROM audit_events WHERE action LIKE 'return_code.%'",
        )
        assert "return_code.created" in {a for a, _ in audited}
        assert words_found(made["words"], audited) == set()

        # Another device: the words as someone wrote them down.
        typed = "  " + "-".join(w.upper() for w in made["words"]) + " "
        back = await http.post(
            "/api/v1/return-codes/redeem", json={"code": typed, "language": "hi"}
        )
        assert back.status_code == 201, back.text
        body = back.json()
        assert body["seeker_token"].startswith("sk_") and body["seeker_id"] != seeker["seeker_id"]
        assert _items(body["plan"], "coping_alone") == ["a long walk", "music"]
        assert body["plan"]["language"] == "hi" and body["plan"]["conversation_id"] is None
        token = body["seeker_token"]
        mine = await http.get("/api/v1/return-codes/mine", headers=bearer(token))
        assert mine.status_code == 200 and "code" not in mine.json()
        assert _items(mine.json()["plan"], "coping_alone") == ["a long walk", "music"]

        # The old transcript stays out of reach of the new session.
        old = await http.get(f"/api/v1/conversations/{cid}/messages", headers=bearer(token))
        assert old.status_code == 404

    # Matched again: the volunteer is told, and both get the plan in the new chat.
    s2 = await WsClient.open(server.ws_url, token)
    await s2.send({"type": "queue.join"})
    await s2.recv("queue.status")
    lang = (
        await sql(
            backend.database_url, "SELECT language FROM seekers WHERE id = :i", i=body["seeker_id"]
        )
    )[0][0]
    v2staff = await staff.create(languages=[lang])
    v2 = await WsClient.open(server.ws_url, v2staff.token)
    await v2.send({"type": "queue.take"})
    started = await v2.recv("conversation.started")
    cid2 = started["conversation_id"]
    assert cid2 != cid
    assert started["returning"]["chats_before"] == 1
    assert started["returning"]["since"]
    plan_frame = await s2.recv("safety_plan")
    assert plan_frame["conversation_id"] == cid2
    assert _items(plan_frame, "coping_alone") == ["a long walk", "music"]
    # The volunteer too, live and after conversation.started, without a resume (it once
    # reached only the seeker: the volunteer's socket subscribed to the chat only when it
    # sent the start, after the plan had gone out on the chat's channel).
    volunteer_plan = await v2.recv("safety_plan", timeout=2.0)
    assert volunteer_plan == plan_frame
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        seen = await http.get(
            f"/api/v1/conversations/{cid2}/safety-plan", headers=bearer(v2staff.token)
        )
        assert seen.status_code == 200 and _items(seen.json(), "coping_alone") == [
            "a long walk",
            "music",
        ]
        # The earlier chat is not the new volunteer's to read.
        transcript = await http.get(
            f"/api/v1/conversations/{cid}/messages", headers=bearer(v2staff.token)
        )
        assert transcript.status_code == 404

    # A reload: staff who resume are told again; the seeker is not; the chat the code was
    # made in is not a returning seeker's chat.
    again = await WsClient.open(server.ws_url, v2staff.token)
    await again.send({"type": "conversation.resume", "conversation_id": cid2, "after_seq": 0})
    await again.recv("conversation.resumed")
    told = await again.recv("seeker.returning")
    assert told["conversation_id"] == cid2 and told["chats_before"] == 1
    await s2.send({"type": "conversation.resume", "conversation_id": cid2, "after_seq": 0})
    await s2.recv("conversation.resumed")
    await s2.nothing("seeker.returning", within=0.3)
    first = await WsClient.open(server.ws_url, v.staff.token)
    await first.send({"type": "conversation.resume", "conversation_id": cid, "after_seq": 0})
    await first.recv("conversation.resumed")
    await first.nothing("seeker.returning", within=0.3)
    await again.close()
    await first.close()

    # An edit in the new chat is what the code keeps from now on.
    await s2.send(
        {
            "type": "safety_plan.update",
            "conversation_id": cid2,
            "step": "people_to_ask",
            "items": ["my cousin"],
        }
    )
    await v2.recv("safety_plan", where=lambda f: f["revision"] == 2)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        mine = (await http.get("/api/v1/return-codes/mine", headers=bearer(token))).json()
        assert _items(mine["plan"], "people_to_ask") == ["my cousin"]
        assert mine["chats"] == 2
        # A page switched to another language asks for the plan in it: the fixed words follow,
        # what the seeker wrote stays as written; a malformed code is 422.
        titles = {}
        for language in ("hi", "en"):
            asked = await http.get(
                "/api/v1/return-codes/mine", params={"language": language}, headers=bearer(token)
            )
            assert asked.status_code == 200, asked.text
            plan = asked.json()["plan"]
            assert plan["language"] == language
            assert _items(plan, "people_to_ask") == ["my cousin"]
            titles[language] = [step["title"] for step in plan["steps"]]
        assert titles["hi"] != titles["en"]
        bad = await http.get(
            "/api/v1/return-codes/mine", params={"language": "Hindi!"}, headers=bearer(token)
        )
        assert bad.status_code == 422
    assert code not in server.log_text()
    for client in (s, v, s2, v2):
        await client.close()


async def test_wrong_codes_all_get_the_same_answer_and_nothing_is_made(
    server: Server, backend: Backend
):
    before = (await sql(backend.database_url, "SELECT count(*) FROM seekers"))[0][0]
    answers = []
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        for typed in (
            "acorn bagel cable dance eagle",  # five real words, no such code
            "acorn bagel cable dance",  # four
            "not a code at all",
            "zzzz yyyy xxxx wwww vvvv",
        ):
            r = await http.post("/api/v1/return-codes/redeem", json={"code": typed})
            answers.append((r.status_code, r.json()))
        assert {status for status, _ in answers} == {401}
        assert len({str(body) for _, body in answers}) == 1
        assert answers[0][1]["error"]["code"] == "return_code_invalid"
        # Malformed bodies: 422, nothing made.
        for bad in (
            {"code": ""},
            {"code": "x" * 201},
            {},
            {"code": 5},
            {"code": "a", "extra": 1},
            {"code": "acorn bagel cable dance eagle", "language": "../x"},
            {"code": "acorn\u0000bagel cable dance eagle"},
        ):
            r = await http.post("/api/v1/return-codes/redeem", json=bad)
            assert r.status_code == 422, (bad, r.text)
    after = (await sql(backend.database_url, "SELECT count(*) FROM seekers"))[0][0]
    assert after == before


async def test_only_the_seeker_of_an_ended_chat_makes_a_code(server: Server, staff):
    s, v, cid, seeker = await paired(server, staff)
    await _end(s, cid)
    stranger = await new_seeker(server.base_url, unique_language())
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        url = "/api/v1/return-codes"
        as_volunteer = await http.post(
            url, json={"conversation_id": cid}, headers=bearer(v.staff.token)
        )
        assert as_volunteer.status_code == 403
        as_stranger = await http.post(
            url, json={"conversation_id": cid}, headers=bearer(stranger["seeker_token"])
        )
        assert as_stranger.status_code == 404
        assert (await http.post(url, json={"conversation_id": cid})).status_code == 401
        # A chat that never met a volunteer (left the queue) offers none.
        lonely = await new_seeker(server.base_url, unique_language())
        ws = await WsClient.open(server.ws_url, lonely["seeker_token"])
        await ws.send({"type": "queue.join"})
        waiting = (await ws.recv("queue.status"))["conversation_id"]
        await ws.send({"type": "queue.leave", "conversation_id": waiting})
        await ws.recv("conversation.ended")
        r = await http.post(
            url, json={"conversation_id": waiting}, headers=bearer(lonely["seeker_token"])
        )
        assert r.status_code == 409
        # Without a plan the code still links the seeker; GET /mine says there is no plan.
        made = await _make_code(http, seeker["seeker_token"], cid)
        assert made["has_plan"] is False
        mine = await http.get("/api/v1/return-codes/mine", headers=bearer(seeker["seeker_token"]))
        assert mine.json()["plan"] is None
        assert (
            await http.get("/api/v1/return-codes/mine", headers=bearer(v.staff.token))
        ).status_code == 403
        await ws.close()
    await s.close()
    await v.close()


async def test_renewing_gives_new_words_and_forgetting_deletes_the_link(
    server: Server, staff, backend: Backend
):
    s, v, cid, seeker = await paired(server, staff)
    await _low_with_plan(s, v, cid)
    await _end(s, cid)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        first = await _make_code(http, seeker["seeker_token"], cid)
        second = await _make_code(http, seeker["seeker_token"], cid)
        assert second["code"] != first["code"]
        old = await http.post("/api/v1/return-codes/redeem", json={"code": first["code"]})
        assert old.status_code == 401
        back = await http.post("/api/v1/return-codes/redeem", json={"code": second["code"]})
        assert back.status_code == 201
        token = back.json()["seeker_token"]
        code_id = (
            await sql(
                backend.database_url,
                "SELECT return_code_id FROM returning_seekers WHERE seeker_id = :s",
                s=back.json()["seeker_id"],
            )
        )[0][0]

        gone = await http.delete("/api/v1/return-codes/mine", headers=bearer(token))
        assert gone.status_code == 204
        assert (
            await http.get("/api/v1/return-codes/mine", headers=bearer(token))
        ).status_code == 404
        assert (
            await http.delete("/api/v1/return-codes/mine", headers=bearer(token))
        ).status_code == 404
        assert (
            await http.get("/api/v1/return-codes/mine", headers=bearer(seeker["seeker_token"]))
        ).status_code == 404
        again = await http.post("/api/v1/return-codes/redeem", json={"code": second["code"]})
        assert again.status_code == 401 and again.json()["error"]["code"] == "return_code_invalid"
    assert await _rows_of_code(backend.database_url, code_id) == (0, 0)
    await s.close()
    await v.close()


@pytest.fixture(scope="module")
def tight(backend: Backend) -> Iterator[Server]:
    srv = Server(
        env_for(
            backend.database_url,
            TRUSTED_PROXIES="127.0.0.1",
            RETURN_CODE_LIMIT_PER_CLIENT="3 per 30 seconds",
        )
    ).start()
    yield srv
    srv.stop()


async def test_redeeming_is_rate_limited_per_client_before_the_code_is_looked_at(tight: Server):
    async with httpx.AsyncClient(base_url=tight.base_url) as http:
        here = {"X-Forwarded-For": "203.0.113.40"}
        for _ in range(3):
            r = await http.post(
                "/api/v1/return-codes/redeem",
                json={"code": "acorn bagel cable dance eagle"},
                headers=here,
            )
            assert r.status_code == 401
        refused = await http.post(
            "/api/v1/return-codes/redeem",
            json={"code": "acorn bagel cable dance eagle"},
            headers=here,
        )
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 30
        other = await http.post(
            "/api/v1/return-codes/redeem",
            json={"code": "acorn bagel cable dance eagle"},
            headers={"X-Forwarded-For": "203.0.113.41"},
        )
        assert other.status_code == 401
    assert "203.0.113.40" not in tight.log_text()
