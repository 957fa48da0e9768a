"""The prefilter: its use of CPython's private regex parser fails loudly when it changes, and
its one literal pass finds every needle present."""

import re
import sys
from dataclasses import dataclass

from app.risk.cues import CueMatcher, prefilter


def test_this_python_is_one_the_private_parser_use_was_tested_on():
    # If this fails, a new Python is in use: run the tests below and tests/risk, then add
    # its minor version to prefilter.TESTED_PYTHONS (or fix the derivation).
    assert prefilter.parser_is_tested(), (
        f"re._parser use untested on {sys.implementation.name} {sys.version_info[:2]}"
    )


def test_clauses_are_derived_from_the_parse_tree_as_expected():
    cases = {
        r"kill (my ?self|urself)": (("kill ",), ("self",)),
        r"(paracetamol|crocin|dolo)s?": (("dolo", "crocin", "paracetamol"),),
        # every required literal, not only the longest
        r"(how|why) many .{0,10}pills": ((" many ",), ("pills",), ("how", "why")),
        r"(i|me) (will|gonna) (sleep|rest) forever": (
            (" forever",),
            ("will", "gonna"),
            ("rest", "sleep"),
        ),
        r"💊": (("💊",),),
        r"(a|b)": None,  # single letters are not selective
        r"(a|b) end": ((" end",),),  # ... so that part adds no clause
        r"(?i:kill)": None,  # scoped case-insensitivity: the derivation gives up
        r"\d+ ?mg": (("mg",),),
        r"(pills|\w+)": None,  # an alternative with nothing required: no clause
    }
    for pattern, expected in cases.items():
        assert prefilter.clauses(re.compile(pattern)) == expected, pattern


def test_a_pattern_runs_only_when_every_clause_has_a_needle():
    @dataclass
    class Item:
        clauses: prefilter.Clauses | None

    items = [
        Item((("pills", "tablets"), (" many ",))),
        Item((("kill",),)),
        Item(None),
    ]
    chosen = prefilter.Prefilter(items)
    assert chosen.candidates("how many tablets") == [items[0], items[2]]
    assert chosen.candidates("how many days") == [items[2]]
    assert chosen.candidates("no pills") == [items[2]]  # "pills" alone is not enough
    assert chosen.candidates("tablets kill") == [items[1], items[2]]
    assert chosen.candidates("skilled at many pills") == items  # needles inside words count


def test_needles_that_overlap_or_nest_are_all_found():
    # One pass finds every needle present, also one inside or overlapping another
    # ("ill" in "pill", "ski" overlapping "kill" in "skill"), in Devanagari and emoji too.
    @dataclass
    class Item:
        clauses: prefilter.Clauses | None

    items = [
        Item((("pill",),)),
        Item((("ill",),)),
        Item((("ski",),)),
        Item((("kill",),)),
        Item((("मरना",),)),
        Item((("💊",),)),
    ]
    chosen = prefilter.Prefilter(items)
    assert chosen.candidates("skill") == [items[1], items[2], items[3]]
    assert chosen.candidates("a pill") == [items[0], items[1]]
    assert chosen.candidates("मुझे मरना है 💊") == [items[4], items[5]]
    assert chosen.candidates("nothing here") == []
    assert prefilter.Prefilter([Item(None)]).candidates("anything") == [Item(None)]


def test_almost_every_shipped_pattern_gets_needles():
    # A parser change makes the derivation give up (None): correct but slow. Fail loudly.
    patterns = CueMatcher.default()._patterns
    with_needles = sum(p.clauses is not None for p in patterns)
    assert with_needles / len(patterns) > 0.95


def test_the_shipped_clauses_are_what_the_lists_derive_to():
    # app/risk/cue_lists/clauses.json spares each server start the derivation; after a list
    # is edited, `python scripts/cue_clauses.py` writes it again.
    from tests.support import assert_script_check_passes

    assert_script_check_passes("scripts/cue_clauses.py")


def test_a_known_pattern_is_compiled_when_first_used_and_an_unknown_one_at_load(tmp_path):
    import pytest

    from app.risk.cues import CueListError, lists

    path = tmp_path / "en.yaml"
    path.write_text(
        "language: en\nversion: 1\nfamilies:\n  passive_wish:\n"
        "    patterns: ['known (one|two)', 'new (one|two)']\n"
    )
    catalogue = lists.load_catalogue()
    known_source = lists.pattern_source("known (one|two)", where="test")
    known = {known_source: (("known ",),)}
    (known_item, new_item), _ = lists.load_list(path, catalogue, known=known)
    assert known_item.clauses == (("known ",),)  # taken from the file, as it says
    assert known_item._regex is None  # not compiled yet
    assert known_item.regex.search("a known two") is not None
    assert known_item._regex is known_item.regex  # compiled once, then kept
    assert new_item._regex is not None  # derived and compiled at load
    assert new_item.clauses == (("new ",), ("one", "two"))
    # A bad pattern the file does not know stops the load, as before.
    path.write_text(
        "language: en\nversion: 1\nfamilies:\n  passive_wish:\n    patterns: ['bad (']\n"
    )
    with pytest.raises(CueListError, match=r"en/passive_wish#0: bad pattern"):
        lists.load_list(path, catalogue, known=known)


def test_clauses_derived_under_another_python_are_not_used(tmp_path):
    from app.risk.cues import lists

    path = tmp_path / "clauses.json"
    path.write_text('{"python": "2.7", "clauses": {"x": [["x"]]}}')
    assert lists.known_clauses(path) == {}
    this = tmp_path / "this.json"
    this.write_text(
        lists.clauses_file([]).replace('"clauses": {\n\n}', '"clauses": {"x": [["x"]]}')
    )
    assert lists.known_clauses(this) == {"x": (("x",),)}
