"""Safe-messaging check for automatic texts a seeker sees.

``find_unsafe`` flags method words (every ``method_or_attempt`` pattern of the cue lists,
without guards: an automatic text has no excuse to contain one) and phrasings that
safe-messaging guidance rules out (Action Alliance; WHO/IASP 2023; Orygen #chatsafe):
"committed suicide", suicide as a solution or as common, and promises that a person will
answer (the queue cannot always keep them). It is a review tool for staff and tests; its
findings name the offending words and must never be shown to a seeker.
"""

from __future__ import annotations

import re

from app.risk.cues import CueClass, CueMatcher, normalise

# Patterns over normalised text (see app.risk.cues.normalise), each with a stable code.
BANNED_PHRASES: dict[str, str] = {
    "committed_suicide": r"commit(ted|s|ting)? suicide|(आत्महत्या|खुदकुशी) (कर ली|की थी)",
    "successful_or_failed_attempt": r"(successful|unsuccessful|failed) (suicide|attempt)",
    "suicide_as_solution": r"(way out|only way|only option|solution to|end (the|your) pain)",
    "suicide_as_common": r"(suicide|suicides) (epidemic|is common|is rising)|epidemic of suicide",
    "promise_of_a_person": (
        r"(someone|a volunteer|a counsellor|a counselor|we) (will|ll) "
        r"(answer|reply|be with you|call you|respond|join) (soon|shortly|right away|immediately|in)"
        r"|guaranteed|(कोई|वॉलंटियर) (जल्द|तुरंत) (जवाब देगा|जुड़ेगा)"
    ),
}
_BANNED = {code: re.compile(pattern) for code, pattern in BANNED_PHRASES.items()}


def find_unsafe(text: str, *, matcher: CueMatcher | None = None) -> list[str]:
    """Problems in ``text``, e.g. ``["method_word: 'overdose'", "banned: committed_suicide"]``.

    An empty list means nothing was found; it is not proof that a text is safe.
    """
    folded = normalise(text)
    matcher = matcher or CueMatcher.default()
    problems: list[str] = []
    for regex in matcher.patterns_of(CueClass.METHOD_OR_ATTEMPT):
        for m in regex.finditer(folded):
            problems.append(f"method_word: {m.group(0)!r}")
    for code, regex in _BANNED.items():
        if regex.search(folded):
            problems.append(f"banned: {code}")
    return list(dict.fromkeys(problems))
