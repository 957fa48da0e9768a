"""Prometheus metrics at /metrics, scraped from a real server during a real chat and
escalation, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.config import Settings
from tests.conftest import Fresh
from tests.escalation.test_escalation_ws import HIGH_ANSWERS, run_checklist, supervisor
from tests.support import WsClient, eventually, new_seeker, unique_language

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(base_url: str, token: str | None = None) -> tuple[str, Samples]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=base_url) as http:
        r = await http.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return r.text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_move_during_a_chat_and_an_escalation(fresh: Fresh):
    srv = fresh.server
    _, before = await scrape(srv.base_url)
    # The database state is there from the first scrape, zero or not.
    for name in (
        "peerline_ready",
        "peerline_oldest_wait_seconds",
        "peerline_conversations_active",
        "peerline_supervisors_on_call",
    ):
        assert (name, ()) in before, name
    assert value(before, "peerline_ready") == 1

    primary = await supervisor(fresh, rank=1)
    language = unique_language()
    seeker = await new_seeker(srv.base_url, language)
    s = await WsClient.open(srv.ws_url, seeker["seeker_token"])
    await s.send({"type": "queue.join"})
    status = await s.recv("queue.status")
    cid = status["conversation_id"]

    _, waiting = await scrape(srv.base_url)
    assert value(waiting, "peerline_seekers_waiting", language=language) == 1
    assert value(waiting, "peerline_sockets_open", role="seeker") >= 1
    assert value(waiting, "peerline_supervisors_on_call") == 1

    volunteer = await fresh.staff.create(languages=[language])
    v = await WsClient.open(srv.ws_url, volunteer.token)
    await v.send({"type": "queue.take"})
    await v.recv("conversation.started")
    await s.recv("conversation.started")

    words = "i can't do this anymore"
    await s.send({"type": "chat.send", "conversation_id": cid, "client_msg_id": "1", "text": words})
    await s.recv("chat.ack")
    await v.recv("risk.cue")
    await v.send(
        {"type": "chat.send", "conversation_id": cid, "client_msg_id": "v1", "text": "I'm here."}
    )
    await v.recv("chat.ack")
    assessed = await run_checklist(v, cid, HIGH_ANSWERS)
    assert assessed["level"] == "high"
    page = await primary.recv("escalation.page")
    await primary.send({"type": "escalation.ack", "escalation_id": page["escalation_id"]})
    await primary.recv("escalation.updated", where=lambda f: f["status"] == "acknowledged")

    text, after = await scrape(srv.base_url)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("peerline_messages_stored_total", sender_role="seeker") == 1
    assert moved("peerline_messages_stored_total", sender_role="volunteer") == 1
    assert moved("peerline_send_seconds_count") == 2
    assert moved("peerline_commit_seconds_count", path="chat_batch") >= 1  # the volunteer's
    assert moved("peerline_commit_seconds_count", path="unit_of_work") >= 3
    assert moved("peerline_wait_to_match_seconds_count") == 1
    assert moved("peerline_conversations_started_total") == 1
    assert moved("peerline_cue_flags_total", cue_class=(await_cue_class(after, before))) == 1
    assert moved("peerline_escalation_pages_total", level="high", page="first") == 1
    assert moved("peerline_escalation_ack_seconds_count", level="high") == 1
    assert moved("peerline_risk_assessments_total", level="high") == 1
    assert moved("peerline_catch_ups_total", reason="started") >= 1
    assert value(after, "peerline_conversations_active") == 1
    assert value(after, "peerline_seekers_waiting", language=language) == 0
    assert value(after, "peerline_escalations_open", level="high", status="acknowledged") == 1
    assert value(after, "peerline_escalations_open", level="high", status="open") == 0
    assert value(after, "peerline_referrals", status="offered") == 1
    assert value(after, "peerline_sockets_open", role="volunteer") >= 1
    assert value(after, "peerline_sockets_open", role="supervisor") >= 1
    # The rate-limit counter exists for the flood limits to count on.
    assert "# TYPE peerline_rate_limit_refusals_total counter" in text

    # Counts only: no id, alias or word anyone wrote, in a label or anywhere.
    for secret in (
        cid,
        page["escalation_id"],
        seeker["alias"],
        volunteer.alias,
        primary.staff.alias,
        volunteer.user_id,
        seeker["seeker_token"],
        "anymore",
        "here.",
    ):
        assert secret not in text, secret

    await s.send({"type": "conversation.end", "conversation_id": cid})
    for c in (s, v, primary):
        await c.close()

    async def sockets_closed() -> bool:
        _, now = await scrape(srv.base_url)
        return value(now, "peerline_sockets_open", role="seeker") == value(
            before, "peerline_sockets_open", role="seeker"
        )

    await eventually(sockets_closed, what="the seeker's socket to be counted closed")


def await_cue_class(after: Samples, before: Samples) -> str:
    """The one cue class whose count moved."""
    moved = [
        dict(labels)["cue_class"]
        for (name, labels), v in after.items()
        if name == "peerline_cue_flags_total" and v > before.get((name, labels), 0.0)
    ]
    assert len(moved) == 1, moved
    return moved[0]


def test_metrics_are_off_in_production_unless_a_token_protects_them():
    production = {"peerline_env": "production", "secret_key": "s" * 40}
    assert not Settings(**production).metrics_enabled
    assert Settings(**production, metrics_token="t" * 32).metrics_enabled
    assert Settings(peerline_env="development").metrics_enabled
    assert not Settings(peerline_env="development", metrics=False).metrics_enabled
    with pytest.raises(ValueError, match="METRICS_TOKEN"):
        Settings(**production, metrics=True)
