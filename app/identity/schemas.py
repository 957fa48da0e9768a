"""Request and response bodies for identity endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from app.identity.models import Role

# A language code such as ``hi``, or with a subtag (``hi-IN``), compared as written.
LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})?$"
Language = Annotated[str, Field(min_length=2, max_length=16, pattern=LANGUAGE_PATTERN)]
# Kept trimmed; only white space is too short (it was stored as a blank topic).
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
# A staff username and password, as the REST API and ``peerline create-user`` both take them.
Username = Annotated[str, Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
NewPassword = Annotated[str, Field(min_length=10, max_length=256)]
# At least one: a volunteer with none can never be offered a chat (the admin page says so too).
StaffLanguages = Annotated[list[Language], Field(min_length=1, max_length=20)]
# Numbers and booleans in request bodies are strict, as in frames: "3" or 3.0 for a number,
# "true" or 1 for a boolean is 422, never converted.
MaxChats = Annotated[int, Field(ge=1, le=10, strict=True)]
Rank = Annotated[int, Field(ge=0, le=1000, strict=True)]
_USERNAME = TypeAdapter(Username)
_PASSWORD = TypeAdapter(NewPassword)
_LANGUAGES = TypeAdapter(StaffLanguages)
_MAX_CHATS = TypeAdapter(MaxChats)


def _problem(adapter: TypeAdapter[Any], value: object) -> str | None:
    """The first reason ``adapter`` refuses ``value``, or None."""
    try:
        adapter.validate_python(value)
    except ValidationError as exc:
        return str(exc.errors(include_url=False)[0]["msg"])
    return None


def username_problem(value: str) -> str | None:
    """Why this username is refused (the REST API's rule), or None."""
    return _problem(_USERNAME, value)


def password_problem(value: str) -> str | None:
    """Why this new password is refused (the REST API's rule), or None."""
    return _problem(_PASSWORD, value)


def languages_problem(values: list[str]) -> str | None:
    """Why these languages of a staff account are refused (the REST API's rule), or None."""
    return _problem(_LANGUAGES, values)


def max_chats_problem(value: int) -> str | None:
    """Why this most-chats-at-once is refused (the REST API's rule), or None."""
    return _problem(_MAX_CHATS, value)


class SeekerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: Language
    consent: StrictBool  # the JSON true itself, not "true" or 1
    age_band: str | None = Field(None, pattern=r"^(under-18|18-24|25-34|35\+)$")
    topics: list[Tag] = Field(default_factory=list, max_length=10)

    @field_validator("consent")
    @classmethod
    def consent_given(cls, value: bool) -> bool:
        if value is not True:
            raise ValueError(
                "consent must be true: volunteers are trained peers, not clinicians; in an "
                "emergency call 112"
            )
        return value


class SeekerCreated(BaseModel):
    seeker_token: str
    alias: str
    seeker_id: str
    expires_at: datetime


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class LoginResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    role: Role
    user_id: str
    alias: str


class StaffCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username
    password: NewPassword
    role: Role
    languages: StaffLanguages = Field(default_factory=lambda: ["en"])
    topics: list[Tag] = Field(default_factory=list, max_length=20)
    max_concurrent_chats: MaxChats = 2
    trained: StrictBool = False
    backup_rank: Rank = 100

    @field_validator("role")
    @classmethod
    def staff_role(cls, value: Role) -> Role:
        if not value.is_staff:
            raise ValueError("a staff account's role is volunteer, supervisor or admin")
        return value


class StaffUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    languages: StaffLanguages | None = None
    topics: list[Tag] | None = Field(None, max_length=20)
    max_concurrent_chats: MaxChats | None = None
    trained: StrictBool | None = None
    active: StrictBool | None = None
    backup_rank: Rank | None = None
    password: NewPassword | None = None


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=256)
    new_password: NewPassword


class StaffOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    username: str
    alias: str
    role: Role
    languages: list[str]
    topics: list[str]
    max_concurrent_chats: int
    trained: bool
    active: bool
    available: bool
    on_call: bool
    backup_rank: int
    created_at: datetime


class Me(BaseModel):
    """The caller. Staff also get their account's state, so a page shows it after a reload:
    supervisors' ``on_call``; volunteers' availability and the most chats they may take."""

    user_id: str
    role: Role
    alias: str
    languages: list[str]
    on_call: bool | None = None
    available: bool | None = None
    capacity: int | None = None
    auto_assign: bool | None = None
    max_concurrent_chats: int | None = None
