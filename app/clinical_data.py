"""Every clinical data file the service ships, loaded and validated in one call.

The loaders cache what they read (each is ``functools.cache``'d on its file), so a process
reads each file once: ``create_app`` calls ``load_clinical_data`` so that a bad file stops
start-up rather than the first chat that needs it.
"""

from __future__ import annotations

from app.escalation.machine import load_policy
from app.referrals.directory import load_directory
from app.return_code import words as return_code_words
from app.risk.checklist import load_checklist
from app.risk.cues import CueMatcher
from app.risk.scoring import load_rules
from app.risk.texts import load_texts
from app.safety_plan.plan import load_plan


def load_clinical_data() -> None:
    """Load and validate every clinical data file now, so a bad file stops start-up."""
    load_checklist()
    load_rules()
    load_policy()
    load_directory()
    load_texts()
    load_plan()
    return_code_words.words()
    CueMatcher.default()
