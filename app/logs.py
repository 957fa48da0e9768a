"""Logging that keeps seekers anonymous, as JSON lines in production.

``LOG_FORMAT`` picks the output: ``json`` (one object per line: ``ts``, ``level``,
``logger``, ``event``, ``message`` and, where there is one, ``conversation_id``,
``escalation_id``, ``referral_id``, ``level_of_risk``-style fields that are fixed words or
numbers) or ``text`` for a person reading a terminal. Defaults: text in development, json
otherwise. ``LOG_LEVEL`` sets the level.

What never appears: message text, aliases, tokens, client addresses, user agents. Our own
code logs none of them; uvicorn logs every WebSocket handshake with the client's address,
even with the access log off, so ``AnonymityFilter`` drops those records and any record
that carries an address. An exception is logged by its type and where it was raised, never
by its message (a database error's message quotes the statement's parameters: a chat
message's text). The access log, if someone turns it on, shows method, path and status only.

``domain_event`` writes one line for each committed domain event worth an operator's
attention (a chat started or closed, a page, an acknowledgement, a cue's class, a referral's
state), with ids and fixed words only. ``app.outbound`` calls it after the commit.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from app.chat.events import (
    ConversationClosed,
    LanguageChanged,
    SeekerQuickExited,
)
from app.config import Settings, get_settings
from app.emergency_share.events import ShareChanged
from app.escalation.events import (
    CooldownStarted,
    EscalationPaged,
    EscalationUpdated,
    NobodyOnCall,
    StaffEntered,
)
from app.identity.events import SessionRevoked
from app.matching.events import ConversationStarted
from app.referrals.events import ReferralUpdated
from app.risk.events import CueFlagged, CueMarked, MethodCueAlerted, RiskAssessed
from app.transfer.events import ConversationTransferred, VolunteerVanished

_ADDRESS = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}:\d+\b|\[[0-9a-fA-F:]+\]:\d+")
log = logging.getLogger("app.events")


class AnonymityFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith('%s - "WebSocket'):
            return False
        if record.getMessage() in ("connection open", "connection closed"):
            return False
        return not _ADDRESS.search(record.getMessage())


class AccessFilter(logging.Filter):
    """uvicorn's access records, without the client's address or the query string (which
    could carry a token): ``method path status`` only."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            _, method, path, _, status = args
            record.msg = "%s %s %s"
            record.args = (method, str(path).split("?", 1)[0], status)
            record.__dict__.setdefault("event", "http.request")
        return True


# The event name of a record that names none: its logger's, uvicorn's as "server".
_EVENTS = {"uvicorn": "server", "uvicorn.error": "server"}

# Everything a LogRecord carries by itself; anything else was passed as ``extra``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",
    "taskName",
}


def _stack(exc_info: Any) -> list[str]:
    """Where an exception was raised, without its message."""
    _, _, tb = exc_info
    return [f"{f.filename}:{f.lineno} {f.name}" for f in traceback.extract_tb(tb)][-8:]


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": getattr(record, "event", None) or _EVENTS.get(record.name, record.name),
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key != "event" and key not in out:
                out[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            out["error"] = record.exc_info[0].__name__
            out["stack"] = _stack(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message key=value …``; an exception by type and place only."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text
        record.exc_info, record.exc_text = None, None
        try:
            line = super().format(record)
        finally:
            record.exc_info, record.exc_text = saved
        extras = [
            f"{key}={value}"
            for key, value in record.__dict__.items()
            if key not in _STANDARD and key != "event"
        ]
        if extras:
            line += " " + " ".join(extras)
        if record.exc_info and record.exc_info[0] is not None:
            line += f" error={record.exc_info[0].__name__} at " + " < ".join(
                reversed(_stack(record.exc_info)[-3:])
            )
        return line


def log_format(settings: Settings) -> str:
    if settings.log_format is not None:
        return settings.log_format
    return "text" if settings.peerline_env == "development" else "json"


def log_config(level: str | None = None, fmt: str | None = None) -> dict[str, Any]:
    """The ``logging.config.dictConfig`` for the service (uvicorn's loggers and ours), from
    ``LOG_LEVEL`` and ``LOG_FORMAT`` unless given."""
    settings = get_settings() if level is None or fmt is None else None
    level = (level or (settings.log_level if settings else "INFO")).upper()
    fmt = fmt or (log_format(settings) if settings else "text")
    formatter = "json" if fmt == "json" else "text"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "anonymity": {"()": "app.logs.AnonymityFilter"},
            "access": {"()": "app.logs.AccessFilter"},
        },
        "formatters": {
            "json": {"()": "app.logs.JsonFormatter"},
            "text": {"()": "app.logs.TextFormatter"},
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": formatter,
                "filters": ["anonymity"],
                "stream": "ext://sys.stderr",
            },
            "access": {
                "class": "logging.StreamHandler",
                "formatter": formatter,
                "filters": ["access", "anonymity"],
                "stream": "ext://sys.stderr",
            },
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            # Off unless uvicorn is asked for it (``peerline serve`` never does); then
            # method, path and status only.
            "uvicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
            "app": {"handlers": ["default"], "level": level, "propagate": False},
        },
    }


def configure(settings: Settings) -> None:
    """Apply the service's logging (again): also when run as a plain ``uvicorn app.main:app``,
    whose own logging would print client addresses."""
    access = logging.getLogger("uvicorn.access")
    access_off = not access.handlers  # ``peerline serve`` turns uvicorn's access log off
    logging.config.dictConfig(log_config(settings.log_level, log_format(settings)))
    if access_off:
        access.handlers = []


# -- domain events ----------------------------------------------------------------------


def _info(event: str, message: str, **fields: Any) -> None:
    log.info(message, extra={"event": event, **fields})


def _started(e: ConversationStarted) -> None:
    _info(
        "conversation.started",
        "a volunteer took a waiting conversation",
        conversation_id=e.conversation_id,
        language=e.language,
    )


def _transferred(e: ConversationTransferred) -> None:
    _info(
        "conversation.transferred",
        "a conversation was handed "
        + ("to another volunteer" if e.to_volunteer_id else "back to the queue"),
        conversation_id=e.conversation_id,
        reason=e.view.reason,
        by=e.view.by_role,
    )


def _vanished(e: VolunteerVanished) -> None:
    log.warning(
        "a volunteer vanished from a chat with an open escalation",
        extra={
            "event": "conversation.volunteer_vanished",
            "conversation_id": e.conversation_id,
            "escalation_id": e.escalation_id,
        },
    )


def _closed(e: ConversationClosed) -> None:
    _info(
        "conversation.closed",
        f"conversation {e.status}",
        conversation_id=e.conversation_id,
        status=e.status,
        by=e.by,
    )


def _language(e: LanguageChanged) -> None:
    _info(
        "conversation.language",
        "the seeker changed the language",
        conversation_id=e.conversation_id,
        language=e.language,
    )


def _quick_exit(e: SeekerQuickExited) -> None:
    log.warning(
        "a seeker at risk used quick exit",
        extra={
            "event": "conversation.quick_exit",
            "conversation_id": e.conversation_id,
            "risk_level": e.level,
        },
    )


def _paged(e: EscalationPaged) -> None:
    v = e.escalation
    _info(
        "escalation.paged",
        f"page {v.pages} sent to {len(e.targets)} staff",
        escalation_id=v.escalation_id,
        conversation_id=v.conversation_id,
        risk_level=v.level,
        tier=v.tier,
        page=v.pages,
        targets=len(e.targets),
    )


def _updated(e: EscalationUpdated) -> None:
    v = e.escalation
    fields: dict[str, Any] = {}
    if v.status == "acknowledged" and v.acknowledged_at is not None:
        fields["seconds_to_ack"] = round((v.acknowledged_at - v.opened_at).total_seconds(), 3)
    _info(
        "escalation." + v.status,
        f"escalation {v.status}",
        escalation_id=v.escalation_id,
        conversation_id=v.conversation_id,
        risk_level=v.level,
        status=v.status,
        outcome=v.outcome,
        **fields,
    )


def _nobody(e: NobodyOnCall) -> None:
    log.warning(
        "nobody is on call",
        extra={
            "event": "escalation.nobody_on_call",
            "escalation_id": e.escalation_id,
            "risk_level": e.level,
        },
    )


def _cooldown(e: CooldownStarted) -> None:
    _info("volunteer.cooldown", "a volunteer's cool-down began", conversation_id=e.conversation_id)


def _entered(e: StaffEntered) -> None:
    _info(
        "conversation.staff_entered",
        f"a supervisor {e.mode} the conversation",
        conversation_id=e.conversation_id,
        mode=e.mode,
    )


def _cue(e: CueFlagged) -> None:
    _info(
        "risk.cue",
        "a seeker message was flagged",
        conversation_id=e.conversation_id,
        cue_class=e.cue_class,
        seq=e.seq,
    )


def _marked(e: CueMarked) -> None:
    _info(
        "risk.cue_marked",
        "staff marked a message",
        conversation_id=e.conversation_id,
        kind=e.kind,
        seq=e.seq,
    )


def _method(e: MethodCueAlerted) -> None:
    _info(
        "risk.method_cue",
        "supervisors alerted to a method cue",
        conversation_id=e.conversation_id,
        targets=len(e.supervisor_ids),
    )


def _assessed(e: RiskAssessed) -> None:
    _info(
        "risk.assessed",
        "a risk checklist was scored",
        conversation_id=e.conversation_id,
        risk_level=e.level,
        assessed_level=e.assessed_level,
    )


def _referral(e: ReferralUpdated) -> None:
    r = e.referral
    _info(
        "referral.updated",
        f"referral {r.status}",
        referral_id=r.referral_id,
        conversation_id=r.conversation_id,
        status=r.status,
        risk_level=r.level,
    )


def _revoked(e: SessionRevoked) -> None:
    _info("session.revoked", "a session was revoked", all_sessions=e.token_hash is None)


def _share(e: ShareChanged) -> None:
    # Ids, the status and which kinds were shared: never what was shared.
    share = e.share
    _info(
        "emergency_share.updated",
        f"emergency share {share.status}",
        share_id=share.share_id,
        escalation_id=share.escalation_id,
        conversation_id=share.conversation_id,
        status=share.status,
        has_phone=share.has_phone,
        has_location=share.has_location,
    )


LOGGED: dict[type, Callable[[Any], None]] = {
    ShareChanged: _share,
    ConversationStarted: _started,
    ConversationTransferred: _transferred,
    VolunteerVanished: _vanished,
    ConversationClosed: _closed,
    LanguageChanged: _language,
    SeekerQuickExited: _quick_exit,
    EscalationPaged: _paged,
    EscalationUpdated: _updated,
    NobodyOnCall: _nobody,
    CooldownStarted: _cooldown,
    StaffEntered: _entered,
    CueFlagged: _cue,
    CueMarked: _marked,
    MethodCueAlerted: _method,
    RiskAssessed: _assessed,
    ReferralUpdated: _referral,
    SessionRevoked: _revoked,
}


def domain_event(event: object) -> None:
    """One log line for a committed domain event (chat messages, reads, typing and queue
    moves are too many and say nothing an operator needs: not logged)."""
    writer = LOGGED.get(type(event))
    if writer is not None and log.isEnabledFor(logging.INFO):
        writer(event)
