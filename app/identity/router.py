"""Seekers, login/logout and staff administration over REST."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from sqlalchemy import select

from app.db import utcnow
from app.deps import AdminPrincipal, CurrentPrincipal, RuntimeDep
from app.errors import Forbidden
from app.identity import service as identity_service
from app.identity.events import SessionRevoked
from app.identity.models import StaffUser
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

api = APIRouter(prefix="/api/v1", tags=["identity"])


@api.post("/seekers", status_code=status.HTTP_201_CREATED, response_model=SeekerCreated)
async def create_seeker(body: SeekerCreate, runtime: RuntimeDep) -> SeekerCreated:
    """Start anonymously. Nothing that identifies the person (IP, user agent) is stored."""
    async with runtime.db.unit_of_work() as uow:
        seeker, token = await identity_service.create_seeker(
            uow.session,
            settings=runtime.settings,
            language=body.language,
            age_band=body.age_band,
            topics=body.topics,
            now=utcnow(),
        )
    return SeekerCreated(
        seeker_token=token,
        alias=seeker.alias,
        seeker_id=seeker.id,
        expires_at=seeker.token_expires_at,
    )


@api.post("/auth/login", response_model=LoginResponse)
async def login(body: LoginRequest, runtime: RuntimeDep) -> LoginResponse:
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
    async with runtime.db.unit_of_work() as uow:
        await identity_service.logout(uow.session, token_hash=principal.token_hash, now=utcnow())
        uow.record(SessionRevoked(principal.user_id, principal.token_hash))
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
    async with runtime.db.unit_of_work() as uow:
        user = await identity_service.update_staff(
            uow.session, user_id=user_id, changes=changes, now=utcnow(), actor=principal
        )
        if identity_service.revokes_sessions(changes):
            # A new password or deactivation: every open socket of the account closes at
            # once with 4401, on every process.
            uow.record(SessionRevoked(user.id))
    return StaffOut.model_validate(user)
