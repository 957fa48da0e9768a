"""Flagged seekers still waiting: one grouped page for all of them, and closing the ghosts.

Pure decisions (no clock, no I/O; ``now`` is a parameter). The shells are
``app.escalation.paging.sweep_flagged`` (the page) and
``app.matching.service.close_flagged_ghosts``.

Contracts:

- A waiting seeker a cue flagged counts in the group once their flag is
  ``FLAGGED_WAIT_PAGE_S`` old, or at once when the cue named a method or an attempt
  (``counts_in_group``). Grouping is only for seekers still waiting: once a volunteer takes
  the chat, the conversation's own escalation path applies unchanged.
- The first flagged seeker of a group pages at once (``alert``). While nobody has
  acknowledged, the group is paged again every ``repage_s``; a count that changes in between
  is sent as a quiet update (``alert`` false), at most once per ``update_s``.
- An acknowledgement stops the re-paging until the count grows past what the supervisors
  were last told about; that growth pages again (not sooner than ``update_s`` after the
  last frame). A count that falls lowers that mark, so a new seeker after a fall pages.
- A count of zero ends the group: one quiet update with ``count`` 0 at once, and the next
  flagged seeker starts a new group (paged at once).
- A flagged waiting seeker with no socket on any process, not seen for ``close_after_s``,
  is a ghost and is closed by the system (``ghost_closes``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

# A cue of this queue priority or above (a method or an attempt, ``cue_response``) counts in
# the group at once: today such a cue alerts supervisors at once for a seeker in a chat.
IMMEDIATE_PRIORITY = 30


@dataclass(frozen=True, slots=True)
class GroupState:
    """What the supervisors were last told about the flagged seekers waiting."""

    count: int = 0
    """The count in the last frame sent (0: no group)."""
    known: int = 0
    """The count the supervisors were paged about or acknowledged, lowered when the count
    falls: a count above it "grew"."""
    pages: int = 0
    """Pages (alerting frames) sent for this group."""
    sent_at: datetime | None = None
    """When the last frame (page or quiet update) was sent."""
    paged_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None


@dataclass(frozen=True, slots=True)
class GroupDecision:
    """Persist ``state``; when ``send``, send the group's frame now (a page when ``alert``)."""

    state: GroupState
    alert: bool
    send: bool = True


def counts_in_group(
    *, status: str, flagged_at: datetime | None, priority: int, now: datetime, wait_s: float
) -> bool:
    """True for a seeker still waiting whose flag is old enough to page about (or names a
    method or an attempt)."""
    return (
        status == "waiting"
        and flagged_at is not None
        and (flagged_at <= group_cutoff(now, wait_s) or priority >= IMMEDIATE_PRIORITY)
    )


def group_cutoff(now: datetime, wait_s: float) -> datetime:
    """Seekers flagged at or before this moment count in the group."""
    return now - timedelta(seconds=wait_s)


def _since(then: datetime | None, now: datetime) -> float:
    return float("inf") if then is None else (now - then).total_seconds()


def on_tick(
    state: GroupState, *, count: int, now: datetime, update_s: float, repage_s: float
) -> GroupDecision | None:
    """What to send about ``count`` flagged seekers waiting now; None: nothing."""
    if count <= 0:
        if state.count <= 0 and state.pages == 0:
            return None
        return GroupDecision(GroupState(sent_at=now), alert=False)
    if state.pages == 0:
        paged = GroupState(count=count, known=count, pages=1, sent_at=now, paged_at=now)
        return GroupDecision(paged, alert=True)
    known = min(state.known, count)
    acknowledged = state.acknowledged_at is not None
    quiet_enough = _since(state.sent_at, now) >= update_s
    page = (acknowledged and count > known and quiet_enough) or (
        not acknowledged and _since(state.paged_at, now) >= repage_s
    )
    if page:
        paged = replace(
            state,
            count=count,
            known=max(known, count),
            pages=state.pages + 1,
            sent_at=now,
            paged_at=now,
            acknowledged_at=None,
            acknowledged_by=None,
        )
        return GroupDecision(paged, alert=True)
    if count != state.count and quiet_enough:
        return GroupDecision(replace(state, count=count, known=known, sent_at=now), alert=False)
    if known != state.known:
        # Nothing to send yet, but remember the fall: growth is measured from it.
        return GroupDecision(replace(state, known=known), alert=False, send=False)
    return None


def acknowledge(state: GroupState, *, count: int, now: datetime, by: str) -> GroupState:
    """A supervisor saw the group: no re-page until more than ``count`` are waiting."""
    return replace(
        state, count=count, known=count, sent_at=now, acknowledged_at=now, acknowledged_by=by
    )


def ghost_cutoff(now: datetime, close_after_s: float) -> datetime:
    """A flagged waiting seeker not seen since this moment is a ghost."""
    return now - timedelta(seconds=close_after_s)


def ghost_closes(
    *,
    status: str,
    flagged_at: datetime | None,
    queued_at: datetime,
    last_seen_at: datetime | None,
    connected: bool,
    human_escalation: bool,
    now: datetime,
    close_after_s: float,
) -> bool:
    """True when the system closes this waiting conversation: the seeker was flagged, has no
    socket on any process (``connected`` false), and neither joined the queue nor was seen
    since ``close_after_s`` ago. Never one with an escalation a person raised or
    acknowledged (``human_escalation``): that is the supervisor's to close."""
    cutoff = ghost_cutoff(now, close_after_s)
    return (
        status == "waiting"
        and flagged_at is not None
        and not connected
        and not human_escalation
        and queued_at < cutoff
        and (last_seen_at is None or last_seen_at < cutoff)
    )
