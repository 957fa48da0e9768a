"""The chat over a real socket, against a real server on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest

from tests.conftest import StaffFactory
from tests.support import Server, WsClient, new_seeker, paired, unique_language


async def test_whole_flow_seeker_queue_volunteer_chat_end(server: Server, staff: StaffFactory):
    language = unique_language()
    seeker = await new_seeker(server.base_url, language)
    s = await WsClient.open(server.ws_url, seeker["seeker_token"])
    assert s.auth_ok["role"] == "seeker" and s.auth_ok["active_conversations"] == []
    await s.send({"type": "queue.join", "topics": ["exams"]})
    status = await s.recv("queue.status")
    assert status["position"] == 1
    assert status["no_volunteer_online"] is True and status["estimated_wait_s"] is None
    cid = status["conversation_id"]
    # The seeker can write while waiting; the volunteer sees it on taking the chat.
    await s.send(
        {"type": "chat.send", "conversation_id": cid, "client_msg_id": "w1", "text": "anyone?"}
    )
    assert (await s.recv("chat.ack"))["seq"] == 1

    volunteer = await staff.create(languages=[language])
    v = await WsClient.open(server.ws_url, volunteer.token)
    await v.send({"type": "availability.set", "available": True})
    ok = await v.recv("availability.ok")
    assert ok["available"] is True and ok["capacity"] == 2
    summary = await v.recv("queue.summary", where=lambda f: language in f["by_language"])
    assert summary["by_language"][language]["waiting"] == 1
    online = await s.recv("queue.status", where=lambda f: not f["no_volunteer_online"])
    assert online["eligible_online"] == 1 and online["estimated_wait_s"] is not None

    await v.send({"type": "queue.take"})
    started_v = await v.recv("conversation.started")
    started_s = await s.recv("conversation.started")
    assert started_v["conversation_id"] == started_s["conversation_id"] == cid
    assert started_v["peer_alias"] == seeker["alias"]
    assert started_s["peer_alias"] == volunteer.alias
    waiting_msg = await v.recv("chat.message")
    assert (waiting_msg["seq"], waiting_msg["text"]) == (1, "anyone?")

    await v.send({"type": "chat.send", "conversation_id": cid, "client_msg_id": "v1", "text": "hi"})
    ack = await v.recv("chat.ack")
    assert ack["seq"] == 2 and ack["duplicate"] is False
    got = await s.recv("chat.message", where=lambda f: f["seq"] == 2)
    assert got["sender_role"] == "volunteer" and got["text"] == "hi"

    await v.send({"type": "chat.typing", "conversation_id": cid})
    typing = await s.recv("chat.typing")
    assert typing["sender_role"] == "volunteer"
    await s.send({"type": "chat.read", "conversation_id": cid, "seq": 2})
    assert (await v.recv("chat.read"))["seq"] == 2

    await s.send({"type": "conversation.end", "conversation_id": cid, "reason": "thanks"})
    for side in (s, v):
        ended = await side.recv("conversation.ended")
        assert ended["by"] == "seeker" and ended["status"] == "ended"
    await v.send({"type": "conversation.note", "conversation_id": cid, "text": "went ok"})
    await v.recv("conversation.note.ok")
    # Nothing more can be written.
    await s.send({"type": "chat.send", "conversation_id": cid, "client_msg_id": "x", "text": "?"})
    await s.error("conversation_closed")


async def test_duplicate_client_msg_id_is_stored_once(server: Server, staff: StaffFactory):
    s, v, cid, _ = await paired(server, staff)
    frame = {"type": "chat.send", "conversation_id": cid, "client_msg_id": "same", "text": "one"}
    await s.send(frame)
    first = await s.recv("chat.ack")
    await s.send(frame)
    second = await s.recv("chat.ack")
    assert second["seq"] == first["seq"] and second["duplicate"] is True
    await v.recv("chat.message", where=lambda f: f["client_msg_id"] == "same")
    await v.nothing("chat.message", within=0.5)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        r = await http.get(
            f"/api/v1/conversations/{cid}/messages",
            headers={"Authorization": f"Bearer {v.token}"},
        )
    assert [m["client_msg_id"] for m in r.json()["messages"]] == ["same"]


async def test_one_message_resent_at_once_from_two_sockets_is_stored_once_with_no_gap(
    server: Server, staff: StaffFactory
):
    """A phone that reconnected while its old socket lingered sends the same message on
    both at the same moment, while the volunteer writes too: one copy, and the seqs stay
    contiguous (no seq was used up by the copy that was refused)."""
    s, v, cid, seeker = await paired(server, staff)
    s2 = await WsClient.open(server.ws_url, seeker["seeker_token"])
    for round_ in range(5):
        frame = {
            "type": "chat.send",
            "conversation_id": cid,
            "client_msg_id": f"twice-{round_}",
            "text": f"hello {round_}",
        }
        reply = {
            "type": "chat.send",
            "conversation_id": cid,
            "client_msg_id": f"v-{round_}",
            "text": f"hi {round_}",
        }
        await asyncio.gather(s.send(frame), s2.send(frame), v.send(reply))
        acks = [await s.recv("chat.ack"), await s2.recv("chat.ack")]
        assert acks[0]["seq"] == acks[1]["seq"]
        assert sorted(a["duplicate"] for a in acks) == [False, True]
        await v.recv("chat.ack")
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        r = await http.get(
            f"/api/v1/conversations/{cid}/messages",
            headers={"Authorization": f"Bearer {v.token}"},
        )
    stored = r.json()["messages"]
    assert [m["seq"] for m in stored] == list(range(1, 11))
    assert sorted(m["client_msg_id"] for m in stored) == sorted(
        [f"twice-{i}" for i in range(5)] + [f"v-{i}" for i in range(5)]
    )
    await s2.close()


async def test_resume_after_disconnect_replays_missed_messages_once_in_order(
    server: Server, staff: StaffFactory
):
    s, v, cid, seeker = await paired(server, staff)
    await s.send({"type": "chat.send", "conversation_id": cid, "client_msg_id": "a", "text": "1"})
    await s.recv("chat.ack")
    await s.close()
    for i in range(5):
        await v.send(
            {"type": "chat.send", "conversation_id": cid, "client_msg_id": f"v{i}", "text": str(i)}
        )
        await v.recv("chat.ack")
    s2 = await WsClient.open(server.ws_url, seeker["seeker_token"])
    listed = s2.auth_ok["active_conversations"]
    assert [(c["conversation_id"], c["last_seq"]) for c in listed] == [(cid, 6)]
    await s2.send({"type": "conversation.resume", "conversation_id": cid, "after_seq": 1})
    got = [await s2.recv("chat.message") for _ in range(5)]
    assert [m["seq"] for m in got] == [2, 3, 4, 5, 6]
    resumed = await s2.recv("conversation.resumed")
    assert resumed["last_seq"] == 6 and resumed["status"] == "active"
    # And it continues live, with no duplicate of what was replayed.
    await v.send({"type": "chat.send", "conversation_id": cid, "client_msg_id": "z", "text": "z"})
    live = await s2.recv("chat.message")
    assert live["seq"] == 7
    await s2.nothing("chat.message", within=0.4)


async def test_auth_ok_lists_each_side_its_open_conversations_with_the_peer_alias(
    server: Server, staff: StaffFactory
):
    s, v, cid, seeker = await paired(server, staff)
    volunteer = v.staff  # type: ignore[attr-defined]
    waiting = await new_seeker(server.base_url, unique_language())
    w = await WsClient.open(server.ws_url, waiting["seeker_token"])
    await w.send({"type": "queue.join"})
    waiting_cid = (await w.recv("queue.status"))["conversation_id"]
    await s.send({"type": "chat.send", "conversation_id": cid, "client_msg_id": "a", "text": "1"})
    await s.recv("chat.ack")
    for client in (s, v, w):
        await client.close()

    def listed(client: WsClient) -> list[tuple[str, str, str | None, int]]:
        return [
            (c["conversation_id"], c["status"], c["peer_alias"], c["last_seq"])
            for c in client.auth_ok["active_conversations"]
        ]

    s2 = await WsClient.open(server.ws_url, seeker["seeker_token"])
    assert listed(s2) == [(cid, "active", volunteer.alias, 1)]
    v2 = await WsClient.open(server.ws_url, volunteer.token)
    assert listed(v2) == [(cid, "active", seeker["alias"], 1)]
    w2 = await WsClient.open(server.ws_url, waiting["seeker_token"])
    assert listed(w2) == [(waiting_cid, "waiting", None, 0)]
    # Ended conversations are not listed.
    await s2.send({"type": "conversation.end", "conversation_id": cid})
    await s2.recv("conversation.ended")
    await s2.close()
    s3 = await WsClient.open(server.ws_url, seeker["seeker_token"])
    assert listed(s3) == []


async def test_resend_after_reconnect_returns_the_original_ack(server: Server, staff: StaffFactory):
    s, v, cid, seeker = await paired(server, staff)
    frame = {"type": "chat.send", "conversation_id": cid, "client_msg_id": "r1", "text": "hello"}
    await s.send(frame)
    first = await s.recv("chat.ack")
    await s.close()
    s2 = await WsClient.open(server.ws_url, seeker["seeker_token"])
    await s2.send(frame)
    again = await s2.recv("chat.ack")
    assert again["seq"] == first["seq"] and again["duplicate"] is True


async def test_seeker_cannot_touch_another_conversation(server: Server, staff: StaffFactory):
    s, v, cid, _ = await paired(server, staff)
    other = await new_seeker(server.base_url, unique_language())
    intruder = await WsClient.open(server.ws_url, other["seeker_token"])
    for frame in (
        {"type": "chat.send", "conversation_id": cid, "client_msg_id": "x", "text": "hi"},
        {"type": "conversation.resume", "conversation_id": cid, "after_seq": 0},
        {"type": "conversation.end", "conversation_id": cid},
        {"type": "chat.read", "conversation_id": cid, "seq": 1},
        {"type": "chat.typing", "conversation_id": cid},
    ):
        await intruder.send(frame)
        await intruder.error("not_found")
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        r = await http.get(
            f"/api/v1/conversations/{cid}/messages",
            headers={"Authorization": f"Bearer {other['seeker_token']}"},
        )
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    await v.nothing("chat.message", within=0.3)


async def test_volunteer_cannot_read_another_volunteers_chat(server: Server, staff: StaffFactory):
    s, v, cid, _ = await paired(server, staff)
    await s.send({"type": "chat.send", "conversation_id": cid, "client_msg_id": "p", "text": "x"})
    await s.recv("chat.ack")
    other = await staff.create()
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        r = await http.get(
            f"/api/v1/conversations/{cid}/messages",
            headers={"Authorization": f"Bearer {other.token}"},
        )
    assert r.status_code == 404
    ov = await WsClient.open(server.ws_url, other.token)
    await ov.send({"type": "conversation.resume", "conversation_id": cid, "after_seq": 0})
    await ov.error("not_found")


async def test_participant_pages_history_over_rest(server: Server, staff: StaffFactory):
    s, v, cid, seeker = await paired(server, staff)
    for i in range(7):
        await s.send(
            {"type": "chat.send", "conversation_id": cid, "client_msg_id": f"h{i}", "text": f"{i}"}
        )
        await s.recv("chat.ack")
    headers = {"Authorization": f"Bearer {seeker['seeker_token']}"}
    seen: list[int] = []
    after = 0
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        while True:
            r = await http.get(
                f"/api/v1/conversations/{cid}/messages",
                params={"after_seq": after, "limit": 3},
                headers=headers,
            )
            body = r.json()
            seen += [m["seq"] for m in body["messages"]]
            after = body["next_after_seq"]
            if not body["has_more"]:
                break
    assert seen == list(range(1, 8))


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "invalid_json"),
        ("[1, 2]", "invalid_json"),
        # Not JSON either, though Python's json module reads NaN and raises RecursionError
        # (not ValueError) on nesting this deep: both were answered `internal`.
        ('{"type": "ping", "n": NaN}', "invalid_json"),
        ("[" * 8000 + "]" * 8000, "invalid_json"),
        ('{"type": "ping", "x": ' + "[" * 8000 + "]" * 8000 + "}", "invalid_json"),
        ('{"no": "type"}', "unknown_type"),
        ('{"type": "chat.fly"}', "unknown_type"),
        ('{"type": "chat.send", "text": "hi", "client_msg_id": "a"}', "invalid_frame"),
        ('{"type": "chat.read", "conversation_id": "c", "seq": -1}', "invalid_frame"),
        ('{"type": "queue.take"}', "forbidden"),
        ('{"type": "availability.set", "available": true}', "forbidden"),
        ('{"type": "auth", "token": "again"}', "unknown_type"),
    ],
)
async def test_bad_frames_get_a_stable_error_and_the_socket_stays_usable(
    server: Server, raw: str, code: str
):
    seeker = await new_seeker(server.base_url, unique_language())
    s = await WsClient.open(server.ws_url, seeker["seeker_token"])
    await s.send_raw(raw)
    await s.send_raw(json.dumps({"type": "ping", "ref": "after"}))
    err = await s.recv("error")
    assert err["code"] == code, err
    assert (await s.recv("pong"))["ref"] == "after"


async def test_text_limits_and_refs(server: Server, staff: StaffFactory):
    s, v, cid, _ = await paired(server, staff)
    base = {"type": "chat.send", "conversation_id": cid}
    await s.send({**base, "client_msg_id": "e", "text": "   ", "ref": "r-empty"})
    err = await s.error("text_empty")
    assert err["ref"] == "r-empty"
    await s.send({**base, "client_msg_id": "l", "text": "x" * 4001, "ref": "r-long"})
    assert (await s.error("text_too_long"))["ref"] == "r-long"
    await s.send({**base, "client_msg_id": "ok", "text": "x" * 4000})
    ack = await s.recv("chat.ack")
    assert ack["seq"] == 1  # nothing was stored by the refused frames
    # The white space around a text is trimmed before the count, and the text is stored
    # and delivered trimmed (docs/protocol.md: "1-4,000 characters after trimming").
    await s.send({**base, "client_msg_id": "pad", "text": "\n  " + "z" * 4000 + "  \n"})
    assert (await s.recv("chat.ack"))["seq"] == 2
    await s.send({**base, "client_msg_id": "hi", "text": " \t hello there \n"})
    assert (await s.recv("chat.ack"))["seq"] == 3
    delivered = await v.recv("chat.message", where=lambda f: f["seq"] == 3)
    assert delivered["text"] == "hello there"
    await s.send_raw(json.dumps({**base, "client_msg_id": "big", "text": "y" * 20_000}))
    await s.error("frame_too_large")
    await s.send_raw(b"\x00\x01binary")
    await s.error("binary_not_supported")
    await s.send({"type": "ping"})
    await s.recv("pong")


async def test_a_text_that_shows_nothing_is_empty_and_joiners_inside_a_text_are_kept(
    server: Server, staff: StaffFactory
):
    """Zero-width spaces and joiners, a byte-order mark, a soft hyphen, direction marks, a
    braille or Hangul blank: ``str.strip`` keeps them all, and the volunteer saw an empty
    bubble. Such a text is ``text_empty`` and uses no seq; inside a text they stay, since
    Devanagari and emoji need the joiners."""
    s, v, cid, _ = await paired(server, staff)
    base = {"type": "chat.send", "conversation_id": cid}
    blanks = ["\u200b", " \u200b\u200d\ufeff ", "\u00ad\u200e\u2060", "\u2800", "\u3164\ufe0f"]
    for n, blank in enumerate(blanks):
        await s.send({**base, "client_msg_id": f"blank-{n}", "text": blank, "ref": f"b{n}"})
        assert (await s.error("text_empty"))["ref"] == f"b{n}"
    words = "\u200bक्\u200dष 👩\u200d💻"
    await s.send({**base, "client_msg_id": "words", "text": words})
    assert (await s.recv("chat.ack"))["seq"] == 1  # nothing was stored before
    assert (await v.recv("chat.message"))["text"] == words


async def test_a_value_of_the_wrong_json_type_is_refused_not_converted(
    server: Server, staff: StaffFactory
):
    # docs/protocol.md, Errors: invalid_frame for "a field ... of the wrong type". A number
    # sent as a string (or a float, or a boolean) and a boolean sent as a string or a number
    # are refused; before, pydantic's lax mode quietly converted them.
    s, v, cid, _ = await paired(server, staff)
    await s.send({"type": "chat.send", "conversation_id": cid, "client_msg_id": "m", "text": "hi"})
    assert (await s.recv("chat.ack"))["seq"] == 1
    wrong = [
        (v, {"type": "chat.read", "conversation_id": cid, "seq": "1"}, "seq"),
        (v, {"type": "chat.read", "conversation_id": cid, "seq": 1.0}, "seq"),
        (v, {"type": "chat.read", "conversation_id": cid, "seq": True}, "seq"),
        (s, {"type": "chat.typing", "conversation_id": cid, "typing": "yes"}, "typing"),
        (s, {"type": "chat.typing", "conversation_id": cid, "typing": 0}, "typing"),
        (s, {"type": "conversation.resume", "conversation_id": cid, "after_seq": "0"}, "after_seq"),
        (v, {"type": "availability.set", "available": "yes"}, "available"),
        (v, {"type": "availability.set", "available": True, "capacity": "2"}, "capacity"),
        (
            s,
            {"type": "chat.send", "conversation_id": cid, "client_msg_id": 7, "text": "x"},
            "client_msg_id",
        ),
        (s, {"type": "chat.send", "conversation_id": cid, "client_msg_id": "n", "text": 5}, "text"),
    ]
    for n, (who, frame, field) in enumerate(wrong):
        await who.send({**frame, "ref": f"w{n}"})
        error = await who.error("invalid_frame")
        assert error["ref"] == f"w{n}" and error["message"].startswith(f"{field}:"), error
    await s.nothing("chat.read", within=0.2)
    await v.nothing("chat.typing", within=0.1)
    # Nothing was stored or changed by them; the right types still work.
    await v.send({"type": "chat.read", "conversation_id": cid, "seq": 1})
    assert (await s.recv("chat.read"))["seq"] == 1
    await s.send({"type": "chat.send", "conversation_id": cid, "client_msg_id": "m2", "text": "ok"})
    assert (await s.recv("chat.ack"))["seq"] == 2


async def test_auth_is_required_first_and_bad_tokens_close_4401(server: Server):
    c = await WsClient.open(server.ws_url)
    await c.send({"type": "ping"})
    assert await c.close_code() == 4401
    c = await WsClient.open(server.ws_url)
    await c.send({"type": "auth", "token": "sk_" + uuid.uuid4().hex})
    assert await c.close_code() == 4401
    # A first frame nested too deeply to read is not an auth either (it crashed the
    # handler: the socket dropped with no close code).
    c = await WsClient.open(server.ws_url)
    await c.send_raw('{"type": "auth", "token": "x", "d": ' + "[" * 8000 + "]" * 8000 + "}")
    assert await c.close_code() == 4401


async def test_flooding_is_rate_limited_then_closed(migrated, backend):
    from tests.support import env_for

    if backend.name != "sqlite":
        pytest.skip("rate limiting does not depend on the database")
    srv = Server(
        env_for(
            migrated("sqlite").database_url,
            RATE_LIMIT_PER_S="5",
            RATE_LIMIT_BURST="5",
            RATE_LIMIT_CLOSE_AFTER="30",
        )
    )
    srv.start()
    try:
        seeker = await new_seeker(srv.base_url, "en")
        c = await WsClient.open(srv.ws_url, seeker["seeker_token"])
        for _ in range(10):
            await c.send({"type": "ping"})
        await c.error("rate_limited")
        await asyncio.sleep(0.5)  # the bucket refills: the connection is usable again
        c.pending.clear()
        await c.send({"type": "ping", "ref": "later"})
        assert (await c.recv("pong", where=lambda f: f.get("ref") == "later"))["ref"] == "later"
        for _ in range(200):
            await c.send({"type": "ping"})
        assert await c.close_code() == 4429
    finally:
        srv.stop()


async def test_auth_timeout_closes_4401(migrated, backend):
    if backend.name != "sqlite":
        pytest.skip("the auth deadline does not depend on the database")
    from tests.support import env_for

    srv = Server(env_for(migrated("sqlite").database_url, AUTH_TIMEOUT_S="0.5"))
    srv.start()
    try:
        c = await WsClient.open(srv.ws_url)
        assert await c.close_code(timeout=5) == 4401
    finally:
        srv.stop()


@pytest.mark.parametrize("text", ["see you tomorrow", "i want to kill myself"])
async def test_sender_gets_the_ack_before_its_own_message(
    server: Server, staff: StaffFactory, text: str
):
    # A plain message takes the group-commit path, a cue-flagged one the general path: both
    # answer the sender chat.ack first, then deliver its own chat.message (docs/protocol.md).
    s, v, cid, _ = await paired(server, staff)
    await s.send({"type": "chat.send", "conversation_id": cid, "client_msg_id": "o1", "text": text})
    first = await s.recv(("chat.ack", "chat.message"))
    second = await s.recv(("chat.ack", "chat.message"))
    assert [first["type"], second["type"]] == ["chat.ack", "chat.message"]
    assert first["seq"] == second["seq"] == 1
    assert (await v.recv("chat.message"))["text"] == text


@pytest.mark.parametrize(("reason", "shown"), [(" \n ", None), ("", None), ("  bye  ", "bye")])
async def test_an_end_reason_is_kept_trimmed_and_a_blank_one_is_none(
    server: Server, staff: StaffFactory, reason: str, shown: str | None
):
    """conversation.ended's reason is the text given to conversation.end, null when it gave
    none: a blank one was sent (and stored) as it came, white space and all."""
    s, v, cid, _ = await paired(server, staff)
    await s.send({"type": "conversation.end", "conversation_id": cid, "reason": reason})
    for side in (s, v):
        assert (await side.recv("conversation.ended"))["reason"] == shown


async def test_a_typed_end_reason_cannot_pass_for_a_quick_exit(server: Server, staff: StaffFactory):
    """A seeker's conversation.end with reason "quick_exit" gave the volunteer the urgent
    notice of a quick exit that was none (a real one also alerts supervisors and ends the
    session). It is ``invalid_frame``; the chat goes on, and a real goodbye still ends it."""
    s, v, cid, _ = await paired(server, staff)
    for typed in ("quick_exit", " QUICK_EXIT "):
        await s.send(
            {"type": "conversation.end", "conversation_id": cid, "reason": typed, "ref": "e"}
        )
        refused = await s.error("invalid_frame")
        assert refused["ref"] == "e" and "quick_exit" in refused["message"]
    await v.nothing("conversation.ended", within=0.3)
    await s.send({"type": "conversation.end", "conversation_id": cid, "reason": "quick exit?"})
    assert (await v.recv("conversation.ended"))["reason"] == "quick exit?"


async def test_a_seq_beyond_any_stored_number_is_read_as_beyond_the_last_message(
    server: Server, staff: StaffFactory
):
    """The seq columns are 32-bit: a larger seq overflowed the database's integer, so a
    resume "after everything" was answered unavailable (which a client retries for ever)
    and a cue.mark internal. It is now beyond every message, as a seq past last_seq is."""
    s, v, cid, _ = await paired(server, staff)
    await s.send({"type": "chat.send", "conversation_id": cid, "client_msg_id": "a", "text": "hi"})
    await s.recv("chat.ack")
    await v.recv("chat.message")
    for huge in (2**31, 2**63 - 1, 2**70):
        await s.send({"type": "conversation.resume", "conversation_id": cid, "after_seq": huge})
        resumed = await s.recv(("conversation.resumed", "error"))
        assert resumed["type"] == "conversation.resumed" and resumed["last_seq"] == 1, resumed
        await v.send({"type": "cue.mark", "conversation_id": cid, "seq": huge, "kind": "missed"})
        await v.error("invalid_mark")
        await s.send({"type": "chat.read", "conversation_id": cid, "seq": huge})
        assert (await v.recv("chat.read"))["seq"] == 1


async def test_topics_are_kept_trimmed_and_a_blank_one_is_refused(
    server: Server, staff: StaffFactory
):
    """A topic of only white space was stored (and shown to the volunteer) as a blank one,
    and " c " kept its spaces, so it sorted first and matched no volunteer's "c"."""
    language = unique_language()
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        r = await http.post(
            "/api/v1/seekers", json={"language": language, "consent": True, "topics": [" \t "]}
        )
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    seeker = await new_seeker(server.base_url, language, topics=[" work "])
    s = await WsClient.open(server.ws_url, seeker["seeker_token"])
    await s.send({"type": "queue.join", "topics": ["exams", "  "], "ref": "j"})
    assert (await s.error("invalid_frame"))["message"].startswith("topics.1:")
    await s.send({"type": "queue.join", "topics": [" c ", "b", "work"]})
    await s.recv("queue.status")
    volunteer = await staff.create(languages=[language])
    v = await WsClient.open(server.ws_url, volunteer.token)
    await v.send({"type": "queue.take"})
    assert (await v.recv("conversation.started"))["topics"] == ["b", "c", "work"]
