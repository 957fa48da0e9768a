"""Transfer frames, what a resuming staff socket is told of past hand-overs, and the list of
volunteers a chat could go to."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat.access import Access, ConversationView
from app.db import utcnow
from app.deps import RuntimeDep, StaffPrincipal
from app.identity.models import Role
from app.outbound import frames as outbound_frames
from app.realtime import Connection, FrameRouter
from app.transfer import service as transfer_service
from app.transfer.schemas import ConversationTransferFrame, TransferTargets

frames = FrameRouter()


@frames.frame(ConversationTransferFrame, roles=(Role.volunteer, Role.supervisor, Role.admin))
async def transfer(conn: Connection, frame: ConversationTransferFrame) -> None:
    async with conn.runtime.db.unit_of_work() as uow:
        row = await transfer_service.transfer(
            uow,
            conn.principal,
            conversation_id=frame.conversation_id,
            to_volunteer_id=frame.volunteer_id,
            note=frame.note,
            announce=conn.runtime.settings.transfer_announce,
            now=utcnow(),
        )
    conn.send(outbound_frames.transfer_ok(frame.conversation_id, row.id, frame.ref))


@frames.on_resume
async def resume_transfers(
    session: AsyncSession, conversation: ConversationView, access: Access
) -> list[str]:
    """Staff resuming are told the hand-overs so far, notes included (the new volunteer
    reads what the last one wrote)."""
    if not access.is_staff:
        return []
    return [
        outbound_frames.conversation_transferred(view, history=True)
        for view in await transfer_service.history(
            session, conversation.id, level=conversation.risk_level
        )
    ]


api = APIRouter(prefix="/api/v1/conversations", tags=["conversations"])


@api.get("/{conversation_id}/transfer-targets", response_model=TransferTargets)
async def transfer_targets(
    conversation_id: str, principal: StaffPrincipal, runtime: RuntimeDep
) -> dict[str, object]:
    """The volunteers this chat could be handed to now: available, trained, sharing its
    language, with a free slot. For the chat's volunteer, or any supervisor or admin."""
    async with runtime.db.reader() as session:
        found = await transfer_service.targets(
            session, principal, conversation_id=conversation_id, now=utcnow()
        )
    return {"conversation_id": conversation_id, "targets": found}
