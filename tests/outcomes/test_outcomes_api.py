"""Feedback and outcomes over a real server: anonymous answers, counted without a trace."""

from __future__ import annotations

from datetime import timedelta

import httpx

from app.db import utcnow
from app.outcomes import policy
from tests.support import Server, paired, sql, unique_language


async def _chat_that_ended(server: Server, staff, language: str) -> tuple[str, str]:
    """(conversation id, seeker token) of a chat that took place and ended."""
    s, v, cid, seeker = await paired(server, staff, language=language)
    await s.send({"type": "conversation.end", "conversation_id": cid})
    await s.recv("conversation.ended")
    await s.close()
    await v.close()
    return cid, seeker["seeker_token"]


async def _answer(base_url: str, token: str, **body) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base_url) as http:
        return await http.post(
            "/api/v1/outcomes", json=body, headers={"Authorization": f"Bearer {token}"}
        )


async def test_a_seeker_answers_once_after_the_chat_and_the_row_has_no_link(
    server: Server, staff, backend
):
    language = unique_language()
    s, v, cid, seeker = await paired(server, staff, language=language)
    token = seeker["seeker_token"]
    r = await _answer(server.base_url, token, conversation_id=cid, mood_end=4)
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_transition"
    await s.send({"type": "conversation.end", "conversation_id": cid})
    await s.recv("conversation.ended")

    r = await _answer(server.base_url, token, conversation_id=cid)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    r = await _answer(server.base_url, token, conversation_id=cid, mood_end=6)
    assert r.status_code == 422
    for almost in ("4", 4.0):  # a mood is a JSON number, never converted
        r = await _answer(server.base_url, token, conversation_id=cid, mood_end=almost)
        assert r.status_code == 422 and r.json()["error"]["message"].startswith("mood_end")
    r = await _answer(server.base_url, v.staff.token, conversation_id=cid, mood_end=3)
    assert r.status_code == 403
    other = await _answer(
        server.base_url, (await _seeker_token(server, language)), conversation_id=cid, mood_end=3
    )
    assert other.status_code == 404
    r = await _answer(server.base_url, token, conversation_id=cid, comment="x" * 4001)
    assert r.status_code == 400 and r.json()["error"]["code"] == "text_too_long"

    r = await _answer(
        server.base_url,
        token,
        conversation_id=cid,
        mood_start=2,
        mood_end=4,
        heard="yes",
        come_back="unsure",
        comment="  it helped to talk  ",
    )
    assert r.status_code == 201, r.text
    r = await _answer(server.base_url, token, conversation_id=cid, mood_end=5)
    assert r.status_code == 409 and r.json()["error"]["code"] == "outcome_recorded"

    rows = await sql(backend.database_url, "SELECT * FROM outcomes WHERE language = :l", l=language)
    assert len(rows) == 1
    row = rows[0]._mapping
    assert set(row) == {
        "id", "week_start", "language", "risk_bucket", "mood_start", "mood_end", "heard",
        "come_back", "comment",
    }  # fmt: skip
    assert cid not in {str(value) for value in row.values()}
    assert (row["mood_start"], row["mood_end"], row["heard"], row["come_back"]) == (
        2,
        4,
        "yes",
        "unsure",
    )
    assert row["comment"] == "it helped to talk" and row["risk_bucket"] == "none"
    assert str(row["week_start"]) == policy.week_start(utcnow()).isoformat()
    audited = await sql(
        backend.database_url,
        "SELECT action FROM audit_events WHERE conversation_id = :c AND action LIKE 'outcome%'",
        c=cid,
    )
    assert audited == []  # an audit row's time and actor would be the link


async def test_a_comment_is_measured_after_trimming_and_any_too_long_one_is_text_too_long(
    server: Server, staff, backend
):
    """docs/protocol.md: the comment follows the chat's text rules (trimmed, at most 4,000
    characters). Before, the white space around it counted, and a comment over 20,000
    characters was 422 invalid_request instead of text_too_long."""
    language = unique_language()
    cid, token = await _chat_that_ended(server, staff, language)
    r = await _answer(server.base_url, token, conversation_id=cid, comment="x" * 20_001)
    assert r.status_code == 400 and r.json()["error"]["code"] == "text_too_long", r.text
    r = await _answer(server.base_url, token, conversation_id=cid, comment="\n" + "x" * 4000 + " ")
    assert r.status_code == 201, r.text
    rows = await sql(
        backend.database_url, "SELECT comment FROM outcomes WHERE language = :l", l=language
    )
    assert [row[0] for row in rows] == ["x" * 4000]


async def _seeker_token(server: Server, language: str) -> str:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        r = await http.post("/api/v1/seekers", json={"language": language, "consent": True})
        return str(r.json()["seeker_token"])


async def test_the_answer_window_closes(server: Server, staff, backend):
    cid, token = await _chat_that_ended(server, staff, unique_language())
    await sql(
        backend.database_url,
        "UPDATE conversations SET ended_at = :t WHERE id = :c",
        t=utcnow() - timedelta(days=2),
        c=cid,
    )
    r = await _answer(server.base_url, token, conversation_id=cid, mood_end=3)
    assert r.status_code == 409 and r.json()["error"]["code"] == "outcome_closed"


async def test_aggregates_show_only_groups_of_five_and_comments_only_to_admins(fresh):
    server, staff = fresh.server, fresh.staff
    big, small = unique_language(), unique_language()
    for language, n in ((big, 5), (small, 4)):
        for i in range(n):
            cid, token = await _chat_that_ended(server, staff, language)
            r = await _answer(
                server.base_url,
                token,
                conversation_id=cid,
                mood_start=2,
                mood_end=2 + i % 3,
                heard="yes" if i else "no",
                come_back="yes",
                comment=f"comment {language} {i}",
            )
            assert r.status_code == 201, r.text
    sup = await staff.create("supervisor")
    admin = await staff.create("admin")
    volunteer = await staff.create()
    async with httpx.AsyncClient(base_url=server.base_url) as http:

        async def get(path: str, who) -> httpx.Response:
            return await http.get(path, headers={"Authorization": f"Bearer {who.token}"})

        # This week's answers are not final yet: nothing is shown.
        now_figures = (await get("/api/v1/outcomes", sup)).json()
        assert now_figures["overall"] is None and now_figures["withheld_chats"] == 0
        assert (await get("/api/v1/outcomes/comments", admin)).json()["comments"] == []

        # Two weeks later (the chats moved back instead of the clock).
        then = utcnow() - timedelta(days=14)
        await sql(fresh.database_url, "UPDATE conversations SET ended_at = :t", t=then)
        await sql(
            fresh.database_url, "UPDATE outcomes SET week_start = :w", w=policy.week_start(then)
        )
        figures = (await get("/api/v1/outcomes", sup)).json()
        assert set(figures["by_language"]) == {big}
        assert figures["withheld_chats"] == 4
        row = figures["by_language"][big]
        assert (row["chats"], row["responses"], row["response_rate"]) == (5, 5, 1.0)
        assert row["mood_start"] == {"n": 5, "mean": 2.0}
        assert row["mood_change"] == {"n": 5, "mean": 0.8, "better_share": 0.6}
        assert row["heard"] == {"n": 5, "yes_share": 0.8}
        assert row["come_back"] == {"n": 5, "yes_share": 1.0}
        assert figures["overall"]["chats"] == 5 and set(figures["by_risk"]) == {"none"}
        assert [w["week"] for w in figures["by_week"]] == [
            policy.week_label(policy.week_start(then))
        ]
        overview = (await get("/api/v1/overview", sup)).json()
        assert overview["outcomes"]["by_language"] == figures["by_language"]
        assert (await get("/api/v1/outcomes", volunteer)).status_code == 403

        assert (await get("/api/v1/outcomes/comments", sup)).status_code == 403
        comments = (await get("/api/v1/outcomes/comments", admin)).json()["comments"]
        assert sorted(c["comment"] for c in comments) == [f"comment {big} {i}" for i in range(5)]
        assert {c["language"] for c in comments} == {big}
    read = await sql(
        fresh.database_url,
        "SELECT actor_id FROM audit_events WHERE action = 'outcomes.comments_read'",
    )
    assert {r[0] for r in read} == {admin.user_id}
