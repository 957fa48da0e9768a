"""Risk scoring: checklist answers → a risk level, reason codes and routing actions.

The rules are data (``app/risk/rules/levels-v1.yaml``) implementing DOMAIN.md's table.
Contracts:

- Every rule whose condition holds matches; the highest level among them wins. No match
  means ``none``. Scoring is monotone in the rule set: adding a rule can only raise a level.
- A refusal (``declined``) to any of ASQ 1-4 makes the screen positive; any declined or
  unsure answer in a positive screen is at least ``moderate``.
- Clinical judgment may raise a level (``judgment=``), never lower one.
- Reason codes and action codes are stable strings, safe to store in the audit trail.
- Pure: no clock, no I/O beyond loading the rules file once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app import yaml_data
from app.risk.conditions import Condition, Ref, walk

RULES_DIR = Path(__file__).parent / "rules"
DEFAULT_RULES = "levels-v1"


class RiskLevel(StrEnum):
    """Risk levels in increasing order; compare with ``rank`` or ``max_level``."""

    NONE = "none"
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"
    IMMINENT = "imminent"

    @property
    def rank(self) -> int:
        return _LEVEL_ORDER.index(self)


_LEVEL_ORDER = tuple(RiskLevel)


def max_level(a: RiskLevel, b: RiskLevel) -> RiskLevel:
    """The higher of two levels."""
    return a if a.rank >= b.rank else b


class RulesError(ValueError):
    """A rules file is invalid; the message names the file and the rule."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rule(_Strict):
    level: RiskLevel
    reason: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    when: Condition


class Routing(_Strict):
    """What the system does at one level."""

    actions: tuple[str, ...]
    notify_supervisor: bool
    page_supervisor: bool
    ack_deadline_s: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _deadline_iff_notified(self) -> Self:
        if self.page_supervisor and not self.notify_supervisor:
            raise ValueError("a level that pages must also notify")
        if self.notify_supervisor != (self.ack_deadline_s is not None):
            raise ValueError("ack_deadline_s is required exactly when a supervisor is notified")
        return self


class Rules(_Strict):
    """A validated, versioned rule set."""

    id: str
    version: int = Field(ge=1)
    checklist: str
    levels: tuple[RiskLevel, ...]
    conditions: dict[str, Condition] = {}
    rules: tuple[Rule, ...] = Field(min_length=1)
    routing: dict[RiskLevel, Routing]

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.levels != _LEVEL_ORDER:
            raise ValueError(f"levels must be exactly {[str(x) for x in _LEVEL_ORDER]}")
        missing = set(RiskLevel) - set(self.routing)
        if missing:
            raise ValueError(f"routing lacks levels {sorted(missing)}")
        named = dict(self.conditions)
        for where, condition in [
            *((f"condition {name!r}", c) for name, c in named.items()),
            *((f"rule {r.reason!r}", r.when) for r in self.rules),
        ]:
            for node in walk(condition):
                if isinstance(node, Ref) and node.ref not in named:
                    raise ValueError(f"{where}: unknown ref {node.ref!r}")
        reasons = [r.reason for r in self.rules]
        if len(set(reasons)) != len(reasons):
            raise ValueError("reason codes must be unique")
        previous: int | None = None
        for level in _LEVEL_ORDER:
            deadline = self.routing[level].ack_deadline_s
            if deadline is not None and previous is not None and deadline > previous:
                raise ValueError(f"routing.{level}: a higher level cannot allow a longer ack")
            previous = deadline if deadline is not None else previous
        return self


@dataclass(frozen=True, slots=True)
class Assessment:
    """The outcome of scoring: a level, why, and what to do."""

    level: RiskLevel
    reasons: list[str]
    """Reason codes of every matching rule, highest level first, then file order."""
    actions: list[str]
    """Action codes for ``level`` (see ``routing_for``)."""
    rules_id: str
    rules_version: int


@dataclass(frozen=True, slots=True)
class LevelRouting:
    """Routing for one level, as the server acts on it."""

    level: RiskLevel
    actions: list[str]
    notifies: bool
    pages: bool
    ack_deadline_s: int | None


def parse_rules(raw: Any, *, source: str) -> Rules:
    """Validate already-parsed YAML; ``RulesError`` names ``source``."""
    try:
        return Rules.model_validate(raw)
    except ValidationError as exc:
        details = "\n".join(
            dict.fromkeys(
                f"  {'.'.join(map(str, e['loc']))}: {e['msg']}"
                for e in exc.errors(include_url=False)
            )
        )
        raise RulesError(f"risk rules {source} are invalid:\n{details}") from exc


@cache
def load_rules(rules_id: str = DEFAULT_RULES) -> Rules:
    """The shipped rule set ``rules_id``, loaded once per process; fails loudly."""
    path = RULES_DIR / f"{rules_id}.yaml"
    try:
        raw = yaml_data.load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RulesError(f"risk rules {path} cannot be read: {exc}") from exc
    return parse_rules(raw, source=str(path))


def score(
    answers: Mapping[str, str],
    *,
    rules: Rules | None = None,
    judgment: RiskLevel | None = None,
) -> Assessment:
    """Score checklist answers (item id → value). Partial answers give the level so far.

    ``judgment`` is a level set by the volunteer or a supervisor; it raises the result
    (reason ``clinical_judgment``) and never lowers it.
    """
    rules = rules or load_rules()
    matched = [r for r in rules.rules if r.when.holds(answers, rules.conditions)]
    level = RiskLevel.NONE
    for rule in matched:
        level = max_level(level, rule.level)
    ordered = sorted(matched, key=lambda r: -r.level.rank)
    reasons = list(dict.fromkeys(r.reason for r in ordered))
    if judgment is not None and judgment.rank > level.rank:
        level = judgment
        reasons.insert(0, "clinical_judgment")
    return Assessment(
        level=level,
        reasons=reasons,
        actions=list(rules.routing[level].actions),
        rules_id=rules.id,
        rules_version=rules.version,
    )


def routing_for(level: RiskLevel | str, *, rules: Rules | None = None) -> LevelRouting:
    """Actions for ``level``, whether it notifies or pages a supervisor, and the ack deadline."""
    level = RiskLevel(level)
    routing = (rules or load_rules()).routing[level]
    return LevelRouting(
        level=level,
        actions=list(routing.actions),
        notifies=routing.notify_supervisor,
        pages=routing.page_supervisor,
        ack_deadline_s=routing.ack_deadline_s,
    )
