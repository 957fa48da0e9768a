"""The seeker's language, kept as chosen: switching the page's language mid-chat tells the
server, so the volunteer knows (and a reload keeps the choice).

Invariants:
- Only the seeker changes it, only in an open conversation; the conversation's and the
  seeker's language change together.
- Everyone in the conversation gets ``conversation.language`` (a waiting conversation is then
  offered to volunteers of the new language).
"""

from __future__ import annotations

from sqlalchemy import update

from app.chat import access as chat_access
from app.chat.events import LanguageChanged
from app.chat.models import Conversation
from app.chat.policy import OPEN_STATUSES
from app.db import UnitOfWork
from app.errors import Conflict, Forbidden
from app.identity.models import Role, Seeker
from app.identity.service import Principal


async def change(
    uow: UnitOfWork, principal: Principal, *, conversation_id: str, language: str
) -> Conversation:
    """Set the conversation's language; a no-op when it is already that one."""
    conversation, access = await chat_access.get_for(
        uow.session, principal, conversation_id, lock=True
    )
    if access.role is not Role.seeker:
        raise Forbidden("only the seeker chooses the conversation's language")
    if conversation.status not in OPEN_STATUSES:
        raise Conflict("this conversation has ended", code="conversation_closed")
    previous = conversation.language
    if previous == language:
        return conversation
    conversation.language = language
    await uow.session.execute(
        update(Seeker).where(Seeker.id == principal.user_id).values(language=language)
    )
    await uow.session.flush()
    uow.record(LanguageChanged(conversation.id, language, previous))
    return conversation
