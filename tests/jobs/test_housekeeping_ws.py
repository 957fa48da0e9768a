"""Queue housekeeping with a real server: a seeker who went away leaves the queue, those who
are still (or again) connected stay, and the volunteers' queue shows the difference."""

from __future__ import annotations

from tests.conftest import Fresh
from tests.jobs.jobs_support import conversation_row
from tests.support import WsClient, new_seeker, sql, unique_language


def waiting_in(language: str, n: int):  # type: ignore[no-untyped-def]
    return lambda f: f["by_language"].get(language, {}).get("waiting", 0) == n


async def join_queue(srv, language: str) -> tuple[WsClient, dict, str]:  # type: ignore[no-untyped-def]
    seeker = await new_seeker(srv.base_url, language)
    c = await WsClient.open(srv.ws_url, seeker["seeker_token"])
    await c.send({"type": "queue.join"})
    return c, seeker, (await c.recv("queue.status"))["conversation_id"]


async def test_a_waiting_seeker_who_went_away_leaves_the_queue_and_those_still_here_stay(
    jobs_server: Fresh,
):
    srv = jobs_server.server
    language = unique_language()
    volunteer = await jobs_server.staff.create(languages=[language])
    v = await WsClient.open(srv.ws_url, volunteer.token)
    await v.send({"type": "availability.set", "available": True})
    await v.recv("availability.ok")
    # Those who stay joined (or left) first, so any deadline that passes for the one who
    # leaves has passed for them too: only being here again keeps them in the queue.
    stays, _, stays_cid = await join_queue(srv, language)
    returns, returner, returns_cid = await join_queue(srv, language)
    leaves, leaver, leaves_cid = await join_queue(srv, language)
    await returns.close()
    returns = await WsClient.open(srv.ws_url, returner["seeker_token"])
    assert [c["conversation_id"] for c in returns.auth_ok["active_conversations"]] == [returns_cid]
    await v.recv("queue.summary", where=waiting_in(language, 3))
    v.pending = [f for f in v.pending if f["type"] != "queue.summary"]  # older counts

    await leaves.close()
    await v.recv("queue.summary", where=waiting_in(language, 2), timeout=20)

    gone = await conversation_row(jobs_server.database_url, leaves_cid)
    assert (gone["status"], gone["ended_by"], gone["end_reason"]) == (
        "abandoned",
        "system",
        "seeker_disconnected",
    )
    for cid in (stays_cid, returns_cid):
        assert (await conversation_row(jobs_server.database_url, cid))["status"] == "waiting"
    audit = await sql(
        jobs_server.database_url,
        "SELECT actor_id, actor_role, detail FROM audit_events "
        "WHERE action = 'queue.abandoned' AND conversation_id = :c",
        c=leaves_cid,
    )
    assert len(audit) == 1 and audit[0][0] is None and audit[0][1] == "system"

    # The seeker who stayed is still first in line; the one who left finds nothing open.
    await v.send({"type": "queue.take"})
    assert (await v.recv("conversation.started"))["conversation_id"] == stays_cid
    await stays.recv("conversation.started")
    back = await WsClient.open(srv.ws_url, leaver["seeker_token"])
    assert back.auth_ok["active_conversations"] == []
    await back.send({"type": "conversation.resume", "conversation_id": leaves_cid, "after_seq": 0})
    assert (await back.recv("conversation.resumed"))["status"] == "abandoned"
