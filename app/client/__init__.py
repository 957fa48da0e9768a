"""A small asyncio client for the Peerline wire protocol (docs/protocol.md).

Used by the integration tests, the benchmark, the fault-injection tests and integrators. It
imports nothing from the server: only ``websockets`` and ``httpx``.

Reliability rules. These are THE rules; the web client mirrors them one for one.

1. ``auth`` is the first frame on every socket. ``auth.ok`` lists the active conversations.
2. A socket closed with 4401 (bad token) or 4409 (too many sockets) is final: the client stops
   and every waiter raises ``PeerlineClosed``. Any other close, or a lost link, reconnects.
3. Reconnects wait ``uniform(0, min(backoff_max, backoff_base * 2**attempt))`` ("full jitter",
   so a fleet of clients does not reconnect in lockstep) and rotate through the URL list, so a
   client fails over to another server process. ``attempt`` counts failed tries since the
   socket dropped, so the first try comes within one ``backoff_base``: a 1012 (server
   restarting) is followed promptly by the next process. A 4429 (flooding) starts at attempt 3.
4. After every ``auth.ok``: for each conversation the client knows or was told about (and that
   has not ended), send ``conversation.resume`` with ``after_seq`` = the highest *contiguous*
   seq it holds; then resend every unacknowledged ``chat.send`` with the SAME
   ``client_msg_id`` (the server stores it once and answers ``duplicate: true``).
5. A ``chat.send`` stays unacknowledged until its ``chat.ack``. Without an ack within
   ``ack_timeout`` it is resent on the current socket; an ``error`` ``unavailable`` or
   ``rate_limited`` resends it after a backoff; any other ``error`` fails it for good.
6. Received ``chat.message`` frames are kept per conversation, deduplicated by seq and in seq
   order. A seq beyond ``last_seq + 1`` is a gap: the client asks
   ``conversation.resume(after_seq=last_seq)`` to fill it.
7. Each ``conversation.started`` is remembered and resumed from what the client holds (for a
   volunteer that is 0, so the messages the seeker sent while waiting arrive first).

Every server frame is also appended, in arrival order, to a bounded buffer read by
``events()``, ``recv()`` and ``wait_for()``, so tests can assert on the raw stream.

The package: ``state`` (what the client holds and what each frame asks of it, no I/O) and
``session`` (the asyncio shell: sockets, reconnects, waiters, REST helpers).
"""

from app.client.session import (
    PeerlineClient,
    SeekerCredentials,
    StaffCredentials,
    create_seeker,
    login,
    ws_url,
)
from app.client.state import (
    EVENT_BUFFER_SIZE,
    FINAL_CLOSE_CODES,
    FLOOD_CLOSE_CODE,
    RETRYABLE_SEND_ERRORS,
    ClientState,
    ConversationLog,
    Frame,
    Outbox,
    PeerlineClosed,
    PeerlineError,
    PendingSend,
    Reaction,
    backoff_delay,
)

__all__ = [
    "EVENT_BUFFER_SIZE",
    "FINAL_CLOSE_CODES",
    "FLOOD_CLOSE_CODE",
    "RETRYABLE_SEND_ERRORS",
    "ClientState",
    "ConversationLog",
    "Frame",
    "Outbox",
    "PeerlineClient",
    "PeerlineClosed",
    "PeerlineError",
    "PendingSend",
    "Reaction",
    "SeekerCredentials",
    "StaffCredentials",
    "backoff_delay",
    "create_seeker",
    "login",
    "ws_url",
]
