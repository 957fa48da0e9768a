"""Cue detection: each class, each language form, hard negatives, no echo of words."""

import dataclasses
import json
from pathlib import Path

import pytest

from app.risk.cues import CueClass, CueListError, CueMatch, CueMatcher, normalise, strongest


@pytest.fixture(scope="module")
def matcher():
    return CueMatcher.default()


def top(matcher, text):
    found = strongest(matcher.match(text))
    return found.cue_class if found else None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("i took 800mg of something", CueClass.METHOD_OR_ATTEMPT),
        ("googled antifreeze", CueClass.METHOD_OR_ATTEMPT),
        ("💊💊 tonight", CueClass.METHOD_OR_ATTEMPT),
        ("thinking about an overdose", CueClass.METHOD_OR_ATTEMPT),
        ("i want to jump off the roof", CueClass.METHOD_OR_ATTEMPT),
        ("there is a noose in my room", CueClass.METHOD_OR_ATTEMPT),
        ("I want to die", CueClass.FIRST_PERSON_IDEATION),
        ("honestly i wanna kms", CueClass.FIRST_PERSON_IDEATION),
        ("I\u2019m thinking of ending my life", CueClass.FIRST_PERSON_IDEATION),
        ("everyone would be better off without me", CueClass.WARNING_SIGN),
        ("i'm just a burden to my family", CueClass.WARNING_SIGN),
    ],
)
def test_english_cues(matcher, text, expected):
    assert top(matcher, text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("main marna chahta hoon", CueClass.FIRST_PERSON_IDEATION),
        ("MARNAAA CHAHTI HU", CueClass.FIRST_PERSON_IDEATION),
        ("jeena nahi chahta", CueClass.FIRST_PERSON_IDEATION),
        ("khudkushi kar lunga", CueClass.FIRST_PERSON_IDEATION),
        ("zindagi khatam kar du", CueClass.FIRST_PERSON_IDEATION),
        ("sulfas ki goli mil gayi", CueClass.METHOD_OR_ATTEMPT),
        ("main sab pe bojh hoon", CueClass.WARNING_SIGN),
    ],
)
def test_hinglish_cues(matcher, text, expected):
    assert top(matcher, text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("मैं मरना चाहता हूं", CueClass.FIRST_PERSON_IDEATION),
        ("मै मरना चाहता हू", CueClass.FIRST_PERSON_IDEATION),  # no anusvara, as often typed
        ("जीने का मन नहीं करता", CueClass.FIRST_PERSON_IDEATION),
        ("अपनी जिन्दगी खत्म करना चाहती हूं", CueClass.FIRST_PERSON_IDEATION),  # न् spelling
        ("आत्महत्या के ख्याल", CueClass.FIRST_PERSON_IDEATION),
        ("नींद की गोलियां जमा कर ली", CueClass.METHOD_OR_ATTEMPT),
        ("मैं सब पर बोझ हूं।", CueClass.WARNING_SIGN),
    ],
)
def test_devanagari_cues(matcher, text, expected):
    assert top(matcher, text) is expected


@pytest.mark.parametrize(
    "text",
    [
        "this homework is killing me",
        "i was dying of laughter",
        "i could kill for a pizza",
        "dead tired after practice",
        "you're killing it!",
        "i'm dying to see that movie",
        "i'm not suicidal, just stressed",
        "i don't want to die, i want the panic to stop",
        "mar gaya hasi se 😂",
        "bhook se mar raha hoon",
        "हंसते हंसते मर गया",
        "मेरा फोन मर गया",
        "chalo alvida, kal milte hain",
        "i want to die my hair blue",
    ],
)
def test_hard_negatives_do_not_match(matcher, text):
    assert matcher.match(text) == []


def test_match_records_the_list_it_came_from(matcher):
    languages = {m.language for m in matcher.match("मैं मरना चाहता हूं")}
    assert languages == {"hi"}
    assert "hinglish" in {m.language for m in matcher.match("main marna chahta hoon")}


def test_a_match_never_carries_the_matched_words(matcher):
    (match, *_) = matcher.match("i took 800mg of paracetamol")
    fields = {f.name for f in dataclasses.fields(CueMatch)}
    assert fields == {"cue_class", "language", "pattern_ref", "family"}
    assert "paracetamol" not in repr(match) and "800" not in repr(match)


def test_strongest_prefers_method_over_ideation():
    matches = [
        CueMatch(CueClass.WARNING_SIGN, "en", "en/burden#0", "burden"),
        CueMatch(CueClass.METHOD_OR_ATTEMPT, "hi", "hi/attempt#0", "attempt"),
        CueMatch(CueClass.FIRST_PERSON_IDEATION, "en", "en/passive_wish#0", "passive_wish"),
    ]
    assert strongest(matches).cue_class is CueClass.METHOD_OR_ATTEMPT
    assert strongest([]) is None


def test_normalise_folds_case_apostrophes_repeats_and_devanagari_marks():
    assert normalise("I\u2019M   SOOOO Done!!!") == "im so done"
    assert normalise("ज़िंदगी") == normalise("जिन्दगी") == normalise("जिदगी")


def test_ascii_text_folds_exactly_as_the_full_unicode_path_would():
    """Plain ASCII takes a shortcut (no NFKC, no Devanagari folds); it must agree with the
    full path on every ASCII character, punctuation and apostrophes included."""
    import random

    every_ascii = "".join(chr(i) for i in range(128))
    rng = random.Random(5)
    samples = [every_ascii, "I'M  NOT ok... `really`!!", "kill   MYSELF?!", "can't   go on"]
    samples += ["".join(rng.choice(every_ascii) for _ in range(30)) for _ in range(2000)]
    for text in samples:
        # The same text with one non-ASCII character appended takes the full path.
        assert normalise(text + " \u00e9")[: len(normalise(text))] == normalise(text), text


def _features_by_slices(folded: str) -> set[str]:
    """The learned scorer's features as first written (a Python loop of slices): the
    reference the regex version in app.risk.cues.learned must agree with."""
    words = folded.split()
    found = set(words)
    for word in words:
        padded = f"<{word}>"
        if len(padded) < 4:
            found.add(padded)
            continue
        found.update(padded[i : i + 4] for i in range(len(padded) - 3))
    text = f" {folded} "
    found.update(text[i : i + 5] for i in range(len(text) - 4) if " " in text[i + 1 : i + 4])
    return found


def test_the_scorers_features_are_the_slices_they_were_trained_on():
    """The n-grams come from the regex engine; they must be exactly the slices the weights
    were trained on, for every corpus message and for odd text: one-letter words, the pad
    characters themselves, Devanagari, emoji beyond the Basic Multilingual Plane."""
    import random

    from app.risk.cues.learned import features

    corpus = Path(__file__).resolve().parents[2] / "bench" / "data" / "cue_corpus.jsonl"
    texts = [json.loads(line)["text"] for line in corpus.read_text(encoding="utf-8").splitlines()]
    rng = random.Random(7)
    alphabet = "ab <>x1 मरना\u0902ह😀é<<>>"
    texts += [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24))) for _ in range(20000)
    ]
    texts += ["", "a", "<", "< >", "a b c", "<a> <b>", "x" * 40]
    for text in texts:
        folded = normalise(text)
        assert features(folded) == _features_by_slices(folded), repr(folded)


def test_white_space_is_collapsed_as_a_regex_of_white_space_would():
    """normalise splits on ``str.split``'s white space; it must be exactly what ``\\s``
    matches, on every code point."""
    import re

    spaces = re.compile(r"\s+")
    for cp in range(0x110000):
        ch = chr(cp)
        assert (spaces.fullmatch(ch) is not None) == ch.isspace(), hex(cp)
    text = "\u2003a \t\u00a0b\x1c\x1fc\u3000\n"
    assert " ".join(text.split()) == spaces.sub(" ", text).strip() == "a b c"


def test_default_matcher_is_built_once():
    assert CueMatcher.default() is CueMatcher.default()


def test_bad_pattern_fails_loudly_naming_file(tmp_path):
    bad = tmp_path / "xx.yaml"
    bad.write_text(
        "language: xx\nversion: 1\nfamilies:\n  passive_wish:\n    patterns: ['(unclosed']\n",
        encoding="utf-8",
    )
    with pytest.raises(CueListError, match=r"xx\.yaml.*xx/passive_wish#0"):
        CueMatcher([bad])


# --- v2: families, not sentences ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # English: intent verb + ending, SMS spellings
        ("planning to unalive myself", CueClass.FIRST_PERSON_IDEATION),
        ("thought about not waking up", CueClass.FIRST_PERSON_IDEATION),
        ("gonna kms tonight", CueClass.FIRST_PERSON_IDEATION),
        ("i hope i never wake up", CueClass.FIRST_PERSON_IDEATION),
        ("done with life", CueClass.FIRST_PERSON_IDEATION),
        ("they'd all be better off w/o me", CueClass.WARNING_SIGN),
        ("no point in going on", CueClass.WARNING_SIGN),
        ("cant do this no more", CueClass.WARNING_SIGN),
        ("giving away all my books", CueClass.WARNING_SIGN),
        ("weirdly calm now that i've decided", CueClass.WARNING_SIGN),
        ("just took like 25 of my mums tablets", CueClass.METHOD_OR_ATTEMPT),
        ("how many of these would be too much", CueClass.METHOD_OR_ATTEMPT),
        ("i OD'd last year", CueClass.METHOD_OR_ATTEMPT),
        ("sitting on the flyover railing rn", CueClass.METHOD_OR_ATTEMPT),
        ("cutting again tonight", CueClass.METHOD_OR_ATTEMPT),
        # Hinglish: morphology and spelling
        ("mujhe mrna h", CueClass.FIRST_PERSON_IDEATION),
        ("mera jeene ka koi irada nahi", CueClass.FIRST_PERSON_IDEATION),
        ("khud ko khatam kar dungi", CueClass.FIRST_PERSON_IDEATION),
        ("sab khatam kar dunga", CueClass.FIRST_PERSON_IDEATION),
        ("koi fayda nahi jeene ka", CueClass.WARNING_SIGN),
        ("phaansi laga lunga", CueClass.METHOD_OR_ATTEMPT),
        ("jahar kha lungi", CueClass.METHOD_OR_ATTEMPT),
        ("building ki chhat se kudne ka plan hai", CueClass.METHOD_OR_ATTEMPT),
        # Devanagari, with and without nasal marks
        ("मै मर जाना चाहती हु", CueClass.FIRST_PERSON_IDEATION),
        ("अब और नहीं जी सकता", CueClass.FIRST_PERSON_IDEATION),
        ("सब मेरे बिना बेहतर रहेंगे", CueClass.WARNING_SIGN),
        ("ज़हर खरीद लिया है", CueClass.METHOD_OR_ATTEMPT),
        ("छत से कूद जाऊँगा", CueClass.METHOD_OR_ATTEMPT),
    ],
)
def test_families(matcher, text, expected):
    assert top(matcher, text) is expected


@pytest.mark.parametrize(
    "text",
    [
        "i used to want to die but therapy helped, im ok now",
        "she says she wants to die, what do i do",
        "ive attempted all questions in the paper",
        "thinking about dying my hair pink",
        "bye see you tomorrow",
        "the tracks on this album are fire",
        "i take 500mg of vitamin c every morning",
        "i want to end this relationship",
        "result dekh ke dil toot gaya",
        "tablet kha li sar dard ki",
        "usko marna hai bolti rehti hai, drama queen",
        "itna kha liya ki mar jaunga 😂",
        "मैच हार गए, सब खत्म हो गया",
        "उंगली कट गई सब्ज़ी काटते हुए",
    ],
)
def test_more_hard_negatives_do_not_match(matcher, text):
    assert matcher.match(text) == []


def test_terms_expand_and_unknown_terms_fail(tmp_path):
    good = tmp_path / "xx.yaml"
    good.write_text(
        "language: xx\nversion: 1\nterms:\n  A: '(foo|fo)'\n  B: '<A> bar'\nfamilies:\n"
        "  active_ideation:\n    patterns: ['<B>']\n",
        encoding="utf-8",
    )
    (match,) = CueMatcher([good]).match("Fo bar!")
    assert (match.pattern_ref, match.family) == ("xx/active_ideation#0", "active_ideation")
    assert match.cue_class is CueClass.FIRST_PERSON_IDEATION
    bad = tmp_path / "yy.yaml"
    bad.write_text(
        "language: yy\nversion: 1\nfamilies:\n  active_ideation:\n    patterns: ['<NOPE> x']\n",
        encoding="utf-8",
    )
    with pytest.raises(CueListError, match=r"yy\.yaml.*unknown term <NOPE>"):
        CueMatcher([bad])


def _eval_texts():
    corpus = Path(__file__).resolve().parents[2] / "bench" / "data" / "cue_corpus.jsonl"
    for line in corpus.read_text(encoding="utf-8").splitlines():
        if line.strip():
            yield json.loads(line)["text"]


def test_literal_prefilter_never_skips_a_pattern_that_matches(matcher):
    # The prefilter skips a regex when none of its required strings occurs; that must be a
    # necessary condition. Check it on every pattern and guard against every eval message:
    # some 22 million searches, so each regex's search is looked up once, not per message.
    folded_texts = [normalise(text) for text in _eval_texts()]
    checked = 0
    for prefilter, items in (
        (matcher._prefilter, matcher._patterns),
        (matcher._guard_filter, matcher._guards),
    ):
        searches = [(item, item.regex.search) for item in items]
        for folded in folded_texts:
            offered = None  # what the prefilter offers for this message, once one matches
            for item, search in searches:
                if search(folded):
                    checked += 1
                    assert item.clauses is None or all(
                        any(n in folded for n in needles) for needles in item.clauses
                    ), (item.regex.pattern, folded)
                    if offered is None:
                        offered = {id(candidate) for candidate in prefilter.candidates(folded)}
                    assert id(item) in offered, (item.regex.pattern, folded)
    assert checked > 300
    with_needles = sum(p.clauses is not None for p in matcher._patterns)
    assert with_needles / len(matcher._patterns) > 0.9
