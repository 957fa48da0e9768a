"""The client's reliability rules, proved without a Peerline server.

The pure pieces (backoff, the per-conversation log, the outbox) are tested directly; the
rules that need a socket use a fake one that records what the client sends, and the
reconnect/failover rules use two throwaway in-process WebSocket servers.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from app.client import (
    ClientState,
    ConversationLog,
    Outbox,
    PeerlineClient,
    PeerlineClosed,
    PeerlineError,
    PendingSend,
    backoff_delay,
)


def message(seq: int, conversation_id: str = "c1") -> dict[str, Any]:
    return {"type": "chat.message", "conversation_id": conversation_id, "seq": seq, "text": "x"}


# --------------------------------------------------------------------------- backoff


@pytest.mark.parametrize("attempt", range(12))
def test_backoff_stays_within_full_jitter_bounds(attempt: int) -> None:
    ceiling = min(5.0, 0.2 * 2**attempt)
    assert backoff_delay(attempt, 0.2, 5.0, rand=lambda: 0.0) == 0.0
    assert backoff_delay(attempt, 0.2, 5.0, rand=lambda: 0.999999) == pytest.approx(ceiling, 1e-5)
    assert all(0.0 <= backoff_delay(attempt, 0.2, 5.0) < ceiling for _ in range(200))


def test_backoff_is_capped_even_after_very_many_attempts() -> None:
    assert backoff_delay(10_000, 0.2, 5.0, rand=lambda: 0.5) == 2.5


def test_backoff_first_attempt_is_within_one_base() -> None:
    assert max(backoff_delay(0, 0.2, 5.0) for _ in range(500)) < 0.2


# --------------------------------------------------------------------------- conversation log


def test_log_keeps_messages_in_seq_order_whatever_the_arrival_order() -> None:
    log = ConversationLog()
    for seq in (3, 1, 2):
        assert log.add(message(seq))
    assert [m["seq"] for m in log.messages()] == [1, 2, 3]
    assert log.last_seq == 3 and log.gaps() == []


def test_log_drops_a_duplicate_seq_and_counts_it() -> None:
    log = ConversationLog()
    assert log.add(message(1))
    assert not log.add(message(1))
    assert len(log.messages()) == 1 and log.duplicates == 1


def test_log_reports_a_gap_and_last_seq_stops_below_it() -> None:
    log = ConversationLog()
    for seq in (1, 2, 5, 7):
        log.add(message(seq))
    assert log.last_seq == 2
    assert log.max_seq == 7
    assert log.gaps() == [3, 4, 6]


def test_filling_a_gap_advances_last_seq_past_what_was_held_beyond_it() -> None:
    log = ConversationLog()
    for seq in (1, 3, 4):
        log.add(message(seq))
    log.add(message(2))
    assert log.last_seq == 4 and log.gaps() == []


def test_log_refuses_seq_zero() -> None:
    log = ConversationLog()
    assert not log.add(message(0))
    assert log.messages() == []


# --------------------------------------------------------------------------- outbox


def pending(cmid: str, conversation_id: str = "c1") -> PendingSend:
    frame = {
        "type": "chat.send",
        "conversation_id": conversation_id,
        "client_msg_id": cmid,
        "text": "hi",
        "ref": f"ref-{conversation_id}-{cmid}",
    }
    return PendingSend(frame, asyncio.get_running_loop().create_future())


async def test_outbox_keeps_first_send_order_and_finds_by_ref() -> None:
    outbox = Outbox()
    first, second = outbox.add(pending("a")), outbox.add(pending("b"))
    assert [e.frame["client_msg_id"] for e in outbox.pending()] == ["a", "b"]
    assert outbox.by_ref("ref-c1-b") is second
    assert outbox.pop(first.key) is first
    assert outbox.by_ref("ref-c1-a") is None and len(outbox) == 1


async def test_outbox_returns_the_existing_entry_for_a_repeated_client_msg_id() -> None:
    outbox = Outbox()
    first = outbox.add(pending("a"))
    assert outbox.add(pending("a")) is first and len(outbox) == 1


async def test_outbox_tells_the_same_client_msg_id_apart_across_conversations() -> None:
    outbox = Outbox()
    outbox.add(pending("a", "c1"))
    outbox.add(pending("a", "c2"))
    assert len(outbox) == 2
    assert outbox.pop(("c2", "a")) is not None and outbox.pop(("c2", "a")) is None


# --------------------------------------------------------------------------- client, fake socket


class FakeSocket:
    """Records what the client sends; stands in for an authenticated connection."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.raw: list[str] = []

    async def send(self, raw: str) -> None:
        self.raw.append(raw)
        self.sent.append(json.loads(raw))

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.sent if f["type"] == kind]


def client_on_fake_socket(**options: Any) -> tuple[PeerlineClient, FakeSocket]:
    client = PeerlineClient("ws://unused", "tok", **options)
    socket = FakeSocket()
    client._ws = socket  # type: ignore[assignment]
    return client, socket


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_send_message_resolves_with_its_ack_and_leaves_nothing_unacknowledged() -> None:
    client, socket = client_on_fake_socket()
    sending = asyncio.create_task(client.send_message("c1", "hello"))
    await settle()
    (sent,) = socket.of_type("chat.send")
    assert len(sent["client_msg_id"]) == 32 and client.unacknowledged() == [sent]
    client._dispatch(
        {
            "type": "chat.ack",
            "conversation_id": "c1",
            "client_msg_id": sent["client_msg_id"],
            "seq": 1,
            "duplicate": False,
        }
    )
    ack = await sending
    assert ack["seq"] == 1 and client.unacknowledged() == []


async def test_unavailable_keeps_the_send_and_retries_it_with_the_same_client_msg_id() -> None:
    client, socket = client_on_fake_socket(backoff_base=0.01, backoff_max=0.02)
    sending = asyncio.create_task(client.send_message("c1", "hello", client_msg_id="m1"))
    await settle()
    ref = socket.of_type("chat.send")[0]["ref"]
    client._dispatch({"type": "error", "code": "unavailable", "message": "db", "ref": ref})
    assert [f["client_msg_id"] for f in client.unacknowledged()] == ["m1"]
    await asyncio.sleep(0.05)
    assert [f["client_msg_id"] for f in socket.of_type("chat.send")] == ["m1", "m1"]
    client._dispatch(
        {
            "type": "chat.ack",
            "conversation_id": "c1",
            "client_msg_id": "m1",
            "seq": 4,
            "duplicate": True,
        }
    )
    assert (await sending)["duplicate"] is True


async def test_a_final_error_fails_the_send_and_forgets_it() -> None:
    client, socket = client_on_fake_socket()
    sending = asyncio.create_task(client.send_message("c1", "hello"))
    await settle()
    ref = socket.of_type("chat.send")[0]["ref"]
    client._dispatch({"type": "error", "code": "conversation_closed", "message": "", "ref": ref})
    with pytest.raises(PeerlineError) as raised:
        await sending
    assert raised.value.code == "conversation_closed" and client.unacknowledged() == []


async def test_a_send_without_ack_is_resent_after_ack_timeout() -> None:
    client, socket = client_on_fake_socket(ack_timeout=0.02)
    sending = asyncio.create_task(client.send_message("c1", "hello", client_msg_id="m1"))
    await asyncio.sleep(0.07)
    ids = [f["client_msg_id"] for f in socket.of_type("chat.send")]
    assert len(ids) >= 2 and set(ids) == {"m1"}
    sending.cancel()


async def test_a_gap_in_live_messages_asks_for_a_resume_from_the_last_contiguous_seq() -> None:
    client, socket = client_on_fake_socket()
    for seq in (1, 2, 4):
        client._dispatch(message(seq))
    await settle()
    assert socket.of_type("conversation.resume") == [
        {"type": "conversation.resume", "conversation_id": "c1", "after_seq": 2}
    ]
    assert client.gaps("c1") == [3] and client.last_seq("c1") == 2
    client._dispatch(message(5))  # a resume is already in flight: do not ask again
    await settle()
    assert len(socket.of_type("conversation.resume")) == 1


async def test_duplicate_and_reordered_live_messages_come_out_once_in_order() -> None:
    client, _ = client_on_fake_socket()
    for seq in (1, 2, 2, 1, 3):
        client._dispatch(message(seq))
    assert [m["seq"] for m in client.messages("c1")] == [1, 2, 3]


async def test_conversation_started_is_remembered_and_resumed_from_what_is_held() -> None:
    client, socket = client_on_fake_socket()
    client._dispatch(
        {
            "type": "conversation.started",
            "conversation_id": "c9",
            "your_role": "volunteer",
            "last_seq": 3,
        }
    )
    await settle()
    assert "c9" in client.conversations
    assert socket.of_type("conversation.resume")[0]["after_seq"] == 0


async def test_after_auth_resumes_live_conversations_then_resends_unacknowledged() -> None:
    client, socket = client_on_fake_socket()
    client._dispatch(message(1, "known"))
    client._dispatch(message(2, "known"))
    client.conversations["known"] = {"conversation_id": "known"}
    client.conversations["over"] = {"conversation_id": "over"}
    client._dispatch({"type": "conversation.ended", "conversation_id": "over"})
    sending = asyncio.create_task(client.send_message("known", "hi", client_msg_id="m7"))
    await settle()
    socket.sent.clear()
    auth_ok = {"type": "auth.ok", "active_conversations": [{"conversation_id": "fresh"}]}
    await client._after_auth(auth_ok)
    assert [
        (f["type"], f.get("conversation_id"), f.get("after_seq"), f.get("client_msg_id"))
        for f in socket.sent
    ] == [
        ("conversation.resume", "known", 2, None),
        ("conversation.resume", "fresh", 0, None),
        ("chat.send", "known", None, "m7"),
    ]
    sending.cancel()


async def test_request_matches_its_reply_by_ref_and_raises_its_error() -> None:
    client, socket = client_on_fake_socket()
    asking = asyncio.create_task(client.set_availability(True, capacity=2))
    await settle()
    (frame,) = socket.of_type("availability.set")
    assert frame["capacity"] == 2 and "auto_assign" not in frame
    client._dispatch({"type": "availability.ok", "available": True, "ref": "someone-else"})
    client._dispatch(
        {"type": "availability.ok", "available": True, "ref": frame["ref"], "capacity": 2}
    )
    assert (await asking)["capacity"] == 2
    taking = asyncio.create_task(client.take())
    await settle()
    ref = socket.of_type("queue.take")[0]["ref"]
    client._dispatch({"type": "error", "code": "queue_empty", "message": "", "ref": ref})
    with pytest.raises(PeerlineError, match="queue_empty"):
        await taking


async def test_recv_and_wait_for_take_matching_frames_and_leave_the_rest() -> None:
    client, _ = client_on_fake_socket()
    client._dispatch({"type": "queue.summary", "waiting": 1})
    client._dispatch({"type": "pong", "ts": "t"})
    assert (await client.recv("pong", timeout=0.1))["ts"] == "t"
    assert (await client.recv(timeout=0.1))["type"] == "queue.summary"
    with pytest.raises(TimeoutError):
        await client.recv("pong", timeout=0.01)


# ------------------------------------------------------------------ reconnect, real sockets


class FakeServer:
    """A throwaway server: accepts any token, acks sends, and can close with a given code."""

    def __init__(self, close_after_auth: int | None = None) -> None:
        self.close_after_auth = close_after_auth
        self.received: list[dict[str, Any]] = []

    async def handler(self, ws: ServerConnection) -> None:
        auth = json.loads(await ws.recv())
        self.received.append(auth)
        if auth["token"] == "bad":
            await ws.close(4401, "bad token")
            return
        await ws.send(
            json.dumps(
                {
                    "type": "auth.ok",
                    "role": "seeker",
                    "user_id": "u",
                    "alias": "A",
                    "active_conversations": [],
                }
            )
        )
        if self.close_after_auth is not None:
            await asyncio.sleep(0.05)
            await ws.close(self.close_after_auth, "restarting")
            return
        async for raw in ws:
            frame = json.loads(raw)
            self.received.append(frame)
            if frame["type"] == "chat.send":
                await ws.send(
                    json.dumps(
                        {
                            "type": "chat.ack",
                            "seq": 1,
                            "duplicate": False,
                            **{k: frame[k] for k in ("conversation_id", "client_msg_id", "ref")},
                        }
                    )
                )


async def test_a_1012_fails_over_to_the_next_url_and_resends_unacknowledged() -> None:
    restarting, healthy = FakeServer(close_after_auth=1012), FakeServer()
    async with (
        serve(restarting.handler, "127.0.0.1", 0) as s1,
        serve(healthy.handler, "127.0.0.1", 0) as s2,
    ):
        urls = [f"ws://127.0.0.1:{s.sockets[0].getsockname()[1]}" for s in (s1, s2)]
        async with PeerlineClient(urls, "tok", backoff_base=0.01) as client:
            client.conversations["c1"] = {"conversation_id": "c1"}
            ack = await client.send_message("c1", "still there?", client_msg_id="m1", timeout=5)
            assert ack["client_msg_id"] == "m1"
            assert client.reconnects >= 1
    kinds = [f["type"] for f in healthy.received]
    assert kinds[0] == "auth" and "conversation.resume" in kinds and "chat.send" in kinds


async def test_a_4401_is_final() -> None:
    server = FakeServer()
    async with serve(server.handler, "127.0.0.1", 0) as s:
        url = f"ws://127.0.0.1:{s.sockets[0].getsockname()[1]}"
        with pytest.raises(PeerlineClosed) as raised:
            await PeerlineClient(url, "bad").connect()
    assert raised.value.code == 4401


# --------------------------------------------------------------------------- state, no I/O


def test_state_asks_a_resume_for_a_gap_and_for_a_started_conversation() -> None:
    state = ClientState()
    assert state.observe(message(1)).resume is None
    assert state.observe(message(3)).resume == "c1"  # 2 is missing
    assert state.resuming("c1") == 1  # resume after the last contiguous seq
    assert state.observe(message(4)).resume is None  # one resume in flight is enough
    started = {"type": "conversation.started", "conversation_id": "c2"}
    assert state.observe(started).resume == "c2"


async def test_state_settles_sends_by_ack_and_by_error() -> None:
    state = ClientState()
    loop = asyncio.get_running_loop()
    sends = []
    for cmid in ("a", "b", "c"):
        frame = {"type": "chat.send", "conversation_id": "c1", "client_msg_id": cmid}
        sends.append(state.outbox.add(PendingSend({**frame, "ref": cmid}, loop.create_future())))
    ack = {"type": "chat.ack", "conversation_id": "c1", "client_msg_id": "a"}
    assert state.observe(ack).acked is sends[0]
    assert state.observe({"type": "error", "code": "unavailable", "ref": "b"}).retry is sends[1]
    failed = state.observe({"type": "error", "code": "conversation_closed", "ref": "c"}).failed
    assert failed is sends[2]
    assert [e.frame["client_msg_id"] for e in state.outbox.pending()] == ["b"]


def test_state_resumes_after_auth_every_known_conversation_not_ended() -> None:
    state = ClientState()
    state.observe({"type": "conversation.ended", "conversation_id": "over"})
    state.observe(message(1, "known"))
    state.observe({"type": "queue.status", "conversation_id": "waiting", "position": 1})
    auth_ok = {"type": "auth.ok", "active_conversations": [{"conversation_id": "listed"}]}
    assert sorted(state.after_auth(auth_ok)) == ["listed", "waiting"]


async def test_frames_go_unescaped_so_a_long_hindi_message_fits_the_frame_limit() -> None:
    """The server refuses a frame over WS_MAX_FRAME_CHARS (16,384) characters as sent, and a
    \\u escape is 6 of them: json.dumps' default made a 4,000-character Hindi message
    (within the 4,000 allowed) a 24,000-character frame_too_large."""
    client, socket = client_on_fake_socket()
    text = "\u0905" * 4000
    sending = asyncio.create_task(client.send_message("c1", text))
    await settle()
    (raw,) = socket.raw
    assert len(raw) < 16_384 and text in raw
    sending.cancel()
    # A lone surrogate cannot be UTF-8: it still goes, escaped, for the server to refuse.
    await client.send_frame({"type": "ping", "ref": "\ud800"})
    assert socket.raw[-1].endswith('"ref": "\\ud800"}')
