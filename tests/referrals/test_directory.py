"""The helpline directory: mandatory lines, verification, what a seeker is shown."""

import copy
import json
from pathlib import Path

import pytest
import yaml

from app.errors import InvalidTransition
from app.referrals.directory import (
    EMERGENCY_112,
    HELPLINES_FILE,
    TELE_MANAS,
    DirectoryError,
    load_directory,
    parse_directory,
)
from app.referrals.lifecycle import REFERRAL_LIFECYCLE, ReferralStatus
from app.risk.scoring import RiskLevel


@pytest.fixture(scope="module")
def directory():
    return load_directory()


def test_seed_table_is_present(directory):
    ids = {line.id for line in directory.helplines}
    assert ids == {
        "tele_manas",
        "emergency_112",
        "kiran",
        "icall",
        "vandrevala",
        "aasra",
        "lifeline_988",
        "samaritans",
    }
    uris = {c.uri for line in directory.helplines for c in line.contacts}
    assert {"tel:14416", "tel:18008914416", "tel:112", "tel:116123", "tel:988"} <= uris


def test_numbers_marked_unverified_in_the_domain_brief_are_unverified(directory):
    for helpline_id in ("kiran", "vandrevala", "aasra"):
        line = directory.get(helpline_id)
        assert line.verified is False and line.verified_on is None


@pytest.mark.parametrize("level", [RiskLevel.HIGH, RiskLevel.IMMINENT])
@pytest.mark.parametrize(
    ("language", "region"), [("hi", "IN"), ("en", "IN"), ("ta", "IN"), ("en", "US"), (None, None)]
)
def test_tele_manas_and_112_are_always_shown_at_high_risk(directory, level, language, region):
    shown = [line.id for line in directory.for_seeker(level, language, region)]
    assert TELE_MANAS in shown and EMERGENCY_112 in shown


def test_112_comes_first_at_imminent_risk(directory):
    shown = directory.for_seeker(RiskLevel.IMMINENT, "hi", "IN")
    assert shown[0].id == EMERGENCY_112


@pytest.mark.parametrize("level", list(RiskLevel))
@pytest.mark.parametrize("region", ["IN", "US", "GB", "IE", "FR"])
def test_an_unverified_number_is_never_the_only_number(directory, level, region):
    shown = directory.for_seeker(level, "en", region)
    assert shown
    assert any(line.verified for line in shown)


def test_filter_by_language_and_region(directory):
    assert [line.id for line in directory.filter(region="GB")] == ["samaritans"]
    assert {line.id for line in directory.filter(language="hi", region="IN")} >= {
        TELE_MANAS,
        EMERGENCY_112,
    }


def _raw():
    return yaml.safe_load(HELPLINES_FILE.read_text(encoding="utf-8"))


def test_directory_without_tele_manas_fails_loudly():
    raw = _raw()
    raw["helplines"] = [h for h in raw["helplines"] if h["id"] != "tele_manas"]
    with pytest.raises(DirectoryError, match="tele_manas"):
        parse_directory(raw, source="helplines-test.yaml")


def test_verified_without_a_date_fails_loudly_naming_the_entry():
    raw = copy.deepcopy(_raw())
    kiran = next(h for h in raw["helplines"] if h["id"] == "kiran")
    kiran["verified"] = True
    with pytest.raises(DirectoryError, match="kiran"):
        parse_directory(raw, source="x.yaml")


HI_CLIENT = json.loads(
    (Path(__file__).resolve().parents[2] / "web_client" / "i18n" / "hi.json").read_text("utf-8")
)


@pytest.mark.parametrize("language", ["hi", "hi-IN", "HI"])
def test_a_hindi_reader_sees_the_names_the_seekers_helplines_dialog_shows(directory, language):
    """The card and the seeker's own Helplines dialog name Tele-MANAS and 112 alike."""
    tele_manas = directory.get(TELE_MANAS).render(language)
    emergency = directory.get(EMERGENCY_112).render(language)
    assert tele_manas["name"] == HI_CLIENT["helplines.telemanas_name"]
    assert emergency["name"] == HI_CLIENT["helplines.emergency_name"]
    assert tele_manas["hours"] == emergency["hours"] == "24\u00d77 (दिन-रात)"


def test_numbers_and_untranslated_words_are_the_same_in_every_language(directory):
    for line in directory.helplines:
        own = line.render()
        assert line.render("en") == line.render("ta") == line.render(None) == own
        hindi = line.render("hi")
        assert hindi["contacts"] == own["contacts"] and hindi["id"] == own["id"]
        translated = line.translation("hi")
        if translated is None or translated.name is None:
            assert hindi["name"] == own["name"]
        if translated is None or translated.hours is None:
            assert hindi["hours"] == own["hours"]
    # A brand name is kept; its hours are translated.
    assert directory.get("vandrevala").render("hi")["name"] == "Vandrevala Foundation"
    assert directory.get("icall").render("hi")["hours"] is None


@pytest.mark.parametrize(
    ("translations", "match"),
    [
        ([{"language": "hi", "name": "क"}, {"language": "hi", "hours": "ख"}], "one translation"),
        ([{"language": "Hindi", "name": "क"}], "language"),
        ([{"language": "hi", "name": "क", "phone": "1"}], "phone"),
    ],
)
def test_bad_translations_fail_loudly_naming_the_entry(translations, match):
    raw = copy.deepcopy(_raw())
    kiran = next(h for h in raw["helplines"] if h["id"] == "kiran")
    kiran["translations"] = translations
    with pytest.raises(DirectoryError, match=f"(?s)kiran.*{match}"):
        parse_directory(raw, source="x.yaml")


def test_referral_lifecycle_happy_path_and_end_states():
    status = ReferralStatus.OFFERED
    for target in (ReferralStatus.ACCEPTED, ReferralStatus.HANDED_OVER, ReferralStatus.COMPLETED):
        status = REFERRAL_LIFECYCLE.check(status, target)
    assert status.is_final
    assert ReferralStatus.DECLINED.is_final and ReferralStatus.UNREACHABLE.is_final
    assert not ReferralStatus.HANDED_OVER.is_final


def test_referral_cannot_skip_or_reopen():
    with pytest.raises(InvalidTransition, match="offered"):
        REFERRAL_LIFECYCLE.check(ReferralStatus.OFFERED, ReferralStatus.COMPLETED)
    with pytest.raises(InvalidTransition):
        REFERRAL_LIFECYCLE.check(ReferralStatus.DECLINED, ReferralStatus.OFFERED)
