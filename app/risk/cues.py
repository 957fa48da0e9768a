"""Message cue detection: flags a message for a human, never decides a risk level.

The cue lists are reviewable data files in ``app/risk/cues/`` (one per language form:
``en.yaml``, ``hi.yaml`` for Devanagari, ``hinglish.yaml`` for Hindi in Latin letters).
Each holds patterns for three cue classes and a list of *guards*: hard negatives such as
"this homework is killing me" whose span cancels any cue it overlaps.

Contracts:

- Every list is applied to every message, whatever the seeker's language: code-mixing is
  the norm, and a Hinglish message may carry an English method word.
- A ``CueMatch`` carries the class, the list it came from and a pattern reference for
  reviewers; it never carries the matched words, so nothing built from it can echo a method
  word back to a seeker.
- Detection is coarse (binary "any risk" is the reliable part), so a match may prompt a
  screen and raise queue priority; it never lowers a risk level.

Pattern syntax (in the YAML files): a Python regular expression matched against the
*normalised* text (see ``normalise``), wrapped in word boundaries that understand Devanagari.
Write patterns in normalised form: lower case, no apostrophes ("im", "dont"), Devanagari
without anusvara/chandrabindu/nukta (the normaliser strips them from patterns too).

Families, not sentences: a list may define named *terms* (``terms: {WANT: "(want|wanna)"}``)
and use them in patterns and guards as ``<WANT>`` (upper-case name in angle brackets). A term
is inserted as a non-capturing group; a term may use terms defined above it. This keeps one
reviewable line per family ("<DESIRE><TO> <ADV><END_ACT>") instead of one line per sentence.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

try:  # CPython's regex parser (private; 3.11+). Without it the prefilter is simply off.
    import re._constants as _sre
    import re._parser as _sre_parse
except ImportError:  # pragma: no cover
    _sre = _sre_parse = None

CUES_DIR = Path(__file__).parent / "cues"
DEFAULT_LISTS = ("en", "hi", "hinglish")


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
    """The cue list the pattern came from (``en``, ``hi``, ``hinglish``), not the seeker's."""
    pattern_ref: str
    """``<list>/<class>#<index>``: lets a reviewer find the pattern in the YAML file."""


class CueListError(ValueError):
    """A cue list file is malformed; the message names the file and the entry."""


# --- normalisation -------------------------------------------------------------------------

# ', right/left single quotes, grave, acute, modifier apostrophe: all typed as apostrophes.
_APOSTROPHES = dict.fromkeys(map(ord, "'\u2019\u2018`\u00b4\u02bc"), None)
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
# Anusvara, chandrabindu and nukta vary freely in how people type Hindi (मैं/मै, ज़/ज).
_DEVANAGARI_MARKS = dict.fromkeys(map(ord, "\u0901\u0902\u093c"), None)
# A nasal consonant + virama before a consonant is written interchangeably with anusvara
# (जिन्दगी / ज़िंदगी): fold it to the anusvara, which is then stripped.
_NASAL_CLUSTER = re.compile("[\u0919\u091e\u0923\u0928\u092e]\u094d(?=[\u0915-\u0939])")
_REPEATS = re.compile(r"(.)\1{2,}")
_SPACES = re.compile(r"\s+")
WORD_CHARS = r"\w\u0900-\u097F"
_LEFT = rf"(?<![{WORD_CHARS}])"
_RIGHT = rf"(?![{WORD_CHARS}])"


def normalise(text: str) -> str:
    """Fold a message to the form the patterns are written in.

    NFKC, case-folded, apostrophes removed ("I'm" → "im"), other punctuation turned into
    spaces, letters repeated three or more times folded to one ("pleeease" → "please"),
    Devanagari nasal marks and nukta dropped, white space collapsed. Emoji are kept.
    """
    if text.isascii():  # most messages: NFKC and the Devanagari folds change nothing
        text = text.lower().translate(_ASCII_FOLD)
    else:
        text = unicodedata.normalize("NFKC", text).casefold()
        text = text.translate(_APOSTROPHES).translate(_INVISIBLE)
        text = _NASAL_CLUSTER.sub("\u0902", text).translate(_DEVANAGARI_MARKS)
        text = text.translate(_PUNCTUATION)
        if not text.isascii() and max(text) > "\uffff":  # punctuation beyond the table
            text = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in text)
    text = _REPEATS.sub(r"\1", text)
    return _SPACES.sub(" ", text).strip()


# Every punctuation character of the Basic Multilingual Plane → space (one table lookup per
# character instead of a category check).
_PUNCTUATION = {cp: " " for cp in range(0x10000) if unicodedata.category(chr(cp)).startswith("P")}


# The same folds for ASCII text, as one table: apostrophes dropped, punctuation to spaces.
_ASCII_FOLD = str.maketrans(
    {
        cp: (None if cp in _APOSTROPHES else " ")
        for cp in range(128)
        if cp in _APOSTROPHES or cp in _PUNCTUATION
    }
)


def _normalise_pattern(pattern: str) -> str:
    # Patterns are regexes: fold only what normalise() folds inside words, keep syntax.
    pattern = unicodedata.normalize("NFKC", pattern).casefold()
    pattern = pattern.translate(_INVISIBLE)
    return _NASAL_CLUSTER.sub("\u0902", pattern).translate(_DEVANAGARI_MARKS)


# --- data files ----------------------------------------------------------------------------


class _CueListFile(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    language: str
    version: int = Field(ge=1)
    description: str = ""
    terms: dict[str, str] = {}
    classes: dict[CueClass, list[str]]
    guards: list[str] = []

    @field_validator("terms")
    @classmethod
    def _term_names(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [name for name in value if not _TERM_NAME.fullmatch(name)]
        if bad:
            raise ValueError(f"term names must be UPPER_CASE: {', '.join(bad)}")
        return value

    @field_validator("classes")
    @classmethod
    def _every_class_present(cls, value: dict[CueClass, list[str]]) -> dict[CueClass, list[str]]:
        missing = set(CueClass) - set(value)
        if missing:
            raise ValueError(f"missing cue classes: {', '.join(sorted(missing))}")
        return value


_TERM_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_TERM_REF = re.compile(r"<([A-Z][A-Z0-9_]*)>")


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


@dataclass(frozen=True, slots=True)
class _Pattern:
    cue_class: CueClass
    language: str
    ref: str
    regex: re.Pattern[str]
    needles: tuple[str, ...] | None = None
    """Strings of which every match contains at least one (None: no usable set)."""


@dataclass(frozen=True, slots=True)
class _Guard:
    regex: re.Pattern[str]
    needles: tuple[str, ...] | None


# --- literal prefilter ----------------------------------------------------------------------
# Running 400 regexes on every message is the matcher's cost. Most patterns cannot match unless
# one of a few literal strings occurs in the text ("kill", "khud", "नस" ...), and a substring
# test is far cheaper than a regex scan, so each pattern carries such a set and is skipped
# when none of its strings is present. The set is derived from the parsed regex and is exact
# (a necessary condition, never a guess); when in doubt the derivation gives up (None).
_MAX_NEEDLES = 64


class _GiveUp(Exception):
    """The regex uses something the needle derivation does not model."""


_REPEATS_OPS = (
    {_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", None)} if _sre else set()
)


def _required(items) -> frozenset[str] | None:
    """Strings one of which occurs in every match of the parsed sequence ``items``."""
    candidates: list[frozenset[str]] = []
    run: list[str] = []
    for op, arg in items:
        if op is _sre.LITERAL:
            run.append(chr(arg))
            continue
        if run:
            candidates.append(frozenset(["".join(run)]))
            run = []
        found = _required_node(op, arg)
        if found is not None:
            candidates.append(found)
    if run:
        candidates.append(frozenset(["".join(run)]))
    if not candidates:
        return None
    return max(candidates, key=lambda c: (min(map(len, c)), -len(c)))


def _required_node(op, arg) -> frozenset[str] | None:
    if op is _sre.SUBPATTERN:
        if arg[1] & re.IGNORECASE:  # scoped (?i:...): literals would be case-blind
            raise _GiveUp
        return _required(arg[-1])
    if op is _sre.BRANCH:
        union: set[str] = set()
        for branch in arg[1]:
            found = _required(branch)
            if found is None:
                return None
            union |= found
            if len(union) > _MAX_NEEDLES:
                return None
        return frozenset(union)
    if op in _REPEATS_OPS:
        low, _high, sub = arg
        return _required(sub) if low >= 1 else None
    return None


def _needles(regex: re.Pattern[str]) -> tuple[str, ...] | None:
    if _sre_parse is None:  # pragma: no cover
        return None
    try:
        parsed = _sre_parse.parse(regex.pattern)
        if parsed.state.flags & re.IGNORECASE:
            return None
        found = _required(parsed)
    except Exception:  # _GiveUp, or a parser this code does not know
        return None
    # One letter, digit or space is in almost every message: not worth checking. A lone
    # symbol (an emoji such as the pill) is selective.
    if not found or any(len(n) < 2 and (n.isalnum() or n.isspace()) for n in found):
        return None
    # Drop strings that contain a shorter one: the shorter one is found whenever they are.
    kept = [n for n in found if not any(o != n and o in n for o in found)]
    return tuple(sorted(kept, key=len))


def _compile(pattern: str, *, where: str) -> re.Pattern[str]:
    try:
        return re.compile(f"{_LEFT}(?:{_normalise_pattern(pattern)}){_RIGHT}")
    except re.error as exc:
        raise CueListError(f"{where}: bad pattern {pattern!r}: {exc}") from exc


def _load_list(path: Path) -> tuple[list[_Pattern], list[_Guard]]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        spec = _CueListFile.model_validate(raw)
    except (yaml.YAMLError, ValidationError, OSError) as exc:
        raise CueListError(f"cue list {path}: {exc}") from exc
    if spec.language != path.stem:
        raise CueListError(f"cue list {path}: language {spec.language!r} != file name")
    terms = _expand_terms(spec.terms, where=f"cue list {path}")
    patterns: list[_Pattern] = []
    for cue_class, entries in spec.classes.items():
        for index, entry in enumerate(entries):
            ref = f"{spec.language}/{cue_class}#{index}"
            where = f"cue list {path} {ref}"
            regex = _compile(_expand(entry, terms, where=where), where=where)
            patterns.append(_Pattern(cue_class, spec.language, ref, regex, _needles(regex)))
    guards: list[_Guard] = []
    for index, entry in enumerate(spec.guards):
        where = f"cue list {path} guards#{index}"
        regex = _compile(_expand(entry, terms, where=where), where=where)
        guards.append(_Guard(regex, _needles(regex)))
    return patterns, guards


class CueMatcher:
    """Compiled cue lists. Build once (``CueMatcher.default()``) and share; it is immutable."""

    def __init__(self, paths: Iterable[Path]) -> None:
        self._patterns: list[_Pattern] = []
        self._guards: list[_Guard] = []
        self.languages: tuple[str, ...] = ()
        for path in paths:
            patterns, guards = _load_list(Path(path))
            self._patterns.extend(patterns)
            self._guards.extend(guards)
            self.languages += (Path(path).stem,)
        self._prefilter = _Prefilter(self._patterns)

    @classmethod
    def default(cls) -> CueMatcher:
        """The shipped lists (en, hi, hinglish), compiled once per process."""
        return _default_matcher()

    def match(self, text: str) -> list[CueMatch]:
        """Every cue in ``text``, at most one per pattern, in list order.

        A cue whose span overlaps a guard's span (a hard negative such as "dying of
        laughter") is dropped.
        """
        folded = normalise(text)
        if not folded:
            return []
        guarded: list[tuple[int, int]] | None = None  # computed only once a cue is found
        found: list[CueMatch] = []
        for pattern in self._prefilter.candidates(folded):
            for m in pattern.regex.finditer(folded):
                if guarded is None:
                    guarded = _guard_spans(self._guards, folded)
                if not any(_overlaps(m.span(), span) for span in guarded):
                    found.append(CueMatch(pattern.cue_class, pattern.language, pattern.ref))
                    break
        return found

    def patterns_of(self, cue_class: CueClass) -> list[re.Pattern[str]]:
        """Compiled patterns of one class (used by the safe-messaging check)."""
        return [p.regex for p in self._patterns if p.cue_class is cue_class]


class _Prefilter:
    """Which patterns can match a text, found in one regex pass instead of one test each.

    Every needle (a string each match of its pattern contains) goes into one trie-shaped
    regex that finds, at every position, the longest needle starting there. A needle is in
    the text exactly when it is a substring of one of those longest matches (it starts
    where one starts, or inside one), so the patterns whose needles are all absent are
    skipped without running their regexes. Patterns without needles always run.
    """

    def __init__(self, patterns: Sequence[_Pattern]) -> None:
        self._always = [i for i, p in enumerate(patterns) if p.needles is None]
        owners: dict[str, list[int]] = {}
        for index, pattern in enumerate(patterns):
            for needle in pattern.needles or ():
                owners.setdefault(needle, []).append(index)
        # For each needle, every pattern whose needle it contains (itself included).
        self._owners = {
            needle: sorted({i for other, ids in owners.items() if other in needle for i in ids})
            for needle in owners
        }
        self._patterns = list(patterns)
        self._regex = re.compile(f"(?=({_trie_pattern(owners)}))") if owners else None

    def candidates(self, folded: str) -> list[_Pattern]:
        chosen = set(self._always)
        if self._regex is not None:
            for longest in {m.group(1) for m in self._regex.finditer(folded)}:
                chosen.update(self._owners[longest])
        return [self._patterns[i] for i in sorted(chosen)]


def _trie_pattern(words: Iterable[str]) -> str:
    """A regex matching any of ``words``, longest first, shaped as a prefix tree."""
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, dict]) -> str:
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:  # a word ends here: the longer ones are optional (greedy: longest)
            body = f"(?:{body})?"
        return body

    return build(trie)


def _present(needles: tuple[str, ...] | None, folded: str) -> bool:
    """False only when no needle occurs, i.e. the regex cannot match."""
    if needles is None:
        return True
    for needle in needles:
        if needle in folded:
            return True
    return False


def _guard_spans(guards: Sequence[_Guard], folded: str) -> list[tuple[int, int]]:
    return [
        m.span()
        for guard in guards
        if _present(guard.needles, folded)
        for m in guard.regex.finditer(folded)
    ]


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


@cache
def _default_matcher() -> CueMatcher:
    return CueMatcher(CUES_DIR / f"{name}.yaml" for name in DEFAULT_LISTS)


def strongest(matches: Sequence[CueMatch]) -> CueMatch | None:
    """The match of the highest class (method > ideation > warning sign), or None."""
    return max(matches, key=lambda m: m.cue_class.rank, default=None)
