"""The on-call roster's rules.

Invariants:
- Only an active supervisor can be rostered; a shift ends after it starts and lasts at most
  ``coverage.MAX_SHIFT``.
- Coverage counts only shifts of accounts that are still active supervisors: deactivating
  an account opens the gap its shifts covered, at once.
- Every change is audited (``roster.shift_added``, ``roster.shift_removed``).

The roster is the plan; paging still goes to the supervisors whose ``on_call`` switch is on
(``app.escalation.paging``): a rostered supervisor turns it on at the desk when the shift
starts, and someone not rostered may step in by turning it on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.db import UnitOfWork
from app.errors import BadRequest, NotFound
from app.identity.models import Role, StaffUser
from app.identity.service import Principal
from app.outbound.frames import iso
from app.roster import coverage
from app.roster.models import Shift

# GET /api/v1/roster without a window: from a day ago to two weeks ahead.
DEFAULT_BEFORE = timedelta(days=1)
DEFAULT_AHEAD = timedelta(days=14)


def shift_view(shift: Shift, user: StaffUser) -> dict[str, Any]:
    return {
        "id": shift.id,
        "staff_id": shift.staff_id,
        "username": user.username,
        "alias": user.alias,
        "active": user.active and user.role == Role.supervisor.value,
        "starts_at": shift.starts_at,
        "ends_at": shift.ends_at,
    }


async def list_shifts(
    session: AsyncSession, *, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    """Shifts overlapping ``[since, until)``, earliest first."""
    rows = await session.execute(
        select(Shift, StaffUser)
        .join(StaffUser, StaffUser.id == Shift.staff_id)
        .where(Shift.ends_at > since, Shift.starts_at < until)
        .order_by(Shift.starts_at, Shift.ends_at, Shift.id)
    )
    return [shift_view(shift, user) for shift, user in rows]


async def add_shift(
    uow: UnitOfWork,
    principal: Principal,
    *,
    staff_id: str,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
) -> dict[str, Any]:
    # Answered and audited in UTC, as every time the service sends (``Z``), whatever zone the
    # admin wrote them in.
    starts_at, ends_at = starts_at.astimezone(UTC), ends_at.astimezone(UTC)
    problem = coverage.shift_problem(starts_at, ends_at)
    if problem:
        raise BadRequest(problem, code="invalid_shift")
    session = uow.session
    user = await session.get(StaffUser, staff_id)
    if user is None:
        raise NotFound("no such staff account")
    if user.role != Role.supervisor.value or not user.active:
        raise BadRequest("only an active supervisor can be on call", code="not_a_supervisor")
    shift = Shift(
        staff_id=staff_id,
        starts_at=starts_at,
        ends_at=ends_at,
        created_at=now,
        created_by=principal.user_id,
    )
    session.add(shift)
    await session.flush()
    audit.record(
        session,
        actor_id=principal.user_id,
        actor_role=principal.role.value,
        action="roster.shift_added",
        detail={
            "shift_id": shift.id,
            "staff_id": staff_id,
            "starts_at": iso(starts_at),
            "ends_at": iso(ends_at),
        },
    )
    return shift_view(shift, user)


async def remove_shift(uow: UnitOfWork, principal: Principal, *, shift_id: str) -> None:
    session = uow.session
    shift = await session.get(Shift, shift_id)
    if shift is None:
        raise NotFound("no such shift")
    audit.record(
        session,
        actor_id=principal.user_id,
        actor_role=principal.role.value,
        action="roster.shift_removed",
        detail={
            "shift_id": shift.id,
            "staff_id": shift.staff_id,
            "starts_at": iso(shift.starts_at),
            "ends_at": iso(shift.ends_at),
        },
    )
    await session.delete(shift)
    await session.flush()


async def covering_shifts(
    session: AsyncSession, *, start: datetime, end: datetime
) -> list[tuple[datetime, datetime, str, str]]:
    """(starts_at, ends_at, alias, staff id) of active supervisors' shifts overlapping the
    window."""
    rows = await session.execute(
        select(Shift.starts_at, Shift.ends_at, StaffUser.alias, StaffUser.id)
        .join(StaffUser, StaffUser.id == Shift.staff_id)
        .where(
            Shift.ends_at > start,
            Shift.starts_at < end,
            StaffUser.role == Role.supervisor.value,
            StaffUser.active.is_(True),
        )
    )
    return [(a, b, alias, staff_id) for a, b, alias, staff_id in rows]


async def gap_seconds(session: AsyncSession, *, now: datetime) -> float:
    """Seconds of the next hour that no active supervisor is rostered for."""
    end = now + coverage.LOOKAHEAD
    shifts = await covering_shifts(session, start=now, end=end)
    return coverage.gap_seconds(((a, b) for a, b, *_ in shifts), now, end)


async def coverage_view(session: AsyncSession, *, now: datetime, viewer_id: str) -> dict[str, Any]:
    """The next hour as the roster covers it (GET /api/v1/roster/coverage); ``you_rostered_now``
    tells the caller a shift of theirs is running now (the desk asks them to go on call)."""
    end = now + coverage.LOOKAHEAD
    shifts = await covering_shifts(session, start=now, end=end)
    gaps = coverage.uncovered(((a, b) for a, b, *_ in shifts), now, end)
    running = [(alias, staff_id) for a, b, alias, staff_id in shifts if a <= now < b]
    on_call = await session.scalars(
        select(StaffUser.alias)
        .where(
            StaffUser.role == Role.supervisor.value,
            StaffUser.active.is_(True),
            StaffUser.on_call.is_(True),
        )
        .order_by(StaffUser.alias)
    )
    return {
        "window_start": now,
        "window_end": end,
        "gap_seconds": round(sum((b - a).total_seconds() for a, b in gaps), 3),
        "gaps": [{"starts_at": a, "ends_at": b} for a, b in gaps],
        "rostered_now": sorted({alias for alias, _ in running}),
        "on_call_now": list(on_call),
        "you_rostered_now": any(staff_id == viewer_id for _, staff_id in running),
    }
