"""The cue matcher: patterns by family, guards, and the learned second signal.

Contracts:

- Every list is applied to every message, whatever the seeker's language: code-mixing is
  the norm, and a Hinglish message may carry an English method word.
- A cue whose span overlaps a guard's span (a hard negative such as "dying of laughter") is
  dropped.
- The learned scorer (``app/risk/cues/learned.py``) is a second signal: it is asked only
  when no pattern cue survives and no guard recognised a false friend, and when it fires it
  adds one ``warning_sign`` match (``learned/v<N>``). It can only add a flag, never remove
  or weaken one, and a flag never sets or lowers a risk level.
- A ``CueMatch`` never carries the matched words, so nothing built from it can echo a
  method word back to a seeker.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path

from app.risk.cues import learned, lists
from app.risk.cues.classes import CueClass, CueMatch
from app.risk.cues.lists import Family, Guard, Pattern
from app.risk.cues.normalise import normalise
from app.risk.cues.prefilter import Prefilter


class CueMatcher:
    """Compiled cue lists. Build once (``CueMatcher.default()``) and share; it is immutable."""

    def __init__(
        self,
        paths: Iterable[Path],
        *,
        catalogue: dict[str, Family] | None = None,
        scorer: learned.LearnedScorer | None = None,
    ) -> None:
        self.families = catalogue if catalogue is not None else lists.load_catalogue()
        self.scorer = scorer
        self._patterns: list[Pattern] = []
        self._guards: list[Guard] = []
        self.languages: tuple[str, ...] = ()
        for path in paths:
            patterns, guards = lists.load_list(Path(path), self.families)
            self._patterns.extend(patterns)
            self._guards.extend(guards)
            self.languages += (Path(path).stem,)
        self._prefilter = Prefilter(self._patterns)
        self._guard_filter = Prefilter(self._guards)

    @classmethod
    def default(cls) -> CueMatcher:
        """The shipped lists (en, hi, hinglish) and learned scorer, compiled once a process."""
        return _default_matcher()

    def without_scorer(self) -> CueMatcher:
        """The same patterns without the learned signal (for evaluation)."""
        twin = object.__new__(CueMatcher)
        twin.__dict__.update(self.__dict__)
        twin.scorer = None
        return twin

    def with_scorer(self, scorer: learned.LearnedScorer | None) -> CueMatcher:
        """The same patterns with another learned signal (for evaluation)."""
        twin = self.without_scorer()
        twin.scorer = scorer
        return twin

    def match(self, text: str) -> list[CueMatch]:
        """Every cue in ``text``, at most one per pattern, in list order; then, when no
        pattern cue survives and no guard matched, the learned signal's flag if it fires."""
        folded = normalise(text)
        if not folded:
            return []
        guarded: list[tuple[int, int]] | None = None  # computed only once a cue is found
        found: list[CueMatch] = []
        for pattern in self._prefilter.candidates(folded):
            for m in pattern.regex.finditer(folded):
                if guarded is None:
                    guarded = self.guard_spans(folded)
                if not any(_overlaps(m.span(), span) for span in guarded):
                    found.append(
                        CueMatch(pattern.cue_class, pattern.language, pattern.ref, pattern.family)
                    )
                    break
        # The scorer first: it is cheaper than the guards and rarely fires.
        if not found and self.scorer is not None and self.scorer.fires(folded):
            if not (self.guard_spans(folded) if guarded is None else guarded):
                found.append(self.scorer.cue)
        return found

    def guard_spans(self, folded: str) -> list[tuple[int, int]]:
        """Spans of every guard match (guards the prefilter rules out are skipped)."""
        return [
            m.span()
            for guard in self._guard_filter.candidates(folded)
            for m in guard.regex.finditer(folded)
        ]

    def patterns_of(self, cue_class: CueClass) -> list[re.Pattern[str]]:
        """Compiled patterns of one class (used by the safe-messaging check)."""
        return [p.regex for p in self._patterns if p.cue_class is cue_class]

    def pattern_refs(self) -> list[str]:
        """Every pattern reference, in list order."""
        return [p.ref for p in self._patterns]


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


@cache
def _default_matcher() -> CueMatcher:
    return CueMatcher(
        (lists.LISTS_DIR / f"{name}.yaml" for name in lists.DEFAULT_LISTS),
        scorer=learned.load(),
    )


def strongest(matches: Sequence[CueMatch]) -> CueMatch | None:
    """The match of the highest class (method > ideation > warning sign), or None."""
    return max(matches, key=lambda m: m.cue_class.rank, default=None)
