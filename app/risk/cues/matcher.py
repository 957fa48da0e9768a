"""The cue matcher: patterns by family, guards, and the learned second signal.

Contracts:

- Every list is applied to every message, whatever the seeker's language: code-mixing is
  the norm, and a Hinglish message may carry an English method word.
- A cue whose span overlaps a guard's span (a hard negative such as "dying of laughter") is
  dropped. A guard's span ends where the seeker starts to speak of themselves after at least
  ``STORY_WORDS`` words about something else (``OWN_WORDS``: ``I``, ``myself``, ``mujhe``,
  ``main bhi``, ``मै``, ``मुझे`` ...): many guards run on past their false friend (".{0,60}"
  after "a documentary on"), and "watched a documentary on farmer suicides. i want to die"
  must not be hidden by them. A guard that opens in the first person (an idiom, a past told
  with recovery: "two years ago i tried to end it, im ok now") keeps what it covers.
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

STORY_WORDS = 4
"""Words about something else before an ``OWN_WORDS`` word that make it the start of the
seeker's own words, where every guard's span over it ends (``_own_word_starts``)."""
# The seeker speaking of themselves: where a guard's span stops, when the words come after a
# stretch about something else (``_own_word_starts``). Subject forms only: "my" and "mere"
# begin many a friend's story ("my friend said ..."), and a bare Hinglish "main" is as often
# "in" (news main dekha) as "I", so it counts only before words that follow a subject.
# Patterns are matched on normalised text (``normalise``: no punctuation, no anusvara: मैं is
# मै).
OWN_WORDS = re.compile(
    r"(?<![\w\u0900-\u097F])(?:i|im|ive|ill|id|myself|mujhe|mujhko|maine|main (?:bhi|khud|"
    r"ab|sach|marna|mar|jeena|nahi|nhi|kuch|aaj|kal|toh|to|hi|bas|sirf|apne|apni|apna|soch\w*|"
    r"chah\w*|thak\w*)|मै|मैने|मुझे|मुझको)(?![\w\u0900-\u097F])"
)


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
        """Spans of every guard match (guards the prefilter rules out are skipped), each
        ending where the seeker's own words begin (``_own_word_starts``)."""
        spans = []
        own = None
        for guard in self._guard_filter.candidates(folded):
            for m in guard.regex.finditer(folded):
                start, end = m.span()
                if own is None:
                    own = _own_word_starts(folded)
                end = next((p for p in own if start < p < end), end)
                spans.append((start, end))
        return spans

    def patterns_of(self, cue_class: CueClass) -> list[re.Pattern[str]]:
        """Compiled patterns of one class (used by the safe-messaging check)."""
        return [p.regex for p in self._patterns if p.cue_class is cue_class]

    def pattern_refs(self) -> list[str]:
        """Every pattern reference, in list order."""
        return [p.ref for p in self._patterns]


def _own_word_starts(folded: str) -> list[int]:
    """Where the seeker starts to speak of themselves after a stretch about something else:
    an ``OWN_WORDS`` word with at least ``STORY_WORDS`` words before it in the message, none
    of the last ``STORY_WORDS`` of them one ("watched a documentary on suicide | i want to
    die"). An own word near the start, or soon after another ("im so embarrassed i want to
    disappear"), starts nothing new."""
    starts = []
    last = -STORY_WORDS - 1
    index = position = 0
    for m in OWN_WORDS.finditer(folded):
        index += folded.count(" ", position, m.start())  # normalised text: single spaces
        position = m.start()
        if index >= STORY_WORDS and index - last > STORY_WORDS:
            starts.append(m.start())
        last = index
    return starts


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
