"""Structured logs: a production-mode server's log after a full chat and escalation is one
JSON object per line and carries no message text, alias, token or client address. The same
server keeps /metrics behind its token."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable

import httpx
import pytest

from app.logs import JsonFormatter, TextFormatter
from tests.conftest import FAST, Backend, StaffFactory
from tests.escalation.test_escalation_ws import HIGH_ANSWERS, run_checklist
from tests.support import Server, WsClient, env_for, new_seeker, unique_language

METRICS_TOKEN = "metrics-" + "m" * 40


@pytest.fixture
def production(migrated: Callable[[str], Backend]):
    backend = migrated("sqlite")
    env = env_for(backend.database_url, **FAST, METRICS_TOKEN=METRICS_TOKEN)
    env["PEERLINE_ENV"] = "production"
    env.pop("LOG_FORMAT", None)
    srv = Server(env).start()
    yield srv, StaffFactory(backend.database_url, srv.base_url)
    srv.stop()


async def test_a_production_log_is_json_lines_without_text_aliases_tokens_or_addresses(
    production: tuple[Server, StaffFactory],
):
    srv, staff = production
    language = unique_language()
    lead = await staff.create("supervisor")
    sup = await WsClient.open(srv.ws_url, lead.token)
    await sup.send({"type": "oncall.set", "on_call": True})
    await sup.recv("oncall.ok")
    seeker = await new_seeker(srv.base_url, language)
    volunteer = await staff.create(languages=[language])
    s = await WsClient.open(srv.ws_url, seeker["seeker_token"])
    await s.send({"type": "queue.join"})
    cid = (await s.recv("queue.status"))["conversation_id"]
    v = await WsClient.open(srv.ws_url, volunteer.token)
    await v.send({"type": "queue.take"})
    await v.recv("conversation.started")
    await s.recv("conversation.started")

    texts = ["i can't do this anymore", "Tell me more, I am listening."]
    await s.send(
        {"type": "chat.send", "conversation_id": cid, "client_msg_id": "a", "text": texts[0]}
    )
    await v.recv("risk.cue")
    await v.send(
        {"type": "chat.send", "conversation_id": cid, "client_msg_id": "b", "text": texts[1]}
    )
    await s.recv("chat.message", where=lambda f: f["client_msg_id"] == "b")
    assert (await run_checklist(v, cid, HIGH_ANSWERS))["level"] == "high"
    page = await sup.recv("escalation.page")
    esc_id = page["escalation_id"]
    await sup.send({"type": "escalation.ack", "escalation_id": esc_id})
    await sup.recv("escalation.updated", where=lambda f: f["status"] == "acknowledged")
    note = "wrap-up: seeker agreed to call the helpline"
    await sup.send(
        {
            "type": "escalation.resolve",
            "escalation_id": esc_id,
            "outcome": "safe_plan_agreed",
            "note": note,
        }
    )
    await sup.recv("escalation.updated", where=lambda f: f["status"] == "resolved")
    await s.send({"type": "conversation.end", "conversation_id": cid, "reason": "said goodbye"})
    await v.recv("conversation.ended")

    # /metrics in production: only with the token.
    async with httpx.AsyncClient(base_url=srv.base_url) as http:
        assert (await http.get("/metrics")).status_code == 401
        wrong = {"Authorization": "Bearer " + "x" * len(METRICS_TOKEN)}
        assert (await http.get("/metrics", headers=wrong)).status_code == 401
        right = {"Authorization": "Bearer " + METRICS_TOKEN}
        scraped = await http.get("/metrics", headers=right)
        assert scraped.status_code == 200 and "peerline_messages_stored_total" in scraped.text
        # Something that fails inside a request is logged too (by type, not by message).
        assert (await http.get("/api/v1/conversations/nope/messages")).status_code in (401, 404)

    for c in (s, v, sup):
        await c.close()
    srv.stop()

    lines = srv.log_text().splitlines()
    assert lines, "the server logged nothing"
    records = []
    for line in lines:
        record = json.loads(line)  # every line is one JSON object
        assert isinstance(record, dict), line
        assert {"ts", "level", "logger", "event", "message"} <= record.keys(), line
        records.append(record)
    never = [
        *texts,
        "anymore",
        "listening",
        note,
        "said goodbye",
        seeker["alias"],
        volunteer.alias,
        lead.alias,
        seeker["seeker_token"],
        volunteer.token,
        lead.token,
        METRICS_TOKEN,
        "127.0.0.1",
    ]
    log = srv.log_text()
    for secret in never:
        assert secret not in log, secret

    events = {(r["event"], r.get("conversation_id"), r.get("escalation_id")) for r in records}
    assert ("conversation.started", cid, None) in events
    assert ("escalation.paged", cid, esc_id) in events
    assert ("escalation.acknowledged", cid, esc_id) in events
    assert ("escalation.resolved", cid, esc_id) in events
    assert ("conversation.closed", cid, None) in events
    assert any(r["event"] == "risk.cue" and r["conversation_id"] == cid for r in records)
    assert {r["level"] for r in records} <= {"debug", "info", "warning", "error", "critical"}


def _record(message: str, *args: object, exc: BaseException | None = None, **extra: object):
    record = logging.LogRecord("app.test", logging.ERROR, __file__, 1, message, args, None)
    if exc is not None:
        try:
            raise exc
        except type(exc):
            record.exc_info = sys.exc_info()
    record.__dict__.update(extra)
    return record


def test_an_exception_is_logged_by_type_and_place_never_by_its_message():
    secret = "INSERT INTO messages ... [parameters: ('i want to die',)]"
    record = _record("batch failed", exc=RuntimeError(secret), event="chat.batch_failed")
    line = JsonFormatter().format(record)
    parsed = json.loads(line)
    assert parsed["error"] == "RuntimeError" and parsed["event"] == "chat.batch_failed"
    assert parsed["stack"] and "test_logs.py" in parsed["stack"][-1]
    assert "die" not in line
    text = TextFormatter().format(_record("batch failed", exc=RuntimeError(secret), seq=3))
    assert "RuntimeError" in text and "seq=3" in text and "die" not in text
