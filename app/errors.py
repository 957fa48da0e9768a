"""Typed errors, rendered in one place.

Every expected failure is an ``AppError`` with a stable ``code`` (documented in
docs/protocol.md), a human message and an HTTP status. The HTTP layer renders them as
``{"error": {"code", "message"}}``; the WebSocket layer as an ``error`` frame, or a close
code where ``close_code`` is set.

    AppError
    ├── BadRequest (400): invalid_frame, text_empty, text_too_long, invalid_json,
    │                     invalid_answer, no_escalation, invalid_mark,
    │                     paraphrase_too_close, unknown_family, ...
    ├── InvalidRequest (422): invalid_request (a body an endpoint validates itself)
    ├── Unauthorized (401): not_authenticated, invalid_credentials
    ├── Forbidden (403): forbidden
    ├── NotFound (404): not_found
    ├── Conflict (409): conversation_closed, invalid_transition, already_queued,
    │                   queue_empty, at_capacity, not_trained, escalation_open,
    │                   referral_open, username_taken, not_reviewed,
    │                   outcome_recorded, outcome_closed, debrief_given,
    │                   safety_plan_not_offered, share_not_allowed, share_pending,
    │                   share_closed, same_volunteer, target_unavailable,
    │                   target_language, target_at_capacity
    ├── TooManyRequests (429): rate_limited, login_throttled, login_busy; over HTTP with
    │                          ``Retry-After`` (whole seconds) when ``retry_after_s`` is set
    │   └── RateLimited (429, with Retry-After): rate_limited (a flood budget, app/budgets)
    ├── QueueFull (503): queue_full
    └── Unavailable (503): unavailable
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class AppError(Exception):
    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def headers(self) -> dict[str, str]:
        """HTTP headers the answer carries besides the body."""
        return {}


class BadRequest(AppError):
    status = 400
    code = "invalid_frame"


def located(error: Mapping[str, Any]) -> str:
    """A pydantic error as "field.path: message" (the request's own ``body`` left out of the
    path; the message alone when no field is named)."""
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
    return f"{where}: {error.get('msg')}" if where else str(error.get("msg"))


class InvalidRequest(AppError):
    """A request body the schema refuses, raised by an endpoint that validates it itself
    (as FastAPI answers one it validates: ``422 invalid_request``)."""

    status = 422
    code = "invalid_request"


class Unauthorized(AppError):
    status = 401
    code = "not_authenticated"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class TooManyRequests(AppError):
    status = 429
    code = "rate_limited"

    def __init__(
        self, message: str, *, code: str | None = None, retry_after_s: int | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        if self.retry_after_s is None:
            return {}
        return {"Retry-After": str(max(1, self.retry_after_s))}


class RateLimited(TooManyRequests):
    """A flood budget is spent (app/budgets): REST answers 429 with ``Retry-After``."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, retry_after_s=retry_after)
        self.retry_after = retry_after


class QueueFull(AppError):
    """``MAX_WAITING_SEEKERS`` seekers are already waiting."""

    status = 503
    code = "queue_full"


class Unavailable(AppError):
    status = 503
    code = "unavailable"
