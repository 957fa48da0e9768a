"""What one socket has been given of each conversation: the cursor and gap-filling rules,
pure (no socket, no database, no clock), in the manner of python-websockets' sans-I/O core.

``app.realtime.Connection`` is the asyncio shell: it asks ``Cursors`` what to do with each
live message and does it (send, skip, or read the gap from the database and send that).

Invariants, for every conversation a socket follows:
- messages go out in ``seq`` order, each once, with no hole;
- before the socket anchors a conversation (``conversation.resume``, or a conversation it
  joined or was given), live messages are held back: the resume's read brings them, so a
  live message can never overtake the replay.
"""

from __future__ import annotations

from collections.abc import Iterator

# What to do with a live message (``Cursors.classify``).
HOLD = 0  # not followed, or not anchored yet: the resume will bring it
DUPLICATE = 1  # this socket has it already
NEXT = 2  # send it now, then ``advance``
GAP = 3  # messages are missing before it: read them from the database first


_ABSENT = object()


class Cursors:
    """conversation id → the highest ``seq`` this socket was given (None: not anchored)."""

    __slots__ = ("_delivered",)

    def __init__(self) -> None:
        self._delivered: dict[str, int | None] = {}

    def __contains__(self, conversation_id: object) -> bool:
        return conversation_id in self._delivered

    def __iter__(self) -> Iterator[str]:
        return iter(self._delivered)

    def __len__(self) -> int:
        return len(self._delivered)

    def follow(self, conversation_id: str, *, anchor: int | None = None) -> bool:
        """Follow a conversation (True: newly, so subscribe to it). ``anchor``: the seq the
        socket already holds (0: from the start); it anchors a followed conversation that
        had none, and never moves one that has."""
        delivered = self._delivered
        if conversation_id not in delivered:
            delivered[conversation_id] = anchor
            return True
        if anchor is not None and delivered[conversation_id] is None:
            delivered[conversation_id] = anchor
        return False

    def forget(self, conversation_id: str) -> bool:
        """Stop following a conversation (True: it was followed, so unsubscribe)."""
        return self._delivered.pop(conversation_id, _ABSENT) is not _ABSENT

    def position(self, conversation_id: str) -> int | None:
        """The highest seq given, or None when not followed or not anchored."""
        return self._delivered.get(conversation_id)

    def classify(self, conversation_id: str, seq: int) -> int:
        """What to do with the live message ``seq``: HOLD, DUPLICATE, NEXT or GAP."""
        delivered = self._delivered.get(conversation_id)
        if delivered is None:
            return HOLD
        if seq <= delivered:
            return DUPLICATE
        return NEXT if seq == delivered + 1 else GAP

    def advance(self, conversation_id: str, seq: int) -> None:
        """``seq`` was sent (it follows what was sent before, or fills a gap in order)."""
        self._delivered[conversation_id] = seq

    def wants(self, conversation_id: str, seq: int) -> bool:
        """True for a message read from the database that this socket has not had."""
        delivered = self._delivered.get(conversation_id)
        return delivered is not None and seq > delivered

    def resume(self, conversation_id: str, after_seq: int) -> int:
        """Anchor for a replay from the database: after ``after_seq``, but never again what
        was already sent. Returns the seq to read after."""
        start = max(after_seq, self._delivered.get(conversation_id) or 0)
        self._delivered[conversation_id] = start
        return start

    def anchored(self) -> list[str]:
        """The conversations with an anchor (a bus reset fills each one's gap)."""
        return [cid for cid, seq in self._delivered.items() if seq is not None]
