"""Referral frames, the referral queue and the helpline directory over REST."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat.access import Access, ConversationView
from app.db import utcnow
from app.deps import AdminPrincipal, RuntimeDep, SupervisorPrincipal
from app.identity.models import Role
from app.outbound import frames as outbound_frames
from app.realtime import Connection, FrameRouter
from app.referrals import service as referral_service
from app.referrals.directory import needs_reverification
from app.referrals.schemas import HelplineVerify, ReferralOffer, ReferralUpdate

frames = FrameRouter()


@frames.frame(ReferralOffer, roles=(Role.volunteer, Role.supervisor, Role.admin))
async def offer(conn: Connection, frame: ReferralOffer) -> None:
    async with conn.runtime.db.unit_of_work() as uow:
        await referral_service.offer(
            uow,
            conn.principal,
            conversation_id=frame.conversation_id,
            helpline_ids=frame.helpline_ids,
            now=utcnow(),
        )


@frames.frame(ReferralUpdate, roles=(Role.volunteer, Role.supervisor, Role.admin))
async def update(conn: Connection, frame: ReferralUpdate) -> None:
    async with conn.runtime.db.unit_of_work() as uow:
        await referral_service.update(
            uow,
            conn.principal,
            referral_id=frame.referral_id,
            status=frame.status,
            reason=frame.reason,
            now=utcnow(),
        )


@frames.on_resume
async def resume_cards(
    session: AsyncSession, conversation: ConversationView, access: Access
) -> list[str]:
    """A seeker resuming gets the conversation's helpline cards again; staff the open
    referral's state."""
    if access.is_staff:
        return [
            outbound_frames.referral_updated(view)
            for view in await referral_service.open_view(session, conversation.id)
        ]
    return [
        outbound_frames.referral_card(card)
        for card in await referral_service.cards_for(session, conversation)
    ]


api = APIRouter(prefix="/api/v1", tags=["referrals"])


@api.get("/helplines")
async def helplines(
    runtime: RuntimeDep, language: str | None = None, region: str | None = None
) -> dict[str, Any]:
    """The directory, filtered; public (a seeker needs it before anything else)."""
    async with runtime.db.sessionmaker() as session:
        directory = await referral_service.current_directory(session)
    lines = directory.filter(language=language, region=region)
    today = utcnow().date()
    return {
        "helplines": [
            {
                **line.render(),
                "verified": line.verified,
                "verified_on": line.verified_on,
                "needs_reverification": needs_reverification(line.verified_on, today),
                "languages": line.languages,
                "region": line.region,
                "channels": line.channels,
                "source": line.source,
                "translations": [t.model_dump() for t in line.translations],
                # What the admin page's editor must send back to keep (PUT replaces).
                "hours_note": line.hours_note,
                "cost": line.cost,
                "language_note": line.language_note,
                "mandatory": line.mandatory,
            }
            for line in lines
        ]
    }


@api.put("/helplines/{helpline_id}")
async def save_helpline(
    helpline_id: str, principal: AdminPrincipal, runtime: RuntimeDep, entry: dict = Body(...)
) -> dict[str, Any]:
    entry = {**entry, "id": helpline_id}
    async with runtime.db.unit_of_work() as uow:
        line = await referral_service.save_helpline(uow, principal, entry=entry, now=utcnow())
    return {**line.render(), "verified": line.verified}


@api.delete("/helplines/{helpline_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_helpline(
    helpline_id: str, principal: AdminPrincipal, runtime: RuntimeDep
) -> Response:
    """Remove an entry (a line that closed); Tele-MANAS and 112 stay."""
    async with runtime.db.unit_of_work() as uow:
        await referral_service.remove_helpline(
            uow, principal, helpline_id=helpline_id, now=utcnow()
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@api.post("/helplines/{helpline_id}/verify")
async def verify_helpline(
    helpline_id: str, body: HelplineVerify, principal: AdminPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    """An admin confirmed the entry's numbers work (today, unless ``verified_on`` says)."""
    now = utcnow()
    async with runtime.db.unit_of_work() as uow:
        line = await referral_service.verify_helpline(
            uow,
            principal,
            helpline_id=helpline_id,
            verified_on=body.verified_on or now.date(),
            now=now,
        )
    return {
        **line.render(),
        "verified": line.verified,
        "verified_on": line.verified_on,
        "needs_reverification": needs_reverification(line.verified_on, now.date()),
    }


@api.get("/referrals")
async def referral_queue(_: SupervisorPrincipal, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.sessionmaker() as session:
        return {"referrals": await referral_service.open_queue(session)}
