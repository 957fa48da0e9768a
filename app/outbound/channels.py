"""The bus channels: who hears what (see ``app.outbound.audience``).

Only the outbound package and the socket layer name channels; services never do.
"""

from __future__ import annotations

QUEUE_CHANNEL = "queue"  # anything that changes the queue: the notifier refreshes
STAFF_CHANNEL = "staff"  # every staff socket (volunteers, supervisors, admins)
SUPERVISORS_CHANNEL = "supervisors"  # supervisor and admin sockets only


def conversation_channel(conversation_id: str) -> str:
    """Everyone following the conversation, the seeker included."""
    return f"conv:{conversation_id}"


def staff_channel(conversation_id: str) -> str:
    """Staff following the conversation: cues, assessments, whispers."""
    return f"conv:{conversation_id}:staff"


def user_channel(user_id: str) -> str:
    """Every socket of one user, on any process."""
    return f"user:{user_id}"
