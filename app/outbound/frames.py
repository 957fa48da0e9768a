"""Every frame the server sends, written here and nowhere else (docs/protocol.md).

A frame is serialised once and the same string goes to every recipient. ``FRAMES`` lists
each server frame type with who receives it; it mirrors docs/protocol.md, and
tests/test_architecture.py holds the two (and this module) to each other.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from app.chat.events import ConversationClosed, LanguageChanged, MessagesRead, Typing
from app.emergency_share.events import ShareRequested, ShareView, ShareWithdrawn
from app.escalation.events import EscalationView, FlaggedWaiting, StaffEntered, WhisperWritten
from app.referrals.events import ReferralCard, ReferralView
from app.return_code.events import ReturningView
from app.risk.events import (
    ChecklistProgress,
    CueFlagged,
    CueMarked,
    MethodCueEnded,
    MethodCueScreened,
    MethodCueView,
    RiskAssessed,
)
from app.safety_plan.events import SafetyPlanView
from app.transfer.events import TransferView
from app.wellbeing.events import DebriefSubmitted

# Frame type -> who gets it. Kept in the order of docs/protocol.md.
FRAMES: dict[str, str] = {
    "auth.ok": "the socket that authenticated",
    "pong": "the socket that pinged",
    "queue.status": "the waiting seeker's sockets",
    "queue.summary": "available volunteers and supervisors",
    "availability.ok": "the volunteer's socket",
    "conversation.started": "the seeker and the volunteer",
    "seeker.returning": "staff resuming a returning seeker's conversation",
    "chat.message": "everyone in the conversation, the sender included",
    "chat.ack": "the sender's socket",
    "chat.typing": "the others in the conversation",
    "chat.read": "the others in the conversation",
    "conversation.resumed": "the resuming socket",
    "conversation.ended": "everyone in the conversation",
    "conversation.note.ok": "the volunteer's socket",
    "conversation.language": "everyone in the conversation",
    "conversation.transfer.ok": "the socket that handed the chat over",
    "conversation.transferred": (
        "the volunteer who had the chat, supervisors and admins; staff resuming it"
    ),
    "conversation.handed_over": "the seeker",
    "error": "the socket whose frame failed",
    "oncall.ok": "the supervisor's socket",
    "risk.checklist": "the staff member running it",
    "risk.assessed": "the conversation's staff",
    "risk.cue": "the conversation's staff",
    "cue.marked": "the conversation's staff",
    "escalation.page": "the paged supervisors and admins",
    "escalation.updated": "the conversation's volunteer, supervisors and admins",
    "flagged.waiting": "supervisors and admins",
    "chat.whisper": "the conversation's staff",
    "conversation.joined": "everyone in the conversation",
    "conversation.taken_over": "everyone in the conversation",
    "referral.card": "everyone in the conversation",
    "referral.updated": "the conversation's volunteer, supervisors and admins",
    "staff.alert": (
        "staff (nobody_on_call), the conversation's volunteer, supervisors and admins "
        "(quick_exit, seeker_blocked), supervisors and admins (seeker_reported) or the "
        "supervisors alerted (method_cue), or the escalation's supervisor (else supervisors "
        "and admins) (volunteer_vanished)"
    ),
    "method_cue.screened": "supervisors and admins",
    "method_cue.ended": "supervisors and admins",
    "volunteer.cooldown": "the volunteer",
    "seeker.report.ok": "the reporting staff member's socket",
    "seeker.block.ok": "the blocking supervisor's socket",
    "safety_plan": "everyone in the conversation",
    "debrief.received": "the supervisor who handled the escalation (else supervisors, admins)",
    "emergency_share.request": "the seeker's sockets",
    "emergency_share.withdrawn": "the seeker's sockets",
    "emergency_share.ok": "the seeker's answering socket",
    "emergency_share.updated": "the supervisor who asked (who acknowledged the escalation)",
}


def _default(value: object) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


# One encoder for every frame: ``json.dumps`` with any non-default option builds a new
# encoder per call, a noticeable part of serialising a small frame.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_default)
# Error frames escape every non-ASCII character (``\ud800``): an error may quote what the
# client sent (its ``ref``, a key's name), and a lone surrogate there cannot be written as
# UTF-8, so the socket would fail instead of answering.
_ASCII_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True, default=_default)


def dumps(frame: dict[str, Any]) -> str:
    return _ENCODER.encode(frame)


def iso(value: datetime) -> str:
    """``2026-12-04T20:35:25.123456Z``: the wall-clock time with microseconds (UTC by
    convention everywhere in the app). The same text as ``strftime("%Y-%m-%dT%H:%M:%S.%fZ")``
    at a third less of the cost: once per message sent."""
    return f"{value.replace(tzinfo=None).isoformat(timespec='microseconds')}Z"


# -- connection ---------------------------------------------------------------------------


def error(code: str, message: str, ref: str | None = None) -> str:
    return _ASCII_ENCODER.encode({"type": "error", "code": code, "message": message, "ref": ref})


def auth_ok(
    *, role: str, user_id: str, alias: str, active_conversations: list[dict[str, Any]]
) -> str:
    return dumps(
        {
            "type": "auth.ok",
            "role": role,
            "user_id": user_id,
            "alias": alias,
            "active_conversations": active_conversations,
        }
    )


def pong(ts: datetime, ref: str | None) -> str:
    return dumps({"type": "pong", "ts": ts, "ref": ref})


# -- chat ---------------------------------------------------------------------------------

# The two frames written for every chat message (the sender's ack, and the message to each
# socket) are assembled here rather than by the encoder: a third of the time, the same bytes
# (tests/chat/test_protocol_frames.py holds them to ``dumps``).
_string = json.encoder.encode_basestring  # C, when CPython has its _json module


def _stamp(value: datetime | str) -> str:
    return _string(value if isinstance(value, str) else iso(value))


class StoredMessage(Protocol):
    """What a ``chat.message`` frame is made of: ``MessageStored``, a ``Message`` or a row."""

    @property
    def conversation_id(self) -> str: ...
    @property
    def seq(self) -> int: ...
    @property
    def sender_role(self) -> str: ...
    @property
    def sender_alias(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def sent_at(self) -> datetime | str: ...
    @property
    def client_msg_id(self) -> str: ...


def chat_message(message: StoredMessage) -> str:
    """``chat_message_frame`` of a stored message (the same bytes; written out, as this runs
    for every message delivered)."""
    return (
        '{"type":"chat.message","conversation_id":'
        + _string(message.conversation_id)
        + ',"seq":'
        + str(int(message.seq))
        + ',"sender_role":'
        + _string(message.sender_role)
        + ',"sender_alias":'
        + _string(message.sender_alias)
        + ',"text":'
        + _string(message.text)
        + ',"sent_at":'
        + _stamp(message.sent_at)
        + ',"client_msg_id":'
        + _string(message.client_msg_id)
        + "}"
    )


def chat_message_frame(
    *,
    conversation_id: str,
    seq: int,
    sender_role: str,
    sender_alias: str,
    text: str,
    sent_at: datetime | str,  # a str: already ``iso``
    client_msg_id: str,
) -> str:
    return (
        '{"type":"chat.message","conversation_id":'
        + _string(conversation_id)
        + ',"seq":'
        + str(int(seq))
        + ',"sender_role":'
        + _string(sender_role)
        + ',"sender_alias":'
        + _string(sender_alias)
        + ',"text":'
        + _string(text)
        + ',"sent_at":'
        + _stamp(sent_at)
        + ',"client_msg_id":'
        + _string(client_msg_id)
        + "}"
    )


def ack_frame(
    *,
    conversation_id: str,
    client_msg_id: str,
    seq: int,
    sent_at: datetime | str,  # a str: already ``iso``
    duplicate: bool,
    ref: str | None,
) -> str:
    return (
        '{"type":"chat.ack","conversation_id":'
        + _string(conversation_id)
        + ',"client_msg_id":'
        + _string(client_msg_id)
        + ',"seq":'
        + str(int(seq))
        + ',"sent_at":'
        + _stamp(sent_at)
        + (',"duplicate":true,"ref":' if duplicate else ',"duplicate":false,"ref":')
        + ("null" if ref is None else _string(ref))
        + "}"
    )


def chat_typing(event: Typing) -> str:
    return dumps(
        {
            "type": "chat.typing",
            "conversation_id": event.conversation_id,
            "sender_role": event.sender_role,
            "typing": event.typing,
        }
    )


def chat_read(event: MessagesRead) -> str:
    return dumps(
        {
            "type": "chat.read",
            "conversation_id": event.conversation_id,
            "reader_role": event.reader_role,
            "seq": event.seq,
        }
    )


def conversation_resumed(
    *, conversation_id: str, status: str, last_seq: int, peer_read_seq: int, ref: str | None
) -> str:
    return dumps(
        {
            "type": "conversation.resumed",
            "conversation_id": conversation_id,
            "status": status,
            "last_seq": last_seq,
            "peer_read_seq": peer_read_seq,
            "ref": ref,
        }
    )


def conversation_ended(event: ConversationClosed) -> str:
    return dumps(
        {
            "type": "conversation.ended",
            "conversation_id": event.conversation_id,
            "by": event.by,
            "reason": event.reason,
            "status": event.status,
            "ended_at": event.ended_at,
        }
    )


def conversation_language(event: LanguageChanged) -> str:
    return dumps(
        {
            "type": "conversation.language",
            "conversation_id": event.conversation_id,
            "language": event.language,
            "previous": event.previous,
        }
    )


def note_ok(conversation_id: str, ref: str | None) -> str:
    return dumps({"type": "conversation.note.ok", "conversation_id": conversation_id, "ref": ref})


# -- queue --------------------------------------------------------------------------------


def queue_status(
    *,
    conversation_id: str,
    position: int,
    estimated_wait_s: int | None,
    eligible_online: int,
) -> str:
    return dumps(
        {
            "type": "queue.status",
            "conversation_id": conversation_id,
            "position": position,
            "estimated_wait_s": estimated_wait_s,
            "eligible_online": eligible_online,
            "no_volunteer_online": eligible_online == 0,
        }
    )


def queue_summary(summary: dict[str, Any]) -> str:
    return dumps({"type": "queue.summary", **summary})


def availability_ok(
    *,
    available: bool,
    capacity: int,
    auto_assign: bool,
    active_chats: int,
    max_concurrent_chats: int,
    ref: str | None,
) -> str:
    return dumps(
        {
            "type": "availability.ok",
            "available": available,
            "capacity": capacity,
            "auto_assign": auto_assign,
            "active_chats": active_chats,
            "max_concurrent_chats": max_concurrent_chats,
            "ref": ref,
        }
    )


def conversation_started(
    *,
    conversation_id: str,
    peer_alias: str,
    your_role: str,
    language: str,
    topics: Sequence[str],
    started_at: datetime | None,
    last_seq: int,
    handover: TransferView | None = None,
    returning: ReturningView | None = None,
) -> str:
    frame: dict[str, Any] = {
        "type": "conversation.started",
        "conversation_id": conversation_id,
        "peer_alias": peer_alias,
        "your_role": your_role,
        "language": language,
        "topics": list(topics),
        "started_at": started_at,
        "last_seq": last_seq,
        "returning": None
        if returning is None
        else {"since": returning.since, "chats_before": returning.chats_before},
    }
    if handover is not None:
        # Only to the volunteer a chat was handed to: who had it, why, and the note.
        frame["handover"] = transfer_fields(handover)
    return dumps(frame)


# -- transfer -----------------------------------------------------------------------------


def transfer_fields(view: TransferView) -> dict[str, Any]:
    """A hand-over as staff see it (``conversation.transferred``, ``handover``)."""
    return {
        "transfer_id": view.transfer_id,
        "conversation_id": view.conversation_id,
        "to": "queue" if view.to_alias is None else "volunteer",
        "from_alias": view.from_alias,
        "to_alias": view.to_alias,
        "by_role": view.by_role,
        "by_alias": view.by_alias,
        "reason": view.reason,
        "note": view.note,
        "level": view.level,
        "at": view.at,
    }


def conversation_transferred(view: TransferView, *, history: bool = False) -> str:
    """``history``: replayed to a socket resuming the conversation, not happening now."""
    return dumps({"type": "conversation.transferred", **transfer_fields(view), "history": history})


def transfer_ok(conversation_id: str, transfer_id: str, ref: str | None) -> str:
    return dumps(
        {
            "type": "conversation.transfer.ok",
            "conversation_id": conversation_id,
            "transfer_id": transfer_id,
            "ref": ref,
        }
    )


def conversation_handed_over(
    *, conversation_id: str, to: str, peer_alias: str | None, reason: str, announce: bool
) -> str:
    """What the seeker is told: never the note, never who decided."""
    return dumps(
        {
            "type": "conversation.handed_over",
            "conversation_id": conversation_id,
            "to": to,
            "peer_alias": peer_alias,
            "reason": reason,
            "announce": announce,
        }
    )


def seeker_returning(conversation_id: str, returning: ReturningView) -> str:
    return dumps(
        {
            "type": "seeker.returning",
            "conversation_id": conversation_id,
            "since": returning.since,
            "chats_before": returning.chats_before,
        }
    )


# -- risk ---------------------------------------------------------------------------------


def risk_checklist(progress: ChecklistProgress) -> str:
    return dumps(
        {
            "type": "risk.checklist",
            "conversation_id": progress.conversation_id,
            "assessment_id": progress.assessment_id,
            "item": progress.item,
            "answers": progress.answers,
            "answered": progress.answered,
            "position": progress.position,
            "about_total": progress.about_total,
            "complete": progress.item is None,
            "provisional_level": progress.provisional_level,
        }
    )


def risk_assessed(event: RiskAssessed) -> str:
    return dumps(
        {
            "type": "risk.assessed",
            "conversation_id": event.conversation_id,
            "level": event.level,
            "assessed_level": event.assessed_level,
            "reasons": list(event.reasons),
            "actions": list(event.actions),
            "note": event.note,
        }
    )


def risk_cue(event: CueFlagged) -> str:
    return dumps(
        {
            "type": "risk.cue",
            "conversation_id": event.conversation_id,
            "seq": event.seq,
            "cue_class": event.cue_class,
        }
    )


def cue_marked(event: CueMarked) -> str:
    return dumps(
        {
            "type": "cue.marked",
            "conversation_id": event.conversation_id,
            "seq": event.seq,
            "mark_id": event.mark_id,
            "kind": event.kind,
        }
    )


# -- escalation ---------------------------------------------------------------------------


def escalation_page(view: EscalationView) -> str:
    return dumps(
        {
            "type": "escalation.page",
            "escalation_id": view.escalation_id,
            "conversation_id": view.conversation_id,
            "level": view.level,
            "tier": view.tier,
            "page": view.pages,
            "reason": view.reason,
            "source": view.source,
            "ack_deadline": view.ack_deadline,
        }
    )


def escalation_fields(view: EscalationView, volunteer_alias: str | None = None) -> dict[str, Any]:
    """The fields of ``escalation.updated`` (the supervisors' REST list adds the alias)."""
    return {
        "escalation_id": view.escalation_id,
        "conversation_id": view.conversation_id,
        "level": view.level,
        "source": view.source,
        "reason": view.reason,
        "status": view.status,
        "tier": view.tier,
        "pages": view.pages,
        "opened_at": view.opened_at,
        "age_s": view.age_s,
        "ack_deadline": view.ack_deadline,
        "acknowledged_by": view.acknowledged_by,
        "acknowledged_at": view.acknowledged_at,
        "outcome": view.outcome,
        "volunteer_alias": volunteer_alias,
    }


def escalation_updated(view: EscalationView) -> str:
    return dumps({"type": "escalation.updated", **escalation_fields(view)})


def flagged_waiting_fields(event: FlaggedWaiting) -> dict[str, Any]:
    """The fields of ``flagged.waiting`` (``GET /api/v1/escalations/flagged-waiting`` too)."""
    return {
        "count": event.count,
        "oldest_wait_s": event.oldest_wait_s,
        "alert": event.alert,
        "pages": event.pages,
        "acknowledged_by": event.acknowledged_by,
        "acknowledged_at": event.acknowledged_at,
        "sent_at": event.sent_at,
    }


def flagged_waiting(event: FlaggedWaiting) -> str:
    return dumps({"type": "flagged.waiting", **flagged_waiting_fields(event)})


def oncall_ok(*, on_call: bool, on_call_count: int, ref: str | None) -> str:
    return dumps(
        {"type": "oncall.ok", "on_call": on_call, "on_call_count": on_call_count, "ref": ref}
    )


def staff_alert(code: str, message: str, **extra: Any) -> str:
    return dumps({"type": "staff.alert", "code": code, "message": message, **extra})


def method_cue_screened(event: MethodCueScreened) -> str:
    return dumps(
        {
            "type": "method_cue.screened",
            "conversation_id": event.conversation_id,
            "level": event.level,
        }
    )


def method_cue_ended(event: MethodCueEnded) -> str:
    return dumps({"type": "method_cue.ended", "conversation_id": event.conversation_id})


def method_cue_fields(view: MethodCueView) -> dict[str, Any]:
    """One chat of ``GET /api/v1/method-cues``: what a ``method_cue`` alert says about it,
    and since when, never what the seeker wrote."""
    return {
        "conversation_id": view.conversation_id,
        "seq": view.seq,
        "flagged_at": iso(view.flagged_at),
        "level": view.level,
        "status": view.status,
    }


def volunteer_cooldown(*, conversation_id: str, until: datetime, debrief: bool = True) -> str:
    return dumps(
        {
            "type": "volunteer.cooldown",
            "conversation_id": conversation_id,
            "until": until,
            "debrief": debrief,
        }
    )


def safety_plan(plan: SafetyPlanView) -> str:
    return dumps(
        {
            "type": "safety_plan",
            "conversation_id": plan.conversation_id,
            "plan_id": plan.plan_id,
            "template": plan.template,
            "language": plan.language,
            "intro": plan.intro,
            "steps": plan.steps,
            "helplines": plan.helplines,
            "revision": plan.revision,
            "updated_at": plan.updated_at,
            "updated_by_role": plan.updated_by_role,
        }
    )


def debrief_received(event: DebriefSubmitted) -> str:
    return dumps(
        {
            "type": "debrief.received",
            "debrief_id": event.debrief_id,
            "conversation_id": event.conversation_id,
            "volunteer_alias": event.volunteer_alias,
            "level": event.level,
            "feeling": event.feeling,
            "wants": event.wants,
            "note": event.note,
            "created_at": event.created_at,
        }
    )


def staff_entered(event: StaffEntered) -> str:
    return dumps(
        {
            "type": "conversation.joined" if event.mode == "joined" else "conversation.taken_over",
            "conversation_id": event.conversation_id,
            "staff_alias": event.staff_alias,
            "staff_role": "supervisor",
        }
    )


def chat_whisper(event: WhisperWritten) -> str:
    return dumps(
        {
            "type": "chat.whisper",
            "conversation_id": event.conversation_id,
            "whisper_id": event.whisper_id,
            "sender_role": event.sender_role,
            "sender_alias": event.sender_alias,
            "text": event.text,
            "sent_at": event.sent_at,
        }
    )


# -- referrals ----------------------------------------------------------------------------


def referral_card(card: ReferralCard) -> str:
    return dumps(
        {
            "type": "referral.card",
            "conversation_id": card.conversation_id,
            "referral_id": card.referral_id,
            "intro": card.intro,
            "emergency": card.emergency,
            "helplines": list(card.helplines),
        }
    )


def referral_fields(view: ReferralView) -> dict[str, Any]:
    """The fields of ``referral.updated`` (the supervisors' REST list uses them too)."""
    return {
        "referral_id": view.referral_id,
        "conversation_id": view.conversation_id,
        "helpline_ids": list(view.helpline_ids),
        "level": view.level,
        "status": view.status,
        "closed_reason": view.closed_reason,
        "created_at": view.created_at,
        "updated_at": view.updated_at,
        "next_step": view.next_step,
    }


def referral_updated(view: ReferralView) -> str:
    return dumps({"type": "referral.updated", **referral_fields(view)})


# -- moderation ---------------------------------------------------------------------------


def seeker_report_ok(conversation_id: str, ref: str | None) -> str:
    return dumps({"type": "seeker.report.ok", "conversation_id": conversation_id, "ref": ref})


def seeker_block_ok(conversation_id: str, closed: Sequence[str], ref: str | None) -> str:
    return dumps(
        {
            "type": "seeker.block.ok",
            "conversation_id": conversation_id,
            "closed": list(closed),
            "ref": ref,
        }
    )


# -- consented emergency share --------------------------------------------------------------
# Never what the seeker shared: only that they did, and of which kind.


def emergency_share_request(e: ShareRequested) -> str:
    return dumps(
        {
            "type": "emergency_share.request",
            "request_id": e.share_id,
            "conversation_id": e.conversation_id,
            "supervisor_alias": e.supervisor_alias,
            "keep_hours": e.keep_hours,
            "requested_at": e.requested_at,
        }
    )


def emergency_share_withdrawn(e: ShareWithdrawn) -> str:
    return dumps(
        {
            "type": "emergency_share.withdrawn",
            "request_id": e.share_id,
            "conversation_id": e.conversation_id,
        }
    )


def emergency_share_ok(share: ShareView, ref: str | None) -> str:
    return dumps(
        {
            "type": "emergency_share.ok",
            "request_id": share.share_id,
            "conversation_id": share.conversation_id,
            "status": share.status,
            "ref": ref,
        }
    )


def emergency_share_updated(share: ShareView) -> str:
    return dumps(
        {
            "type": "emergency_share.updated",
            "share_id": share.share_id,
            "escalation_id": share.escalation_id,
            "conversation_id": share.conversation_id,
            "status": share.status,
            "requested_at": share.requested_at,
            "answered_at": share.answered_at,
            "has_phone": share.has_phone,
            "has_location": share.has_location,
            "delete_by": share.delete_by,
            "deleted_at": share.deleted_at,
            "deleted_reason": share.deleted_reason,
        }
    )
