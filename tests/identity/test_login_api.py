"""Logins that cannot be used against the service (issue #16 §2), over real HTTP against a
real server: the growing delay per username with ``Retry-After``, and a flood of bad logins
that neither slows the chats nor grows the process without bound nor locks the real
supervisor out. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psutil
import pytest

from tests.conftest import FAST, Backend, StaffFactory
from tests.support import Server, WsClient, env_for, paired

# The delay starts at 8 s here (1 s by default), so that each check below lands inside the
# wait even on a loaded machine: a failure counts from when the attempt came in, and a
# hash at low priority on a busy machine can take seconds.
BASE_S = 8


@pytest.fixture(scope="module")
def delay_server(backend: Backend) -> Iterator[Server]:
    srv = Server(env_for(backend.database_url, LOGIN_DELAY_BASE_S=str(BASE_S))).start()
    yield srv
    srv.stop()


async def attempt(http: httpx.AsyncClient, username: str, password: str) -> tuple[int, str, Any]:
    r = await http.post("/api/v1/auth/login", json={"username": username, "password": password})
    code = r.json()["error"]["code"] if r.status_code != 200 else "ok"
    return r.status_code, code, r.headers.get("retry-after")


async def test_a_failed_login_delays_the_next_and_the_right_password_then_works(
    delay_server: Server, backend: Backend
):
    staff = StaffFactory(backend.database_url, delay_server.base_url)
    volunteer = await staff.create()
    async with httpx.AsyncClient(base_url=delay_server.base_url) as http:
        assert await attempt(http, volunteer.username, "wrong") == (
            401,
            "invalid_credentials",
            None,
        )
        # During the wait even the right password is refused, unchecked, with the wait left.
        status, code, retry_after = await attempt(http, volunteer.username, volunteer.password)
        assert (status, code) == (429, "login_throttled") and 1 <= int(retry_after) <= BASE_S
        await asyncio.sleep(int(retry_after) + 0.2)
        assert await attempt(http, volunteer.username, volunteer.password) == (200, "ok", None)


async def test_a_wrong_current_password_is_a_failed_sign_in_for_its_username(
    delay_server: Server, backend: Backend
):
    """A stolen token could try current passwords at POST /api/v1/auth/password as fast as
    it liked, where the sign-in page makes each guess wait. A wrong one now counts in the
    username's run and sets its wait, at both doors; the right one, after the wait, works."""
    staff = StaffFactory(backend.database_url, delay_server.base_url)
    volunteer = await staff.create()
    headers = {"Authorization": f"Bearer {volunteer.token}"}
    body = {"current_password": volunteer.password, "new_password": "another-long-one"}
    async with httpx.AsyncClient(base_url=delay_server.base_url) as http:
        wrong = await http.post(
            "/api/v1/auth/password", headers=headers, json={**body, "current_password": "no"}
        )
        assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "wrong_password"
        # During the wait the right password is refused, unchecked, here and at sign-in.
        early = await http.post("/api/v1/auth/password", headers=headers, json=body)
        assert early.status_code == 429 and early.json()["error"]["code"] == "login_throttled"
        retry_after = int(early.headers["retry-after"])
        assert 1 <= retry_after <= BASE_S
        status, code, _ = await attempt(http, volunteer.username, volunteer.password)
        assert (status, code) == (429, "login_throttled")
        await asyncio.sleep(retry_after + 0.2)
        done = await http.post("/api/v1/auth/password", headers=headers, json=body)
        assert done.status_code == 204, done.text
        # And the new password signs in.
        assert await attempt(http, volunteer.username, "another-long-one") == (200, "ok", None)


async def test_an_unknown_username_is_answered_and_delayed_exactly_like_a_known_one(
    delay_server: Server, backend: Backend
):
    staff = StaffFactory(backend.database_url, delay_server.base_url)
    volunteer = await staff.create()
    unknown = "nobody_" + uuid.uuid4().hex[:8]
    async with httpx.AsyncClient(base_url=delay_server.base_url) as http:
        answers: dict[str, list[tuple[int, str, Any]]] = {}
        for username in (volunteer.username, unknown):
            answers[username] = [
                await attempt(http, username, "wrong"),
                await attempt(http, username, "wrong"),
            ]
        assert (
            answers[volunteer.username][0]
            == answers[unknown][0]
            == (
                401,
                "invalid_credentials",
                None,
            )
        )
        for username in (volunteer.username, unknown):
            status, code, retry_after = answers[username][1]
            assert (status, code) == (429, "login_throttled") and 1 <= int(retry_after) <= BASE_S


async def test_logins_beyond_the_hashing_turns_are_refused_at_once_with_login_busy(
    delay_server: Server,
):
    """One hash at a time and four waiting (the defaults): of 40 logins at once most are
    answered 429 login_busy, with Retry-After and the headers every answer carries, and
    counted in /metrics."""
    limits = httpx.Limits(max_connections=40)
    async with httpx.AsyncClient(base_url=delay_server.base_url, limits=limits, timeout=60) as http:
        answers = await asyncio.gather(
            *(
                http.post(
                    "/api/v1/auth/login",
                    json={"username": "busy_" + uuid.uuid4().hex[:8], "password": "guess"},
                )
                for _ in range(40)
            )
        )
        busy = [r for r in answers if r.status_code == 429]
        assert busy and {r.json()["error"]["code"] for r in busy} == {"login_busy"}
        assert {r.status_code for r in answers} <= {401, 429}
        for r in busy:
            assert r.headers["retry-after"] == "1"
            assert r.headers["cache-control"] == "no-store"
            assert "default-src 'self'" in r.headers["content-security-policy"]
            assert r.headers["content-type"] == "application/json"
        # Refused before hashing: at most the five turns (one running, four waiting) of
        # the first instant, and those that came as turns freed, were checked.
        assert sum(r.status_code == 401 for r in answers) < 40
        scrape = (await http.get("/metrics")).text
        assert 'peerline_rate_limit_refusals_total{door="login_busy"}' in scrape


async def test_logins_the_entry_cannot_read_still_get_the_apis_answers(delay_server: Server):
    """The ASGI entry reads a login's body to refuse it early; anything it cannot read goes
    on to the API's own validation."""
    async with httpx.AsyncClient(base_url=delay_server.base_url) as http:
        for body in (
            b'{"username": "a\\ud800b", "password": "x"}',  # a lone surrogate
            b'{"username": 5, "password": "x"}',
            b"[1, 2]",
            # Another field, as every other body refuses one (it was ignored).
            b'{"username": "a", "password": "x", "remember_me": true}',
        ):
            r = await http.post(
                "/api/v1/auth/login", content=body, headers={"content-type": "application/json"}
            )
            assert r.status_code == 422, (body, r.text)
            assert r.json()["error"]["code"] == "invalid_request"
        assert (await http.get("/api/v1/auth/login")).status_code == 405


FLOOD = textwrap.dedent(
    """
    import asyncio, json, random, string, sys, time
    from collections import Counter
    import httpx

    base_url, supervisor, workers, duration = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    answers = Counter()

    async def attacker(http, i):
        end = time.monotonic() + duration
        while time.monotonic() < end:
            username = supervisor if i % 10 == 0 else "".join(random.choices(string.ascii_lowercase, k=10))
            try:
                r = await http.post("/api/v1/auth/login", json={"username": username, "password": "guess-" + str(random.random())})
                code = r.json()["error"]["code"] if r.status_code != 200 else "ok"
                answers[("supervisor " if username == supervisor else "") + code] += 1
            except httpx.HTTPError as exc:
                answers[type(exc).__name__] += 1

    async def main():
        limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as http:
            print("go", flush=True)
            await asyncio.gather(*(attacker(http, i) for i in range(workers)))
        print(json.dumps(answers))

    asyncio.run(main())
    """
)


# The flood's wrong passwords for the supervisor grow that username's delay to its cap
# (LOGIN_DELAY_MAX_S, a minute by default); a cap of a few seconds here proves the same (the
# right password works after the wait it is told) without the test sleeping a minute.
FLOOD_DELAY_MAX_S = 4


def same_id(msg_id: str) -> Any:
    return lambda frame: frame.get("client_msg_id") == msg_id


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


@pytest.mark.slow
@pytest.mark.serial  # a load test: 150 clients at once, and the chats' delivery times printed
async def test_a_flood_of_bad_logins_slows_no_chat_and_locks_nobody_out(backend: Backend):
    """150 clients at once, each sending bad logins (random usernames, and every tenth the
    real supervisor's) for several seconds, while two chats run: the server's memory stays
    bounded, the attack reaches the real account, and afterwards the supervisor signs in
    with the right password after at most the delay. The chats' delivery times before and
    during the flood are printed (issue #16's 50 ms p99 is a figure to read, not an
    assertion: speed is measured by benchmarks, never asserted in a test)."""
    env = env_for(backend.database_url, **FAST, LOGIN_DELAY_MAX_S=str(FLOOD_DELAY_MAX_S))
    srv = Server(env).start()
    try:
        staff = StaffFactory(backend.database_url, srv.base_url)
        supervisor = await staff.create("supervisor")
        chats = [await paired(srv, staff) for _ in range(2)]
        server_process = psutil.Process(srv.process.pid)  # type: ignore[union-attr]
        rss_before = server_process.memory_info().rss
        rss_peak = rss_before

        async def chat(
            seeker: WsClient, volunteer: WsClient, cid: str, name: str,
            samples: list[float], going: Callable[[], bool],
        ) -> None:  # fmt: skip
            """Send, wait until the other side has it, and again: one sample per message."""
            i = 0
            while going():
                i += 1
                sender, receiver = (seeker, volunteer) if i % 2 else (volunteer, seeker)
                msg_id = f"{name}-{i}"
                started = time.perf_counter()
                await sender.send(
                    {"type": "chat.send", "conversation_id": cid, "client_msg_id": msg_id,
                     "text": "still here with you"}
                )  # fmt: skip
                await receiver.recv("chat.message", where=same_id(msg_id), timeout=30)
                samples.append((time.perf_counter() - started) * 1000)
                # The sender's own copy and ack, so they do not pile up unread.
                await sender.recv("chat.ack", where=same_id(msg_id))
                await sender.recv("chat.message", where=same_id(msg_id))
                await asyncio.sleep(0.02)

        async def both_chats(samples: list[float], going: Callable[[], bool], tag: str) -> None:
            await asyncio.gather(
                *(chat(s, v, cid, f"{tag}{n}", samples, going) for n, (s, v, cid, _) in
                  enumerate(chats))
            )  # fmt: skip

        # The same chats for a few seconds before the flood: what this machine gives now.
        quiet_ms: list[float] = []
        quiet_until = time.monotonic() + 4
        await both_chats(quiet_ms, lambda: time.monotonic() < quiet_until, "q")

        flood = await asyncio.create_subprocess_exec(
            sys.executable, "-c", FLOOD, srv.base_url, supervisor.username, "150", "10",
            stdout=subprocess.PIPE,
            # A real attacker's CPU is not on the server's machine; here the flood client
            # shares the cores, so it runs below the server's priority.
            preexec_fn=lambda: os.nice(10),
        )  # fmt: skip
        assert flood.stdout is not None
        assert (await flood.stdout.readline()).strip() == b"go"  # its clients are sending
        delivery_ms: list[float] = []
        flooding = True

        async def watch_memory() -> None:
            nonlocal rss_peak
            while flooding:
                rss_peak = max(rss_peak, server_process.memory_info().rss)
                await asyncio.sleep(0.05)

        async def until_the_flood_ends() -> bytes:
            nonlocal flooding
            out, _ = await flood.communicate()
            flooding = False
            return out

        started = time.monotonic()
        out, _, _ = await asyncio.gather(
            until_the_flood_ends(), both_chats(delivery_ms, lambda: flooding, "f"), watch_memory()
        )
        flood_s = time.monotonic() - started
        answers = json.loads(out)

        p50, p99 = percentile(delivery_ms, 50), percentile(delivery_ms, 99)
        growth_mib = (rss_peak - rss_before) / 2**20
        print(
            f"\n[{backend.name}] login flood: 150 clients for {flood_s:.1f} s, answers {answers}"
            f"\n  chat delivery before it: n={len(quiet_ms)} p50={percentile(quiet_ms, 50):.1f} ms "
            f"p99={percentile(quiet_ms, 99):.1f} ms max={max(quiet_ms):.1f} ms"
            f"\n  chat delivery over the flood: n={len(delivery_ms)} p50={p50:.1f} ms "
            f"p99={p99:.1f} ms max={max(delivery_ms):.1f} ms "
            f"mean={statistics.fmean(delivery_ms):.1f} ms"
            f"\n  server RSS {rss_before / 2**20:.0f} MiB before, peak +{growth_mib:.0f} MiB"
        )
        assert answers.get("login_busy", 0) > 0, "the flood never filled the hashing turns"
        assert answers.get("ok", 0) == answers.get("supervisor ok", 0) == 0
        # The attack reached the real account: its wrong passwords were checked and counted.
        assert answers.get("supervisor invalid_credentials", 0) > 0
        assert len(delivery_ms) >= 200, "too few samples to speak of a p99"
        assert growth_mib < 250, f"memory grew by {growth_mib:.0f} MiB"

        # The real supervisor: the right password works after at most the delay it is told.
        async with httpx.AsyncClient(base_url=srv.base_url) as http:
            waited = 0.0
            for _ in range(3):
                status, code, retry_after = await attempt(
                    http, supervisor.username, supervisor.password
                )
                if status == 200:
                    break
                assert (status, code) == (429, "login_throttled"), (status, code)
                assert int(retry_after) <= FLOOD_DELAY_MAX_S
                waited += int(retry_after)
                await asyncio.sleep(int(retry_after))
            print(f"  the supervisor signed in after waiting {waited:.0f} s")
            assert status == 200
        for s, v, _, _ in chats:
            await s.close()
            await v.close()
    finally:
        srv.stop()
