"""Message cue detection: flags a message for a human, never decides a risk level.

The package's seams, each a module:

- ``normalise``: folds a message to the form the patterns are written in (pure).
- ``lists``: loads the reviewable data in ``app/risk/cue_lists/`` (the family catalogue
  ``families.yaml`` with each family's sources and false friends, and one pattern file per
  language form: ``en``, ``hi`` for Devanagari, ``hinglish`` for Hindi in Latin letters).
- ``prefilter``: finds which patterns can match a text in one pass (required literals).
- ``matcher``: applies patterns and guards, then the learned second signal.
- ``learned``: the learned scorer (word and character n-grams, a linear model whose weights
  are a versioned data file), trained by ``scripts/train_cue_scorer.py``.

Detection is coarse (binary "any risk" is the reliable part), so a match may prompt a screen
and raise queue priority; it never lowers a risk level. A ``CueMatch`` carries the class,
family and a pattern reference, never the matched words.
"""

from app.risk.cues.classes import CueClass, CueListError, CueMatch
from app.risk.cues.lists import DEFAULT_LISTS, LISTS_DIR
from app.risk.cues.matcher import CueMatcher, strongest
from app.risk.cues.normalise import normalise

__all__ = [
    "DEFAULT_LISTS",
    "LISTS_DIR",
    "CueClass",
    "CueListError",
    "CueMatch",
    "CueMatcher",
    "normalise",
    "strongest",
]
