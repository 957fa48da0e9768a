"""Every table, imported in one place so Alembic and the drift test see the whole schema."""

from app.audit import AuditEvent
from app.chat.models import Conversation, Message
from app.db import Base
from app.identity.models import Seeker, StaffToken, StaffUser

metadata = Base.metadata

__all__ = ["AuditEvent", "Conversation", "Message", "Seeker", "StaffToken", "StaffUser", "metadata"]
