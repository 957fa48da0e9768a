"""A/B: two versions of Peerline measured side by side, at the same time, on the same core.

    python bench/compare.py --a c02204b --b HEAD                 # two commits
    python bench/compare.py --b-env CHAT_COMMIT_INTERVAL_S=0     # one setting (both: the tree)
    python bench/compare.py --a HEAD~1 --seekers 500 --messages 40 --rounds 3
    python bench/compare.py --a main --backend pg-redis-2proc --seekers 200 --messages 20

Why: on the shared cloud machines these figures come from, the same commit measured 172 µs
per message at one hour and 290 µs the next. Runs one after another cannot tell a 5 % change
from the machine's drift. Here both servers run at once, both pinned to CPU 0, each with its
own load generator on CPU 1 (``bench/load.py``, half the standard load each: 500
conversations at 1 msg/s each way by default), so whatever the machine does, it does to both.
Two copies of the same commit measured 349 and 353 µs this way, while single runs of it
spread over ±25 %. Compare figures within one run only: two servers sharing a core are not
the standard scenario, whose absolute figures ``run_standard.py`` gives.

``--backend pg-redis-2proc`` gives each side two processes on a fresh PostgreSQL database
and Redis (``run_standard.cluster``; a channel prefix each), seekers on the first and
volunteers on the second, so every message crosses Redis; a side's CPU is its two
processes' summed. PostgreSQL and Redis are shared by both sides and not counted.

A side is a git revision (checked out into a temporary work tree; ``.`` is the working tree
itself) plus environment settings. Each round prints both sides' CPU per delivered message,
delivery latency and losses, and the ratio B / A; with several rounds the sides swap which
starts first. Results: JSON under ``bench/results/``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_standard
from run_standard import REPO, RESULTS

SERVER_CPU = 0
GENERATOR_CPU = 1


@contextlib.contextmanager
def work_tree(revision: str) -> Iterator[Path]:
    """``revision`` checked out in a temporary work tree (``.``: this one, as it is)."""
    if revision == ".":
        yield REPO
        return
    path = Path(tempfile.mkdtemp(prefix="peerline-compare-"))
    subprocess.run(
        ["git", "worktree", "add", "--detach", "--force", str(path), revision],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    try:
        yield path
    finally:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(path)], cwd=REPO, capture_output=True
        )


def settings(pairs: list[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"expected NAME=VALUE, got {pair!r}")
        env[name] = value
    return env


def start_load(
    servers: run_standard.Servers, admin: str, out: Path, args: argparse.Namespace
) -> subprocess.Popen[bytes]:
    pids = [arg for pid in servers.pids for arg in ("--server-pid", str(pid))]
    return subprocess.Popen(
        [
            sys.executable,
            str(REPO / "bench" / "load.py"),
            "--url",
            servers.urls[0],
            "--volunteer-url",
            servers.urls[-1],  # the second process, if there are two
            *pids,
            "--seekers",
            str(args.seekers),
            "--messages",
            str(args.messages),
            "--rate",
            "1",
            "--volunteer-capacity",
            "5",
            "--admin",
            admin,
            "--cpu",
            str(GENERATOR_CPU),
            "--json",
            str(out),
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=out.with_suffix(".err").open("w"),  # why, if it writes no result
    )


def one_round(
    trees: dict[str, Path], envs: dict[str, dict[str, str]], order: list[str], args: Any
) -> dict[str, dict[str, Any]]:
    """Both servers up, both loads at once; each side's load.py results."""
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as scratch:
        start = run_standard.cluster if args.backend == "pg-redis-2proc" else run_standard.server
        running = {
            side: stack.enter_context(start(envs[side], cpu=SERVER_CPU, tree=trees[side]))
            for side in order
        }
        loads = {}
        for side in order:
            admin = ":".join(run_standard.create_admin(running[side].env, trees[side]))
            out = Path(scratch) / f"{side}.json"
            loads[side] = (start_load(running[side], admin, out, args), out)
        results = {}
        for side, (process, out) in loads.items():
            process.wait(timeout=args.messages + 600)
            if out.exists():
                results[side] = json.loads(out.read_text())
            else:
                said = out.with_suffix(".err").read_text(errors="replace").strip().splitlines()
                results[side] = {"error": "no result: " + (said[-1] if said else "nothing said")}
        return results


def line(side: str, label: str, r: dict[str, Any]) -> str:
    if "error" in r:
        return f"  {side} {label}: failed: {r['error']}"
    latency = r["latency_ms"]
    return (
        f"  {side} {label}: {r['server_cpu_us_per_msg']:.1f} µs/msg, delivery p50 / p99 / p99.9 "
        f"{latency['p50']} / {latency['p99']} / {latency.get('p99.9')} ms, "
        f"lost {r['lost']}, duplicated {r['duplicated']}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--a", default=".", help="revision A (default: the working tree)")
    parser.add_argument("--b", default=".", help="revision B (default: the working tree)")
    parser.add_argument("--a-env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--b-env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--seekers", type=int, default=500, help="conversations per side")
    parser.add_argument("--messages", type=int, default=40, help="messages per side, 1/s")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--backend",
        choices=["sqlite", "pg-redis-2proc"],
        default="sqlite",
        help="one process on SQLite, or two on PostgreSQL + Redis (default sqlite)",
    )
    args = parser.parse_args(argv)
    envs = {"A": settings(args.a_env), "B": settings(args.b_env)}
    labels = {
        side: " ".join([rev, *pairs])
        for side, rev, pairs in (("A", args.a, args.a_env), ("B", args.b, args.b_env))
    }
    run_standard.load.raise_fd_limit()  # the servers started from here inherit it
    rounds, ratios = [], []
    with work_tree(args.a) as tree_a, work_tree(args.b) as tree_b:
        trees = {"A": tree_a, "B": tree_b}
        for number in range(args.rounds):
            order = ["A", "B"] if number % 2 == 0 else ["B", "A"]
            results = one_round(trees, envs, order, args)
            rounds.append(results)
            print(f"round {number + 1} of {args.rounds}:")
            for side in ("A", "B"):
                print(line(side, labels[side], results[side]))
            if all("error" not in r for r in results.values()):
                ratios.append(
                    results["B"]["server_cpu_us_per_msg"] / results["A"]["server_cpu_us_per_msg"]
                )
                print(f"  CPU per message B / A: {ratios[-1]:.3f}")
    if len(ratios) > 1:
        print(f"median B / A over {len(ratios)} rounds: {statistics.median(ratios):.3f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"compare-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(
        json.dumps({"sides": labels, "backend": args.backend, "rounds": rounds}, indent=2) + "\n"
    )
    print(f"results: {out}")
    failed = any(
        x.get("lost") or x.get("duplicated") or "error" in x for r in rounds for x in r.values()
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
