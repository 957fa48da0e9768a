"""The pure parts of the flood budgets (app/budgets/clients.py): which address a request is
counted against behind trusted proxies, and the rotating keyed hash it is stored under."""

from __future__ import annotations

import asyncio
import math
import uuid

import pytest

from app.budgets.clients import (
    ROTATION_S,
    client_address,
    client_hash,
    client_hashes,
    normalise,
    parse_limit,
    parse_trusted_proxies,
    window,
    window_key,
)
from app.budgets.service import STORE_CONNECTIONS, Budgets, Door, LocalMemory
from app.config import Settings
from app.errors import RateLimited

PROXIES = parse_trusted_proxies("10.0.0.0/8, 172.18.0.5, 2001:db8:ffff::/48")
SECRET = "s" * 40


def test_without_trusted_proxies_the_peer_is_the_client_and_the_header_is_ignored():
    assert client_address("198.51.100.7", ["203.0.113.9"], ()) == "198.51.100.7"


def test_an_untrusted_peers_forwarded_header_is_ignored():
    assert client_address("198.51.100.7", ["203.0.113.9"], PROXIES) == "198.51.100.7"


def test_behind_a_trusted_proxy_the_forwarded_client_counts():
    assert client_address("172.18.0.5", ["203.0.113.9"], PROXIES) == "203.0.113.9"


def test_the_right_most_untrusted_hop_is_the_client_not_what_the_client_wrote():
    # The client wrote "1.2.3.4" itself; the proxy appended the address it saw.
    forged = ["1.2.3.4, 203.0.113.9"]
    assert client_address("172.18.0.5", forged, PROXIES) == "203.0.113.9"
    # Two trusted hops (an outer proxy in 10/8, then ours), each header value counted.
    chain = ["1.2.3.4", "203.0.113.9, 10.1.2.3"]
    assert client_address("172.18.0.5", chain, PROXIES) == "203.0.113.9"


def test_only_trusted_hops_means_the_left_most_one():
    assert client_address("172.18.0.5", ["10.0.0.1, 10.0.0.2"], PROXIES) == "10.0.0.1"


def test_a_trusted_peer_without_the_header_is_itself_the_client():
    assert client_address("172.18.0.5", [], PROXIES) == "172.18.0.5"
    assert client_address(None, [], PROXIES) == "unknown"


def test_ipv6_clients_count_by_their_slash_64():
    one = client_address("2001:db8:1:2:aaaa::1", [], ())
    other = client_address("2001:db8:1:2:bbbb::9", [], ())
    assert one == other == "2001:db8:1:2::/64"
    assert client_address("2001:db8:1:3::1", [], ()) != one


def test_ipv4_mapped_and_bracketed_spellings_are_one_client():
    assert normalise("::ffff:203.0.113.9") == "203.0.113.9"
    assert normalise("[2001:db8::1]:443") == "2001:db8::/64"
    assert normalise(" not-an-ip ") == "not-an-ip"


def test_a_bad_trusted_proxy_entry_is_named():
    with pytest.raises(ValueError, match="'nope'"):
        parse_trusted_proxies("10.0.0.0/8, nope")
    assert parse_trusted_proxies(" ") == ()


def test_the_key_rotates_every_window_and_every_process_derives_the_same_one():
    now = 1_800_000_000.0
    assert window(now + ROTATION_S) == window(now) + 1
    assert window_key(SECRET, window(now)) == window_key(SECRET, window(now))
    assert window_key(SECRET, window(now)) != window_key(SECRET, window(now) + 1)
    assert window_key(SECRET, 1) != window_key("t" * 40, 1)


def test_a_client_is_known_by_this_windows_hash_and_the_previous_ones():
    now = 1_800_000_000.0
    before = client_hashes(SECRET, "203.0.113.9", now)
    after = client_hashes(SECRET, "203.0.113.9", now + ROTATION_S)
    assert after.previous == before.current
    assert after.current != before.current
    assert before.current == client_hash(window_key(SECRET, window(now)), "203.0.113.9")
    assert "203.0.113.9" not in before.current + before.previous
    assert client_hashes(SECRET, "203.0.113.10", now).current != before.current


def test_limits_are_one_item_in_limits_notation():
    assert parse_limit("5/minute", "X").amount == 5
    assert parse_limit("2 per 6 seconds", "X").get_expiry() == 6
    for bad in ("lots", "", "5/minute;100/hour"):
        with pytest.raises(ValueError, match="SEEKER_LIMIT_GLOBAL"):
            parse_limit(bad, "SEEKER_LIMIT_GLOBAL")


def test_a_bad_budget_setting_stops_start_up():
    with pytest.raises(ValueError, match="QUEUE_JOIN_LIMIT_PER_CLIENT"):
        Settings(queue_join_limit_per_client="ten a minute")
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        Settings(trusted_proxies="caddy")
    with pytest.raises(ValueError):
        Settings(block_slowdown_s=3600)


async def test_a_burst_past_the_redis_connections_waits_instead_of_letting_everyone_through(
    redis_url: str,
):
    # Redis budgets shared by 400 checks at once (a flood's first second), eight times the
    # store's connections: each waits for a connection, none counts as a failed store (which
    # would let every request through for STORE_RETRY_AFTER_S), and the budget holds exactly.
    budgets = Budgets(
        Settings(
            redis_url=redis_url,
            redis_channel_prefix=f"burst-{uuid.uuid4().hex[:8]}:",
            seeker_limit_per_client="100/minute",
            seeker_limit_global="100000/minute",
        )
    )
    try:
        client = budgets.client({"client": ("203.0.113.9", 5000), "headers": []})
        burst = 8 * STORE_CONNECTIONS
        results = await asyncio.gather(
            *(budgets.spend(Door.seekers, client) for _ in range(burst)), return_exceptions=True
        )
        refused = [r for r in results if isinstance(r, RateLimited)]
        assert [r for r in results if r is not None and not isinstance(r, RateLimited)] == []
        assert len(refused) == burst - 100
        assert budgets.store_down_until == -math.inf, "a busy pool was taken for a failure"
        await budgets.remember_seeker("s1", client)
        assert await budgets.slow_down_seeker("s1") is True
    finally:
        await budgets.close()


def test_a_sentinel_redis_url_starts_the_budgets():
    # Constructing connects to nothing; a Sentinel URL (which the bus accepts) used to stop
    # start-up here, because redis-py's from_url does not read it.
    budgets = Budgets(Settings(redis_url="redis+sentinel://127.0.0.1:1/peerline"))
    assert budgets.memory is not None


async def test_local_memory_forgets_after_its_time_to_live():
    memory = LocalMemory()
    await memory.put("a", "1", 60)
    await memory.put("b", "2", 0)
    assert await memory.first(["b", "a"]) == "1"
    assert await memory.first(["b"]) is None


async def test_an_unreachable_budget_store_lets_requests_through():

    budgets = Budgets(
        Settings(redis_url="redis://127.0.0.1:1/0", seeker_limit_per_client="1/minute")
    )
    client = budgets.client({"client": ("203.0.113.1", 5000), "headers": []})
    for _ in range(3):
        await budgets.spend(Door.seekers, client)
    await budgets.remember_seeker("s1", client)
    assert await budgets.slow_down_seeker("s1") is False
    await budgets.close()


async def test_in_memory_budgets_refuse_past_the_limit_and_slow_a_blocked_seekers_client():

    budgets = Budgets(Settings(seeker_limit_per_client="2/minute", blocked_client_limit="1/hour"))
    one = budgets.client({"client": ("203.0.113.1", 5000), "headers": []})
    two = budgets.client({"client": ("203.0.113.2", 5000), "headers": []})
    await budgets.spend(Door.seekers, one)
    await budgets.remember_seeker("s1", one)
    assert await budgets.slow_down_seeker("s1") is True
    assert await budgets.slow_down_seeker("unknown") is False
    await budgets.spend(Door.seekers, one)  # the slowed budget's one, the client's second
    with pytest.raises(RateLimited) as refused:
        await budgets.spend(Door.seekers, one)
    assert 60 < refused.value.retry_after <= 3600
    await budgets.spend(Door.seekers, two)
    await budgets.spend(Door.login, one)  # a block slows seekers, not staff logins
