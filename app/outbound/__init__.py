"""One way out: domain events in, frames on bus channels out.

Services record what happened (``uow.record(MessageStored(...))``) and return; after the
commit, ``app.db`` hands the events here. ``deliveries`` maps each event type to its
audience (the channels below) and its frame (``app.outbound.frames``), so who hears what is
decided in one place:

- a conversation's messages, reads, typing, ending, joins, helpline cards and safety plan:
  everyone in it;
- its cues, assessments and whispers: its staff;
- escalation and referral updates: the conversation's volunteer, supervisors and admins
  (never every volunteer: they carry free-text reasons);
- quick-exit and block alerts: the same (staff frames of a conversation never reach other
  volunteers); reports of an abusive seeker: supervisors and admins;
- pages and method-cue alerts: the supervisors chosen; cool-downs and starts: the people named;
  that a method-cue alert was answered by a screen, or ended with its chat: supervisors and
  admins.
- the group of flagged seekers waiting (pages and quiet updates): supervisors and admins.
- a volunteer's debrief: the supervisor who handled the escalation (else every supervisor).
- an emergency share request (or its withdrawal): the seeker's sockets only; its status:
  the supervisor who asked. Never the conversation's channels, so no volunteer hears of it.
- a hand-over: its note to supervisors, admins and the volunteers giving and receiving it;
  the seeker only that it happened; a vanished volunteer's open escalation: its supervisor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from app import logs, metrics
from app.bus import Bus, Event
from app.chat.events import (
    ConversationClosed,
    LanguageChanged,
    MessagesRead,
    MessageStored,
    SeekerQuickExited,
    Typing,
)
from app.emergency_share.events import ShareChanged, ShareRequested, ShareWithdrawn
from app.escalation.events import (
    CooldownStarted,
    EscalationPaged,
    EscalationUpdated,
    FlaggedWaiting,
    NobodyOnCall,
    StaffEntered,
    WhisperWritten,
)
from app.identity.events import SessionRevoked
from app.matching.events import AccountLimitsChanged, ConversationStarted, QueueChanged
from app.moderation.events import SeekerBlocked, SeekerReported
from app.outbound import frames
from app.outbound.channels import (
    QUEUE_CHANNEL,
    STAFF_CHANNEL,
    SUPERVISORS_CHANNEL,
    conversation_channel,
    staff_channel,
    user_channel,
)
from app.referrals.events import ReferralCard, ReferralUpdated
from app.risk.events import (
    CueFlagged,
    CueMarked,
    MethodCueAlerted,
    MethodCueEnded,
    MethodCueScreened,
    RiskAssessed,
)
from app.safety_plan.events import SafetyPlanChanged
from app.transfer.events import ConversationTransferred, VolunteerVanished
from app.wellbeing.events import DebriefSubmitted

Delivery = tuple[str, Event]

_QUEUE_CHANGED = (QUEUE_CHANNEL, Event("queue.changed", ""))


def _message(e: MessageStored) -> list[Delivery]:
    return [message_delivery(e)]


def message_delivery(e: MessageStored) -> Delivery:
    """The one delivery of a stored message (the chat writer's hot path calls this, and it
    is counted here: once per stored message, on either send path)."""
    metrics.message_stored(e.sender_role)
    return (
        conversation_channel(e.conversation_id),
        Event("chat.message", frames.chat_message(e), e.conversation_id, e.seq),
    )


def _read(e: MessagesRead) -> list[Delivery]:
    return [
        (
            conversation_channel(e.conversation_id),
            Event("chat.read", frames.chat_read(e), e.conversation_id, exclude=e.reader_id),
        )
    ]


def _typing(e: Typing) -> list[Delivery]:
    return [
        (
            conversation_channel(e.conversation_id),
            Event("chat.typing", frames.chat_typing(e), e.conversation_id, exclude=e.typist_id),
        )
    ]


def _closed(e: ConversationClosed) -> list[Delivery]:
    event = Event("conversation.ended", frames.conversation_ended(e), e.conversation_id)
    return [(conversation_channel(e.conversation_id), event), _QUEUE_CHANGED]


def _language(e: LanguageChanged) -> list[Delivery]:
    frame = frames.conversation_language(e)
    event = Event("conversation.language", frame, e.conversation_id)
    return [(conversation_channel(e.conversation_id), event), _QUEUE_CHANGED]


def _quick_exited(e: SeekerQuickExited) -> list[Delivery]:
    frame = frames.staff_alert(
        "quick_exit",
        "A seeker at risk used quick exit: the chat has ended.",
        conversation_id=e.conversation_id,
        level=e.level,
    )
    return _conversation_staff(e.volunteer_id, Event("staff.alert", frame))


def _limits_changed(e: AccountLimitsChanged) -> list[Delivery]:
    frame = frames.availability_ok(
        available=e.available,
        capacity=e.capacity,
        auto_assign=e.auto_assign,
        active_chats=e.active_chats,
        max_concurrent_chats=e.max_concurrent_chats,
        ref=None,
    )
    return [(user_channel(e.volunteer_id), Event("availability.ok", frame))]


def _queue_changed(_: QueueChanged) -> list[Delivery]:
    return [_QUEUE_CHANGED]


def _started(e: ConversationStarted) -> list[Delivery]:
    def frame(your_role: str, peer_alias: str) -> str:
        return frames.conversation_started(
            conversation_id=e.conversation_id,
            peer_alias=peer_alias,
            your_role=your_role,
            language=e.language,
            topics=e.topics,
            started_at=e.started_at,
            last_seq=e.last_seq,
            returning=e.returning,
        )

    kind = "conversation.started"
    return [
        (
            user_channel(e.seeker_id),
            Event(kind, frame("seeker", e.volunteer_alias), e.conversation_id),
        ),
        (
            user_channel(e.volunteer_id),
            Event(kind, frame("volunteer", e.seeker_alias), e.conversation_id),
        ),
        _QUEUE_CHANGED,
    ]


def _transferred(e: ConversationTransferred) -> list[Delivery]:
    """Supervisors and admins, and the volunteer who had the chat (their sockets stop
    following it: ``conversation.released``), get the hand-over with its note; the volunteer
    who gets it, a ``conversation.started`` carrying the note (their sockets read the whole
    history); the seeker, ``conversation.handed_over`` without it (``conversation.requeued``
    when it is back in the queue, so their sockets get queue positions again)."""
    cid = e.conversation_id
    staff_frame = frames.conversation_transferred(e.view)
    to_queue = e.to_volunteer_id is None
    seeker_frame = frames.conversation_handed_over(
        conversation_id=cid,
        to="queue" if to_queue else "volunteer",
        peer_alias=e.view.to_alias,
        reason=e.view.reason,
        announce=e.announce,
    )
    out: list[Delivery] = [(SUPERVISORS_CHANNEL, Event("conversation.transferred", staff_frame))]
    if e.from_volunteer_id is not None:
        out.append(
            (user_channel(e.from_volunteer_id), Event("conversation.released", staff_frame, cid))
        )
    if e.to_volunteer_id is not None:
        started = frames.conversation_started(
            conversation_id=cid,
            peer_alias=e.seeker_alias,
            your_role="volunteer",
            language=e.language,
            topics=e.topics,
            started_at=e.started_at,
            last_seq=e.last_seq,
            handover=e.view,
        )
        out.append((user_channel(e.to_volunteer_id), Event("conversation.started", started, cid)))
    kind = "conversation.requeued" if to_queue else "conversation.handed_over"
    out.append((user_channel(e.seeker_id), Event(kind, seeker_frame, cid)))
    out.append(_QUEUE_CHANGED)
    return out


def _vanished(e: VolunteerVanished) -> list[Delivery]:
    frame = frames.staff_alert(
        "volunteer_vanished",
        "The volunteer of a chat with an open escalation lost their connection: the chat is "
        "back at the front of the queue.",
        conversation_id=e.conversation_id,
        escalation_id=e.escalation_id,
        level=e.level,
    )
    channel = SUPERVISORS_CHANNEL if e.supervisor_id is None else user_channel(e.supervisor_id)
    return [(channel, Event("staff.alert", frame))]


def _revoked(e: SessionRevoked) -> list[Delivery]:
    return [(user_channel(e.user_id), Event("session.revoked", e.token_hash or ""))]


def _assessed(e: RiskAssessed) -> list[Delivery]:
    return [(staff_channel(e.conversation_id), Event("risk.assessed", frames.risk_assessed(e)))]


def _cue(e: CueFlagged) -> list[Delivery]:
    return [(staff_channel(e.conversation_id), Event("risk.cue", frames.risk_cue(e)))]


def _marked(e: CueMarked) -> list[Delivery]:
    return [(staff_channel(e.conversation_id), Event("cue.marked", frames.cue_marked(e)))]


def _method_cue(e: MethodCueAlerted) -> list[Delivery]:
    alert = Event(
        "staff.alert",
        frames.staff_alert(
            "method_cue",
            "A seeker's message mentions a method or an attempt and no screen is done yet.",
            conversation_id=e.conversation_id,
            seq=e.seq,
        ),
    )
    return [(user_channel(target), alert) for target in e.supervisor_ids]


def _method_cue_screened(e: MethodCueScreened) -> list[Delivery]:
    # Every supervisor and admin: who was alerted is not kept, and one who went off call
    # since must not keep an alert that says no screen is done.
    frame = frames.method_cue_screened(e)
    return [(SUPERVISORS_CHANNEL, Event("method_cue.screened", frame))]


def _method_cue_ended(e: MethodCueEnded) -> list[Delivery]:
    # Every supervisor and admin, as for a screen: who was alerted is not kept.
    frame = frames.method_cue_ended(e)
    return [(SUPERVISORS_CHANNEL, Event("method_cue.ended", frame))]


def _paged(e: EscalationPaged) -> list[Delivery]:
    page = Event(
        "escalation.page", frames.escalation_page(e.escalation), e.escalation.conversation_id
    )
    return [(user_channel(target), page) for target in e.targets]


def _conversation_staff(volunteer_id: str | None, event: Event) -> list[Delivery]:
    """The conversation's volunteer (if any) and every supervisor and admin, once each."""
    deliveries = [(SUPERVISORS_CHANNEL, event)]
    if volunteer_id is not None:
        deliveries.append((user_channel(volunteer_id), event))
    return deliveries


def _escalation_updated(e: EscalationUpdated) -> list[Delivery]:
    event = Event("escalation.updated", frames.escalation_updated(e.escalation))
    return _conversation_staff(e.volunteer_id, event)


def _flagged_waiting(e: FlaggedWaiting) -> list[Delivery]:
    return [(SUPERVISORS_CHANNEL, Event("flagged.waiting", frames.flagged_waiting(e)))]


def _nobody_on_call(e: NobodyOnCall) -> list[Delivery]:
    if e.escalation_id is None:
        frame = frames.staff_alert("nobody_on_call", "Nobody is on call.")
    else:
        frame = frames.staff_alert(
            "nobody_on_call",
            "A conversation needs a supervisor and nobody is on call.",
            escalation_id=e.escalation_id,
            level=e.level,
        )
    return [(STAFF_CHANNEL, Event("staff.alert", frame))]


def _cooldown(e: CooldownStarted) -> list[Delivery]:
    frame = frames.volunteer_cooldown(conversation_id=e.conversation_id, until=e.until)
    return [(user_channel(e.volunteer_id), Event("volunteer.cooldown", frame))]


def _entered(e: StaffEntered) -> list[Delivery]:
    kind = "conversation.joined" if e.mode == "joined" else "conversation.taken_over"
    return [(conversation_channel(e.conversation_id), Event(kind, frames.staff_entered(e)))]


def _whisper(e: WhisperWritten) -> list[Delivery]:
    return [(staff_channel(e.conversation_id), Event("chat.whisper", frames.chat_whisper(e)))]


def _card(e: ReferralCard) -> list[Delivery]:
    return [
        (conversation_channel(e.conversation_id), Event("referral.card", frames.referral_card(e)))
    ]


def _referral_updated(e: ReferralUpdated) -> list[Delivery]:
    event = Event("referral.updated", frames.referral_updated(e.referral))
    return _conversation_staff(e.volunteer_id, event)


def _reported(e: SeekerReported) -> list[Delivery]:
    frame = frames.staff_alert(
        "seeker_reported",
        "A seeker was reported as abusive: open the conversation to decide on a block.",
        conversation_id=e.conversation_id,
        reporter_role=e.reporter_role,
    )
    return [(SUPERVISORS_CHANNEL, Event("staff.alert", frame))]


def _blocked(e: SeekerBlocked) -> list[Delivery]:
    frame = frames.staff_alert(
        "seeker_blocked",
        "The seeker was blocked: the chat has ended and their session is closed.",
        conversation_id=e.conversation_id,
    )
    return _conversation_staff(e.volunteer_id, Event("staff.alert", frame))


def _safety_plan(e: SafetyPlanChanged) -> list[Delivery]:
    event = Event("safety_plan", frames.safety_plan(e.plan), e.plan.conversation_id)
    return [(conversation_channel(e.plan.conversation_id), event)]


def _debrief(e: DebriefSubmitted) -> list[Delivery]:
    channel = SUPERVISORS_CHANNEL if e.supervisor_id is None else user_channel(e.supervisor_id)
    return [(channel, Event("debrief.received", frames.debrief_received(e)))]


def _share_requested(e: ShareRequested) -> list[Delivery]:
    frame = frames.emergency_share_request(e)
    return [(user_channel(e.seeker_id), Event("emergency_share.request", frame))]


def _share_withdrawn(e: ShareWithdrawn) -> list[Delivery]:
    frame = frames.emergency_share_withdrawn(e)
    return [(user_channel(e.seeker_id), Event("emergency_share.withdrawn", frame))]


def _share_changed(e: ShareChanged) -> list[Delivery]:
    frame = frames.emergency_share_updated(e.share)
    return [(user_channel(e.supervisor_id), Event("emergency_share.updated", frame))]


AUDIENCES: dict[type, Callable[[Any], list[Delivery]]] = {
    MessageStored: _message,
    MessagesRead: _read,
    Typing: _typing,
    ConversationClosed: _closed,
    LanguageChanged: _language,
    SeekerQuickExited: _quick_exited,
    QueueChanged: _queue_changed,
    AccountLimitsChanged: _limits_changed,
    ConversationStarted: _started,
    ConversationTransferred: _transferred,
    VolunteerVanished: _vanished,
    SessionRevoked: _revoked,
    RiskAssessed: _assessed,
    CueFlagged: _cue,
    CueMarked: _marked,
    MethodCueAlerted: _method_cue,
    MethodCueScreened: _method_cue_screened,
    MethodCueEnded: _method_cue_ended,
    EscalationPaged: _paged,
    EscalationUpdated: _escalation_updated,
    FlaggedWaiting: _flagged_waiting,
    NobodyOnCall: _nobody_on_call,
    CooldownStarted: _cooldown,
    StaffEntered: _entered,
    WhisperWritten: _whisper,
    ReferralCard: _card,
    ReferralUpdated: _referral_updated,
    SeekerReported: _reported,
    SeekerBlocked: _blocked,
    DebriefSubmitted: _debrief,
    SafetyPlanChanged: _safety_plan,
    ShareRequested: _share_requested,
    ShareWithdrawn: _share_withdrawn,
    ShareChanged: _share_changed,
}


def deliveries(events: Iterable[object]) -> list[Delivery]:
    """Each event's (channel, bus event) pairs, in the order the events happened."""
    out: list[Delivery] = []
    for event in events:
        out.extend(AUDIENCES[type(event)](event))
    return out


async def publish(bus: Bus, events: Iterable[object]) -> None:
    """Deliver events that are already durable (after the commit), counting and logging
    each (``app.metrics``, ``app.logs``)."""
    for event in events:
        metrics.observe(event)
        logs.domain_event(event)
    routed = deliveries(events)
    if routed:
        await bus.publish_many(routed)
