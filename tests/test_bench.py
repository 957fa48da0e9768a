"""The benchmark's yardstick: the bare relay really relays, and the ratio is read right."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support import ROOT, free_port

sys.path.insert(0, str(ROOT / "bench"))
import relay
import run_standard

pytestmark = pytest.mark.serial  # the benchmarks' drivers measure CPU per message: alone


@pytest.fixture
def relay_url() -> Iterator[tuple[str, int]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "relay.py"), "serve", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("relay did not start")
        yield f"ws://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_relay_passes_every_frame_to_the_peer_only(relay_url: tuple[str, int]) -> None:
    url, pid = relay_url
    results = await relay.run_load(url, pairs=3, seconds=1.0, rate=100.0, server_pids=[pid])
    assert results["sent"] == results["delivered"] == 3 * 2 * 100
    assert results["lost"] == results["duplicated"] == results["out_of_order"] == 0
    assert results["misrouted"] == 0  # echoed to its sender, or sent to another pair
    # 600 frames take the server tens of ms of CPU: well above the clock tick of 10 ms.
    assert results["server_cpu_us_per_msg"] > 0


def test_cpu_is_divided_by_the_relay_at_the_same_load() -> None:
    rows = [
        {"scenario": "relay-1000x30s", "backend": "relay", "conversations": 1000, "rate": 1.0,
         "server_cpu_us_per_msg": 100.0},
        {"scenario": "chat-1000x30s", "backend": "sqlite", "conversations": 1000, "rate": 1.0,
         "server_cpu_us_per_msg": 350.0},
        {"scenario": "chat-100x20", "backend": "sqlite", "conversations": 100, "rate": 1.0,
         "server_cpu_us_per_msg": 500.0},
    ]  # fmt: skip
    run_standard.against_relay(rows)
    assert rows[0]["server_cpu_x_relay"] == 1.0
    assert rows[1]["server_cpu_x_relay"] == 3.5
    assert "server_cpu_x_relay" not in rows[2]  # no relay at 100 pairs in this run


def test_with_repeat_each_round_is_divided_by_its_own_relay() -> None:
    rows = [
        {"scenario": "relay-1000x30s", "backend": "relay", "conversations": 1000, "rate": 1.0,
         "server_cpu_us_per_msg": 100.0, "round": 1},
        {"scenario": "chat-1000x30s", "backend": "sqlite", "conversations": 1000, "rate": 1.0,
         "server_cpu_us_per_msg": 300.0, "round": 1},
        {"scenario": "relay-1000x30s", "backend": "relay", "conversations": 1000, "rate": 1.0,
         "server_cpu_us_per_msg": 50.0, "round": 2},
        {"scenario": "chat-1000x30s", "backend": "sqlite", "conversations": 1000, "rate": 1.0,
         "server_cpu_us_per_msg": 300.0, "round": 2},
    ]  # fmt: skip
    run_standard.against_relay(rows)
    assert [r["server_cpu_x_relay"] for r in rows] == [1.0, 3.0, 1.0, 6.0]
    table = run_standard.markdown(rows)
    assert "p99.9" in table.splitlines()[0]


def test_percentiles_include_the_tail() -> None:
    values = [i / 1000 for i in range(1, 1001)]  # 1 ms .. 1000 ms
    summary = run_standard.load.summarize_ms(values)
    assert (summary["p99"], summary["p99.9"], summary["max"]) == (990.0, 999.0, 1000.0)


def test_compare_runs_both_sides_at_once_and_reports_each(capsys) -> None:
    """bench/compare.py: two servers (here the same tree, B with a setting changed) driven at
    the same time; each side's figures and the ratio are printed, nothing is lost."""
    import compare

    code = compare.main(
        ["--b-env", "CHAT_COMMIT_INTERVAL_S=0", "--seekers", "5", "--messages", "3"]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "A .: " in out and "B . CHAT_COMMIT_INTERVAL_S=0: " in out
    assert out.count("lost 0, duplicated 0") == 2
    assert "CPU per message B / A: " in out


def test_the_storm_benchmark_starts_its_server_and_reports_the_figures(tmp_path) -> None:
    """bench/storm.py (the README's 2,000-client row) with a handful of clients: it starts
    its own server, every client resumes with its one message, the figures are written."""
    out = tmp_path / "storm.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "storm.py"), "--clients", "20", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "20 clients resumed" in result.stdout and "0 lost or doubled" in result.stdout
    figures = json.loads(out.read_text())
    assert figures["clients"] == 20 and figures["lost_or_doubled"] == 0
    assert figures["resumed_s"] > 0
