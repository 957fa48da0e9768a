"""Identity rules: anonymous seekers, staff accounts, tokens, login throttling.

Invariants:
- Only token hashes are stored; a token that is expired, revoked, or whose staff account is
  inactive authenticates nobody.
- A failed login never says whether the username exists.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.config import Settings
from app.errors import BadRequest, Conflict, Forbidden, NotFound, TooManyRequests, Unauthorized
from app.identity.events import SessionRevoked
from app.identity.models import Role, Seeker, StaffToken, StaffUser
from app.identity.tokens import (
    SEEKER_PREFIX,
    STAFF_PREFIX,
    hash_token,
    new_alias,
    new_token,
)

if TYPE_CHECKING:
    from app.db import Database

_hasher = PasswordHasher()  # argon2id, the library's recommended parameters
# A hash to verify against when the username is unknown, so timing does not tell.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


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
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    def _verify() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(_verify)


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


class UnknownUserThrottle:
    """Per-process failure counts for usernames that do not exist (they have no row)."""

    def __init__(self) -> None:
        self._failures: dict[str, tuple[int, datetime]] = {}

    def check(self, username: str, now: datetime, settings: Settings) -> None:
        count, until = self._failures.get(username, (0, now))
        if count >= settings.login_max_failures and until > now:
            raise TooManyRequests("Too many failed logins; try later.", code="login_throttled")

    def fail(self, username: str, now: datetime, settings: Settings) -> None:
        if len(self._failures) > 10_000:
            self._failures.clear()
        count, _ = self._failures.get(username, (0, now))
        self._failures[username] = (count + 1, now + timedelta(seconds=settings.login_throttle_s))


unknown_user_throttle = UnknownUserThrottle()


async def login(
    db: Database, *, settings: Settings, username: str, password: str, now: datetime
) -> tuple[StaffUser, str, datetime]:
    """Check a username and password; return the user, a new raw token and its expiry.

    Raises ``TooManyRequests`` (login_throttled) after LOGIN_MAX_FAILURES failures, until
    LOGIN_THROTTLE_S has passed, whatever the password.

    The password is checked (about 100 ms of hashing) between two short transactions, never
    inside one: on SQLite the writer connection is the one every chat message needs.
    """
    async with db.reader() as session:
        user = await session.scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None:
        unknown_user_throttle.check(username, now, settings)
        await verify_password(_DUMMY_HASH, password)
        unknown_user_throttle.fail(username, now, settings)
        raise Unauthorized("Wrong username or password.", code="invalid_credentials")
    if user.throttled_until is not None and user.throttled_until > now:
        raise TooManyRequests("Too many failed logins; try later.", code="login_throttled")
    verified = await verify_password(user.password_hash, password)
    token, expires_at = new_token(STAFF_PREFIX), now + timedelta(seconds=settings.staff_token_ttl_s)
    async with db.unit_of_work() as uow:
        # Read again in the writing transaction: counts from concurrent attempts add up.
        user = await uow.session.get(StaffUser, user.id, populate_existing=True)
        if user is None:
            raise Unauthorized("Wrong username or password.", code="invalid_credentials")
        if user.throttled_until is not None and user.throttled_until > now:
            raise TooManyRequests("Too many failed logins; try later.", code="login_throttled")
        accepted = verified and user.active
        if accepted:
            user.failed_logins = 0
            user.throttled_until = None
            uow.session.add(
                StaffToken(
                    token_hash=hash_token(token, settings.secret_key),
                    user_id=user.id,
                    created_at=now,
                    expires_at=expires_at,
                )
            )
        else:  # committed all the same: the failure must count
            user.failed_logins += 1
            if user.failed_logins >= settings.login_max_failures:
                user.throttled_until = now + timedelta(seconds=settings.login_throttle_s)
                user.failed_logins = 0
    if not accepted:
        raise Unauthorized("Wrong username or password.", code="invalid_credentials")
    return user, token, expires_at


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
    db: Database, *, principal: Principal, current_password: str, new_password: str, now: datetime
) -> None:
    """A staff member sets a new password; every token of theirs (this one too) stops
    working. Raises ``Forbidden`` (``wrong_password``) when the current one is wrong.

    Hashing happens outside the transactions, as in ``login``."""
    async with db.reader() as session:
        user = await get_staff(session, principal.user_id)
    if not await verify_password(user.password_hash, current_password):
        raise Forbidden("The current password is wrong.", code="wrong_password")
    password_hash = await hash_password(new_password)
    async with db.unit_of_work() as uow:
        user = await get_staff(uow.session, principal.user_id)
        user.password_hash = password_hash
        await revoke_all_tokens(uow.session, user_id=user.id, now=now)
        uow.record(SessionRevoked(user.id))
