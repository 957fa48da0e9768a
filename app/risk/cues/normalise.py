"""Text normalisation: folds a message to the form the cue patterns are written in.

Pure functions, no state: ``normalise`` for messages, ``normalise_pattern`` for the
patterns of the data files (only the folds that apply inside words, keeping regex syntax).
"""

from __future__ import annotations

import re
import unicodedata
from operator import itemgetter

# ', right/left single quotes, grave, acute, modifier apostrophe: all typed as apostrophes.
_APOSTROPHES = dict.fromkeys(map(ord, "'\u2019\u2018`\u00b4\u02bc"), None)
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
# Anusvara, chandrabindu and nukta vary freely in how people type Hindi (मैं/मै, ज़/ज).
_DEVANAGARI_MARKS = dict.fromkeys(map(ord, "\u0901\u0902\u093c"), None)
# A nasal consonant + virama before a consonant is written interchangeably with anusvara
# (जिन्दगी / ज़िंदगी): fold it to the anusvara, which is then stripped.
_NASAL_CLUSTER = re.compile("[\u0919\u091e\u0923\u0928\u092e]\u094d(?=[\u0915-\u0939])")
_REPEATS = re.compile(r"(.)\1{2,}")
_FIRST = itemgetter(1)  # a repeat's one letter
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
        text = text.lower().encode().translate(_ASCII_FOLD, _ASCII_DROP).decode()
    else:
        text = unicodedata.normalize("NFKC", text).casefold()
        text = text.translate(_APOSTROPHES).translate(_INVISIBLE)
        text = _NASAL_CLUSTER.sub("\u0902", text).translate(_DEVANAGARI_MARKS)
        text = text.translate(_PUNCTUATION)
        if not text.isascii() and max(text) > "\uffff":  # punctuation beyond the table
            text = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in text)
    text = _REPEATS.sub(_FIRST, text)  # a function: on 3.11 an r"\1" template is parsed per call
    # ``re.sub(r"\s+", " ", text).strip()`` at a fifth of the cost: ``str.split`` splits on
    # exactly the characters ``\s`` matches (tests/risk check every code point).
    return " ".join(text.split())


# Every punctuation character of the Basic Multilingual Plane → space (one table lookup per
# character instead of a category check).
_PUNCTUATION = {cp: " " for cp in range(0x10000) if unicodedata.category(chr(cp)).startswith("P")}


# The same folds for ASCII text as a byte table (``bytes.translate``: a C loop, where
# ``str.translate`` looks each character up in a dict): punctuation to spaces, apostrophes
# dropped.
_ASCII_FOLD = bytes(
    0x20 if cp < 128 and cp in _PUNCTUATION and cp not in _APOSTROPHES else cp for cp in range(256)
)
_ASCII_DROP = bytes(cp for cp in range(128) if cp in _APOSTROPHES)


def normalise_pattern(pattern: str) -> str:
    # Patterns are regexes: fold only what normalise() folds inside words, keep syntax.
    pattern = unicodedata.normalize("NFKC", pattern).casefold()
    pattern = pattern.translate(_INVISIBLE)
    return _NASAL_CLUSTER.sub("\u0902", pattern).translate(_DEVANAGARI_MARKS)
