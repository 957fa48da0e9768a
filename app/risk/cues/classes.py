"""The words of cue detection: classes, matches, and the error a bad list raises."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CueClass(StrEnum):
    """What a cue suggests, weakest first; ``rank`` gives the order."""

    WARNING_SIGN = "warning_sign"
    FIRST_PERSON_IDEATION = "first_person_ideation"
    METHOD_OR_ATTEMPT = "method_or_attempt"

    @property
    def rank(self) -> int:
        return _CLASS_ORDER.index(self)


_CLASS_ORDER = (CueClass.WARNING_SIGN, CueClass.FIRST_PERSON_IDEATION, CueClass.METHOD_OR_ATTEMPT)


@dataclass(frozen=True, slots=True)
class CueMatch:
    """One cue found in a message. Holds no matched words, by design."""

    cue_class: CueClass
    language: str
    """The cue list the pattern came from (``en``, ``hi``, ``hinglish``; ``learned`` for the
    second scorer), not the seeker's language."""
    pattern_ref: str
    """``<list>/<family>#<index>`` (``learned/v<version>`` for the scorer): lets a reviewer
    find the pattern in the data file and count flags per family and pattern."""
    family: str = ""
    """The lexicon family (``passive_wish``, ``method_research`` ...; ``learned`` for the
    scorer); see ``app/risk/cue_lists/families.yaml``."""


class CueListError(ValueError):
    """A cue list file is malformed; the message names the file and the entry."""
