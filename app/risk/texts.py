"""Automatic seeker-facing texts (``texts.yaml``), by key and language.

Every text exists in English and Hindi (loading fails otherwise); an unknown language falls
back to English. The texts are checked by ``safe_messaging.find_unsafe`` in the tests.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from app import yaml_data

TEXTS_FILE = Path(__file__).parent / "texts.yaml"
REQUIRED_LANGUAGES = ("en", "hi")
KEYS = (
    "waiting_room",
    "no_volunteer_online",
    "helpline_card_intro",
    "emergency_guidance",
    "screen_intro",
)


class TextsError(ValueError):
    """``texts.yaml`` is invalid; the message names the key."""


@cache
def load_texts(path: Path = TEXTS_FILE) -> dict[str, list[dict[str, str]]]:
    """Key → list of variants (most keys have one), each ``{language: text}``."""
    raw: Any = yaml_data.load(Path(path).read_text(encoding="utf-8"))
    texts = raw.get("texts") if isinstance(raw, dict) else None
    if not isinstance(texts, dict):
        raise TextsError(f"{path}: no 'texts' mapping")
    result: dict[str, list[dict[str, str]]] = {}
    for key in KEYS:
        value = texts.get(key)
        variants = value if isinstance(value, list) else [value]
        for i, variant in enumerate(variants):
            for language in REQUIRED_LANGUAGES:
                if not isinstance(variant, dict) or not str(variant.get(language, "")).strip():
                    raise TextsError(f"{path}: {key}[{i}] lacks {language!r} text")
        result[key] = variants
    return result


def seeker_text(key: str, language: str, *, variant: int = 0) -> str:
    """The text ``key`` in ``language`` (English fallback); ``variant`` cycles through the
    variants (the waiting room has several, shown in turn)."""
    variants = load_texts()[key]
    chosen = variants[variant % len(variants)]
    return chosen.get(language) or chosen["en"]
