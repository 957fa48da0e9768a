"""bench/sqlite_pages.py runs the chat writer's own batch function on the migrated schema."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.support import ROOT


def test_the_sqlite_cost_benchmark_stores_every_message_and_reports_the_pages() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "sqlite_pages.py"), "--messages", "200",
         "--conversations", "50", "--checkpoint-every", "50"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    # The script stops with "a send was refused" if the writer's statements no longer accept
    # its conversations (then its figures would be of nothing).
    assert result.returncode == 0, result.stdout + result.stderr
    figures = re.search(r"(\d+) log pages for a batch of 10", result.stdout)
    assert figures is not None, result.stdout
    # At least the conversations' rows and one index leaf, and the table's end.
    assert int(figures.group(1)) >= 3
