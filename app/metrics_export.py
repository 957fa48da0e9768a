"""``GET /metrics``: Prometheus' text format.

Two parts, one answer:

- the counters, histograms and the sockets gauge of ``app.metrics`` (this process's, or all
  workers' of this server in multiprocess mode: ``PROMETHEUS_MULTIPROC_DIR``);
- gauges that are database state, read at scrape time (``state_snapshot``): who waits, by
  language, and for how long; conversations active; escalations open by level and status
  and the oldest unacknowledged one; referrals by state; supervisors on call; volunteers
  available; the seconds of the next hour the on-call roster leaves uncovered; and
  whether this process is ready (what ``/readyz`` answers). Read from the
  database, they are right whichever process or worker answers the scrape.

``METRICS`` and ``METRICS_TOKEN`` (``app.config``) decide whether it answers and to whom.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from fastapi import APIRouter, Request, Response
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select

from app.chat.models import Conversation
from app.db import utcnow
from app.errors import NotFound, Unauthorized
from app.escalation.models import Escalation
from app.identity.models import Role, StaffUser
from app.metrics import MULTIPROC_ENV
from app.referrals.models import Referral
from app.roster import service as roster_service
from app.runtime import Runtime

api = APIRouter(tags=["ops"])


@dataclass
class Snapshot:
    """Database state at one moment, as Prometheus gauges."""

    waiting: dict[str, int] = field(default_factory=dict)  # language -> seekers
    oldest_wait_s: float = 0.0
    active: int = 0
    escalations: dict[tuple[str, str], int] = field(default_factory=dict)  # (level, status)
    oldest_unacknowledged_s: dict[str, float] = field(default_factory=dict)  # level -> age
    referrals: dict[str, int] = field(default_factory=dict)  # status -> count
    on_call: int = 0
    available: int = 0
    roster_gap_s: float = 0.0
    database_up: bool = True
    bus_up: bool = True
    accepting: bool = True

    @property
    def ready(self) -> bool:
        return self.database_up and self.bus_up and self.accepting


def _age(now: datetime, since: datetime | None) -> float:
    return max(0.0, (now - since).total_seconds()) if since is not None else 0.0


async def state_snapshot(runtime: Runtime) -> Snapshot:
    snap = Snapshot(accepting=runtime.accepting, bus_up=await runtime.bus.ping())
    now = utcnow()
    try:
        async with runtime.db.reader() as session:
            rows = await session.execute(
                select(Conversation.language, func.count(), func.min(Conversation.queued_at))
                .where(Conversation.status == "waiting")
                .group_by(Conversation.language)
            )
            for language, count, oldest in rows:
                snap.waiting[language] = count
                snap.oldest_wait_s = max(snap.oldest_wait_s, _age(now, oldest))
            snap.active = int(
                await session.scalar(
                    select(func.count())
                    .select_from(Conversation)
                    .where(Conversation.status == "active")
                )
                or 0
            )
            rows = await session.execute(
                select(
                    Escalation.level,
                    Escalation.status,
                    func.count(),
                    func.min(Escalation.opened_at),
                )
                .where(Escalation.status != "resolved")
                .group_by(Escalation.level, Escalation.status)
            )
            for level, status, count, oldest in rows:
                snap.escalations[(level, status)] = count
                if status == "open":
                    snap.oldest_unacknowledged_s[level] = _age(now, oldest)
            rows = await session.execute(
                select(Referral.status, func.count()).group_by(Referral.status)
            )
            snap.referrals = {status: count for status, count in rows}
            rows = await session.execute(
                select(StaffUser.role, StaffUser.on_call, StaffUser.available, func.count())
                .where(StaffUser.active.is_(True))
                .group_by(StaffUser.role, StaffUser.on_call, StaffUser.available)
            )
            for role, on_call, available, count in rows:
                if role == Role.supervisor.value and on_call:
                    snap.on_call += count
                if role == Role.volunteer.value and available:
                    snap.available += count
            snap.roster_gap_s = await roster_service.gap_seconds(session, now=now)
    except Exception:
        snap.database_up = False
    return snap


class SnapshotCollector:
    """Hands a snapshot read beforehand to prometheus-client (whose collectors are sync)."""

    LEVELS = ("moderate", "high", "imminent")

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap

    def collect(self) -> Iterator[Metric]:
        s = self.snap
        up = GaugeMetricFamily("peerline_ready", "1 when this process answers /readyz with 200")
        up.add_metric([], 1.0 if s.ready else 0.0)
        yield up
        for name, doc, value in (
            ("peerline_database_up", "1 when the database answered this scrape", s.database_up),
            ("peerline_bus_up", "1 when the bus (Redis, if used) answers", s.bus_up),
        ):
            gauge = GaugeMetricFamily(name, doc)
            gauge.add_metric([], 1.0 if value else 0.0)
            yield gauge
        if not s.database_up:
            return  # no figure at all rather than a wrong zero
        waiting = GaugeMetricFamily(
            "peerline_seekers_waiting",
            "Seekers waiting in the queue, by language",
            labels=["language"],
        )
        for language, count in sorted(s.waiting.items()):
            waiting.add_metric([language], count)
        yield waiting
        yield _single(
            "peerline_oldest_wait_seconds",
            "How long the seeker waiting longest has waited (0: nobody waits)",
            s.oldest_wait_s,
        )
        yield _single(
            "peerline_conversations_active", "Conversations a volunteer is in now", s.active
        )
        open_ = GaugeMetricFamily(
            "peerline_escalations_open",
            "Escalations not yet resolved, by level and status (open: not acknowledged)",
            labels=["level", "status"],
        )
        for level in self.LEVELS:
            for status in ("open", "acknowledged"):
                open_.add_metric([level, status], s.escalations.get((level, status), 0))
        for (level, status), count in sorted(s.escalations.items()):
            if level not in self.LEVELS:
                open_.add_metric([level, status], count)
        yield open_
        oldest = GaugeMetricFamily(
            "peerline_oldest_unacknowledged_escalation_seconds",
            "Age of the oldest escalation nobody has acknowledged, by level (0: none)",
            labels=["level"],
        )
        for level in self.LEVELS:
            oldest.add_metric([level], s.oldest_unacknowledged_s.get(level, 0.0))
        yield oldest
        referrals = GaugeMetricFamily("peerline_referrals", "Referrals by state", labels=["status"])
        for status, count in sorted(s.referrals.items()):
            referrals.add_metric([status], count)
        yield referrals
        yield _single(
            "peerline_supervisors_on_call", "Supervisors on call for pages now", s.on_call
        )
        yield _single(
            "peerline_volunteers_available", "Volunteers available for new chats", s.available
        )
        yield _single(
            "peerline_oncall_roster_gap_seconds",
            "Seconds of the next hour no active supervisor is rostered on call for (0: covered)",
            s.roster_gap_s,
        )


def _single(name: str, doc: str, value: float) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(name, doc)
    gauge.add_metric([], value)
    return gauge


def counters_registry() -> CollectorRegistry:
    """This process's counters, or every worker's in multiprocess mode."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    return REGISTRY


def _authorised(request: Request, token: str | None) -> bool:
    if not token:
        return True
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(
        given.strip().encode(), token.encode()
    )


@api.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    settings = runtime.settings
    if not settings.metrics_enabled:
        raise NotFound("metrics are off (METRICS)")
    if not _authorised(request, settings.metrics_token):
        raise Unauthorized("send Authorization: Bearer <METRICS_TOKEN>")
    state = CollectorRegistry()
    state.register(SnapshotCollector(await state_snapshot(runtime)))
    body = generate_latest(counters_registry()) + generate_latest(state)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def metric_names(exposition: str) -> Iterable[str]:
    """The metric family names in an exposition (the ``# TYPE`` lines)."""
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            yield line.split()[2]
