"""No automatic text a seeker sees contains a method word or a banned phrasing."""

import pytest

from app.referrals.directory import load_directory
from app.risk.safe_messaging import find_unsafe
from app.risk.texts import load_texts, seeker_text


def _all_texts():
    for key, variants in load_texts().items():
        for i, variant in enumerate(variants):
            for language, text in variant.items():
                yield f"{key}[{i}].{language}", text


def _helpline_card_texts():
    for line in load_directory().helplines:
        for language in [None, *(t.language for t in line.translations)]:
            rendered = line.render(language)
            where = f"helpline {line.id} ({language or 'own'})"
            yield f"{where} name", rendered["name"]
            if rendered["hours"]:
                yield f"{where} hours", rendered["hours"]


@pytest.mark.parametrize(("where", "text"), list(_all_texts()) + list(_helpline_card_texts()))
def test_automatic_text_is_safe(where, text):
    assert find_unsafe(text) == [], where


def test_method_words_are_found():
    assert find_unsafe("people sometimes overdose")
    assert find_unsafe("फांसी")
    assert find_unsafe("sulfas")


@pytest.mark.parametrize(
    "text",
    [
        "He committed suicide last year",
        "it was a failed suicide attempt",
        "it can feel like the only way out",
        "A volunteer will be with you shortly",
    ],
)
def test_banned_phrasings_are_found(text):
    assert any(p.startswith("banned:") for p in find_unsafe(text))


def test_every_text_has_english_and_hindi():
    for variants in load_texts().values():
        for variant in variants:
            assert variant["en"].strip() and variant["hi"].strip()
    assert seeker_text("emergency_guidance", "ta") == seeker_text("emergency_guidance", "en")
    assert "112" in seeker_text("emergency_guidance", "hi")
