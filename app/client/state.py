"""The client's state without any I/O: what it holds, and what each frame asks of it.

``ClientState.observe(frame)`` updates the state and returns a ``Reaction`` (ask a resume,
settle a send, resend one later); ``app.client.session.PeerlineClient`` is the asyncio shell
that does what the reaction says. The rules are in ``app.client``'s docstring.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Frame = dict[str, Any]

FINAL_CLOSE_CODES = frozenset({4401, 4409})
FLOOD_CLOSE_CODE = 4429
RETRYABLE_SEND_ERRORS = frozenset({"unavailable", "rate_limited"})
EVENT_BUFFER_SIZE = 10_000  # frames kept for events()/recv(); the oldest are dropped


class PeerlineError(Exception):
    """An ``error`` frame (or REST error body) answering one of our requests."""

    def __init__(self, code: str, message: str = "", status: int | None = None) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code, self.message, self.status = code, message, status


class PeerlineClosed(Exception):
    """The client is closed: by ``close()`` or by a final close code (``code``)."""

    def __init__(self, code: int | None) -> None:
        super().__init__(f"connection closed for good (code {code})")
        self.code = code


def backoff_delay(
    attempt: int, base: float, cap: float, rand: Callable[[], float] = random.random
) -> float:
    """Full-jitter backoff: uniform in ``[0, min(cap, base * 2**attempt))``."""
    return rand() * min(cap, base * 2 ** min(attempt, 32))


class ConversationLog:
    """The ``chat.message`` frames held for one conversation: by seq, no duplicates."""

    def __init__(self) -> None:
        self._by_seq: dict[int, Frame] = {}
        self.last_seq = 0  # highest seq such that 1..last_seq are all held
        self.max_seq = 0  # highest seq held; above last_seq means a gap
        self.duplicates = 0

    def add(self, message: Frame) -> bool:
        """Keep ``message``; False if its seq was already held (a duplicate)."""
        seq = int(message["seq"])
        if seq < 1 or seq in self._by_seq:
            self.duplicates += 1
            return False
        self._by_seq[seq] = message
        self.max_seq = max(self.max_seq, seq)
        while self.last_seq + 1 in self._by_seq:
            self.last_seq += 1
        return True

    def gaps(self) -> list[int]:
        """Seqs missing below the highest one held."""
        return [s for s in range(self.last_seq + 1, self.max_seq) if s not in self._by_seq]

    def messages(self) -> list[Frame]:
        return [self._by_seq[s] for s in sorted(self._by_seq)]


@dataclass
class PendingSend:
    """A ``chat.send`` not yet acknowledged; resent as is (same ``client_msg_id``)."""

    frame: Frame
    future: asyncio.Future[Frame]
    attempts: int = 0
    retry: asyncio.TimerHandle | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.frame["conversation_id"], self.frame["client_msg_id"]


class Outbox:
    """Unacknowledged sends, in the order they were first sent, findable by key and ref."""

    def __init__(self) -> None:
        self._pending: dict[tuple[str, str], PendingSend] = {}
        self._by_ref: dict[str, tuple[str, str]] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, entry: PendingSend) -> PendingSend:
        """Register ``entry``; a send already pending under the same key is returned instead."""
        existing = self._pending.setdefault(entry.key, entry)
        self._by_ref[existing.frame["ref"]] = existing.key
        return existing

    def by_ref(self, ref: str | None) -> PendingSend | None:
        key = self._by_ref.get(ref) if ref else None
        return self._pending.get(key) if key else None

    def pop(self, key: tuple[str, str]) -> PendingSend | None:
        entry = self._pending.pop(key, None)
        if entry is not None:
            self._by_ref.pop(entry.frame["ref"], None)
            if entry.retry is not None:
                entry.retry.cancel()
        return entry

    def pending(self) -> list[PendingSend]:
        return list(self._pending.values())


@dataclass(slots=True)
class Reaction:
    """What the shell must do after a frame (each is None when there is nothing to do)."""

    resume: str | None = None  # send conversation.resume for this conversation (rules 6, 7)
    acked: PendingSend | None = None  # resolve this send with the frame (its chat.ack)
    retry: PendingSend | None = None  # resend this one after a backoff (rule 5)
    failed: PendingSend | None = None  # fail this one with the frame's error for good


class ClientState:
    """Conversations, their messages and the unacknowledged sends of one client session."""

    def __init__(self) -> None:
        self.queue_status: Frame | None = None
        self.conversations: dict[str, Frame] = {}  # id → latest started/resumed/ended frame
        self.outbox = Outbox()
        self._logs: dict[str, ConversationLog] = {}
        self._ended: set[str] = set()
        self._resuming: set[str] = set()

    def observe(self, frame: Frame) -> Reaction:
        """Take one server frame into the state; say what the shell must do about it."""
        kind = frame.get("type")
        conversation_id = frame.get("conversation_id")
        if kind == "chat.message" and conversation_id:
            log = self._logs.setdefault(conversation_id, ConversationLog())
            log.add(frame)
            if log.max_seq > log.last_seq and conversation_id not in self._resuming:
                return Reaction(resume=conversation_id)  # rule 6: a gap
        elif kind == "chat.ack" and conversation_id:
            entry = self.outbox.pop((conversation_id, frame["client_msg_id"]))
            return Reaction(acked=entry)
        elif kind == "error":
            entry = self.outbox.by_ref(frame.get("ref"))
            if entry is not None and frame.get("code") in RETRYABLE_SEND_ERRORS:
                return Reaction(retry=entry)
            if entry is not None:
                self.outbox.pop(entry.key)
                return Reaction(failed=entry)
        elif kind == "conversation.started" and conversation_id:
            self.conversations[conversation_id] = frame
            self._ended.discard(conversation_id)
            return Reaction(resume=conversation_id)  # rule 7
        elif kind == "conversation.resumed" and conversation_id:
            self._resuming.discard(conversation_id)
            self.conversations.setdefault(conversation_id, {}).update(status=frame.get("status"))
        elif kind == "conversation.ended" and conversation_id:
            self._ended.add(conversation_id)
            self.conversations[conversation_id] = frame
        elif kind == "queue.status":
            self.queue_status = frame
            if conversation_id:
                self.conversations.setdefault(conversation_id, {"status": "waiting"})
        return Reaction()

    def after_auth(self, auth_ok: Frame) -> list[str]:
        """Rule 4: the conversations to resume on a new socket (every known one not ended)."""
        self._resuming.clear()
        for conv in auth_ok.get("active_conversations", []):
            self.conversations.setdefault(conv["conversation_id"], conv)
        return [cid for cid in self.conversations if cid not in self._ended]

    def resuming(self, conversation_id: str) -> int:
        """A resume is being asked for: the ``after_seq`` to ask from."""
        self._resuming.add(conversation_id)
        return self.last_seq(conversation_id)

    def messages(self, conversation_id: str) -> list[Frame]:
        """The ``chat.message`` frames held, deduplicated, in seq order."""
        log = self._logs.get(conversation_id)
        return log.messages() if log else []

    def last_seq(self, conversation_id: str) -> int:
        """The highest seq held with no gap below it (what a resume sends)."""
        log = self._logs.get(conversation_id)
        return log.last_seq if log else 0

    def gaps(self, conversation_id: str) -> list[int]:
        log = self._logs.get(conversation_id)
        return log.gaps() if log else []
