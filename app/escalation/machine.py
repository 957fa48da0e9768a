"""The escalation state machine: pure decisions about paging supervisors.

An escalation opens when a conversation reaches a level that notifies a supervisor
(moderate, high, imminent). The paging schedule is data (``policy-v1.yaml``). Contracts:

- ``open_escalation`` pages the level's first tier at once and sets ``ack_deadline``.
- ``on_tick(state, now)`` re-pages only when the deadline has passed and the escalation is
  still open; the returned state carries the new tier and deadline, so a tick on that state
  before its deadline returns None: one page per (tier, attempt), never two.
  ``Decision.page_key`` is unique per page, for the shell to de-duplicate across workers.
- A tick that comes late (the process was down) pages the tier the schedule has reached by
  ``now``, not every tier it missed, and gives that tier its full window from ``now``.
- Status moves only ``open → acknowledged → resolved`` or ``open → resolved``; anything else
  raises ``InvalidTransition``. A resolved escalation is final.
- ``raise_level`` can only raise; it restarts the schedule at the higher level.
- Nothing here reads a clock or does I/O: ``now`` is always a parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app import yaml_data
from app.errors import BadRequest, InvalidTransition
from app.lifecycle import Lifecycle
from app.risk.scoring import RiskLevel

POLICY_DIR = Path(__file__).parent
DEFAULT_POLICY = "policy-v1"


class EscalationStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


ESCALATION_LIFECYCLE: Lifecycle[EscalationStatus] = Lifecycle(
    "escalation",
    {
        EscalationStatus.OPEN: {EscalationStatus.ACKNOWLEDGED, EscalationStatus.RESOLVED},
        EscalationStatus.ACKNOWLEDGED: {EscalationStatus.RESOLVED},
        EscalationStatus.RESOLVED: set(),
    },
)


class PageTier(StrEnum):
    """Who is paged, narrowest first."""

    PRIMARY = "primary"
    BACKUP = "backup"
    ALL = "all"

    @property
    def rank(self) -> int:
        return list(PageTier).index(self)


class Outcome(StrEnum):
    """How an escalation ended; stored in the audit trail."""

    SAFE_PLAN_AGREED = "safe_plan_agreed"
    REFERRED_HELPLINE = "referred_helpline"
    EMERGENCY_SERVICES = "emergency_services"
    SEEKER_LEFT = "seeker_left"
    FALSE_ALARM = "false_alarm"
    OTHER = "other"


class EscalationSource(StrEnum):
    """What opened the escalation."""

    CHECKLIST = "checklist"
    VOLUNTEER = "volunteer"
    CUE = "cue"
    SUPERVISOR = "supervisor"


# --- policy data ---------------------------------------------------------------------------


class PolicyError(ValueError):
    """The escalation policy file is invalid; the message names the file."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Step(_Strict):
    tier: PageTier
    ack_within_s: int = Field(gt=0)


class LevelPolicy(_Strict):
    schedule: tuple[Step, ...] = Field(min_length=1)
    repeat_last_every_s: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _tiers_widen(self) -> Self:
        ranks = [s.tier.rank for s in self.schedule]
        if ranks != sorted(set(ranks)):
            raise ValueError("schedule tiers must widen step by step, without repeats")
        return self


class Policy(_Strict):
    id: str
    version: int = Field(ge=1)
    levels: dict[RiskLevel, LevelPolicy]

    @model_validator(mode="after")
    def _escalating_levels(self) -> Self:
        needed = {RiskLevel.MODERATE, RiskLevel.HIGH, RiskLevel.IMMINENT}
        if set(self.levels) != needed:
            raise ValueError(f"levels must be exactly {sorted(needed)}")
        return self


@cache
def load_policy(policy_id: str = DEFAULT_POLICY) -> Policy:
    """The shipped paging policy, loaded once per process; fails loudly naming the file."""
    path = POLICY_DIR / f"{policy_id}.yaml"
    try:
        raw: Any = yaml_data.load(path.read_text(encoding="utf-8"))
        return Policy.model_validate(raw)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise PolicyError(f"escalation policy {path} is invalid: {exc}") from exc


# --- state and decisions -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EscalationState:
    """Everything the machine needs; the shell persists it as it is."""

    level: RiskLevel
    source: EscalationSource
    status: EscalationStatus
    opened_at: datetime
    step: int
    """Index into the level's schedule; past the end means repeating the last tier."""
    tier: PageTier
    pages: int
    """Pages sent so far (1 after opening); part of ``page_key``."""
    ack_deadline: datetime | None
    """When the current page lapses; None once acknowledged or resolved."""
    policy_id: str
    policy_version: int
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    outcome: Outcome | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """Page ``tier`` now; persist ``state``. ``skipped`` are tiers a late tick jumped over."""

    state: EscalationState
    tier: PageTier
    page_key: str
    skipped: tuple[PageTier, ...] = ()


def _page_key(state: EscalationState) -> str:
    return f"{state.tier}:{state.pages}"


def _level_policy(level: RiskLevel, policy: Policy) -> LevelPolicy:
    try:
        return policy.levels[level]
    except KeyError:
        raise BadRequest(
            f"a {level} risk level does not open an escalation", code="no_escalation"
        ) from None


def _window(level_policy: LevelPolicy, step: int) -> int | None:
    """Seconds the page at ``step`` waits for an ack; None when nothing follows it."""
    if step < len(level_policy.schedule):
        return level_policy.schedule[step].ack_within_s
    return level_policy.repeat_last_every_s


def _tier_at(level_policy: LevelPolicy, step: int) -> PageTier:
    return level_policy.schedule[min(step, len(level_policy.schedule) - 1)].tier


def open_escalation(
    level: RiskLevel,
    now: datetime,
    *,
    source: EscalationSource | str,
    policy: Policy | None = None,
) -> Decision:
    """Open an escalation and page the level's first tier.

    Raises ``BadRequest(no_escalation)`` for a level that does not escalate (none, low).
    """
    policy = policy or load_policy()
    level = RiskLevel(level)
    level_policy = _level_policy(level, policy)
    state = EscalationState(
        level=level,
        source=EscalationSource(source),
        status=EscalationStatus.OPEN,
        opened_at=now,
        step=0,
        tier=level_policy.schedule[0].tier,
        pages=1,
        ack_deadline=now + timedelta(seconds=level_policy.schedule[0].ack_within_s),
        policy_id=policy.id,
        policy_version=policy.version,
    )
    return Decision(state=state, tier=state.tier, page_key=_page_key(state))


def on_tick(
    state: EscalationState, now: datetime, *, policy: Policy | None = None
) -> Decision | None:
    """Re-page the next tier if the ack deadline has passed; else None. Idempotent per state."""
    if state.status is not EscalationStatus.OPEN or state.ack_deadline is None:
        return None
    if now < state.ack_deadline:
        return None
    level_policy = _level_policy(state.level, policy or load_policy())
    # Walk the schedule as it would have run, to find the step reached by `now`.
    step, lapses_at, skipped = state.step + 1, state.ack_deadline, []
    while True:
        window = _window(level_policy, step)
        if window is None:
            break
        next_lapse = lapses_at + timedelta(seconds=window)
        if next_lapse > now or step >= len(level_policy.schedule):
            break
        skipped.append(_tier_at(level_policy, step))
        step, lapses_at = step + 1, next_lapse
    if step >= len(level_policy.schedule) and level_policy.repeat_last_every_s is None:
        if state.step >= len(level_policy.schedule) - 1:
            # The last tier was paged and no repeat is configured: wait for a human.
            return None
        step = len(level_policy.schedule) - 1
    window = _window(level_policy, step)
    tier = _tier_at(level_policy, step)
    new_state = replace(
        state,
        step=step,
        tier=tier,
        pages=state.pages + 1,
        ack_deadline=now + timedelta(seconds=window) if window is not None else None,
    )
    skipped_tiers = tuple(t for t in dict.fromkeys(skipped) if t is not tier)
    return Decision(
        state=new_state, tier=tier, page_key=_page_key(new_state), skipped=skipped_tiers
    )


def acknowledge(state: EscalationState, now: datetime, by: str) -> EscalationState:
    """A supervisor takes the escalation: paging stops. Only an open one can be acknowledged."""
    ESCALATION_LIFECYCLE.check(state.status, EscalationStatus.ACKNOWLEDGED)
    return replace(
        state,
        status=EscalationStatus.ACKNOWLEDGED,
        acknowledged_at=now,
        acknowledged_by=by,
        ack_deadline=None,
    )


def resolve(
    state: EscalationState, now: datetime, by: str, outcome: Outcome | str
) -> EscalationState:
    """Close the escalation with an outcome. Resolving an open one also stops paging."""
    ESCALATION_LIFECYCLE.check(state.status, EscalationStatus.RESOLVED)
    return replace(
        state,
        status=EscalationStatus.RESOLVED,
        resolved_at=now,
        resolved_by=by,
        outcome=Outcome(outcome),
        ack_deadline=None,
    )


def raise_level(
    state: EscalationState, level: RiskLevel, now: datetime, *, policy: Policy | None = None
) -> Decision | None:
    """The risk went up during an escalation: restart paging at the higher level.

    Returns None when ``level`` is not higher. An acknowledged escalation stays acknowledged
    (its supervisor is already there) but the higher level's first tier is still paged,
    since imminent risk calls for every on-call supervisor. Raises ``InvalidTransition`` on
    a resolved escalation: open a new one instead.
    """
    level = RiskLevel(level)
    if state.status is EscalationStatus.RESOLVED:
        raise InvalidTransition("escalation is resolved; open a new one for the higher level")
    if level.rank <= state.level.rank:
        return None
    policy = policy or load_policy()
    level_policy = _level_policy(level, policy)
    first = level_policy.schedule[0]
    new_state = replace(
        state,
        level=level,
        step=0,
        tier=first.tier,
        pages=state.pages + 1,
        ack_deadline=(
            now + timedelta(seconds=first.ack_within_s)
            if state.status is EscalationStatus.OPEN
            else None
        ),
        policy_id=policy.id,
        policy_version=policy.version,
    )
    return Decision(state=new_state, tier=first.tier, page_key=_page_key(new_state))


def choose_targets(
    tier: PageTier | str,
    on_call_ids: Sequence[str],
    backup_id_order: Sequence[str],
    admin_ids: Sequence[str],
) -> list[str]:
    """Who to page for ``tier``, in order, without duplicates.

    primary: the first on-call supervisor. backup: that supervisor and the first backup who
    is someone else. all: every on-call supervisor, that backup, and every admin. When a
    tier would be empty (nobody on call), the next wider tier is used, so a page reaches
    someone whenever anyone exists; an empty list means nobody at all can be paged.
    """
    tier = PageTier(tier)
    primary = list(on_call_ids[:1])
    backup = [b for b in backup_id_order if b not in primary][:1]
    targets: list[str]
    if tier is PageTier.PRIMARY:
        targets = primary
    elif tier is PageTier.BACKUP:
        targets = primary + backup
    else:
        targets = [*on_call_ids, *backup, *admin_ids]
    targets = list(dict.fromkeys(targets))
    if not targets and tier is not PageTier.ALL:
        wider = PageTier.BACKUP if tier is PageTier.PRIMARY else PageTier.ALL
        return choose_targets(wider, on_call_ids, backup_id_order, admin_ids)
    return targets
