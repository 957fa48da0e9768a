"""Cue detection: each class, each language form, hard negatives, no echo of words."""

import dataclasses

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
    assert fields == {"cue_class", "language", "pattern_ref"}
    assert "paracetamol" not in repr(match) and "800" not in repr(match)


def test_strongest_prefers_method_over_ideation():
    matches = [
        CueMatch(CueClass.WARNING_SIGN, "en", "en/warning_sign#0"),
        CueMatch(CueClass.METHOD_OR_ATTEMPT, "hi", "hi/method_or_attempt#0"),
        CueMatch(CueClass.FIRST_PERSON_IDEATION, "en", "en/first_person_ideation#0"),
    ]
    assert strongest(matches).cue_class is CueClass.METHOD_OR_ATTEMPT
    assert strongest([]) is None


def test_normalise_folds_case_apostrophes_repeats_and_devanagari_marks():
    assert normalise("I\u2019M   SOOOO Done!!!") == "im so done"
    assert normalise("ज़िंदगी") == normalise("जिन्दगी") == normalise("जिदगी")


def test_default_matcher_is_built_once():
    assert CueMatcher.default() is CueMatcher.default()


def test_bad_pattern_fails_loudly_naming_file(tmp_path):
    bad = tmp_path / "xx.yaml"
    bad.write_text(
        "language: xx\nversion: 1\nclasses:\n  first_person_ideation: ['(unclosed']\n"
        "  warning_sign: []\n  method_or_attempt: []\n",
        encoding="utf-8",
    )
    with pytest.raises(CueListError, match=r"xx\.yaml.*first_person_ideation#0"):
        CueMatcher([bad])
