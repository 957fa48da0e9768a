"""Return codes as words: drawn, normalised and hashed. Pure, no I/O beyond reading the
shipped word list once.

Contracts:
- A code is ``WORDS_PER_CODE`` words drawn with ``secrets`` from ``words-en.txt`` (the EFF
  short list less the words a clinical lead removed): at least ``MIN_BITS`` of entropy.
- ``normalise`` accepts what a person writes down and types back: any case, any spaces,
  hyphens, dots or commas between the words. Anything that is not five known words is
  ``None`` (and is answered exactly as a wrong code).
- ``code_hash`` is HMAC-SHA256 keyed with ``SECRET_KEY`` (domain-separated), so the table
  never holds the words and a stolen table cannot be searched without the key. The code
  carries over 50 random bits, so a slow password hash adds nothing an attacker would feel,
  and a keyed hash lets a redeem find its row by one indexed lookup.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from functools import cache
from pathlib import Path

WORD_FILE = Path(__file__).parent / "words-en.txt"
WORDS_PER_CODE = 5
MIN_BITS = 50.0
# Longer than any five words with separators: a bigger body is not a code.
MAX_CODE_CHARS = 120

_SEPARATORS = re.compile(r"[\s\-_.,;:/]+")


class WordListError(ValueError):
    """The word list would give codes that are too easy to guess."""


@cache
def words(path: Path = WORD_FILE) -> tuple[str, ...]:
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        word = line.strip()
        if word and not word.startswith("#"):
            found.append(word)
    unique = tuple(dict.fromkeys(found))
    if any(not w.isascii() or not w.isalpha() or not w.islower() for w in unique):
        raise WordListError(f"{path}: every word must be lower-case letters a-z")
    if bits(len(unique)) < MIN_BITS:
        raise WordListError(
            f"{path}: {len(unique)} words give {bits(len(unique)):.1f} bits for "
            f"{WORDS_PER_CODE} words; at least {MIN_BITS:.0f} are needed"
        )
    return unique


@cache
def _known() -> frozenset[str]:
    return frozenset(words())


def bits(word_count: int) -> float:
    return WORDS_PER_CODE * math.log2(word_count) if word_count > 1 else 0.0


def new_code() -> str:
    """Five random words joined by spaces, e.g. ``"otter maple brisk canal tulip"``."""
    pool = words()
    return " ".join(secrets.choice(pool) for _ in range(WORDS_PER_CODE))


def normalise(typed: str) -> str | None:
    """The code as it is hashed (lower case, single spaces), or None when it cannot be a code."""
    if not isinstance(typed, str) or len(typed) > MAX_CODE_CHARS:
        return None
    parts = [p for p in _SEPARATORS.split(typed.strip().lower()) if p]
    if len(parts) != WORDS_PER_CODE or any(p not in _known() for p in parts):
        return None
    return " ".join(parts)


def code_hash(code: str, secret_key: str) -> str:
    """HMAC-SHA256 of the normalised code under a key derived from ``SECRET_KEY``."""
    key = hmac.new(secret_key.encode(), b"peerline:return-code", hashlib.sha256).digest()
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()
