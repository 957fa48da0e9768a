"""Every table, imported in one place so Alembic and the drift test see the whole schema."""

from app.audit import AuditEvent
from app.chat.models import Conversation, Message
from app.db import Base
from app.emergency_share.models import EmergencyShare
from app.escalation.models import ConversationStaff, Escalation, FlaggedGroup, Whisper
from app.identity.models import LoginFailureRun, Seeker, StaffToken, StaffUser
from app.jobs import Lease
from app.outcomes.models import Outcome
from app.presence import Presence
from app.referrals.models import HelplineEntry, Referral
from app.return_code.models import ReturnCode, ReturningSeeker
from app.risk.models import RiskAssessment
from app.roster.models import Shift
from app.safety_plan.models import SafetyPlan
from app.transfer.models import ConversationTransfer
from app.wellbeing.models import Debrief

metadata = Base.metadata

__all__ = [
    "AuditEvent",
    "Conversation",
    "ConversationStaff",
    "ConversationTransfer",
    "Debrief",
    "EmergencyShare",
    "Escalation",
    "FlaggedGroup",
    "HelplineEntry",
    "Lease",
    "LoginFailureRun",
    "Message",
    "Outcome",
    "Presence",
    "Referral",
    "ReturnCode",
    "ReturningSeeker",
    "RiskAssessment",
    "SafetyPlan",
    "Seeker",
    "Shift",
    "StaffToken",
    "StaffUser",
    "Whisper",
    "metadata",
]
