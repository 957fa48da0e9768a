"""The on-call roster over real HTTP, on SQLite and PostgreSQL: admins change it, supervisors
read it, and the next hour's gap shows in /api/v1/roster/coverage and in /metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import httpx

from tests.conftest import Fresh, StaffFactory
from tests.support import Server, sql


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def gauge(exposition: str, name: str) -> float:
    for line in exposition.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


async def test_only_admins_change_the_roster_and_supervisors_read_it(
    server: Server, staff: StaffFactory
):
    admin = await staff.create("admin")
    supervisor = await staff.create("supervisor")
    volunteer = await staff.create("volunteer")
    now = datetime.now(UTC)
    shift = {
        "staff_id": supervisor.user_id,
        "starts_at": iso(now + timedelta(days=2)),
        "ends_at": iso(now + timedelta(days=2, hours=8)),
    }
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        for who in (supervisor, volunteer):
            r = await http.post("/api/v1/roster", json=shift, headers=bearer(who.token))
            assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        r = await http.post("/api/v1/roster", json=shift)
        assert r.status_code == 401

        r = await http.post("/api/v1/roster", json=shift, headers=bearer(admin.token))
        assert r.status_code == 201, r.text
        added = r.json()
        assert added["staff_id"] == supervisor.user_id and added["alias"] == supervisor.alias

        r = await http.get("/api/v1/roster", headers=bearer(supervisor.token))
        assert r.status_code == 200
        assert added["id"] in {s["id"] for s in r.json()["shifts"]}
        r = await http.get(
            "/api/v1/roster",
            params={"since": iso(now + timedelta(days=3)), "until": iso(now + timedelta(days=4))},
            headers=bearer(supervisor.token),
        )
        assert added["id"] not in {s["id"] for s in r.json()["shifts"]}
        r = await http.get("/api/v1/roster", headers=bearer(volunteer.token))
        assert r.status_code == 403
        r = await http.get("/api/v1/roster/coverage", headers=bearer(supervisor.token))
        assert r.status_code == 200 and "gap_seconds" in r.json()

        r = await http.delete(f"/api/v1/roster/{added['id']}", headers=bearer(supervisor.token))
        assert r.status_code == 403
        r = await http.delete(f"/api/v1/roster/{added['id']}", headers=bearer(admin.token))
        assert r.status_code == 204
        r = await http.delete(f"/api/v1/roster/{added['id']}", headers=bearer(admin.token))
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"

        r = await http.get(
            "/api/v1/audit",
            params={"actor_id": admin.user_id, "action": "roster."},
            headers=bearer(admin.token),
        )
        actions = [e["action"] for e in r.json()["entries"]]
        assert actions == ["roster.shift_removed", "roster.shift_added"]


async def test_a_shift_needs_an_active_supervisor_and_a_sensible_time(
    server: Server, staff: StaffFactory
):
    admin = await staff.create("admin")
    supervisor = await staff.create("supervisor")
    volunteer = await staff.create("volunteer")
    now = datetime.now(UTC)
    start, end = iso(now), iso(now + timedelta(hours=4))
    async with httpx.AsyncClient(base_url=server.base_url, headers=bearer(admin.token)) as http:

        async def add(**body: str) -> httpx.Response:
            shift = {"staff_id": supervisor.user_id, "starts_at": start, "ends_at": end, **body}
            return await http.post("/api/v1/roster", json=shift)

        r = await add(staff_id=volunteer.user_id)
        assert r.status_code == 400 and r.json()["error"]["code"] == "not_a_supervisor"
        r = await add(staff_id="nobody")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        r = await add(ends_at=start)
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_shift"
        r = await add(ends_at=iso(now + timedelta(days=8)))
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_shift"
        r = await add(starts_at="2026-12-04T10:00:00")  # no time zone
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
        # A number is not a time: pydantic would have read it (or the same digits in a
        # string) as Unix seconds, a shift in 1970 or wherever the digits fall.
        unix = int(now.timestamp())
        for number in (unix, unix + 0.5, str(unix), True):
            r = await add(starts_at=number)  # type: ignore[arg-type]
            assert r.status_code == 422, (number, r.text)
            error = r.json()["error"]
            assert error["code"] == "invalid_request" and error["message"].startswith("starts_at")

        r = await http.patch(f"/api/v1/staff/{supervisor.user_id}", json={"active": False})
        assert r.status_code == 200
        r = await add()
        assert r.status_code == 400 and r.json()["error"]["code"] == "not_a_supervisor"


async def test_a_shift_written_in_another_zone_is_answered_in_utc(
    server: Server, staff: StaffFactory
):
    """protocol.md: times are UTC strings ending in ``Z``. A shift sent with an offset is
    answered (and listed, and audited) in UTC, not echoed in the zone it was written in."""
    admin = await staff.create("admin")
    supervisor = await staff.create("supervisor")
    start = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    ist = timezone(timedelta(hours=5, minutes=30))
    shift = {
        "staff_id": supervisor.user_id,
        "starts_at": start.astimezone(ist).isoformat(),
        "ends_at": (start + timedelta(hours=8)).astimezone(ist).isoformat(),
    }
    assert "+05:30" in shift["starts_at"]
    async with httpx.AsyncClient(base_url=server.base_url, headers=bearer(admin.token)) as http:
        r = await http.post("/api/v1/roster", json=shift)
        assert r.status_code == 201, r.text
        added = r.json()
        assert added["starts_at"] == iso(start)
        assert added["ends_at"] == iso(start + timedelta(hours=8))
        r = await http.get("/api/v1/roster", params={"until": iso(start + timedelta(days=1))})
        (listed,) = [s for s in r.json()["shifts"] if s["id"] == added["id"]]
        assert (listed["starts_at"], listed["ends_at"]) == (added["starts_at"], added["ends_at"])
        r = await http.get("/api/v1/audit", params={"action": "roster.shift_added"})
        (entry,) = [e for e in r.json()["entries"] if e["detail"]["shift_id"] == added["id"]]
        assert datetime.fromisoformat(entry["detail"]["starts_at"]).utcoffset() == timedelta(0)
        # Written as every time in the protocol is: UTC, ending in Z (it said +00:00).
        for name in ("starts_at", "ends_at"):
            written = entry["detail"][name]
            assert written.endswith("Z"), written
            assert datetime.fromisoformat(written) == datetime.fromisoformat(added[name])


async def test_the_next_hours_gap_shows_in_coverage_and_metrics(fresh: Fresh):
    admin = await fresh.staff.create("admin")
    first = await fresh.staff.create("supervisor")
    second = await fresh.staff.create("supervisor")
    now = datetime.now(UTC)
    async with httpx.AsyncClient(base_url=fresh.server.base_url) as http:

        async def coverage() -> dict:
            r = await http.get("/api/v1/roster/coverage", headers=bearer(first.token))
            assert r.status_code == 200, r.text
            return dict(r.json())

        async def metric() -> float:
            r = await http.get("/metrics")
            return gauge(r.text, "peerline_oncall_roster_gap_seconds")

        empty = await coverage()
        assert empty["gap_seconds"] == 3600 and empty["rostered_now"] == []
        assert await metric() == 3600

        # The first supervisor covers the first half hour: the rest is a gap.
        r = await http.post(
            "/api/v1/roster",
            json={
                "staff_id": first.user_id,
                "starts_at": iso(now - timedelta(hours=1)),
                "ends_at": iso(now + timedelta(minutes=30)),
            },
            headers=bearer(admin.token),
        )
        assert r.status_code == 201
        half = await coverage()
        # From the shift's end to an hour after the call, which is a little after ``now``.
        assert 1800 <= half["gap_seconds"] < 1900
        assert half["rostered_now"] == [first.alias] and half["you_rostered_now"] is True
        (gap,) = half["gaps"]
        assert gap["ends_at"] == half["window_end"]
        assert 1800 <= await metric() < 1900

        # The second covers the rest, from where the first ends.
        r = await http.post(
            "/api/v1/roster",
            json={
                "staff_id": second.user_id,
                "starts_at": iso(now + timedelta(minutes=30)),
                "ends_at": iso(now + timedelta(hours=9)),
            },
            headers=bearer(admin.token),
        )
        assert r.status_code == 201
        assert (await coverage())["gap_seconds"] == 0
        r = await http.get("/api/v1/roster/coverage", headers=bearer(second.token))
        assert r.json()["you_rostered_now"] is False  # their shift starts in half an hour
        assert await metric() == 0

        # An account deactivated opens its shifts' gap at once.
        r = await http.patch(
            f"/api/v1/staff/{second.user_id}",
            json={"active": False},
            headers=bearer(admin.token),
        )
        assert r.status_code == 200
        assert 1800 <= (await coverage())["gap_seconds"] < 1900
        rows = await sql(fresh.database_url, "SELECT count(*) FROM oncall_shifts")
        assert rows[0][0] == 2  # kept: reactivating the account covers the time again
