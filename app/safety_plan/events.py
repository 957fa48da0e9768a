"""Safety plan facts (``app.outbound`` decides who hears them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class SafetyPlanView:
    """The plan as everyone in the conversation sees it, in the conversation's language."""

    conversation_id: str
    plan_id: str
    template: str
    language: str
    intro: str
    steps: tuple[dict[str, Any], ...]
    helplines: tuple[dict[str, Any], ...]
    revision: int
    updated_at: datetime
    updated_by_role: str


@dataclass(frozen=True, slots=True)
class SafetyPlanChanged:
    """The plan was opened or edited."""

    plan: SafetyPlanView
