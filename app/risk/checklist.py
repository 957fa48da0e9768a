"""The risk checklist: versioned question data, branching and answer validation.

A checklist file (``app/risk/checklists/<id>.yaml``) is loaded and validated once at
start-up; a bad file fails loudly, naming the file and the item. Contracts:

- Items are asked in file order; an item is *askable* when its ``ask_if`` holds over the
  answers so far. ``next_item`` returns the first askable, unanswered item, so a negative
  ASQ (no to 1-4) ends after ASQ 4 and ASQ 5 is never asked.
- ``ask_if`` may refer only to earlier items and only to values those items allow.
- Every item lets the seeker decline: ``yes_no`` items take yes/no/declined/unsure and every
  ``choice`` item must list ``declined``. A refusal is an answer, never a gap.
- ``validate_answer`` accepts only a known item, a value it allows, and an item that is
  askable given the answers so far; anything else is ``BadRequest(invalid_answer)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Literal, Self

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from app import yaml_data
from app.errors import BadRequest
from app.risk.conditions import Always, Condition, ItemIn, Ref, walk

CHECKLISTS_DIR = Path(__file__).parent / "checklists"
DEFAULT_CHECKLIST = "asq-followup-v1"
YES_NO_VALUES = ("yes", "no", "declined", "unsure")
DECLINED = "declined"
REQUIRED_LANGUAGES = ("en", "hi")

Texts = dict[str, str]
"""Text per language code, e.g. ``{"en": "...", "hi": "..."}``."""


class ChecklistError(ValueError):
    """A checklist file is invalid; the message names the file and the item."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(_Strict):
    value: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: Texts


def _pick(texts: Mapping[str, str], language: str) -> str:
    return texts.get(language) or texts["en"]


class Item(_Strict):
    """One question. ``render`` builds the ``risk.checklist`` wire frame's payload."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    text: Texts
    answer_type: Literal["yes_no", "choice"]
    options: tuple[Option, ...] = ()
    ask_if: Condition = Always()
    follow_up: Texts | None = None
    """A free-text prompt the volunteer may add after the answer (ASQ 4: how and when)."""

    _index: int = PrivateAttr(default=0)
    _total: int = PrivateAttr(default=0)
    _checklist_id: str = PrivateAttr(default="")
    _version: int = PrivateAttr(default=0)
    _yes_no_labels: Mapping[str, Texts] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _options_match_type(self) -> Self:
        if self.answer_type == "choice":
            values = [o.value for o in self.options]
            if not values:
                raise ValueError("a choice item needs options")
            if len(set(values)) != len(values):
                raise ValueError("option values must be unique")
            if DECLINED not in values:
                raise ValueError("a choice item must offer 'declined'")
        elif self.options:
            raise ValueError("a yes_no item takes no options")
        return self

    @property
    def values(self) -> tuple[str, ...]:
        """The answer values this item accepts."""
        if self.answer_type == "yes_no":
            return YES_NO_VALUES
        return tuple(o.value for o in self.options)

    def render(self, language: str) -> dict[str, Any]:
        """The item as shown to the volunteer/seeker, in ``language`` (English fallback).

        ``index`` is 1-based over the whole checklist; ``total`` is the number of items in
        it (branching means not all are asked).
        """
        if self.answer_type == "yes_no":
            options = [
                {"value": v, "label": _pick(self._yes_no_labels[v], language)}
                for v in YES_NO_VALUES
            ]
        else:
            options = [{"value": o.value, "label": _pick(o.label, language)} for o in self.options]
        return {
            "checklist_id": self._checklist_id,
            "version": self._version,
            "item_id": self.id,
            "language": language if language in self.text else "en",
            "text": _pick(self.text, language),
            "follow_up": _pick(self.follow_up, language) if self.follow_up else None,
            "answer_type": self.answer_type,
            "options": options,
            "index": self._index,
            "total": self._total,
        }


class Checklist(_Strict):
    """A validated, versioned checklist. Immutable; share one instance per process."""

    id: str
    version: int = Field(ge=1)
    languages: tuple[str, ...]
    yes_no_labels: dict[str, Texts]
    items: tuple[Item, ...] = Field(min_length=1)

    @field_validator("yes_no_labels")
    @classmethod
    def _labels_for_every_value(cls, value: dict[str, Texts]) -> dict[str, Texts]:
        missing = set(YES_NO_VALUES) - set(value)
        if missing:
            raise ValueError(f"yes_no_labels lacks {sorted(missing)}")
        return value

    @model_validator(mode="after")
    def _check_items(self) -> Self:
        for language in REQUIRED_LANGUAGES:
            if language not in self.languages:
                raise ValueError(f"languages must include {language!r}")
        for value, labels in self.yes_no_labels.items():
            _require_languages(labels, self.languages, where=f"yes_no_labels.{value}")
        seen: dict[str, Item] = {}
        for item in self.items:
            where = f"item {item.id!r}"
            if item.id in seen:
                raise ValueError(f"{where}: duplicate id")
            _require_languages(item.text, self.languages, where=f"{where} text")
            if item.follow_up:
                _require_languages(item.follow_up, self.languages, where=f"{where} follow_up")
            for option in item.options:
                _require_languages(
                    option.label, self.languages, where=f"{where} option {option.value!r}"
                )
            for node in walk(item.ask_if):
                if isinstance(node, Ref):
                    raise ValueError(f"{where}: ask_if cannot use ref")
                if isinstance(node, ItemIn):
                    earlier = seen.get(node.item)
                    if earlier is None:
                        raise ValueError(
                            f"{where}: ask_if refers to {node.item!r}, which is not an earlier item"
                        )
                    bad = set(node.values) - set(earlier.values)
                    if bad:
                        raise ValueError(
                            f"{where}: ask_if uses {sorted(bad)}, not values of {node.item!r}"
                        )
            seen[item.id] = item
        for index, item in enumerate(self.items, start=1):
            item._index = index
            item._total = len(self.items)
            item._checklist_id = self.id
            item._version = self.version
            item._yes_no_labels = self.yes_no_labels
        return self

    def item(self, item_id: str) -> Item:
        """The item with this id; ``BadRequest(invalid_answer)`` if there is none."""
        for item in self.items:
            if item.id == item_id:
                return item
        raise BadRequest(f"unknown checklist item {item_id!r}", code="invalid_answer")

    def is_askable(self, item_id: str, answers: Mapping[str, str]) -> bool:
        """Whether the item's ``ask_if`` holds over ``answers``."""
        return self.item(item_id).ask_if.holds(answers, {})

    def next_item(self, answers: Mapping[str, str]) -> Item | None:
        """The first askable item without an answer, or None when the checklist is done."""
        for item in self.items:
            if item.id not in answers and item.ask_if.holds(answers, {}):
                return item
        return None

    def progress(self, answers: Mapping[str, str]) -> tuple[int, int]:
        """Honest numbering over the questions actually asked: (the next question's number,
        about how many there will be). The estimate counts what was answered plus what the
        answers so far make askable; later answers may still add or remove some."""
        answered = sum(
            1 for item in self.items if item.id in answers and item.ask_if.holds(answers, {})
        )
        remaining = sum(
            1 for item in self.items if item.id not in answers and item.ask_if.holds(answers, {})
        )
        return answered + (1 if remaining else 0), answered + remaining

    def answered(self, answers: Mapping[str, str], language: str) -> list[dict[str, Any]]:
        """The answered items in the order asked, each rendered with its ``value``, so a
        client can go back and change one."""
        return [
            {**item.render(language), "value": answers[item.id]}
            for item in self.items
            if item.id in answers
        ]

    def is_complete(self, answers: Mapping[str, str]) -> bool:
        """True when no askable item is left unanswered."""
        return self.next_item(answers) is None

    def validate_answer(
        self, item_id: str, value: str, *, answers: Mapping[str, str] | None = None
    ) -> str:
        """Return the canonical answer value (trimmed, lower case) or raise.

        Raises ``BadRequest`` with code ``invalid_answer`` for an unknown item, a value the
        item does not allow, or (when ``answers`` is given) an item not askable yet.
        """
        item = self.item(item_id)
        canonical = value.strip().casefold() if isinstance(value, str) else ""
        if canonical not in item.values:
            raise BadRequest(
                f"{canonical or value!r} is not an answer to {item_id!r}; expected one of "
                f"{', '.join(item.values)}",
                code="invalid_answer",
            )
        if answers is not None and not item.ask_if.holds(answers, {}):
            raise BadRequest(
                f"checklist item {item_id!r} is not askable with the answers so far",
                code="invalid_answer",
            )
        return canonical


def _require_languages(texts: Mapping[str, str], languages: tuple[str, ...], *, where: str):
    for language in languages:
        if not (texts.get(language) or "").strip():
            raise ValueError(f"{where}: missing {language!r} text")


def parse_checklist(raw: Any, *, source: str) -> Checklist:
    """Validate already-parsed YAML; ``ChecklistError`` names ``source`` and the item."""
    try:
        return Checklist.model_validate(raw)
    except ValidationError as exc:
        raise ChecklistError(f"checklist {source} is invalid:\n{_describe(raw, exc)}") from exc


def _describe(raw: Any, exc: ValidationError) -> str:
    lines = []
    for error in exc.errors(include_url=False):
        loc = list(error["loc"])
        where = ".".join(str(part) for part in loc)
        if len(loc) >= 2 and loc[0] == "items" and isinstance(loc[1], int):
            try:
                where = f"item {raw['items'][loc[1]].get('id')!r} ({where})"
            except (KeyError, IndexError, TypeError, AttributeError):
                pass
        lines.append(f"  {where}: {error['msg']}")
    # A union of condition shapes reports every shape it tried; keep the reader's view short.
    return "\n".join(dict.fromkeys(lines[:20]))


def load_checklist_file(path: Path) -> Checklist:
    """Load and validate one checklist file; fails loudly naming the file."""
    try:
        raw = yaml_data.load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ChecklistError(f"checklist {path} cannot be read: {exc}") from exc
    checklist = parse_checklist(raw, source=str(path))
    if checklist.id != path.stem:
        raise ChecklistError(f"checklist {path}: id {checklist.id!r} != file name")
    return checklist


@cache
def load_checklist(checklist_id: str = DEFAULT_CHECKLIST) -> Checklist:
    """The shipped checklist ``checklist_id``, loaded once per process."""
    if not checklist_id.replace("-", "").replace("_", "").isalnum():
        raise ChecklistError(f"bad checklist id {checklist_id!r}")
    return load_checklist_file(CHECKLISTS_DIR / f"{checklist_id}.yaml")
