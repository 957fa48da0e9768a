"""Seekers, login/logout and staff administration over REST."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response, status
from sqlalchemy import select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.budgets.service import Door
from app.db import utcnow
from app.deps import AdminPrincipal, CurrentPrincipal, RuntimeDep
from app.errors import Forbidden, TooManyRequests
from app.escalation import actions as escalation_actions
from app.identity import passwords
from app.identity import service as identity_service
from app.identity.events import SessionRevoked
from app.identity.models import Role, StaffUser
from app.identity.schemas import (
    LoginRequest,
    LoginResponse,
    Me,
    PasswordChange,
    SeekerCreate,
    SeekerCreated,
    StaffCreate,
    StaffOut,
    StaffUpdate,
)
from app.matching import service as matching_service
from app.matching.events import AccountLimitsChanged

api = APIRouter(prefix="/api/v1", tags=["identity"])

LOGIN_PATH = "/api/v1/auth/login"
# A login body is a username and a password (64 and 256 characters at most).
_LOGIN_BODY_READ_MAX = 16_384


async def refuse_early_logins(
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    secret_key: str,
    headers: dict[str, str],
    then: ASGIApp,
) -> None:
    """Answer a login refused before any password work straight from the ASGI entry:
    ``429 login_busy`` when every hashing turn is taken, ``429 login_throttled`` when this
    process already knows the username must wait (``identity_service.known_waits``). Any
    other request goes on to ``then`` (FastAPI), its body replayed as read.

    In a flood nearly every login gets one of these answers. Through FastAPI's middleware,
    router, body validation and a database read each cost 2-4 ms of the event loop that the
    chats share; here a fraction of a millisecond. The answers are the ones ``login`` gives
    (it checks both again), with ``headers`` (the app's security headers) added.
    """
    if scope["method"] != "POST":
        await then(scope, receive, send)
        return
    # Read the small body (so the connection can carry the client's next request); a larger
    # one, or a client that went away, goes on to FastAPI as it is.
    read: list[Message] = []
    size, more = 0, True
    while more and size <= _LOGIN_BODY_READ_MAX:
        message = await receive()
        read.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    if not more and passwords.hashing().full:
        await _refuse(send, passwords.busy_error(), headers)
        return
    if not more:
        username = _username(b"".join(m.get("body", b"") for m in read))
        if username is not None:
            key = identity_service.login_key(username, secret_key)
            try:
                identity_service.refuse_if_known_to_wait(key, utcnow())
            except TooManyRequests as refusal:
                await _refuse(send, refusal, headers)
                return

    async def replay() -> Message:
        return read.pop(0) if read else await receive()

    await then(scope, replay, send)


def _username(body: bytes) -> str | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    username = parsed.get("username") if isinstance(parsed, dict) else None
    if not isinstance(username, str):
        return None
    try:
        username.encode()
    except UnicodeEncodeError:  # a lone surrogate: FastAPI's path refuses it (422)
        return None
    return username


async def _refuse(send: Send, refusal: TooManyRequests, headers: dict[str, str]) -> None:
    body = json.dumps({"error": {"code": refusal.code, "message": refusal.message}}).encode()
    response_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in {**headers, **refusal.headers()}.items()),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": response_headers})
    await send({"type": "http.response.body", "body": body})


@api.post("/seekers", status_code=status.HTTP_201_CREATED, response_model=SeekerCreated)
async def create_seeker(body: SeekerCreate, request: Request, runtime: RuntimeDep) -> SeekerCreated:
    """Start anonymously. Nothing that identifies the person (IP, user agent) is stored;
    the flood budgets (app/budgets) know the client only by a rotating keyed hash."""
    client = runtime.budgets.client(request.scope)
    await runtime.budgets.spend(Door.seekers, client)
    async with runtime.db.unit_of_work() as uow:
        seeker, token = await identity_service.create_seeker(
            uow.session,
            settings=runtime.settings,
            language=body.language,
            age_band=body.age_band,
            topics=body.topics,
            now=utcnow(),
        )
    await runtime.budgets.remember_seeker(seeker.id, client)
    return SeekerCreated(
        seeker_token=token,
        alias=seeker.alias,
        seeker_id=seeker.id,
        expires_at=seeker.token_expires_at,
    )


@api.post("/auth/login", response_model=LoginResponse)
async def login(body: LoginRequest, request: Request, runtime: RuntimeDep) -> LoginResponse:
    await runtime.budgets.spend(Door.login, runtime.budgets.client(request.scope))
    user, token, expires_at = await identity_service.login(
        runtime.db,
        settings=runtime.settings,
        username=body.username,
        password=body.password,
        now=utcnow(),
    )
    return LoginResponse(
        access_token=token,
        expires_at=expires_at,
        role=user.role,  # type: ignore[arg-type]
        user_id=user.id,
        alias=user.alias,
    )


@api.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(principal: CurrentPrincipal, runtime: RuntimeDep) -> Response:
    if not principal.is_staff:
        raise Forbidden("seekers end their session with quick exit; tokens simply expire")
    now = utcnow()
    async with runtime.db.unit_of_work() as uow:
        await identity_service.logout(uow.session, token_hash=principal.token_hash, now=now)
        uow.record(SessionRevoked(principal.user_id, principal.token_hash))
        await escalation_actions.off_call_after_logout(uow, principal, now=now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@api.post("/auth/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(
    body: PasswordChange, principal: CurrentPrincipal, runtime: RuntimeDep
) -> Response:
    """A staff member's own new password: every token of theirs stops working (log in
    again), and their open sockets close with 4401."""
    if not principal.is_staff:
        raise Forbidden("seekers have no password")
    await identity_service.change_own_password(
        runtime.db,
        settings=runtime.settings,
        principal=principal,
        current_password=body.current_password,
        new_password=body.new_password,
        now=utcnow(),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@api.get("/me", response_model=Me)
async def me(principal: CurrentPrincipal, runtime: RuntimeDep) -> Me:
    answer = Me(
        user_id=principal.user_id,
        role=principal.role,
        alias=principal.alias,
        languages=list(principal.languages),
    )
    if not principal.is_staff:
        return answer
    async with runtime.db.reader() as session:
        user = await identity_service.get_staff(session, principal.user_id)
        return answer.model_copy(
            update={
                "on_call": user.on_call,
                "available": user.available,
                "capacity": user.capacity,
                "auto_assign": user.auto_assign,
                "max_concurrent_chats": user.max_concurrent_chats,
            }
        )


@api.get("/staff", response_model=list[StaffOut])
async def list_staff(_: AdminPrincipal, runtime: RuntimeDep) -> list[StaffOut]:
    async with runtime.db.sessionmaker() as session:
        users = await session.scalars(select(StaffUser).order_by(StaffUser.username))
        return [StaffOut.model_validate(u) for u in users]


@api.post("/staff", status_code=status.HTTP_201_CREATED, response_model=StaffOut)
async def create_staff(
    body: StaffCreate, principal: AdminPrincipal, runtime: RuntimeDep
) -> StaffOut:
    async with runtime.db.unit_of_work() as uow:
        user = await identity_service.create_staff(
            uow.session,
            username=body.username,
            password=body.password,
            role=body.role,
            languages=body.languages,
            topics=body.topics,
            max_concurrent_chats=body.max_concurrent_chats,
            trained=body.trained,
            backup_rank=body.backup_rank,
            now=utcnow(),
            actor=principal,
        )
    return StaffOut.model_validate(user)


@api.patch("/staff/{user_id}", response_model=StaffOut)
async def update_staff(
    user_id: str, body: StaffUpdate, principal: AdminPrincipal, runtime: RuntimeDep
) -> StaffOut:
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if changes.get("active") is False and user_id == principal.user_id:
        # It would sign them out at once; a lone admin could then come back only through
        # the command line. Another admin may do it.
        raise Forbidden("you cannot deactivate your own account; another admin can")
    async with runtime.db.unit_of_work() as uow:
        user = await identity_service.update_staff(
            uow.session, user_id=user_id, changes=changes, now=utcnow(), actor=principal
        )
        if identity_service.revokes_sessions(changes):
            # A new password or deactivation: every open socket of the account closes at
            # once with 4401, on every process.
            uow.record(SessionRevoked(user.id))
        elif "max_concurrent_chats" in changes and user.role == Role.volunteer.value:
            # The console's choice of capacity is bounded by it: told now, not at a reload.
            uow.record(
                AccountLimitsChanged(
                    volunteer_id=user.id,
                    available=user.available,
                    capacity=user.capacity,
                    auto_assign=user.auto_assign,
                    active_chats=await matching_service.active_chat_count(uow.session, user.id),
                    max_concurrent_chats=user.max_concurrent_chats,
                )
            )
    return StaffOut.model_validate(user)
