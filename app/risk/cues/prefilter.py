"""Literal prefilter: which cue patterns can match a text, without running them all.

Running some 1,500 regexes (patterns and guards) on every message is the matcher's cost.
Most patterns cannot match unless literal strings occur in the text ("kill", "khud", "नस"
...), so each pattern carries its *clauses*: sets of *needles*, each set with a member in
every match ("kill " and one of "self"/"urself" for ``kill (my ?self|urself)``). One
Aho-Corasick pass (``pyahocorasick``) finds which needles occur, and a pattern runs only
when every one of its clauses has a needle present.
The clauses are derived from the parsed regex and are exact (necessary conditions, never a
guess); when in doubt the derivation gives up on a part (it adds no clause) or on the whole
pattern (``None``: the pattern always runs). A single clause was used until session 12: one
needle as common as " my " or "day" then ran a pattern whose other words were absent, 14
regexes for an everyday line instead of none.

Private API, pinned: the derivation reads the parse tree of CPython's regex compiler,
``re._parser.parse`` (its ``SubPattern`` items and ``state.flags``) and the opcode constants
of ``re._constants`` (``LITERAL``, ``SUBPATTERN``, ``BRANCH``, ``MAX_REPEAT``,
``MIN_REPEAT``, ``POSSESSIVE_REPEAT``). They are private since Python 3.11 and were tested on
CPython 3.11-3.13 (``TESTED_PYTHONS``; pyproject.toml's ``requires-python`` stops at 3.14).
A change can only make the prefilter give up more often (slower, never wrong: unknown nodes
give ``None``), so it would pass unseen: ``check_parser`` runs at import, derives the needles
of ``SELF_TEST`` (one pattern for each node kind used) and raises ``RuntimeError`` naming
the private parts when the parser's answer changed or a part is gone; it does not fall back.
``tests/test_private_apis.py`` and ``tests/risk/test_prefilter.py`` check the same, and
``tests/risk/test_cues.py`` checks on every corpus message that no pattern that matches was
skipped. A public
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

import ahocorasick

TESTED_PYTHONS = ((3, 11), (3, 12), (3, 13))
"""Minor versions of CPython whose ``re._parser`` the derivation was tested on."""

_MAX_NEEDLES = 64


class _GiveUp(Exception):
    """The regex uses something the needle derivation does not model."""


_REPEATS_OPS = {_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", None)}


def parser_is_tested() -> bool:
    """Whether this interpreter is one the private parser use was tested on."""
    return sys.implementation.name == "cpython" and sys.version_info[:2] in TESTED_PYTHONS


Clauses = tuple[tuple[str, ...], ...]
"""Sets of needles: every match of the pattern contains a member of every set. Each set is
sorted by length, the most selective set first."""

# One pattern per parse-tree node the derivation reads (literal runs, groups, branches,
# repeats, a flag), with the clauses that CPython 3.11-3.13's parser gives it.
SELF_TEST: dict[str, Clauses | None] = {
    r"kill (my ?self|urself)": (("kill ",), ("self",)),
    r"(paracetamol|crocin|dolo)s?": (("dolo", "crocin", "paracetamol"),),
    r"(how|why) many .{0,10}pills": ((" many ",), ("pills",), ("how", "why")),
    r"(?:cut|nas)+? (kaat|kat)": (("cut", "nas"), ("ka",)),
    r"\d+ ?mg": (("mg",),),
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
                found: object = clauses(re.compile(pattern))
            except Exception as exc:
                found = f"an error ({type(exc).__name__})"
            if found != expected:
                problems.append(f"{pattern!r} gives {found!r}, not {expected!r}")
    if problems:
        raise RuntimeError(
            "app.risk.cues.prefilter reads CPython's private regex parser ("
            + ", ".join(PRIVATE_PARTS)
            + f"), and on {sys.implementation.name} {sys.version.split()[0]} it changed: "
            + "; ".join(problems)
            + ". Use a tested Python (TESTED_PYTHONS) or update the derivation."
        )


def _all_required(items: Any) -> list[frozenset[str]]:
    """Sets of strings, each with a member in every match of the parsed sequence ``items``
    (literal runs, and what the groups, branches and repeats in it require)."""
    found: list[frozenset[str]] = []
    run: list[str] = []
    for op, arg in items:
        if op is _sre.LITERAL:
            run.append(chr(arg))
            continue
        if run:
            found.append(frozenset(["".join(run)]))
            run = []
        found += _required_node(op, arg)
    if run:
        found.append(frozenset(["".join(run)]))
    return found


def _selectivity(needles: Iterable[str]) -> tuple[int, int]:
    """How selective a set of needles is (higher is better): the longest shortest member,
    then the fewest members."""
    lengths = [len(n) for n in needles]
    return min(lengths), -len(lengths)


def _best(sets: list[frozenset[str]]) -> frozenset[str] | None:
    """The most selective set."""
    return max(sets, key=_selectivity, default=None)


def _required_node(op: Any, arg: Any) -> list[frozenset[str]]:
    if op is _sre.SUBPATTERN:
        if arg[1] & re.IGNORECASE:  # scoped (?i:...): literals would be case-blind
            raise _GiveUp
        return _all_required(arg[-1])
    if op is _sre.BRANCH:
        # Each alternative contributes its most selective set; one alternative with
        # nothing required makes the whole branch require nothing.
        union: set[str] = set()
        for branch in arg[1]:
            best = _best(_all_required(branch))
            if best is None:
                return []
            union |= best
            if len(union) > _MAX_NEEDLES:
                return []
        return [frozenset(union)]
    if op in _REPEATS_OPS:
        low, _high, sub = arg
        return _all_required(sub) if low >= 1 else []
    return []


def _selective(needle: str) -> bool:
    # One letter, digit or space is in almost every message: not worth checking. A lone
    # symbol (an emoji such as the pill) is selective.
    return len(needle) >= 2 or not (needle.isalnum() or needle.isspace())


def clauses(regex: re.Pattern[str]) -> Clauses | None:
    """Sets of strings: every match of ``regex`` contains a member of each set. None when
    no set is usable (the pattern then always runs)."""
    # Not ``except Exception``: a parser this code does not know must raise (check_parser
    # at import), not quietly turn the prefilter off.
    parsed = _sre_parse.parse(regex.pattern)
    if parsed.state.flags & re.IGNORECASE:
        return None
    try:
        found = _all_required(parsed)
    except _GiveUp:
        return None
    kept: list[tuple[str, ...]] = []
    for needles in found:
        if not all(map(_selective, needles)):
            continue
        # Drop strings that contain a shorter one: the shorter one is found whenever they are.
        minimal = tuple(
            sorted(
                (n for n in needles if not any(o != n and o in n for o in needles)),
                key=lambda n: (len(n), n),
            )
        )
        if minimal not in kept:
            kept.append(minimal)
    # The most selective first (the prefilter's regex pass looks for that one's needles);
    # ties in the pattern's order (a reversed sort is still stable).
    kept.sort(key=_selectivity, reverse=True)
    return tuple(kept) or None


class _Claused(Protocol):
    @property
    def clauses(self) -> Clauses | None: ...


class Prefilter:
    """Which items (patterns) can match a text, found in one Aho-Corasick pass.

    The needles of every item's first (most selective) clause go into one automaton
    (``pyahocorasick``), which finds in a single pass over the text every one of them that
    occurs, overlapping ones included (so a needle is found exactly when ``needle in text``).
    An item one of whose first-clause needles is there is then checked for its other clauses
    with plain substring tests (every clause's needles in the automaton would find dozens
    such as "th" in an everyday line and cost twice as much). Items without clauses always
    run. Candidates come back in the order the items were given. Until session 14 the pass
    was a trie-shaped regex tried at every position of the text: 2-3 times slower per message
    and a tenth of a second to compile at start-up.
    """

    def __init__(self, items: Sequence[_Claused]) -> None:
        self._always = [i for i, p in enumerate(items) if p.clauses is None]
        owners: dict[str, list[int]] = {}
        self._rest: dict[int, Clauses] = {}
        for index, item in enumerate(items):
            if item.clauses:
                first, *rest = item.clauses
                for needle in first:
                    owners.setdefault(needle, []).append(index)
                if rest:
                    self._rest[index] = tuple(rest)
        # Each needle's value is the items it opens: a hit needs no second look-up.
        self._automaton = ahocorasick.Automaton()
        for needle, indexes in owners.items():
            self._automaton.add_word(needle, tuple(indexes))
        self._searching = len(self._automaton) > 0
        if self._searching:
            self._automaton.make_automaton()
        self._items = list(items)

    def candidates(self, folded: str) -> list[Any]:
        chosen = set(self._always)
        if self._searching:
            for _end, indexes in self._automaton.iter(folded):
                chosen.update(indexes)
        found_items = []
        rest = self._rest
        for i in sorted(chosen):
            for clause in rest.get(i, ()):
                for needle in clause:
                    if needle in folded:
                        break
                else:  # no needle of this clause: the item cannot match
                    break
            else:
                found_items.append(self._items[i])
        return found_items


check_parser()
