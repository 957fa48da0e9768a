"""The flood budgets against a real server (app/budgets): each door refuses past its budget
with 429 ``rate_limited`` and ``Retry-After`` (an ``error`` frame for ``queue.join``, the
socket kept), lets through again once the window has passed, counts per client behind a
trusted proxy only, and no address reaches the log."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterator

import httpx
import pytest

from tests.conftest import Backend, StaffFactory
from tests.support import Server, WsClient, env_for, unique_language

WINDOW_S = 6
TIGHT = f"2 per {WINDOW_S} seconds"


@pytest.fixture(scope="module")
def tight(backend: Backend) -> Iterator[Server]:
    """Per-client budgets of 2 per window; the loopback peer is the trusted proxy."""
    srv = Server(
        env_for(
            backend.database_url,
            TRUSTED_PROXIES="127.0.0.1",
            SEEKER_LIMIT_PER_CLIENT=TIGHT,
            QUEUE_JOIN_LIMIT_PER_CLIENT=TIGHT,
            LOGIN_LIMIT_PER_CLIENT=TIGHT,
        )
    ).start()
    yield srv
    srv.stop()


def via(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


# How long a client waits for wrong-password logins. An unknown username is checked against
# a hash of the standard cost, one at a time and at a lower priority than the chats
# (app/identity/passwords.py), so on a loaded machine two took over httpx's default 5 s
# (session 26's last full run: ReadTimeout). The budget is checked as a request arrives, so
# a slow answer changes nothing here.
PASSWORD_CHECKS_S = 60.0


async def post_seeker(http: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    return await http.post(
        "/api/v1/seekers",
        json={"language": unique_language(), "consent": True},
        headers=headers,
    )


def assert_refused(r: httpx.Response) -> int:
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "rate_limited"
    retry_after = int(r.headers["Retry-After"])
    assert 1 <= retry_after <= WINDOW_S
    return retry_after


async def one_over_budget(passed: int, *requests: Awaitable[httpx.Response]) -> int:
    """Send a budget's worth of requests and one more, all at once, so they fall in one window
    however slowly a loaded machine answers (sent one after the other, CI once took longer than
    the window over two password checks): all but one get ``passed``, one is refused. Returns
    its Retry-After."""
    answers = await asyncio.gather(*requests)
    statuses = sorted(r.status_code for r in answers)
    assert statuses == sorted([passed] * (len(answers) - 1) + [429]), [r.text for r in answers]
    return assert_refused(next(r for r in answers if r.status_code == 429))


async def test_seekers_are_refused_past_the_client_budget_and_let_in_after(tight: Server):
    async with httpx.AsyncClient(base_url=tight.base_url) as http:
        retry_after = await one_over_budget(
            201, *(post_seeker(http, via("203.0.113.10")) for _ in range(3))
        )
        # Another client behind the same proxy has its own budget.
        assert (await post_seeker(http, via("203.0.113.11"))).status_code == 201
        await asyncio.sleep(retry_after + 0.5)
        assert (await post_seeker(http, via("203.0.113.10"))).status_code == 201


async def test_an_untrusted_peers_forwarded_header_changes_nothing(backend: Backend):
    srv = Server(env_for(backend.database_url, SEEKER_LIMIT_PER_CLIENT=TIGHT)).start()
    try:
        async with httpx.AsyncClient(base_url=srv.base_url) as http:
            # No TRUSTED_PROXIES: three different forged headers are one client (the peer).
            await one_over_budget(
                201, *(post_seeker(http, via(f"203.0.113.2{n}")) for n in range(3))
            )
    finally:
        srv.stop()


async def test_logins_are_refused_past_the_client_budget_and_let_in_after(
    tight: Server, backend: Backend
):
    staff = StaffFactory(backend.database_url, tight.base_url)
    supervisor = await staff.create("supervisor")

    # A different username each time: one username's own growing delay (login_throttled,
    # app/identity/login_delay.py) is not what this test is about.
    def wrong(n: int) -> dict[str, str]:
        return {"username": f"nobody{n}", "password": "wrong-password-1"}

    async with httpx.AsyncClient(base_url=tight.base_url, timeout=PASSWORD_CHECKS_S) as http:
        retry_after = await one_over_budget(
            401,
            *(
                http.post("/api/v1/auth/login", json=wrong(n), headers=via("203.0.113.30"))
                for n in range(3)
            ),
        )
        # The right password from elsewhere is not held up by this client's refusals.
        right = {"username": supervisor.username, "password": supervisor.password}
        r = await http.post("/api/v1/auth/login", json=right, headers=via("203.0.113.31"))
        assert r.status_code == 200, r.text
        await asyncio.sleep(retry_after + 0.5)
        r = await http.post("/api/v1/auth/login", json=right, headers=via("203.0.113.30"))
        assert r.status_code == 200, r.text


async def test_queue_join_is_refused_with_an_error_frame_and_the_socket_kept(tight: Server):
    async with httpx.AsyncClient(base_url=tight.base_url) as http:
        r = await post_seeker(http, via("203.0.113.40"))
        assert r.status_code == 201, r.text
        token = r.json()["seeker_token"]
    seeker = await WsClient.open(tight.ws_url, token, headers=via("203.0.113.40"))
    try:
        seen: set[str] = set()
        for _ in range(2):
            await seeker.send({"type": "queue.join"})
            # A late queue.status of the conversation just left may still arrive.
            status = await seeker.recv(
                "queue.status", where=lambda f: f["conversation_id"] not in seen
            )
            seen.add(status["conversation_id"])
            await seeker.send({"type": "queue.leave", "conversation_id": status["conversation_id"]})
            await seeker.recv("conversation.ended")
        await seeker.send({"type": "queue.join", "ref": "j3"})
        refused = await seeker.error("rate_limited")
        assert refused["ref"] == "j3"
        await seeker.send({"type": "ping"})
        await seeker.recv("pong")
        await asyncio.sleep(WINDOW_S + 0.5)
        await seeker.send({"type": "queue.join"})
        await seeker.recv("queue.status", where=lambda f: f["conversation_id"] not in seen)
    finally:
        await seeker.close()


@pytest.fixture
def tight_global(backend: Backend) -> Iterator[Server]:
    srv = Server(
        env_for(
            backend.database_url,
            TRUSTED_PROXIES="127.0.0.1",
            SEEKER_LIMIT_GLOBAL=TIGHT,
            LOGIN_LIMIT_GLOBAL=TIGHT,
        )
    ).start()
    yield srv
    srv.stop()


async def test_the_global_budget_holds_whoever_asks_and_the_refusals_are_counted(
    tight_global: Server,
):
    async with httpx.AsyncClient(base_url=tight_global.base_url, timeout=PASSWORD_CHECKS_S) as http:
        # Each from its own address: the global budget holds whoever asks.
        retry_after = await one_over_budget(
            201, *(post_seeker(http, via(f"203.0.113.{50 + n}")) for n in range(3))
        )
        # A different username each time (one username's growing delay is another rule).
        await one_over_budget(
            401,
            *(
                http.post(
                    "/api/v1/auth/login",
                    json={"username": f"nobody_here{n}", "password": "wrong-password-1"},
                    headers=via(f"203.0.113.6{n}"),
                )
                for n in range(3)
            ),
        )
        metrics = (await http.get("/metrics")).text
        assert 'peerline_rate_limit_refusals_total{door="seekers"} 1.0' in metrics
        assert 'peerline_rate_limit_refusals_total{door="login"} 1.0' in metrics
        await asyncio.sleep(retry_after + 0.5)
        assert (await post_seeker(http, via("203.0.113.53"))).status_code == 201
    log = tight_global.log_text()
    for n in (50, 51, 52, 53, 60, 61, 62):
        assert f"203.0.113.{n}" not in log
