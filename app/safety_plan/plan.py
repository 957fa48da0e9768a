"""The safety plan's wording and limits: versioned data (``stanley-brown-v1.yaml``),
validated at start-up, and the pure rules for an edit.

Contracts:
- Six steps, in Stanley-Brown order, each with a title and prompt in every required
  language; exactly one step lists the helplines.
- ``clean_items`` trims each entry, drops blank ones, and refuses more than
  ``max_items_per_step`` entries or one longer than ``max_item_chars``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app import yaml_data
from app.errors import BadRequest

PLAN_FILE = Path(__file__).parent / "stanley-brown-v1.yaml"
STEP_IDS = (
    "warning_signs",
    "coping_alone",
    "distractions",
    "people_to_ask",
    "professionals",
    "safer_surroundings",
)
REQUIRED_LANGUAGES = ("en", "hi")

Texts = dict[str, str]


class PlanError(ValueError):
    """The plan file is invalid; the message names the file and what is wrong."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _pick(texts: Mapping[str, Any], language: str) -> Any:
    return texts.get(language) or texts["en"]


def _check_languages(where: str, texts: Mapping[str, Any]) -> None:
    missing = [lang for lang in REQUIRED_LANGUAGES if not texts.get(lang)]
    if missing:
        raise ValueError(f"{where} lacks {', '.join(missing)}")


class Step(_Strict):
    id: str
    title: Texts
    prompt: Texts
    examples: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    helplines: bool = False

    @model_validator(mode="after")
    def _every_language(self) -> Self:
        for name in ("title", "prompt"):
            _check_languages(f"step {self.id}: {name}", getattr(self, name))
        return self

    def render(self, language: str) -> dict[str, Any]:
        return {
            "step_id": self.id,
            "title": _pick(self.title, language),
            "prompt": _pick(self.prompt, language),
            "examples": list(_pick(self.examples, language)) if self.examples else [],
            "helplines": self.helplines,
        }


class PlanTemplate(_Strict):
    id: str
    version: int = Field(ge=1)
    languages: tuple[str, ...]
    max_items_per_step: int = Field(ge=1, le=50)
    max_item_chars: int = Field(ge=20, le=2000)
    intro: Texts
    steps: tuple[Step, ...]

    @model_validator(mode="after")
    def _stanley_brown(self) -> Self:
        ids = tuple(step.id for step in self.steps)
        if ids != STEP_IDS:
            raise ValueError(f"steps must be {', '.join(STEP_IDS)} in that order, got {ids}")
        if sum(step.helplines for step in self.steps) != 1:
            raise ValueError("exactly one step lists the helplines")
        _check_languages("intro", self.intro)
        return self

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise BadRequest(f"unknown safety plan step {step_id!r}", code="invalid_frame")

    def clean_items(self, items: Sequence[str]) -> list[str]:
        cleaned = [item.strip() for item in items if item.strip()]
        if len(cleaned) > self.max_items_per_step:
            raise BadRequest(
                f"a step holds at most {self.max_items_per_step} entries", code="invalid_frame"
            )
        if any(len(item) > self.max_item_chars for item in cleaned):
            raise BadRequest(
                f"an entry is over {self.max_item_chars} characters", code="text_too_long"
            )
        return cleaned


def parse_plan(raw: Any, *, source: str) -> PlanTemplate:
    try:
        return PlanTemplate.model_validate(raw)
    except ValidationError as exc:
        raise PlanError(f"{source}: {exc}") from exc


@cache
def load_plan(path: Path = PLAN_FILE) -> PlanTemplate:
    return parse_plan(yaml_data.load(path.read_text(encoding="utf-8")), source=str(path))
