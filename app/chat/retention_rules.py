"""What retention empties, as data: the free text kept outside the message tables.

Pure: ``app.chat.retention`` applies it to rows. A free-text value is anything a person
typed (a seeker's words, or a staff member's words about the seeker: a reason, a note);
identifiers, enumerations, levels, times and machine reasons are not free text and stay.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# What a referral's early-closing reason becomes (non-null: a referral closed early is
# known by its reason).
DELETED = "[deleted]"

# Cue marks (app/risk/feedback.py) whose message retention deletes: those not yet
# paraphrased become expired, since nobody can review them any more.
CUE_MARKS_REVIEWABLE = ("open", "reviewed")
CUE_MARK_EXPIRED = "expired"

# Audit action -> the keys of its ``detail`` that hold free text.
AUDIT_FREE_TEXT: dict[str, tuple[str, ...]] = {
    "referral.updated": ("reason",),
    "seeker.reported": ("note",),
    "seeker.blocked": ("note",),
}

# Every Text/String column of the models that is *not* free text, by "table.column" (ids,
# enumerations, hashes, aliases chosen by the system, codes), and the free-text ones that
# retention empties. A test walks the models: a new text column must be put in one of the
# two, so nobody adds free text that outlives retention by accident.
FREE_TEXT_COLUMNS: frozenset[str] = frozenset(
    {
        "messages.text",
        "whispers.text",
        "conversations.wrapup_note",
        "conversations.end_reason",
        "conversations.topics",
        "escalations.reason",
        "escalations.outcome_note",
        "referrals.closed_reason",
        "conversation_transfers.note",
    }
)
# Kept on purpose, with the reason:
KEPT_TEXT_COLUMNS: dict[str, str] = {
    "staff_users.password_hash": "an argon2 hash, not text anyone wrote about a seeker",
    "audit_events.detail": "its free-text keys are emptied (AUDIT_FREE_TEXT)",
    "risk_assessments.answers": "checklist answers: enumerated values only",
    "helplines.entry": "the helpline directory, edited by admins",
    "risk_assessments.reasons": "rule names from the scoring rules",
    "cue_marks.patterns": "pattern references such as en/passive_wish#3",
    "cue_marks.families": "lexicon family names such as passive_wish",
    "referrals.helpline_ids": "directory ids",
    "staff_users.languages": "language codes of a staff account",
    "staff_users.topics": "a staff account's lived-experience tags, set by an admin",
    "cue_candidates.text": (
        "a supervisor's de-identified paraphrase for the cue corpus; refused when it is close "
        "to the seeker's words (app/risk/feedback.py), kept so reviewers can add it by hand"
    ),
}

# Free text that leaves by retention on a schedule of its own (the row, or the column, is
# deleted rather than emptied by ``clear_free_text``), with where that happens:
DELETED_ELSEWHERE: dict[str, str] = {
    "safety_plans.entries": "the plan row is deleted with the messages (app/chat/retention.py)",
    "safety_plans.helplines": "directory ids; the row is deleted with the messages",
    "outcomes.comment": (
        "emptied RETENTION_DAYS after the start of its week (app/outcomes/service.py, "
        "forget_comments); the numbers stay"
    ),
    "debriefs.note": (
        "emptied RETENTION_DAYS after it was written (app/wellbeing/service.py, forget_notes)"
    ),
    "emergency_shares.sealed": (
        "what a seeker shared in an emergency, encrypted; emptied when its escalation is "
        "resolved or 72 hours after it was shared (app/emergency_share/service.py)"
    ),
    "seekers.topics": (
        "a seeker's intake tags (up to 10 of 40 characters, copied into conversations.topics): "
        "emptied with their conversations' text, or RETENTION_DAYS after the session expired "
        "(app/chat/retention.py, clear_free_text and forget_seeker_tags)"
    ),
    "debriefs.wants": "enumerated choices (talk, rest, resources, nothing), not free text",
    "return_codes.plan": (
        "the safety plan a return code keeps: deleted with the code RETURN_CODE_KEEP_DAYS "
        "after it was last used, or at once when the seeker forgets it "
        "(app/return_code/service.py, forget_unused and forget)"
    ),
}


def without_free_text(action: str, detail: Mapping[str, Any]) -> dict[str, Any]:
    """An audit event's detail with its free-text values emptied (keys kept, set to None)."""
    keys = AUDIT_FREE_TEXT.get(action, ())
    return {
        key: (None if key in keys and value is not None else value) for key, value in detail.items()
    }
