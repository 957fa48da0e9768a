"""``uvicorn app.main:app`` (the README's ASGI app) serves the whole service, with uvicorn's
own WebSocket protocol or the project's, and keeps client addresses out of its log."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.conftest import FAST
from tests.support import (
    BIN,
    Server,
    WsClient,
    env_for,
    login,
    new_seeker,
    run_cli,
    unique_language,
)

ADDRESS = re.compile(r"\b127\.0\.0\.1:\d+\b")


@pytest.mark.slow
@pytest.mark.parametrize(
    "ws_option",
    [[], ["--ws", "app.socket_protocol:PeerlineWebSocketProtocol"]],
    ids=["uvicorn-protocol", "peerline-protocol"],
)
async def test_plain_uvicorn_serves_a_chat(tmp_path: Path, ws_option: list[str]):
    language = unique_language()
    env = env_for(f"sqlite:///{tmp_path}/plain.db", **FAST)
    run_cli(["migrate"], env)
    run_cli(
        ["create-user", "--role", "volunteer", "--username", "vol", "--trained",
         "--languages", language],
        env,
        "volunteer-pass-1\n",
    )  # fmt: skip
    server = Server(env, command=[str(BIN / "uvicorn"), "app.main:app", *ws_option]).start()
    base = server.base_url
    try:
        async with httpx.AsyncClient(base_url=base) as http:
            assert (await http.get("/readyz")).json()["status"] == "ready"
            await http.get("/healthz?from=the-access-log")
        volunteer = await login(base, "vol", "volunteer-pass-1")
        seeker = await new_seeker(base, language)
        ws = server.ws_url
        s = await WsClient.open(ws, seeker["seeker_token"])
        await s.send({"type": "queue.join"})
        cid = (await s.recv("queue.status"))["conversation_id"]
        v = await WsClient.open(ws, volunteer["access_token"])
        await v.send({"type": "queue.take"})
        await v.recv("conversation.started")
        await s.recv("conversation.started")
        for i in range(5):
            await s.send(
                {"type": "chat.send", "conversation_id": cid, "client_msg_id": f"s{i}",
                 "text": f"hello {i}"}
            )  # fmt: skip
            ack = await s.recv("chat.ack")
            message = await v.recv("chat.message", where=lambda f: f["sender_role"] == "seeker")
            assert message["seq"] == ack["seq"] and message["text"] == f"hello {i}"
        await v.send(
            {"type": "chat.send", "conversation_id": cid, "client_msg_id": "v0", "text": "hi"}
        )
        assert (await s.recv("chat.message", where=lambda f: f["text"] == "hi"))["seq"] == 6
        await s.close()
        await v.close()
    finally:
        server.stop()
    log = server.log_text()
    assert "Application startup complete" in log
    # README, Logs: uvicorn's own access log shows method, path and status only (no address,
    # no query string).
    assert "GET /healthz 200" in log, log
    assert "the-access-log" not in log
    assert not ADDRESS.findall(log.replace(f"127.0.0.1:{server.port}", "")), log
