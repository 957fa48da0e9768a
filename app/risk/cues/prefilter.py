"""Literal prefilter: which cue patterns can match a text, without running them all.

Running some 500 regexes on every message is the matcher's cost. Most patterns cannot match
unless one of a few literal strings occurs in the text ("kill", "khud", "नस" ...), so each
pattern carries such a set of *needles*, and one trie-shaped regex pass finds which needles
occur. The set is derived from the parsed regex and is exact (a necessary condition, never a
guess); when in doubt the derivation gives up (``None``) and the pattern always runs.

Private API, pinned: the derivation reads the parse tree of CPython's regex compiler,
``re._parser.parse`` (its ``SubPattern`` items and ``state.flags``) and the opcode constants
of ``re._constants`` (``LITERAL``, ``SUBPATTERN``, ``BRANCH``, ``MAX_REPEAT``,
``MIN_REPEAT``, ``POSSESSIVE_REPEAT``). They are private since Python 3.11 and were tested on
CPython 3.11-3.13 (``TESTED_PYTHONS``; pyproject.toml's ``requires-python`` stops at 3.14).
A change can only make the prefilter give up more often (slower, never wrong: unknown nodes
give ``None``), so it would pass unseen: ``check_parser`` runs at import, derives the needles
of ``SELF_TEST`` (one pattern for each node kind used) and raises ``RuntimeError`` naming
the private parts when the parser's answer changed or a part is gone; it does not fall back.
``tests/test_private_apis.py`` and ``tests/risk/test_prefilter.py`` check the same. A public
approach (needles written by hand in the data files) was rejected: it moves a correctness
burden onto the clinical reviewers of the lists.
"""

from __future__ import annotations

import re
import re._constants as _sre  # private, pinned: see the module docstring
import re._parser as _sre_parse  # private, pinned: see the module docstring
import sys
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

TESTED_PYTHONS = ((3, 11), (3, 12), (3, 13))
"""Minor versions of CPython whose ``re._parser`` the derivation was tested on."""

_MAX_NEEDLES = 64


class _Needled(Protocol):
    @property
    def needles(self) -> tuple[str, ...] | None: ...


class _GiveUp(Exception):
    """The regex uses something the needle derivation does not model."""


_REPEATS_OPS = {_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", None)}


def parser_is_tested() -> bool:
    """Whether this interpreter is one the private parser use was tested on."""
    return sys.implementation.name == "cpython" and sys.version_info[:2] in TESTED_PYTHONS


# One pattern per parse-tree node the derivation reads (literal runs, groups, branches,
# repeats, a flag), with the needles that CPython 3.11-3.13's parser gives it.
SELF_TEST: dict[str, tuple[str, ...] | None] = {
    r"kill (my ?self|urself)": ("kill ",),
    r"(paracetamol|crocin|dolo)s?": ("dolo", "crocin", "paracetamol"),
    r"(how|why) many .{0,10}pills": (" many ",),
    r"(?:cut|nas)+? (kaat|kat)": ("cut", "nas"),
    r"\d+ ?mg": ("mg",),
    r"(?i)kill": None,
}
PRIVATE_PARTS = (
    "re._parser.parse",
    "SubPattern.state.flags",
    "re._constants.LITERAL/SUBPATTERN/BRANCH/MAX_REPEAT/MIN_REPEAT",
)


def check_parser() -> None:
    """Raise ``RuntimeError`` if CPython's private regex parser no longer gives the needles
    it gave when this was written (the prefilter would silently give up, or be wrong)."""
    problems = []
    for module, names in (
        (_sre_parse, ("parse",)),
        (_sre, ("LITERAL", "SUBPATTERN", "BRANCH", "MAX_REPEAT", "MIN_REPEAT")),
    ):
        problems += [f"{module.__name__}.{n} is gone" for n in names if not hasattr(module, n)]
    if not problems:
        for pattern, expected in SELF_TEST.items():
            try:
                found = needles(re.compile(pattern))
            except Exception as exc:
                found = f"an error ({type(exc).__name__})"  # type: ignore[assignment]
            if (sorted(found) if isinstance(found, tuple) else found) != (
                sorted(expected) if expected else None
            ):
                problems.append(f"{pattern!r} gives {found!r}, not {expected!r}")
    if problems:
        raise RuntimeError(
            "app.risk.cues.prefilter reads CPython's private regex parser ("
            + ", ".join(PRIVATE_PARTS)
            + f"), and on {sys.implementation.name} {sys.version.split()[0]} it changed: "
            + "; ".join(problems)
            + ". Use a tested Python (TESTED_PYTHONS) or update the derivation."
        )


def _required(items: Any) -> frozenset[str] | None:
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


def _required_node(op: Any, arg: Any) -> frozenset[str] | None:
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


def needles(regex: re.Pattern[str]) -> tuple[str, ...] | None:
    """Strings of which every match of ``regex`` contains one; None when none is usable."""
    # Not ``except Exception``: a parser this code does not know must raise (check_parser
    # at import), not quietly turn the prefilter off.
    parsed = _sre_parse.parse(regex.pattern)
    if parsed.state.flags & re.IGNORECASE:
        return None
    try:
        found = _required(parsed)
    except _GiveUp:
        return None
    # One letter, digit or space is in almost every message: not worth checking. A lone
    # symbol (an emoji such as the pill) is selective.
    if not found or any(len(n) < 2 and (n.isalnum() or n.isspace()) for n in found):
        return None
    # Drop strings that contain a shorter one: the shorter one is found whenever they are.
    kept = [n for n in found if not any(o != n and o in n for o in found)]
    return tuple(sorted(kept, key=len))


class Prefilter:
    """Which items (patterns) can match a text, found in one regex pass.

    Every needle goes into one trie-shaped regex that finds, at every position, the longest
    needle starting there. A needle is in the text exactly when it is a substring of one of
    those longest matches (it starts where one starts, or inside one), so the items whose
    needles are all absent are skipped without running their regexes. Items without needles
    always run. Candidates come back in the order the items were given.
    """

    def __init__(self, items: Sequence[_Needled]) -> None:
        self._always = [i for i, p in enumerate(items) if p.needles is None]
        owners: dict[str, list[int]] = {}
        for index, item in enumerate(items):
            for needle in item.needles or ():
                owners.setdefault(needle, []).append(index)
        # For each needle, every item whose needle it contains (itself included): looked up
        # by the needle's own substrings (needles are short) rather than by every other
        # needle (two thousand of them at each server start).
        self._owners = {
            needle: sorted(
                {
                    i
                    for start in range(len(needle))
                    for end in range(start + 1, len(needle) + 1)
                    for i in owners.get(needle[start:end], ())
                }
            )
            for needle in owners
        }
        self._items = list(items)
        self._regex = re.compile(f"(?=({trie_pattern(owners)}))") if owners else None

    def candidates(self, folded: str) -> list[Any]:
        chosen = set(self._always)
        if self._regex is not None:
            for longest in {m.group(1) for m in self._regex.finditer(folded)}:
                chosen.update(self._owners[longest])
        return [self._items[i] for i in sorted(chosen)]


def trie_pattern(words: Iterable[str]) -> str:
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


def present(found: tuple[str, ...] | None, folded: str) -> bool:
    """False only when no needle occurs, i.e. the regex cannot match."""
    if found is None:
        return True
    for needle in found:
        if needle in folded:
            return True
    return False


check_parser()
