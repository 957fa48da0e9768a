"""Retention with a real server: text of conversations that ended long ago is deleted in
batches, recent ones keep theirs, and the record of what happened stays."""

from __future__ import annotations

from datetime import timedelta

import httpx

from app.db import utcnow
from tests.conftest import Fresh
from tests.jobs.jobs_support import conversation_row
from tests.support import eventually, paired, sql


async def chat_and_end(fresh: Fresh) -> str:
    """A conversation with messages, a whisper, a wrap-up note and a typed end reason."""
    s, v, cid, _ = await paired(fresh.server, fresh.staff)
    for i, (who, text) in enumerate([(s, "i feel so alone"), (v, "i'm here"), (s, "thanks")]):
        await who.send(
            {"type": "chat.send", "conversation_id": cid, "client_msg_id": f"m{i}", "text": text}
        )
        await who.recv("chat.ack")
    await v.send({"type": "chat.whisper", "conversation_id": cid, "text": "exams, family"})
    await v.recv("chat.whisper")
    await v.send(
        {"type": "conversation.note", "conversation_id": cid, "text": "talked about exams"}
    )
    await v.recv("conversation.note.ok")
    await s.send({"type": "conversation.end", "conversation_id": cid, "reason": "feeling better"})
    await s.recv("conversation.ended")
    await s.close()
    await v.close()
    return cid


async def text_rows(database_url: str, cid: str) -> tuple[int, int]:
    messages = await sql(
        database_url, "SELECT count(*) FROM messages WHERE conversation_id = :c", c=cid
    )
    whispers = await sql(
        database_url, "SELECT count(*) FROM whispers WHERE conversation_id = :c", c=cid
    )
    return messages[0][0], whispers[0][0]


async def audit_count(database_url: str, cid: str) -> int:
    rows = await sql(
        database_url, "SELECT count(*) FROM audit_events WHERE conversation_id = :c", c=cid
    )
    return rows[0][0]


async def test_text_of_conversations_ended_long_ago_is_deleted_and_recent_text_kept(
    jobs_server: Fresh,
):
    url = jobs_server.database_url
    old = await chat_and_end(jobs_server)
    recent = await chat_and_end(jobs_server)
    assert await text_rows(url, old) == (3, 1)
    audited = await audit_count(url, old)
    # Data setup: this one ended 31 days ago (RETENTION_DAYS is 30).
    await sql(
        url,
        "UPDATE conversations SET ended_at = :t WHERE id = :c",
        t=utcnow() - timedelta(days=31),
        c=old,
    )

    async def old_text_deleted() -> bool:
        return (await conversation_row(url, old))["text_deleted_at"] is not None

    await eventually(old_text_deleted, timeout=20, what="retention of the old conversation")
    row = await conversation_row(url, old)
    assert await text_rows(url, old) == (0, 0)
    assert (row["wrapup_note"], row["end_reason"]) == (None, None)
    # What happened stays: status, who ended it, how far it went, and the audit trail.
    assert (row["status"], row["ended_by"], row["last_seq"]) == ("ended", "seeker", 3)
    assert await audit_count(url, old) == audited

    kept = await conversation_row(url, recent)
    assert await text_rows(url, recent) == (3, 1)
    assert (kept["wrapup_note"], kept["end_reason"], kept["text_deleted_at"]) == (
        "talked about exams",
        "feeling better",
        None,
    )


async def test_cue_marks_leave_review_with_their_message_and_their_counts_stay(
    jobs_server: Fresh,
):
    url = jobs_server.database_url
    s, v, cid, _ = await paired(jobs_server.server, jobs_server.staff)
    seqs = {}
    for key, text in (("flagged", "i took 800mg of something"), ("plain", "sleepy all day")):
        await s.send(
            {"type": "chat.send", "conversation_id": cid, "client_msg_id": key, "text": text}
        )
        seqs[key] = (await s.recv("chat.ack"))["seq"]
    await v.recv("risk.cue")
    await v.send(
        {"type": "cue.mark", "conversation_id": cid, "seq": seqs["flagged"], "kind": "not_risk"}
    )
    await v.send(
        {"type": "cue.mark", "conversation_id": cid, "seq": seqs["plain"], "kind": "missed"}
    )
    for _ in range(2):
        await v.recv("cue.marked")
    await s.send({"type": "conversation.end", "conversation_id": cid})
    await s.recv("conversation.ended")
    sup = await jobs_server.staff.create("supervisor")
    headers = {"Authorization": f"Bearer {sup.token}"}
    async with httpx.AsyncClient(base_url=jobs_server.server.base_url, headers=headers) as http:
        listed = (await http.get("/api/v1/cue-marks")).json()["marks"]
        assert sum(m["conversation_id"] == cid for m in listed) == 2
        before = (await http.get("/api/v1/cue-marks/counts")).json()
        # Data setup: this one ended 31 days ago (RETENTION_DAYS is 30).
        await sql(
            url,
            "UPDATE conversations SET ended_at = :t WHERE id = :c",
            t=utcnow() - timedelta(days=31),
            c=cid,
        )

        async def text_deleted() -> bool:
            return (await conversation_row(url, cid))["text_deleted_at"] is not None

        await eventually(text_deleted, timeout=20, what="retention of the marked conversation")
        statuses = await sql(url, "SELECT status FROM cue_marks WHERE conversation_id = :c", c=cid)
        assert [row[0] for row in statuses] == ["expired", "expired"]
        listed = (await http.get("/api/v1/cue-marks")).json()["marks"]
        assert all(m["conversation_id"] != cid for m in listed)
        after = (await http.get("/api/v1/cue-marks/counts")).json()
        # The numbers stay; only the marks waiting for review are fewer.
        assert after["families"] == before["families"]
        assert after["patterns"] == before["patterns"]
        assert after["open_marks"] == before["open_marks"] - 2
