"""NUL characters and lone surrogates are refused in frames (invalid_frame, socket kept) and
in REST bodies (422), and a database error never writes what a seeker said into the server's
log (engines created with hide_parameters). Real servers, SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from tests.conftest import Backend, StaffFactory
from tests.support import Server, new_seeker, paired, sql, unique_language


async def test_frames_with_nul_or_a_lone_surrogate_are_refused_and_the_socket_stays(
    server: Server, staff: StaffFactory, backend: Backend
):
    s, v, cid, _ = await paired(server, staff)
    for n, bad in enumerate(("before\x00after", "lone \ud800 surrogate", "end\udfff")):
        frame = {"type": "chat.send", "conversation_id": cid, "client_msg_id": f"b{n}"}
        # json.dumps writes both as \u escapes, as a browser's JSON.stringify does.
        await s.send_raw(json.dumps({**frame, "text": bad, "ref": f"r{n}"}))
        error = await s.error("invalid_frame")
        assert error["ref"] == f"r{n}" and "text" in error["message"]
    await v.send_raw(
        json.dumps({"type": "conversation.note", "conversation_id": cid, "text": "n\x00"})
    )
    await v.error("invalid_frame")
    # Still usable: an ordinary message (with an emoji sent as a surrogate pair) goes through.
    await s.send_raw(
        json.dumps(
            {"type": "chat.send", "conversation_id": cid, "client_msg_id": "ok", "text": "hi 😀"}
        )
    )
    ack = await s.recv("chat.ack")
    assert ack["seq"] == 1
    assert (await v.recv("chat.message"))["text"] == "hi 😀"
    # In the ref itself, or in a key's name: the error quotes them back, escaped, and the
    # socket stays (it used to close: a lone surrogate cannot be written as UTF-8).
    await s.send_raw(json.dumps({"type": "ping", "ref": "r\ud800"}))
    error = await s.error("invalid_frame")
    assert error["ref"] == "r\ud800" and error["message"].startswith("ref:")
    await s.send_raw(json.dumps({"type": "ping", "ref": "k", "\udc00": 1}))
    error = await s.error("invalid_frame")
    assert error["ref"] == "k" and error["message"].startswith("\udc00:")
    await s.send({"type": "ping", "ref": "still"})
    assert (await s.recv("pong"))["ref"] == "still"
    stored = await sql(
        backend.database_url, "SELECT count(*) FROM messages WHERE conversation_id = :c", c=cid
    )
    assert stored[0][0] == 1


async def test_rest_bodies_with_nul_or_a_lone_surrogate_get_422(server: Server):
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        for topics in (["exa\x00ms"], ["\ud800"]):
            r = await http.post(
                "/api/v1/seekers",
                content=json.dumps({"language": "en", "consent": True, "topics": topics}),
                headers={"content-type": "application/json"},
            )
            assert r.status_code == 422, r.text
            error = r.json()["error"]
            assert error["code"] == "invalid_request" and error["message"].startswith("topics.0")
            assert r.headers["x-content-type-options"] == "nosniff"
        r = await http.post(
            "/api/v1/auth/login",
            content=json.dumps({"username": "a\x00", "password": "x"}),
            headers={"content-type": "application/json"},
        )
        assert r.status_code == 422
    # The server carries on.
    assert (await new_seeker(server.base_url, unique_language()))["seeker_token"]


@pytest.fixture
async def refusing_trigger(backend: Backend):
    """A PostgreSQL trigger that makes storing a marked message or note fail with an
    error of its own: a database error with a seeker's words in the statement."""
    if backend.name != "postgres":
        pytest.skip("the trigger is PostgreSQL's")
    marker = "zebra" + uuid.uuid4().hex[:10]
    name = "refuse_" + marker
    await sql(
        backend.database_url,
        f"""CREATE FUNCTION {name}() RETURNS trigger AS $$
        BEGIN
          IF NEW.text LIKE '%{marker}%' THEN RAISE EXCEPTION 'refused by a test trigger'; END IF;
          RETURN NEW;
        END $$ LANGUAGE plpgsql""",
    )
    for table in ("messages", "whispers"):
        await sql(
            backend.database_url,
            f"CREATE TRIGGER {name} BEFORE INSERT ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {name}()",
        )
    yield marker
    for table in ("messages", "whispers"):
        await sql(backend.database_url, f"DROP TRIGGER {name} ON {table}")
    await sql(backend.database_url, f"DROP FUNCTION {name}()")


async def test_a_database_error_logs_nothing_of_what_was_written(
    server: Server, staff: StaffFactory, refusing_trigger: str
):
    s, v, cid, seeker = await paired(server, staff)
    said = f"my name is Asha {refusing_trigger} from Delhi Public School"
    await s.send({"type": "chat.send", "conversation_id": cid, "client_msg_id": "m", "text": said})
    await s.error("internal")
    await v.send({"type": "chat.whisper", "conversation_id": cid, "text": said})
    await v.error("internal")
    # The statements did fail and were logged, without their parameters.
    log = server.log_text()
    assert "refused by a test trigger" in log or "RaiseError" in log
    assert refusing_trigger not in log
    assert "Delhi Public School" not in log
    assert seeker["seeker_token"] not in log
    await s.send(
        {"type": "chat.send", "conversation_id": cid, "client_msg_id": "m2", "text": "still here"}
    )
    assert (await s.recv("chat.ack"))["seq"] >= 1
