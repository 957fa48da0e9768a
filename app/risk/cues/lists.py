"""Loading the cue lists: the family catalogue and one pattern file per language form.

Data, reviewable by a clinical lead without reading code (``app/risk/cue_lists/``):

- ``families.yaml``: the catalogue. Each family names its cue class, what it covers, its
  sources (C-SSRS screener items, ASQ items, IS PATH WARM, Crisis Text Line's findings,
  Indian context) and its known false friends.
- ``en.yaml``, ``hi.yaml`` (Devanagari), ``hinglish.yaml`` (Hindi in Latin letters):
  ``terms`` (shared vocabulary) and, per family of the catalogue, ``patterns`` and
  ``guards`` (hard negatives). A guard is listed under the family whose false friend it is,
  but it cancels *any* cue whose span it overlaps: a false friend of one family ("this exam
  is killing me") is usually a false friend of the others.

Pattern syntax: a Python regular expression matched against the *normalised* text (see
``normalise``), wrapped in word boundaries that understand Devanagari. A list may define
named *terms* (``terms: {WANT: "(want|wanna)"}``) and use them as ``<WANT>``; a term is
inserted as a non-capturing group and may use terms defined above it.

A pattern's reference is ``<list>/<family>#<index>`` (index within the family's list): new
patterns are appended so references stored in audit records stay valid within a version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app import yaml_data
from app.risk.cues import prefilter
from app.risk.cues.classes import CueClass, CueListError
from app.risk.cues.normalise import WORD_CHARS, normalise_pattern

LISTS_DIR = Path(__file__).resolve().parent.parent / "cue_lists"
CATALOGUE = LISTS_DIR / "families.yaml"
DEFAULT_LISTS = ("en", "hi", "hinglish")

_LEFT = rf"(?<![{WORD_CHARS}])"
_RIGHT = rf"(?![{WORD_CHARS}])"
_TERM_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_TERM_REF = re.compile(r"<([A-Z][A-Z0-9_]*)>")


class Family(BaseModel):
    """One family of the catalogue: what it covers and where its words come from."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    cue_class: CueClass = Field(alias="class")
    covers: str
    sources: list[str] = Field(min_length=1)
    false_friends: list[str] = []


class _Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1)
    families: dict[str, Family] = Field(min_length=1)


class _FamilyEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    patterns: list[str] = []
    guards: list[str] = []


class _CueListFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: str
    version: int = Field(ge=1)
    description: str = ""
    terms: dict[str, str] = {}
    families: dict[str, _FamilyEntry]

    @field_validator("terms")
    @classmethod
    def _term_names(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [name for name in value if not _TERM_NAME.fullmatch(name)]
        if bad:
            raise ValueError(f"term names must be UPPER_CASE: {', '.join(bad)}")
        return value


@dataclass(frozen=True, slots=True)
class Pattern:
    cue_class: CueClass
    language: str
    family: str
    ref: str
    regex: re.Pattern[str]
    clauses: prefilter.Clauses | None = None
    """Sets of strings: every match contains one of each set (None: no usable set)."""


@dataclass(frozen=True, slots=True)
class Guard:
    family: str
    ref: str
    regex: re.Pattern[str]
    clauses: prefilter.Clauses | None


def load_catalogue(path: Path = CATALOGUE) -> dict[str, Family]:
    """The family catalogue; raises ``CueListError`` naming the file when it is malformed."""
    return dict(_load_catalogue(Path(path)))


@cache
def _load_catalogue(path: Path) -> tuple[tuple[str, Family], ...]:
    try:
        spec = _Catalogue.model_validate(yaml_data.load(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, ValidationError, OSError) as exc:
        raise CueListError(f"cue family catalogue {path}: {exc}") from exc
    return tuple(spec.families.items())


def _expand(pattern: str, terms: dict[str, str], *, where: str) -> str:
    """Replace ``<NAME>`` with the term's regex as a non-capturing group."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in terms:
            raise CueListError(f"{where}: unknown term <{name}> in {pattern!r}")
        return f"(?:{terms[name]})"

    return _TERM_REF.sub(sub, pattern)


def _expand_terms(raw: dict[str, str], *, where: str) -> dict[str, str]:
    """Expand terms in file order; a term may use only terms defined above it."""
    done: dict[str, str] = {}
    for name, body in raw.items():
        done[name] = _expand(body, done, where=f"{where} terms.{name}")
    return done


# Escapes that case folding would turn into their opposites (``\S`` into ``\s``): patterns
# are case-folded like messages, so a list may not use them (write ``[^ ]`` for ``\S``).
_UPPER_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\[A-Z]")


def compile_pattern(pattern: str, *, where: str) -> re.Pattern[str]:
    """A list pattern as matched: normalised, wrapped in Devanagari-aware word boundaries."""
    if _UPPER_ESCAPE.search(pattern):
        raise CueListError(
            f"{where}: {pattern!r} uses an upper-case escape, which case folding would turn "
            "into its opposite (write [^ ] for \\S)"
        )
    try:
        return re.compile(f"{_LEFT}(?:{normalise_pattern(pattern)}){_RIGHT}")
    except re.error as exc:
        raise CueListError(f"{where}: bad pattern {pattern!r}: {exc}") from exc


def load_list(path: Path, catalogue: dict[str, Family]) -> tuple[list[Pattern], list[Guard]]:
    """Compile one list file; every family it names must be in the catalogue."""
    try:
        raw = yaml_data.load(path.read_text(encoding="utf-8"))
        spec = _CueListFile.model_validate(raw)
    except (yaml.YAMLError, ValidationError, OSError) as exc:
        raise CueListError(f"cue list {path}: {exc}") from exc
    if spec.language != path.stem:
        raise CueListError(f"cue list {path}: language {spec.language!r} != file name")
    unknown = sorted(set(spec.families) - set(catalogue))
    if unknown:
        raise CueListError(f"cue list {path}: families not in the catalogue: {unknown}")
    terms = _expand_terms(spec.terms, where=f"cue list {path}")
    patterns: list[Pattern] = []
    guards: list[Guard] = []
    for family, entry in spec.families.items():
        cue_class = catalogue[family].cue_class
        for index, text in enumerate(entry.patterns):
            ref = f"{spec.language}/{family}#{index}"
            where = f"cue list {path} {ref}"
            regex = compile_pattern(_expand(text, terms, where=where), where=where)
            patterns.append(
                Pattern(cue_class, spec.language, family, ref, regex, prefilter.clauses(regex))
            )
        for index, text in enumerate(entry.guards):
            ref = f"{spec.language}/{family}/guards#{index}"
            where = f"cue list {path} {ref}"
            regex = compile_pattern(_expand(text, terms, where=where), where=where)
            guards.append(Guard(family, ref, regex, prefilter.clauses(regex)))
    return patterns, guards
