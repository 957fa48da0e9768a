"""Identity over real HTTP: anonymous seekers, staff login, throttling, revocation."""

from __future__ import annotations

import asyncio
import re

import httpx

from tests.conftest import Backend, StaffFactory
from tests.support import Server, WsClient, new_seeker, unique_language


async def test_seeker_is_anonymous_and_only_the_token_hash_is_stored(
    server: Server, backend: Backend
):
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        r = await http.post(
            "/api/v1/seekers",
            json={"language": "hi", "consent": True, "age_band": "18-24", "topics": ["exams"]},
            headers={"User-Agent": "PhoneBrowser/1.0 unique-ua-marker"},
        )
    assert r.status_code == 201
    body = r.json()
    token = body["seeker_token"]
    assert len(token) >= 3 + 32 and body["alias"].count(" ") == 1

    from sqlalchemy import text

    from app.db import create_engine

    engine = create_engine(backend.database_url)
    try:
        async with engine.connect() as conn:
            row = (
                (
                    await conn.execute(
                        text("SELECT * FROM seekers WHERE id = :id"), {"id": body["seeker_id"]}
                    )
                )
                .mappings()
                .one()
            )
    finally:
        await engine.dispose()
    stored = " ".join(str(v) for v in row.values())
    assert token not in stored and token[3:] not in stored
    assert "unique-ua-marker" not in stored and "127.0.0.1" not in stored
    assert set(row.keys()) == {
        "id", "alias", "language", "age_band", "topics", "token_hash", "token_expires_at",
        "created_at",
    }  # fmt: skip
    log = server.log_text()
    assert "unique-ua-marker" not in log
    assert not re.search(r"127\.0\.0\.1:\d+ - ", log), "a client address was logged"


async def test_seeker_must_consent(server: Server):
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        r = await http.post("/api/v1/seekers", json={"language": "en", "consent": False})
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
        r = await http.post("/api/v1/seekers", json={"language": "en"})
        assert r.status_code == 422
        # "consent must be true": the JSON true, not a string or a number that reads as one.
        for almost in ("true", 1, "yes"):
            r = await http.post("/api/v1/seekers", json={"language": "en", "consent": almost})
            assert r.status_code == 422, (almost, r.text)
            assert r.json()["error"]["message"].startswith("consent"), r.text
        r = await http.post(
            "/api/v1/seekers", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert r.status_code == 422 and "error" in r.json()


async def test_login_logout_and_revoked_token_is_refused(server: Server, staff: StaffFactory):
    volunteer = await staff.create()
    headers = {"Authorization": f"Bearer {volunteer.token}"}
    ws = await WsClient.open(server.ws_url, volunteer.token)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        me = await http.get("/api/v1/me", headers=headers)
        assert me.status_code == 200 and me.json()["role"] == "volunteer"
        assert (await http.post("/api/v1/auth/logout", headers=headers)).status_code == 204
        again = await http.get("/api/v1/me", headers=headers)
        assert again.status_code == 401 and again.json()["error"]["code"] == "not_authenticated"
    assert await ws.close_code() == 4401  # the open socket closes at once
    late = await WsClient.open(server.ws_url, volunteer.token, expect_ok=False)
    assert await late.close_code() == 4401


async def test_admin_manages_staff_and_deactivation_stops_tokens_at_once(
    server: Server, staff: StaffFactory
):
    admin = await staff.create("admin")
    volunteer = await staff.create()
    admin_h = {"Authorization": f"Bearer {admin.token}"}
    ws = await WsClient.open(server.ws_url, volunteer.token)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        r = await http.post(
            "/api/v1/staff",
            headers=admin_h,
            json={
                "username": "new_vol_" + unique_language()[-8:],
                "password": "a-long-password",
                "role": "volunteer",
                "languages": ["en", "hi"],
                "trained": True,
            },
        )
        assert r.status_code == 201 and r.json()["languages"] == ["en", "hi"]
        dup = await http.post(
            "/api/v1/staff", headers=admin_h, json={**r.json(), "password": "a-long-password"}
        )
        assert dup.status_code in (409, 422)
        # A volunteer is not an admin.
        vol_h = {"Authorization": f"Bearer {volunteer.token}"}
        assert (await http.get("/api/v1/staff", headers=vol_h)).status_code == 403
        r = await http.patch(
            f"/api/v1/staff/{volunteer.user_id}", headers=admin_h, json={"active": False}
        )
        assert r.status_code == 200 and r.json()["active"] is False
        assert (await http.get("/api/v1/me", headers=vol_h)).status_code == 401
        r = await http.patch("/api/v1/staff/nope", headers=admin_h, json={"trained": True})
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert await asyncio.wait_for(ws.close_code(), 5) == 4401


async def test_expired_seeker_token_is_refused(migrated):
    from tests.support import env_for

    srv = Server(env_for(migrated("sqlite").database_url, SEEKER_TOKEN_TTL_S="1"))
    srv.start()
    try:
        seeker = await new_seeker(srv.base_url, "en")
        await asyncio.sleep(1.2)
        c = await WsClient.open(srv.ws_url, seeker["seeker_token"], expect_ok=False)
        assert await c.close_code() == 4401
    finally:
        srv.stop()
