"""The admin console's REST API on SQLite and PostgreSQL: staff accounts (audited), the
audit log and its filters (admins only, each read audited), helpline re-verification and
the active data versions."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import delete, insert, select

from app.db import create_engine, utcnow
from app.referrals.models import HelplineEntry
from tests.conftest import Backend, Fresh, StaffFactory
from tests.support import Server, WsClient, eventually, login, paired, sql

# A valid new directory entry (PUT /api/v1/helplines/{id}), unverified.
A_LINE = {
    "name": "Test Line",
    "contacts": [{"kind": "phone", "display": "123", "uri": "tel:123"}],
    "hours": "9-5",
    "languages": ["en"],
    "channels": ["phone"],
    "region": "IN",
    "source": "a test",
    "verified_on": None,
    "verified": False,
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_an_admin_manages_a_staff_account_and_every_change_is_audited(
    server: Server, staff: StaffFactory
):
    admin = await staff.create("admin")
    username = "vol_" + secrets.token_hex(4)
    password = "first-password-1"
    async with httpx.AsyncClient(base_url=server.base_url, headers=bearer(admin.token)) as http:
        r = await http.post(
            "/api/v1/staff",
            json={
                "username": username,
                "password": password,
                "role": "volunteer",
                "languages": ["en", "hi"],
                "topics": ["exams"],
                "max_concurrent_chats": 3,
                "trained": True,
                "backup_rank": 5,
            },
        )
        assert r.status_code == 201, r.text
        created = r.json()
        assert (created["max_concurrent_chats"], created["backup_rank"]) == (3, 5)
        user_id = created["id"]
        volunteer = await login(server.base_url, username, password)

        # An admin cannot lock themselves out (another admin may deactivate them).
        r = await http.patch(f"/api/v1/staff/{admin.user_id}", json={"active": False})
        assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden"), r.text
        assert (await http.get("/api/v1/staff")).status_code == 200  # still signed in

        r = await http.patch(
            f"/api/v1/staff/{user_id}",
            json={"password": "second-password-2", "trained": False, "backup_rank": 7},
        )
        assert r.status_code == 200 and r.json()["backup_rank"] == 7
        # The reset ended the old session.
        r = await http.get("/api/v1/me", headers=bearer(volunteer["access_token"]))
        assert r.status_code == 401
        r = await http.patch(f"/api/v1/staff/{user_id}", json={"active": False})
        assert r.json()["active"] is False
        async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
            r = await anonymous.post(
                "/api/v1/auth/login", json={"username": username, "password": "second-password-2"}
            )
        assert r.status_code == 401

        r = await http.get("/api/v1/audit", params={"actor_id": admin.user_id, "action": "staff."})
        entries = r.json()["entries"]
    assert [e["action"] for e in entries] == ["staff.updated", "staff.updated", "staff.created"]
    assert all(e["actor_username"] == admin.username for e in entries)
    assert entries[2]["detail"]["username"] == username
    assert entries[1]["detail"] == {
        "staff_id": user_id,
        "changes": {"password": "reset", "trained": False, "backup_rank": 7},
    }
    assert entries[0]["detail"]["changes"] == {"active": False}
    stored = await sql(
        staff.database_url, "SELECT detail FROM audit_events WHERE action LIKE 'staff.%'"
    )
    assert not any("password-" in str(row[0]) for row in stored)


async def test_a_staff_account_needs_at_least_one_language(server: Server, staff: StaffFactory):
    """docs/protocol.md: ``languages`` is 1-20 codes. An empty list made a volunteer who could
    never be offered a chat (the admin page already refused it; the API did not)."""
    admin = await staff.create("admin")
    volunteer = await staff.create("volunteer")
    username = "nolang_" + secrets.token_hex(4)
    async with httpx.AsyncClient(base_url=server.base_url, headers=bearer(admin.token)) as http:
        r = await http.post(
            "/api/v1/staff",
            json={
                "username": username,
                "password": "long-enough-1",
                "role": "volunteer",
                "languages": [],
            },
        )
        assert r.status_code == 422, r.text
        assert r.json()["error"]["message"].startswith("languages: "), r.text
        r = await http.patch(f"/api/v1/staff/{volunteer.user_id}", json={"languages": []})
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "invalid_request"
        listed = (await http.get("/api/v1/staff")).json()
    assert username not in {a["username"] for a in listed}
    (kept,) = [a["languages"] for a in listed if a["id"] == volunteer.user_id]
    assert kept  # the refused PATCH changed nothing


async def test_a_staff_account_with_the_seeker_role_is_an_invalid_request(
    server: Server, staff: StaffFactory
):
    """docs/protocol.md: a malformed REST body is ``422 invalid_request``; the role of a staff
    account is volunteer, supervisor or admin (it was ``400 invalid_frame``, a socket code)."""
    admin = await staff.create("admin")
    username = "seek_" + secrets.token_hex(4)
    async with httpx.AsyncClient(base_url=server.base_url, headers=bearer(admin.token)) as http:
        r = await http.post(
            "/api/v1/staff",
            json={"username": username, "password": "long-enough-1", "role": "seeker"},
        )
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "invalid_request"
        assert r.json()["error"]["message"].startswith("role: ")
        listed = (await http.get("/api/v1/staff")).json()
    assert username not in {account["username"] for account in listed}


async def test_numbers_and_booleans_of_the_wrong_json_type_are_refused_not_converted(
    server: Server, staff: StaffFactory
):
    """A number sent as a string or a float, a boolean as a string or a number: 422, and
    nothing changes (pydantic's lax mode once turned "3" into 3 and "true" into true)."""
    admin = await staff.create("admin")
    volunteer = await staff.create("volunteer")
    new = {"username": "typ_" + secrets.token_hex(4), "password": "long-enough-1"}
    async with httpx.AsyncClient(base_url=server.base_url, headers=bearer(admin.token)) as http:
        for field, value in (
            ("max_concurrent_chats", "3"),
            ("max_concurrent_chats", 3.0),
            ("backup_rank", "5"),
            ("trained", "true"),
            ("trained", 1),
        ):
            r = await http.post("/api/v1/staff", json={**new, "role": "volunteer", field: value})
            assert r.status_code == 422, (field, value, r.text)
            assert r.json()["error"]["message"].startswith(f"{field}: "), r.text
            r = await http.patch(f"/api/v1/staff/{volunteer.user_id}", json={field: value})
            assert r.status_code == 422, (field, value, r.text)
        r = await http.patch(f"/api/v1/staff/{volunteer.user_id}", json={"active": "false"})
        assert r.status_code == 422
        listed = {
            account["username"]: account for account in (await http.get("/api/v1/staff")).json()
        }
    assert new["username"] not in listed
    unchanged = listed[volunteer.username]
    assert unchanged["active"] is True and unchanged["max_concurrent_chats"] == 2


async def test_a_helpline_entry_of_the_wrong_json_type_is_refused_not_converted(
    server: Server, staff: StaffFactory
):
    """PUT /api/v1/helplines/{id} read its body in pydantic's lax mode: "true" became an
    emergency line, 0 an unverified one. As in every body, a value of the wrong JSON type is
    422 naming the field, and nothing is stored; an entry otherwise invalid stays 400."""
    admin = await staff.create("admin")
    entry = dict(A_LINE)
    line_id = "typ_" + secrets.token_hex(4)
    async with httpx.AsyncClient(base_url=server.base_url, headers=bearer(admin.token)) as http:
        for field, value in (
            ("emergency", "true"),
            ("emergency", 1),
            ("mandatory", "false"),
            ("verified", 0),
            ("name", 7),
        ):
            r = await http.put(f"/api/v1/helplines/{line_id}", json={**entry, field: value})
            assert r.status_code == 422, (field, value, r.text)
            error = r.json()["error"]
            assert error["code"] == "invalid_request", r.text
            assert error["message"].startswith(f"{field}: "), r.text
        lines = (await http.get("/api/v1/helplines")).json()["helplines"]
        assert line_id not in {line["id"] for line in lines}

        r = await http.put(f"/api/v1/helplines/{line_id}", json={**entry, "contacts": []})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request", r.text
        assert r.json()["error"]["message"].startswith("contacts: "), r.text
        r = await http.put(f"/api/v1/helplines/{line_id}", json={**entry, "emergency": True})
        assert r.status_code == 200 and r.json()["emergency"] is True, r.text
        r = await http.post(f"/api/v1/helplines/{line_id}/verify", json={})
        assert r.status_code == 200 and r.json()["verified"] is True, r.text


async def test_a_helpline_with_an_impossible_day_or_a_blank_text_is_refused_and_edits_keep_its_notes(
    server: Server, staff: StaffFactory
):
    """A ``verified_on`` of month 13 matched the pattern and was stored, and every read of the
    directory then answered 500 (the seekers' helplines included); a blank name, region,
    source or contact was stored as blank. Each is 400 naming the field, nothing is stored,
    and the directory still reads. ``GET /api/v1/helplines`` gives the notes a ``PUT`` must
    send back (``hours_note``, ``cost``, ``language_note``, ``mandatory``), so the admin
    page's editor does not drop them."""
    admin = await staff.create("admin")
    entry = {**A_LINE, "verified_on": "2025-11-03", "verified": True}
    line_id = "day_" + secrets.token_hex(4)
    next_year = str(datetime.now(UTC).year + 1)
    async with httpx.AsyncClient(base_url=server.base_url, headers=bearer(admin.token)) as http:
        for field, value in (
            ("verified_on", "2025-13-45"),
            ("verified_on", "2025-02-30"),
            ("verified_on", "2025-00"),
            ("verified_on", next_year),
            ("name", "   "),
            ("region", ""),
            ("source", " "),
            ("hours", " "),
            ("contacts", [{"kind": "phone", "display": " ", "uri": "tel:123"}]),
        ):
            r = await http.put(f"/api/v1/helplines/{line_id}", json={**entry, field: value})
            assert r.status_code == 400, (field, value, r.text)
            assert r.json()["error"]["message"].startswith(f"{field}"), r.text
        answer = await http.get("/api/v1/helplines")
        assert answer.status_code == 200
        lines = {line["id"]: line for line in answer.json()["helplines"]}
        assert line_id not in lines
        manas = lines["tele_manas"]
        assert manas["mandatory"] is True and manas["cost"] and manas["language_note"]
        # What the editor sends back: the entry as read, with one change.
        kept = {k: manas[k] for k in manas if k not in {"id", "needs_reverification"}}
        r = await http.put(
            "/api/v1/helplines/tele_manas", json={**kept, "hours": "24x7, every day"}
        )
        assert r.status_code == 200, r.text
        again = {
            line["id"]: line for line in (await http.get("/api/v1/helplines")).json()["helplines"]
        }["tele_manas"]
        assert again["hours"] == "24x7, every day"
        assert {k: again[k] for k in ("cost", "language_note", "hours_note", "mandatory")} == {
            k: manas[k] for k in ("cost", "language_note", "hours_note", "mandatory")
        }
        r = await http.put("/api/v1/helplines/tele_manas", json=kept)  # as it was
        assert r.status_code == 200, r.text
        r = await http.put(
            f"/api/v1/helplines/{line_id}", json={**entry, "name": "  Padded Line  "}
        )
        assert r.status_code == 200 and r.json()["name"] == "Padded Line", r.text


async def test_only_admins_read_the_audit_log_and_change_staff(server: Server, staff: StaffFactory):
    supervisor = await staff.create("supervisor")
    volunteer = await staff.create("volunteer")
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        for who in (supervisor, volunteer):
            for method, path, body in (
                ("GET", "/api/v1/audit", None),
                ("GET", "/api/v1/versions", None),
                ("GET", "/api/v1/staff", None),
                ("POST", "/api/v1/staff", {"username": "x" * 5, "password": "p" * 12,
                                           "role": "volunteer"}),
                ("PATCH", f"/api/v1/staff/{volunteer.user_id}", {"trained": False}),
                ("POST", "/api/v1/helplines/tele_manas/verify", {}),
            ):  # fmt: skip
                r = await http.request(method, path, json=body, headers=bearer(who.token))
                assert r.status_code == 403, (who.username, method, path)
                assert r.json()["error"]["code"] == "forbidden"
        r = await http.get("/api/v1/audit")
        assert r.status_code == 401


async def test_the_audit_log_filters_by_staff_member_action_and_date(
    server: Server, staff: StaffFactory
):
    admin = await staff.create("admin")
    supervisor = await staff.create("supervisor")
    other = await staff.create("supervisor")
    seeker_ws, volunteer_ws, conversation_id, _ = await paired(server, staff)
    try:
        sup = await WsClient.open(server.ws_url, supervisor.token)
        await sup.send({"type": "conversation.observe", "conversation_id": conversation_id})
        await eventually(
            lambda: sql(
                staff.database_url,
                "SELECT id FROM audit_events WHERE actor_id = :a",
                a=supervisor.user_id,
            ),
            what="the observation audited",
        )
        await sup.close()
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            r = await http.get(
                f"/api/v1/conversations/{conversation_id}/messages",
                headers=bearer(other.token),
            )
            assert r.status_code == 200, r.text
    finally:
        await seeker_ws.close()
        await volunteer_ws.close()

    async with httpx.AsyncClient(base_url=server.base_url, headers=bearer(admin.token)) as http:

        async def entries(**params: str) -> list[dict]:
            r = await http.get("/api/v1/audit", params=params)
            assert r.status_code == 200, r.text
            return list(r.json()["entries"])

        observed = await entries(actor_id=supervisor.user_id)
        assert [e["action"] for e in observed] == ["conversation.observer"]
        assert observed[0]["conversation_id"] == conversation_id
        assert observed[0]["actor_alias"] == supervisor.alias
        read = await entries(actor_id=other.user_id, action="transcript.read")
        assert len(read) == 1 and read[0]["conversation_id"] == conversation_id
        about = await entries(conversation_id=conversation_id, action="conversation.")
        assert {e["actor_id"] for e in about} == {supervisor.user_id}

        today = datetime.now(UTC).date()
        tomorrow = (today + timedelta(days=1)).isoformat()
        assert await entries(actor_id=other.user_id, since=tomorrow) == []
        assert await entries(actor_id=other.user_id, until=today.isoformat() + "T00:00:00Z") == []
        same_day = await entries(
            actor_id=other.user_id, since=today.isoformat() + "T00:00:00Z", until=tomorrow
        )
        assert len(same_day) == 1

        # Pages: newest first, continued with ``before``.
        first = await http.get("/api/v1/audit", params={"limit": 2})
        page = first.json()
        assert len(page["entries"]) == 2 and page["next_before"] == page["entries"][1]["id"]
        r = await http.get("/api/v1/audit", params={"limit": 2, "before": page["next_before"]})
        assert all(e["id"] < page["next_before"] for e in r.json()["entries"])
        r = await http.get("/api/v1/audit", params={"limit": 1000})
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
        r = await http.get("/api/v1/audit", params={"since": "yesterday"})
        assert r.status_code == 422
        # A number is not a time (it was read as Unix seconds: every entry since 1970).
        for number in ("1765100000", "5", "1765100000.5"):
            r = await http.get("/api/v1/audit", params={"since": number})
            assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
            r = await http.get("/api/v1/roster", params={"until": number})
            assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"

        # Reading the log is itself in the log, with the filters used.
        await entries(actor_id=admin.user_id, action="audit.read")
        reads = await entries(actor_id=admin.user_id, action="audit.read")
        assert reads[0]["detail"]["filters"] == {"actor_id": admin.user_id, "action": "audit.read"}
        await entries(actor_id=admin.user_id, since="2026-12-04")  # a date: its midnight, UTC
        reads = await entries(actor_id=admin.user_id, action="audit.read")
        assert reads[0]["detail"]["filters"]["since"] == "2026-12-04T00:00:00.000000Z"


async def test_helplines_show_when_they_need_verifying_again_and_an_admin_verifies_one(
    fresh: Fresh,
):
    admin = await fresh.staff.create("admin")
    async with httpx.AsyncClient(base_url=fresh.server.base_url) as http:

        async def directory() -> dict[str, dict]:
            r = await http.get("/api/v1/helplines")
            return {h["id"]: h for h in r.json()["helplines"]}

        before = await directory()
        # Verified only to the year 2025, and never: both are due.
        assert before["tele_manas"]["needs_reverification"] is True
        assert before["kiran"]["verified"] is False
        assert before["kiran"]["needs_reverification"] is True

        r = await http.post("/api/v1/helplines/kiran/verify", json={}, headers=bearer(admin.token))
        assert r.status_code == 200, r.text
        today = datetime.now(UTC).date()
        assert r.json()["verified_on"] == today.isoformat()
        after = (await directory())["kiran"]
        assert (after["verified"], after["needs_reverification"]) == (True, False)

        old = (today - timedelta(days=91)).isoformat()
        r = await http.post(
            "/api/v1/helplines/kiran/verify", json={"verified_on": old}, headers=bearer(admin.token)
        )
        assert r.status_code == 200
        assert (await directory())["kiran"]["needs_reverification"] is True

        future = (today + timedelta(days=2)).isoformat()
        r = await http.post(
            "/api/v1/helplines/kiran/verify",
            json={"verified_on": future},
            headers=bearer(admin.token),
        )
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request"
        r = await http.post(
            "/api/v1/helplines/nowhere/verify", json={}, headers=bearer(admin.token)
        )
        assert r.status_code == 404

        r = await http.get(
            "/api/v1/audit", params={"action": "helpline.verified"}, headers=bearer(admin.token)
        )
        details = [e["detail"] for e in r.json()["entries"]]
        assert [d["verified_on"] for d in details] == [old, today.isoformat()]


async def test_an_admin_sees_the_active_versions_of_the_data(server: Server, staff: StaffFactory):
    admin = await staff.create("admin")
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        r = await http.get("/api/v1/versions", headers=bearer(admin.token))
    assert r.status_code == 200
    versions = r.json()
    assert versions["checklist"] == {"id": "asq-followup-v1", "version": 1}
    assert versions["rules"] == {"id": "levels-v1", "version": 1}
    assert versions["paging_policy"] == {"id": "policy-v1", "version": 1}
    assert {c["id"] for c in versions["cue_lists"]} == {"en", "hi", "hinglish"}
    assert all(isinstance(c["version"], int) for c in versions["cue_lists"])


async def test_a_stored_helpline_edit_that_todays_rules_refuse_never_breaks_the_directory(
    server: Server, staff: StaffFactory, backend: Backend
):
    """An edit saved before a rule existed (a blank region, a month 13) must not take the
    seekers' helplines down with it: the shipped entry stands for it, with a warning in the
    log, and the other edits still show."""
    admin = await staff.create("admin")
    engine = create_engine(backend.database_url)
    rows = HelplineEntry.__table__
    async with httpx.AsyncClient(base_url=server.base_url, headers=bearer(admin.token)) as http:
        lines = {h["id"]: h for h in (await http.get("/api/v1/helplines")).json()["helplines"]}
        kiran = {k: v for k, v in lines["kiran"].items() if k not in {"id", "needs_reverification"}}
        r = await http.put("/api/v1/helplines/kiran", json={**kiran, "hours": "Kept hours"})
        assert r.status_code == 200, r.text
        async with engine.begin() as conn:
            before = (await conn.execute(select(rows).where(rows.c.id == "icall"))).all()
            await conn.execute(delete(rows).where(rows.c.id == "icall"))
            bad = {**lines["icall"], "region": " ", "verified_on": "2025-13-45"}
            await conn.execute(insert(rows).values(id="icall", entry=bad, updated_at=utcnow()))
        try:
            answer = await http.get("/api/v1/helplines")
            assert answer.status_code == 200, answer.text
            now = {h["id"]: h for h in answer.json()["helplines"]}
            assert now["icall"]["region"] == lines["icall"]["region"] != " "
            assert now["icall"]["verified_on"] != "2025-13-45"
            assert now["kiran"]["hours"] == "Kept hours"  # the valid edit still shows
            # Nor does it block every other save until someone finds it: before, each PUT
            # was refused with the stale edit's error.
            r = await http.put("/api/v1/helplines/kiran", json={**kiran, "hours": "New hours"})
            assert r.status_code == 200, r.text
            listed = {h["id"]: h for h in (await http.get("/api/v1/helplines")).json()["helplines"]}
            assert listed["kiran"]["hours"] == "New hours"
            # A save still may not break the directory, and fixing the stale edit works.
            tele = {k: v for k, v in lines["tele_manas"].items() if k in kiran}
            other = [{"kind": "phone", "display": "14417", "uri": "tel:14417"}]
            r = await http.put("/api/v1/helplines/tele_manas", json={**tele, "contacts": other})
            assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_request")
            assert "tel:14416" in r.json()["error"]["message"]
            icall = {k: v for k, v in lines["icall"].items() if k in kiran}
            r = await http.put("/api/v1/helplines/icall", json={**icall, "hours": "Fixed hours"})
            assert r.status_code == 200, r.text
            listed = {h["id"]: h for h in (await http.get("/api/v1/helplines")).json()["helplines"]}
            assert listed["icall"]["hours"] == "Fixed hours"
        finally:
            async with engine.begin() as conn:
                await conn.execute(delete(rows).where(rows.c.id.in_(["icall", "kiran"])))
                for row in before:
                    await conn.execute(insert(rows).values(**row._mapping))
            await engine.dispose()


async def test_an_admin_removes_a_closed_helpline_and_tele_manas_and_112_stay(
    server: Server, staff: StaffFactory, backend: Backend
):
    """A line that closed must stop being offered: ``DELETE /api/v1/helplines/{id}`` takes an
    added or a shipped entry out of the directory (audited ``helpline.removed``) until a PUT
    brings it back; Tele-MANAS and 112 cannot be removed; only admins remove."""
    admin = await staff.create("admin")
    supervisor = await staff.create("supervisor")
    entry = {**A_LINE, "name": "Closing Line"}
    added = "gone_" + secrets.token_hex(4)

    async def listed(http: httpx.AsyncClient) -> dict[str, dict]:
        return {h["id"]: h for h in (await http.get("/api/v1/helplines")).json()["helplines"]}

    async with httpx.AsyncClient(base_url=server.base_url, headers=bearer(admin.token)) as http:
        assert (await http.put(f"/api/v1/helplines/{added}", json=entry)).status_code == 200
        aasra = (await listed(http))["aasra"]
        r = await http.delete("/api/v1/helplines/aasra", headers=bearer(supervisor.token))
        assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")
        for line_id in (added, "aasra"):
            assert (await http.delete(f"/api/v1/helplines/{line_id}")).status_code == 204
        now = await listed(http)
        assert added not in now and "aasra" not in now
        r = await http.delete(f"/api/v1/helplines/{added}")
        assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")
        for mandatory in ("tele_manas", "emergency_112"):
            r = await http.delete(f"/api/v1/helplines/{mandatory}")
            assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_request")
            assert mandatory in r.json()["error"]["message"]
        assert {"tele_manas", "emergency_112"} <= set(await listed(http))
        # A PUT brings a removed shipped entry back, with its translations.
        kept = {k: v for k, v in aasra.items() if k not in {"id", "needs_reverification"}}
        kept.pop("translations")
        assert (await http.put("/api/v1/helplines/aasra", json=kept)).status_code == 200
        assert (await listed(http))["aasra"]["translations"] == aasra["translations"]
    removed = await sql(
        backend.database_url,
        "SELECT actor_id, detail FROM audit_events WHERE action = 'helpline.removed'",
    )
    mine = [r for r in removed if added in str(r[1]) or "aasra" in str(r[1])]
    assert [r[0] for r in mine][-2:] == [admin.user_id, admin.user_id]
