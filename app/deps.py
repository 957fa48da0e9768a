"""FastAPI dependencies: the runtime and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from app.db import utcnow
from app.errors import Forbidden, Unauthorized
from app.identity import service as identity_service
from app.identity.models import Role
from app.identity.schemas import LANGUAGE_PATTERN
from app.identity.service import Principal
from app.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_principal(request: Request, runtime: RuntimeDep) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("send Authorization: Bearer <token>")
    async with runtime.db.reader() as session:
        return await identity_service.authenticate(
            session, settings=runtime.settings, token=token.strip(), now=utcnow()
        )


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: Role):  # type: ignore[no-untyped-def]
    async def _check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"this needs one of the roles: {', '.join(roles)}")
        return principal

    return Depends(_check)


AdminPrincipal = Annotated[Principal, require_roles(Role.admin)]
StaffPrincipal = Annotated[Principal, require_roles(Role.volunteer, Role.supervisor, Role.admin)]
SupervisorPrincipal = Annotated[Principal, require_roles(Role.supervisor, Role.admin)]
# ``?language=``: a page asks for what it shows in the language it was switched to.
LanguageQuery = Annotated[str | None, Query(pattern=LANGUAGE_PATTERN, max_length=16)]
