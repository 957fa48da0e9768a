"""The helpline directory: validated data and the choice of what a seeker is shown.

Contracts (DOMAIN.md "Helplines"):

- The file must contain Tele-MANAS (14416) and 112, both ``mandatory``; loading fails
  loudly otherwise.
- ``verified`` is true exactly when ``verified_on`` is set.
- ``for_seeker`` at high or imminent risk always includes Tele-MANAS and 112, whatever the
  language and region filters; at imminent risk 112 comes first.
- ``for_seeker`` never returns a list whose only numbers are unverified: if the filters
  leave only unverified entries, Tele-MANAS (verified) is added.
- ``automatic`` (the card sent without a person choosing) holds only verified entries and
  the mandatory Tele-MANAS and 112.
- ``render(language)`` names a line and its hours in ``language`` when the entry has a
  translation for it, else in the entry's own words; contacts never change by language.
- ``needs_reverification`` is true for an entry never verified, or last verified more than
  ``REVERIFY_AFTER_DAYS`` days ago; a date given only to the year or month counts from the
  first day of it (the earliest it can have been).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from app import yaml_data
from app.risk.scoring import RiskLevel

HELPLINES_FILE = Path(__file__).parent / "helplines.yaml"
TELE_MANAS = "tele_manas"
EMERGENCY_112 = "emergency_112"
ANY_LANGUAGE = "*"
# A number nobody has confirmed for this long may have changed: admins are asked to call it.
REVERIFY_AFTER_DAYS = 90


def verified_date(verified_on: str | None) -> date | None:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` as the earliest day it can mean."""
    if not verified_on:
        return None
    parts = [int(p) for p in verified_on.split("-")] + [1, 1]
    return date(parts[0], parts[1], parts[2])


def needs_reverification(verified_on: str | None, today: date) -> bool:
    verified = verified_date(verified_on)
    return verified is None or (today - verified).days > REVERIFY_AFTER_DAYS


def _real_past_day(value: str) -> str:
    """A ``verified_on`` that names a real day, month or year, not after today (UTC): a
    month 13 was stored, and every read of the directory then failed for everyone."""
    try:
        day = verified_date(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a real date") from None
    if day is not None and day > datetime.now(UTC).date():
        raise ValueError(f"{value!r} is in the future")
    return value


# A text a seeker or an admin reads: kept trimmed, never blank.
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
VerifiedOn = Annotated[
    str, Field(pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$"), AfterValidator(_real_past_day)
]


class DirectoryError(ValueError):
    """The helpline file is invalid; the message names the file and the entry."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Contact(_Strict):
    kind: Literal["phone", "sms", "email", "whatsapp", "web"]
    display: Text
    uri: str = Field(pattern=r"^(tel:\+?\d+|sms:\+?\d+|mailto:\S+@\S+|https://\S+)$")


class Translation(_Strict):
    """A line's name and hours as a seeker reading ``language`` sees them; either may be left
    out (the entry's own is shown). Numbers and links are the same in every language."""

    language: str = Field(pattern=r"^[a-z]{2,3}$")
    name: str | None = Field(None, min_length=1)
    hours: str | None = Field(None, min_length=1)


class Helpline(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: Text
    contacts: tuple[Contact, ...] = Field(min_length=1)
    hours: Text | None
    hours_note: Text | None = None
    cost: Text | None = None
    languages: tuple[str, ...] | None
    """Language codes; ``"*"`` means many; None means not recorded."""
    language_note: Text | None = None
    channels: tuple[str, ...]
    region: Text
    """ISO country code(s), comma-separated (``GB,IE``)."""
    mandatory: bool = False
    emergency: bool = False
    source: Text
    verified_on: VerifiedOn | None
    verified: bool
    translations: tuple[Translation, ...] = ()
    """``name`` and ``hours`` in other languages, at most one per language."""

    @model_validator(mode="after")
    def _verified_iff_dated(self) -> Self:
        if self.verified != (self.verified_on is not None):
            raise ValueError("verified must be true exactly when verified_on is set")
        return self

    @model_validator(mode="after")
    def _one_translation_per_language(self) -> Self:
        languages = [t.language for t in self.translations]
        if len(set(languages)) != len(languages):
            raise ValueError("at most one translation per language")
        return self

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(r.strip().upper() for r in self.region.split(","))

    def speaks(self, language: str) -> bool:
        """True if it serves ``language``, or serves many, or its languages are not recorded."""
        return (
            self.languages is None or ANY_LANGUAGE in self.languages or language in self.languages
        )

    def translation(self, language: str | None) -> Translation | None:
        """The translation for ``language`` (``hi``, ``hi-IN``), if the entry has one."""
        if not language:
            return None
        code = language.split("-")[0].lower()
        return next((t for t in self.translations if t.language == code), None)

    def render(self, language: str | None = None) -> dict[str, Any]:
        """The entry as a seeker reading ``language`` sees it (no verification details):
        the name and hours translated when the entry has them in that language."""
        translated = self.translation(language)
        name = translated.name if translated and translated.name else self.name
        hours = translated.hours if translated and translated.hours else self.hours
        return {
            "id": self.id,
            "name": name,
            "contacts": [c.model_dump() for c in self.contacts],
            "hours": hours,
            "emergency": self.emergency,
        }


class Directory(_Strict):
    id: str
    version: int = Field(ge=1)
    helplines: tuple[Helpline, ...]

    @model_validator(mode="after")
    def _mandatory_present(self) -> Self:
        ids = [h.id for h in self.helplines]
        if len(set(ids)) != len(ids):
            raise ValueError("helpline ids must be unique")
        by_id = {h.id: h for h in self.helplines}
        for required, number in ((TELE_MANAS, "tel:14416"), (EMERGENCY_112, "tel:112")):
            line = by_id.get(required)
            if line is None or not line.mandatory:
                raise ValueError(f"{required} must be present and mandatory")
            if number not in {c.uri for c in line.contacts}:
                raise ValueError(f"{required} must list {number}")
        if not by_id[TELE_MANAS].verified:
            raise ValueError("tele_manas must be verified: it is the verified fallback")
        return self

    def get(self, helpline_id: str) -> Helpline:
        for line in self.helplines:
            if line.id == helpline_id:
                return line
        raise KeyError(helpline_id)

    def filter(self, language: str | None = None, region: str | None = None) -> list[Helpline]:
        """Entries serving ``language`` (see ``Helpline.speaks``) in ``region``, in file order."""
        return [
            line
            for line in self.helplines
            if (language is None or line.speaks(language))
            and (region is None or region.upper() in line.regions)
        ]

    def for_seeker(
        self, level: RiskLevel | str, language: str | None = None, region: str | None = "IN"
    ) -> list[Helpline]:
        """What a seeker at ``level`` is shown; see the module contracts."""
        level = RiskLevel(level)
        chosen = self.filter(language=language, region=region)
        urgent = level.rank >= RiskLevel.HIGH.rank
        if urgent:
            chosen = _with(chosen, self.get(TELE_MANAS), self.get(EMERGENCY_112))
        if not any(line.verified for line in chosen):
            chosen = _with(chosen, self.get(TELE_MANAS))
        first = (EMERGENCY_112, TELE_MANAS) if level is RiskLevel.IMMINENT else (TELE_MANAS,)
        rank = {helpline_id: i for i, helpline_id in enumerate(first)}
        return sorted(
            chosen,
            key=lambda line: (rank.get(line.id, len(rank)), not line.verified),
        )

    def automatic(
        self, level: RiskLevel | str, language: str | None = None, region: str | None = "IN"
    ) -> list[Helpline]:
        """What an automatic card shows: ``for_seeker`` without the unverified entries, so
        only verified lines for the seeker's region and language, and Tele-MANAS and 112."""
        lines = self.for_seeker(level, language, region)
        return [line for line in lines if line.verified or line.mandatory]


def _with(lines: Sequence[Helpline], *extra: Helpline) -> list[Helpline]:
    result = list(lines)
    for line in extra:
        if line not in result:
            result.append(line)
    return result


def parse_directory(raw: Any, *, source: str) -> Directory:
    """Validate already-parsed YAML; ``DirectoryError`` names ``source`` and the entry."""
    try:
        return Directory.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for error in exc.errors(include_url=False):
            loc = error["loc"]
            where = ".".join(map(str, loc))
            if len(loc) >= 2 and loc[0] == "helplines" and isinstance(loc[1], int):
                try:
                    where = f"helpline {raw['helplines'][loc[1]].get('id')!r} ({where})"
                except (KeyError, IndexError, TypeError, AttributeError):
                    pass
            lines.append(f"  {where}: {error['msg']}")
        raise DirectoryError(f"helplines {source} are invalid:\n" + "\n".join(lines)) from exc


@cache
def load_directory(path: Path = HELPLINES_FILE) -> Directory:
    """The helpline directory, loaded once per process; fails loudly naming the file."""
    try:
        raw = yaml_data.load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DirectoryError(f"helplines {path} cannot be read: {exc}") from exc
    return parse_directory(raw, source=str(path))


def filter(language: str | None = None, region: str | None = None) -> list[Helpline]:
    """``load_directory().filter(...)``."""
    return load_directory().filter(language=language, region=region)


def for_seeker(
    level: RiskLevel | str, language: str | None = None, region: str | None = "IN"
) -> list[Helpline]:
    """``load_directory().for_seeker(...)``."""
    return load_directory().for_seeker(level, language, region)
