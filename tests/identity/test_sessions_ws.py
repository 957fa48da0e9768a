"""Open sockets never outlive their token (issue #16 §3): they close with 4401 when the token
expires, when the password changes (an admin's reset or the staff member's own change), when
the account is deactivated (tests/identity/test_identity_api.py), and when a revocation was
lost on the bus (re-checked after a bus reset). Real servers, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import Backend, StaffFactory
from tests.support import (
    RedisProcess,
    Server,
    WsClient,
    env_for,
    eventually,
    login,
    new_seeker,
    unique_language,
)


async def status_of(server: Server, token: str) -> int:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        r = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    return r.status_code


async def still_open(client: WsClient) -> None:
    await client.send({"type": "ping", "ref": "alive"})
    assert (await client.recv("pong"))["ref"] == "alive"


@pytest.fixture
def short_tokens(backend: Backend) -> Iterator[Server]:
    """A server whose tokens live three seconds."""
    srv = Server(env_for(backend.database_url, STAFF_TOKEN_TTL_S="3", SEEKER_TOKEN_TTL_S="3"))
    srv.start()
    yield srv
    srv.stop()


async def test_sockets_close_with_4401_when_their_token_expires(
    short_tokens: Server, backend: Backend
):
    staff = StaffFactory(backend.database_url, short_tokens.base_url)
    volunteer = await staff.create()
    seeker = await new_seeker(short_tokens.base_url, unique_language())
    v = await WsClient.open(short_tokens.ws_url, volunteer.token)
    s = await WsClient.open(short_tokens.ws_url, seeker["seeker_token"])
    await still_open(v)
    await still_open(s)

    assert await v.close_code(timeout=10) == 4401
    assert await s.close_code(timeout=10) == 4401
    assert await status_of(short_tokens, volunteer.token) == 401
    assert await status_of(short_tokens, seeker["seeker_token"]) == 401


async def test_an_admin_password_reset_closes_the_accounts_sockets(
    server: Server, staff: StaffFactory
):
    admin = await staff.create("admin")
    volunteer = await staff.create()
    other = await staff.create()
    v = await WsClient.open(server.ws_url, volunteer.token)
    bystander = await WsClient.open(server.ws_url, other.token)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        r = await http.patch(
            f"/api/v1/staff/{volunteer.user_id}",
            headers={"Authorization": f"Bearer {admin.token}"},
            json={"password": "a-brand-new-password"},
        )
    assert r.status_code == 200, r.text
    assert await v.close_code() == 4401
    assert await status_of(server, volunteer.token) == 401
    late = await WsClient.open(server.ws_url, volunteer.token, expect_ok=False)
    assert await late.close_code() == 4401
    # The new password works; nobody else was touched.
    await login(server.base_url, volunteer.username, "a-brand-new-password")
    await still_open(bystander)


async def test_changing_ones_own_password_ends_every_session_of_the_account(
    server: Server, staff: StaffFactory
):
    supervisor = await staff.create("supervisor")
    second = await login(server.base_url, supervisor.username, supervisor.password)
    tab1 = await WsClient.open(server.ws_url, supervisor.token)
    tab2 = await WsClient.open(server.ws_url, second["access_token"])
    headers = {"Authorization": f"Bearer {supervisor.token}"}
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        wrong = await http.post(
            "/api/v1/auth/password",
            headers=headers,
            json={"current_password": "not-it", "new_password": "another-long-one"},
        )
        assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "wrong_password"
        await still_open(tab1)  # a wrong current password changes nothing
        await asyncio.sleep(1.2)  # the wait a failed sign-in sets (test_login_api.py)
        short = await http.post(
            "/api/v1/auth/password",
            headers=headers,
            json={"current_password": supervisor.password, "new_password": "short"},
        )
        assert short.status_code == 422
        r = await http.post(
            "/api/v1/auth/password",
            headers=headers,
            json={"current_password": supervisor.password, "new_password": "another-long-one"},
        )
        assert r.status_code == 204, r.text
    assert await tab1.close_code() == 4401
    assert await tab2.close_code() == 4401
    assert await status_of(server, supervisor.token) == 401
    assert await status_of(server, second["access_token"]) == 401
    await login(server.base_url, supervisor.username, "another-long-one")


async def test_seekers_have_no_password_to_change(server: Server):
    seeker = await new_seeker(server.base_url, unique_language())
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        r = await http.post(
            "/api/v1/auth/password",
            headers={"Authorization": f"Bearer {seeker['seeker_token']}"},
            json={"current_password": "x", "new_password": "0123456789"},
        )
    assert r.status_code == 403


async def test_a_revocation_lost_on_the_bus_closes_the_socket_after_the_bus_reset(
    backend: Backend,
):
    """Two processes on one database and a private Redis. The account is deactivated on
    process B while Redis is down, so process A never hears of it; when A's link comes back
    (bus.reset) it re-checks its sockets against the database and closes the dead one."""
    redis = RedisProcess().start()
    env = env_for(backend.database_url, redis.url, REDIS_CHANNEL_PREFIX=unique_language() + ":")
    a, b = Server(dict(env)).start(), Server(dict(env)).start()
    try:
        staff = StaffFactory(backend.database_url, b.base_url)
        admin = await staff.create("admin")
        volunteer = await staff.create()
        survivor = await staff.create()
        v = await WsClient.open(a.ws_url, volunteer.token)
        kept = await WsClient.open(a.ws_url, survivor.token)
        redis.kill()
        async with httpx.AsyncClient(base_url=b.base_url) as http:
            r = await http.patch(
                f"/api/v1/staff/{volunteer.user_id}",
                headers={"Authorization": f"Bearer {admin.token}"},
                json={"active": False},
            )
            assert r.status_code == 200
        # The event went nowhere: A's socket is still open while the link is down.
        await still_open(v)
        redis.start()
        assert await asyncio.wait_for(v.close_code(timeout=30), 35) == 4401
        await still_open(kept)

        async def a_ready() -> bool:
            async with httpx.AsyncClient() as http:
                return (await http.get(a.base_url + "/readyz")).status_code == 200

        await eventually(a_ready, what="process A's bus to come back")
    finally:
        a.stop()
        b.stop()
        redis.kill()
