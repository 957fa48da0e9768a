"""The prefilter's use of CPython's private regex parser fails loudly when it changes."""

import re
import sys

from app.risk.cues import CueMatcher, prefilter


def test_this_python_is_one_the_private_parser_use_was_tested_on():
    # If this fails, a new Python is in use: run the tests below and tests/risk, then add
    # its minor version to prefilter.TESTED_PYTHONS (or fix the derivation).
    assert prefilter.parser_is_tested(), (
        f"re._parser use untested on {sys.implementation.name} {sys.version_info[:2]}"
    )


def test_needles_are_derived_from_the_parse_tree_as_expected():
    cases = {
        r"kill (my ?self|urself)": ("kill ",),
        r"(paracetamol|crocin|dolo)s?": ("dolo", "crocin", "paracetamol"),
        r"(how|why) many .{0,10}pills": (" many ",),  # the longest required literal
        r"💊": ("💊",),
        r"(a|b)": None,  # single letters are not selective
        r"(?i:kill)": None,  # scoped case-insensitivity: the derivation gives up
        r"\d+ ?mg": ("mg",),
    }
    for pattern, expected in cases.items():
        found = prefilter.needles(re.compile(pattern))
        assert (sorted(found) if found else None) == (sorted(expected) if expected else None), (
            pattern
        )


def test_almost_every_shipped_pattern_gets_needles():
    # A parser change makes the derivation give up (None): correct but slow. Fail loudly.
    patterns = CueMatcher.default()._patterns
    with_needles = sum(p.needles is not None for p in patterns)
    assert with_needles / len(patterns) > 0.95
