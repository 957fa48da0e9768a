"""What the service counts, for Prometheus (``/metrics``, served by ``app.metrics_export``).

Every metric object lives here, and this module imports nothing of the app but the domain
events, so any module may count something without an import cycle. Counts only: no label
carries an id, an alias or any text a person wrote; label values come from small fixed sets
(roles, levels, cue classes, statuses, and the cue lexicon's family names and pattern
references, a fixed set shipped as data).

Most counts come from the typed domain events, observed once after their commit
(``observe``, called by ``app.outbound``); a stored chat message is counted where its one
delivery is built (``app.outbound.message_delivery``), on both send paths. What is really
database state (who waits, what is open) is not counted here at all: ``app.metrics_export``
reads it from the database at scrape time, so it is right whatever process answers.

Several worker processes of one server (``peerline serve --workers N``) share their counts
through prometheus-client's multiprocess mode: ``PROMETHEUS_MULTIPROC_DIR`` must name an
empty directory before the workers start (``prepare_multiprocess`` does it).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from app.chat.events import ConversationClosed, SeekerQuickExited
from app.escalation.events import EscalationPaged, EscalationUpdated, NobodyOnCall
from app.matching.events import ConversationStarted
from app.risk.events import CueFlagged, CueMarked, RiskAssessed
from app.transfer.events import ConversationTransferred

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Seconds: from queueing to a volunteer taking the chat (seconds to an hour).
WAIT_BUCKETS = (5, 15, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600)
# Seconds: a send's or a commit's own time (a millisecond to a few seconds).
FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# Seconds: from an escalation opening to a supervisor acknowledging it.
ACK_BUCKETS = (15, 30, 60, 120, 300, 600, 900, 1800, 3600)

WAIT_TO_MATCH = Histogram(
    "peerline_wait_to_match_seconds",
    "Time a seeker waited in the queue before a volunteer took the chat",
    buckets=WAIT_BUCKETS,
)
MESSAGES_STORED = Counter(
    "peerline_messages_stored_total", "Chat messages committed", ["sender_role"]
)
SOCKETS_OPEN = Gauge(
    "peerline_sockets_open",
    "Authenticated WebSockets open, by role",
    ["role"],
    multiprocess_mode="livesum",
)
SEND_SECONDS = Histogram(
    "peerline_send_seconds",
    "chat.send from the frame's arrival to its ack (stored, acknowledged)",
    buckets=FAST_BUCKETS,
)
COMMIT_SECONDS = Histogram(
    "peerline_commit_seconds",
    "Database commits: the chat writer's batches and the other units of work",
    ["path"],
    buckets=FAST_BUCKETS,
)
ACK_SECONDS = Histogram(
    "peerline_escalation_ack_seconds",
    "Time from an escalation opening to a supervisor acknowledging it, by level",
    ["level"],
    buckets=ACK_BUCKETS,
)
PAGES = Counter(
    "peerline_escalation_pages_total",
    "Supervisor pages sent, by level; page is first or repeat (a re-page after a missed ack)",
    ["level", "page"],
)
NOBODY_ON_CALL = Counter(
    "peerline_nobody_on_call_total",
    "Times a page or a check found no supervisor on call",
)
CUE_FLAGS = Counter(
    "peerline_cue_flags_total", "Seeker messages flagged by cue detection, by class", ["cue_class"]
)
CUE_FLAG_FAMILIES = Counter(
    "peerline_cue_flag_families_total",
    "Seeker messages flagged by cue detection, by lexicon family (learned: the scorer)",
    ["family"],
)
CUE_MARKS = Counter(
    "peerline_cue_marks_total",
    "Staff marks on the cue detector, by kind (missed, not_risk) and the flag's lexicon family "
    "(unassigned for a missed mark: no cue fired)",
    ["kind", "family"],
)
CUE_MARK_PATTERNS = Counter(
    "peerline_cue_mark_patterns_total",
    "Staff marks on the cue detector, by kind and the pattern that flagged the message",
    ["kind", "pattern"],
)
ASSESSMENTS = Counter(
    "peerline_risk_assessments_total", "Risk checklists completed, by level scored", ["level"]
)
CONVERSATIONS_STARTED = Counter(
    "peerline_conversations_started_total", "Conversations a volunteer took"
)
CONVERSATIONS_CLOSED = Counter(
    "peerline_conversations_closed_total", "Conversations that ended or were abandoned", ["status"]
)
QUICK_EXITS = Counter(
    "peerline_quick_exits_at_risk_total", "Quick exits by a seeker at risk, by level", ["level"]
)
TRANSFERS = Counter(
    "peerline_transfers_total",
    "Chats handed over, by where they went and why (volunteer_vanished: the system did it)",
    ["to", "reason"],
)
BUS_RECONNECTS = Counter(
    "peerline_bus_reconnects_total", "Times the Redis bus link came back after being lost"
)
BUS_PUBLISH_FAILURES = Counter(
    "peerline_bus_publish_failures_total",
    "Batches of events this process could not publish to Redis (other processes resync)",
)
CATCH_UPS = Counter(
    "peerline_catch_ups_total",
    "Reads of missed messages for a socket (reason: gap, reset, started, watch)",
    ["reason"],
)
RATE_LIMIT_REFUSALS = Counter(
    "peerline_rate_limit_refusals_total",
    "Requests or frames refused by a rate limit, by door",
    ["door"],
)

_MESSAGES = {role: MESSAGES_STORED.labels(role) for role in ("seeker", "volunteer")}
_SEND = SEND_SECONDS
_BATCH_COMMIT = COMMIT_SECONDS.labels("chat_batch")
_UOW_COMMIT = COMMIT_SECONDS.labels("unit_of_work")


def message_stored(sender_role: str) -> None:
    child = _MESSAGES.get(sender_role)
    if child is None:
        child = _MESSAGES[sender_role] = MESSAGES_STORED.labels(sender_role)
    child.inc()


def send_took(seconds: float) -> None:
    _SEND.observe(seconds)


def batch_committed(seconds: float) -> None:
    _BATCH_COMMIT.observe(seconds)


def unit_of_work_committed(seconds: float) -> None:
    _UOW_COMMIT.observe(seconds)


def socket_opened(role: str) -> None:
    SOCKETS_OPEN.labels(role).inc()


def socket_closed(role: str) -> None:
    SOCKETS_OPEN.labels(role).dec()


def caught_up(reason: str) -> None:
    CATCH_UPS.labels(reason).inc()


def bus_reconnected() -> None:
    BUS_RECONNECTS.inc()


def bus_publish_failed() -> None:
    BUS_PUBLISH_FAILURES.inc()


def rate_limit_refused(door: str) -> None:
    """A rate limit refused something at ``door`` (a fixed name such as ``seekers`` or
    ``login``; never an address or an id)."""
    RATE_LIMIT_REFUSALS.labels(door).inc()


# -- domain events ------------------------------------------------------------------------


def _started(e: ConversationStarted) -> None:
    CONVERSATIONS_STARTED.inc()
    if e.queued_at is not None and e.started_at is not None:
        WAIT_TO_MATCH.observe(max(0.0, (e.started_at - e.queued_at).total_seconds()))


def _closed(e: ConversationClosed) -> None:
    CONVERSATIONS_CLOSED.labels(e.status).inc()


def _paged(e: EscalationPaged) -> None:
    view = e.escalation
    PAGES.labels(view.level, "first" if view.pages <= 1 else "repeat").inc()


def _updated(e: EscalationUpdated) -> None:
    # Acknowledging is the only change that leaves an escalation "acknowledged" (raising
    # the level reopens it, resolving closes it), so this sees each acknowledgement once.
    view = e.escalation
    if view.status == "acknowledged" and view.acknowledged_at is not None:
        seconds = (view.acknowledged_at - view.opened_at).total_seconds()
        ACK_SECONDS.labels(view.level).observe(max(0.0, seconds))


def _nobody(_: NobodyOnCall) -> None:
    NOBODY_ON_CALL.inc()


def _cue(e: CueFlagged) -> None:
    CUE_FLAGS.labels(e.cue_class).inc()
    for family in e.families:
        CUE_FLAG_FAMILIES.labels(family).inc()


def _cue_marked(e: CueMarked) -> None:
    for family in e.families or ("unassigned",):
        CUE_MARKS.labels(e.kind, family).inc()
    for pattern in e.patterns:
        CUE_MARK_PATTERNS.labels(e.kind, pattern).inc()


def _assessed(e: RiskAssessed) -> None:
    ASSESSMENTS.labels(e.assessed_level).inc()


def _quick_exit(e: SeekerQuickExited) -> None:
    QUICK_EXITS.labels(e.level).inc()


def _transferred(e: ConversationTransferred) -> None:
    TRANSFERS.labels("queue" if e.to_volunteer_id is None else "volunteer", e.view.reason).inc()


OBSERVERS: dict[type, Callable[[Any], None]] = {
    ConversationStarted: _started,
    ConversationTransferred: _transferred,
    ConversationClosed: _closed,
    EscalationPaged: _paged,
    EscalationUpdated: _updated,
    NobodyOnCall: _nobody,
    CueFlagged: _cue,
    CueMarked: _cue_marked,
    RiskAssessed: _assessed,
    SeekerQuickExited: _quick_exit,
}


def observe(event: object) -> None:
    """Count a committed domain event (those that count for nothing are ignored)."""
    observer = OBSERVERS.get(type(event))
    if observer is not None:
        observer(event)


# -- several processes ----------------------------------------------------------------------


def process_stopped() -> None:
    """This worker is stopping: its open-sockets gauge no longer counts (multiprocess)."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())


def prepare_multiprocess(workers: int) -> Path | None:
    """Before uvicorn starts ``workers`` processes: give them one directory to share their
    counts in (``PROMETHEUS_MULTIPROC_DIR``; a fresh temporary one unless it is set, and
    emptied of an earlier run's files if it is). Nothing to do for one process."""
    if workers <= 1:
        return None
    configured = os.environ.get(MULTIPROC_ENV)
    if configured:
        directory = Path(configured)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
    else:
        directory = Path(tempfile.mkdtemp(prefix="peerline-metrics-"))
        os.environ[MULTIPROC_ENV] = str(directory)
    return directory
