"""Identity rules: anonymous seekers, staff accounts, tokens, logins.

Invariants:
- Only token hashes are stored; a token that is expired, revoked, or whose staff account is
  inactive authenticates nobody.
- A failed login never says whether the username exists: unknown usernames are answered,
  delayed and timed exactly as known ones.
- The right password of an active account, tried after the delay its failures set, always
  works: nobody can lock a staff member out by failing on purpose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit, metrics
from app.config import Settings
from app.errors import BadRequest, Conflict, Forbidden, NotFound, TooManyRequests, Unauthorized
from app.identity import passwords
from app.identity.events import SessionRevoked
from app.identity.login_delay import FailureRun, LoginDelayPolicy, forget_before
from app.identity.models import LoginFailureRun, Role, Seeker, StaffToken, StaffUser
from app.identity.tokens import (
    SEEKER_PREFIX,
    STAFF_PREFIX,
    hash_token,
    new_alias,
    new_token,
)

if TYPE_CHECKING:
    from app.db import Database, UnitOfWork


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of a request or socket."""

    user_id: str
    role: Role
    alias: str
    token_hash: str
    languages: tuple[str, ...] = ()
    topics: tuple[str, ...] = field(default=())
    # When the token stops working by itself; an open socket closes then (4401).
    expires_at: datetime | None = None

    @property
    def is_staff(self) -> bool:
        return self.role.is_staff


async def hash_password(password: str) -> str:
    """A new argon2id hash, in turn with every other hash of this process (``passwords``)."""
    return await passwords.hashing().hash(password)


async def verify_password(password_hash: str, password: str) -> bool:
    """For an authenticated caller (a staff member's current password): waits for a turn."""
    return await passwords.hashing().verify(password_hash, password, refuse_when_busy=False)


async def create_seeker(
    session: AsyncSession,
    *,
    settings: Settings,
    language: str,
    age_band: str | None,
    topics: list[str],
    now: datetime,
) -> tuple[Seeker, str]:
    token = new_token(SEEKER_PREFIX)
    seeker = Seeker(
        alias=new_alias(),
        language=language,
        age_band=age_band,
        topics=topics,
        token_hash=hash_token(token, settings.secret_key),
        token_expires_at=now + timedelta(seconds=settings.seeker_token_ttl_s),
        created_at=now,
    )
    session.add(seeker)
    await session.flush()
    return seeker, token


# Authentication runs for every request and socket (2,000 sockets at once in a reconnect
# storm), so it reads plain rows (SQLAlchemy Core, statements built once), not ORM objects.
_seekers, _staff, _tokens = Seeker.__table__, StaffUser.__table__, StaffToken.__table__
_runs = LoginFailureRun.__table__
_SEEKER_BY_TOKEN = select(
    _seekers.c.id,
    _seekers.c.alias,
    _seekers.c.language,
    _seekers.c.topics,
    _seekers.c.token_expires_at,
).where(_seekers.c.token_hash == bindparam("token_hash"))
_STAFF_BY_TOKEN = (
    select(
        _staff.c.id,
        _staff.c.role,
        _staff.c.alias,
        _staff.c.languages,
        _staff.c.topics,
        _staff.c.active,
        _tokens.c.expires_at,
        _tokens.c.revoked_at,
    )
    .join_from(_tokens, _staff, _staff.c.id == _tokens.c.user_id)
    .where(_tokens.c.token_hash == bindparam("token_hash"))
)


async def authenticate(
    session: AsyncSession, *, settings: Settings, token: str, now: datetime
) -> Principal:
    """Resolve a bearer token to its principal, or raise ``Unauthorized``."""
    if not isinstance(token, str) or len(token) > 128:
        raise Unauthorized("invalid token")
    token_hash = hash_token(token, settings.secret_key)
    if token.startswith(SEEKER_PREFIX):
        seeker = (await session.execute(_SEEKER_BY_TOKEN, {"token_hash": token_hash})).first()
        if seeker is None or seeker.token_expires_at <= now:
            raise Unauthorized("invalid or expired token")
        return Principal(
            user_id=seeker.id,
            role=Role.seeker,
            alias=seeker.alias,
            token_hash=token_hash,
            languages=(seeker.language,),
            topics=tuple(seeker.topics or ()),
            expires_at=seeker.token_expires_at,
        )
    if token.startswith(STAFF_PREFIX):
        user = (await session.execute(_STAFF_BY_TOKEN, {"token_hash": token_hash})).first()
        if user is None or user.revoked_at is not None or user.expires_at <= now or not user.active:
            raise Unauthorized("invalid or expired token")
        return Principal(
            user_id=user.id,
            role=Role(user.role),
            alias=user.alias,
            token_hash=token_hash,
            languages=tuple(user.languages or ()),
            topics=tuple(user.topics or ()),
            expires_at=user.expires_at,
        )
    raise Unauthorized("invalid token")


async def valid_token_hashes(
    session: AsyncSession, *, token_hashes: list[str], now: datetime
) -> set[str]:
    """Which of these token hashes still authenticate someone (``authenticate``'s rules)."""
    if not token_hashes:
        return set()
    seekers = await session.scalars(
        select(_seekers.c.token_hash).where(
            _seekers.c.token_hash.in_(token_hashes), _seekers.c.token_expires_at > now
        )
    )
    staff = await session.scalars(
        select(_tokens.c.token_hash)
        .join_from(_tokens, _staff, _staff.c.id == _tokens.c.user_id)
        .where(
            _tokens.c.token_hash.in_(token_hashes),
            _tokens.c.revoked_at.is_(None),
            _tokens.c.expires_at > now,
            _staff.c.active.is_(True),
        )
    )
    return set(seekers) | set(staff)


def login_delay_policy(settings: Settings) -> LoginDelayPolicy:
    return LoginDelayPolicy(base_s=settings.login_delay_base_s, max_s=settings.login_delay_max_s)


def login_key(username: str, secret_key: str) -> str:
    """The key of a username's failure run: an HMAC, so the table never holds what was typed
    (it may be a password typed into the wrong field)."""
    return hash_token("login:" + username, secret_key)


def _throttled(wait_s: float) -> TooManyRequests:
    metrics.rate_limit_refused("login_throttled")
    return TooManyRequests(
        "Too many failed sign-ins for this username; wait and try again.",
        code="login_throttled",
        retry_after_s=max(1, math.ceil(wait_s)),
    )


class KnownWaits:
    """This process's memory of when each recently refused or failed username (its key) may
    be tried again: a login for one of them is refused without a database read
    (``identity.router.refuse_early_logins`` answers it before FastAPI, too).

    Only a shortcut: the database stays the record every process shares. A time here was
    read from or written to it by this process, so a refusal here is one the database
    gave; if another process's success cleared the run since, this process still refuses
    until the time it told the client (``Retry-After``), no longer. Bounded: beyond
    ``MAX_KEYS`` it starts again empty (the database still has every run).
    """

    MAX_KEYS = 10_000

    def __init__(self) -> None:
        self._until: dict[str, datetime] = {}

    def wait_s(self, key: str, now: datetime) -> float:
        until = self._until.get(key)
        if until is None:
            return 0.0
        if until <= now:
            del self._until[key]
            return 0.0
        return (until - now).total_seconds()

    def remember(self, key: str, until: datetime) -> None:
        if len(self._until) >= self.MAX_KEYS:
            self._until.clear()
        self._until[key] = until

    def forget(self, key: str) -> None:
        self._until.pop(key, None)


known_waits = KnownWaits()


def refuse_if_known_to_wait(key: str, now: datetime) -> None:
    """``login_throttled`` now if this process knows the key must still wait."""
    wait_s = known_waits.wait_s(key, now)
    if wait_s > 0:
        raise _throttled(wait_s)


async def failure_run(session: AsyncSession, key: str) -> FailureRun | None:
    row = (
        await session.execute(
            select(_runs.c.failures, _runs.c.last_failure_at).where(_runs.c.key == key)
        )
    ).first()
    return None if row is None else FailureRun(row.failures, row.last_failure_at)


async def record_failure(
    session: AsyncSession, *, key: str, policy: LoginDelayPolicy, now: datetime
) -> FailureRun:
    """Count a failed login for ``key``. Failures that finish at once on several processes
    all count: the row is created if missing, then locked (PostgreSQL; SQLite has one
    writer) and moved on by the rule."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        insert(_runs)
        .values(key=key, failures=0, last_failure_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    row = (
        await session.execute(
            select(_runs.c.failures, _runs.c.last_failure_at)
            .where(_runs.c.key == key)
            .with_for_update()
        )
    ).one()
    before = FailureRun(row.failures, row.last_failure_at) if row.failures else None
    after = policy.after_failure(before, now)
    await session.execute(
        update(_runs)
        .where(_runs.c.key == key)
        .values(failures=after.failures, last_failure_at=after.last_failure_at)
    )
    return after


async def _refuse_during_wait(
    session: AsyncSession, key: str, policy: LoginDelayPolicy, now: datetime
) -> None:
    """``login_throttled`` while the wait set by the key's failures runs (``login_delay``)."""
    wait_s = policy.wait_s(await failure_run(session, key), now)
    if wait_s > 0:
        known_waits.remember(key, now + timedelta(seconds=wait_s))
        raise _throttled(wait_s)


async def _count_failure(
    uow: UnitOfWork, key: str, policy: LoginDelayPolicy, now: datetime
) -> None:
    """One more failure for the key, and the wait it sets known here once committed."""
    run = await record_failure(uow.session, key=key, policy=policy, now=now)
    delay = timedelta(seconds=policy.delay_after(run.failures))
    uow.after_commit.append(lambda: known_waits.remember(key, run.last_failure_at + delay))


async def forget_failure_runs(session: AsyncSession, *, now: datetime) -> int:
    """Delete the runs the rule has forgotten (``login_delay.FORGET_AFTER_S``)."""
    result = await session.execute(
        delete(_runs).where(_runs.c.last_failure_at < forget_before(now))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def login(
    db: Database, *, settings: Settings, username: str, password: str, now: datetime
) -> tuple[StaffUser, str, datetime]:
    """Check a username and password; return the user, a new raw token and its expiry.

    Known and unknown usernames go through the same steps, answers and timing:

    0. When every hashing turn is taken, ``login_busy`` (429) at once; when this process
       already knows the username must wait (``KnownWaits``), ``login_throttled`` at once.
    1. During the wait the rule sets after failures (``login_delay``), ``login_throttled``
       (429, ``Retry-After``), before any password is looked at.
    2. The password is checked against the account's hash, or a dummy hash when there is no
       such account, by the bounded hashing (``passwords``): ``login_busy`` (429) if every
       turn was taken in the meantime.
    3. A wrong password, an unknown username or an inactive account: the failure counts and
       ``invalid_credentials`` (401). The right password of an active account: the count is
       cleared and a token issued.

    The password is checked between short transactions, never inside one: on SQLite the
    writer connection is the one every chat message needs.
    """
    policy = login_delay_policy(settings)
    key = login_key(username, settings.secret_key)
    passwords.hashing().refuse_when_full()
    refuse_if_known_to_wait(key, now)
    async with db.reader() as session:
        await _refuse_during_wait(session, key, policy, now)
        user = await session.scalar(select(StaffUser).where(StaffUser.username == username))
    verified = await passwords.hashing().verify(
        user.password_hash if user is not None else passwords.DUMMY_HASH,
        password,
        refuse_when_busy=True,
    )
    token, expires_at = new_token(STAFF_PREFIX), now + timedelta(seconds=settings.staff_token_ttl_s)
    accepted = False
    async with db.unit_of_work() as uow:
        if user is not None and verified:
            # Read again in the writing transaction: deactivated in the meantime?
            user = await uow.session.get(StaffUser, user.id, populate_existing=True)
            accepted = user is not None and user.active
        if accepted and user is not None:
            known_waits.forget(key)
            await uow.session.execute(delete(_runs).where(_runs.c.key == key))
            uow.session.add(
                StaffToken(
                    token_hash=hash_token(token, settings.secret_key),
                    user_id=user.id,
                    created_at=now,
                    expires_at=expires_at,
                )
            )
        else:  # committed all the same: the failure must count
            await _count_failure(uow, key, policy, now)
    if not accepted or user is None:
        raise Unauthorized("Wrong username or password.", code="invalid_credentials")
    return user, token, expires_at


async def lock_live_seeker(session: AsyncSession, *, seeker_id: str, now: datetime) -> bool:
    """Lock this seeker's row while its token still authenticates; False when the token has
    expired or was revoked (a block). A write that must not outlive a block (a return code)
    takes this lock, so it either commits before the block revokes the token or sees it
    revoked."""
    found = await session.scalar(
        select(Seeker.id)
        .where(Seeker.id == seeker_id, Seeker.token_expires_at > now)
        .with_for_update()
    )
    return found is not None


async def revoke_seeker_token(session: AsyncSession, *, seeker_id: str, now: datetime) -> None:
    """The seeker row keeps no revocation column: an expiry of now kills the token for good
    (the caller records ``SessionRevoked`` so open sockets close)."""
    await session.execute(
        update(Seeker)
        .where(Seeker.id == seeker_id, Seeker.token_expires_at > now)
        .values(token_expires_at=now)
    )


async def logout(session: AsyncSession, *, token_hash: str, now: datetime) -> None:
    await session.execute(
        update(StaffToken)
        .where(StaffToken.token_hash == token_hash, StaffToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def has_live_token(session: AsyncSession, user_id: str, now: datetime) -> bool:
    """Whether the staff member is still signed in somewhere (a token not revoked nor
    expired)."""
    found = await session.scalar(
        select(StaffToken.token_hash)
        .where(
            StaffToken.user_id == user_id,
            StaffToken.revoked_at.is_(None),
            StaffToken.expires_at > now,
        )
        .limit(1)
    )
    return found is not None


async def create_staff(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    role: Role,
    languages: list[str],
    topics: list[str],
    max_concurrent_chats: int,
    trained: bool,
    now: datetime,
    backup_rank: int = 100,
    actor: Principal | None = None,
) -> StaffUser:
    """A new staff account. With ``actor`` (an admin over REST) it is audited as
    ``staff.created``; the command line's accounts are made by whoever runs the server."""
    if role is Role.seeker:
        raise BadRequest("staff role must be volunteer, supervisor or admin")
    # Hashed before the first statement: a fresh unit of work holds no connection yet.
    password_hash = await hash_password(password)
    if await session.scalar(select(StaffUser.id).where(StaffUser.username == username)):
        raise Conflict(f"username {username!r} is taken", code="username_taken")
    user = StaffUser(
        username=username,
        alias=new_alias(),
        password_hash=password_hash,
        role=role.value,
        languages=languages,
        topics=topics,
        max_concurrent_chats=max_concurrent_chats,
        capacity=max_concurrent_chats,
        trained=trained,
        active=True,
        backup_rank=backup_rank,
        created_at=now,
    )
    session.add(user)
    await session.flush()
    if actor is not None:
        audit.record(
            session,
            actor_id=actor.user_id,
            actor_role=actor.role.value,
            action="staff.created",
            detail={
                "staff_id": user.id,
                "username": username,
                "role": role.value,
                "languages": languages,
                "topics": topics,
                "max_concurrent_chats": max_concurrent_chats,
                "trained": trained,
                "backup_rank": backup_rank,
            },
        )
    return user


async def get_staff(session: AsyncSession, user_id: str) -> StaffUser:
    user = await session.get(StaffUser, user_id)
    if user is None:
        raise NotFound("no such staff account")
    return user


def revokes_sessions(changes: dict[str, object]) -> bool:
    """Whether an admin change ends every session of the account: a new password (whoever
    knew the old one may hold a token) or deactivation."""
    return "password" in changes or changes.get("active") is False


async def revoke_all_tokens(session: AsyncSession, *, user_id: str, now: datetime) -> None:
    await session.execute(
        update(StaffToken)
        .where(StaffToken.user_id == user_id, StaffToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def update_staff(
    session: AsyncSession,
    *,
    user_id: str,
    changes: dict[str, object],
    now: datetime,
    actor: Principal | None = None,
) -> StaffUser:
    """Apply admin changes. A new password or deactivation revokes every token of the
    account at once (``revokes_sessions``); the caller records ``SessionRevoked``. With
    ``actor`` the change is audited as ``staff.updated``: the new values, except a new
    password, of which only the fact is written (``"password": "reset"``)."""
    changes = dict(changes)
    if actor is not None:
        audit.record(
            session,
            actor_id=actor.user_id,
            actor_role=actor.role.value,
            action="staff.updated",
            detail={
                "staff_id": user_id,
                "changes": {
                    name: ("reset" if name == "password" else value)
                    for name, value in changes.items()
                },
            },
        )
    revoke = revokes_sessions(changes)
    user = await get_staff(session, user_id)
    if "password" in changes:
        user.password_hash = await hash_password(str(changes.pop("password")))
    for name, value in changes.items():
        setattr(user, name, value)
    if "max_concurrent_chats" in changes:
        user.capacity = min(user.capacity, user.max_concurrent_chats)
    if changes.get("active") is False:
        user.available = False
    if revoke:
        await revoke_all_tokens(session, user_id=user.id, now=now)
    await session.flush()
    return user


async def change_own_password(
    db: Database,
    *,
    settings: Settings,
    principal: Principal,
    current_password: str,
    new_password: str,
    now: datetime,
) -> None:
    """A staff member sets a new password; every token of theirs (this one too) stops
    working. Raises ``Forbidden`` (``wrong_password``) when the current one is wrong.

    A wrong current password is a failed sign-in for the account's username: it counts in
    the same run and sets the same wait (``login_delay``), during which this answers
    ``login_throttled`` before the password is looked at, so a stolen token cannot be used
    to guess the password faster than the sign-in page allows. The right one, once checked,
    clears the run, as a sign-in does.

    Hashing happens outside the transactions, as in ``login``."""
    policy = login_delay_policy(settings)
    async with db.reader() as session:
        user = await get_staff(session, principal.user_id)
        key = login_key(user.username, settings.secret_key)
        refuse_if_known_to_wait(key, now)
        await _refuse_during_wait(session, key, policy, now)
    if not await verify_password(user.password_hash, current_password):
        async with db.unit_of_work() as uow:
            await _count_failure(uow, key, policy, now)
        raise Forbidden("The current password is wrong.", code="wrong_password")
    password_hash = await hash_password(new_password)
    async with db.unit_of_work() as uow:
        known_waits.forget(key)
        await uow.session.execute(delete(_runs).where(_runs.c.key == key))
        user = await get_staff(uow.session, principal.user_id)
        user.password_hash = password_hash
        await revoke_all_tokens(uow.session, user_id=user.id, now=now)
        uow.record(SessionRevoked(user.id))
