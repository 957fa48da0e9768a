"""deploy/: the Grafana dashboard and the Prometheus alert rules ask only for metrics that
/metrics serves, and (where Debian's ``prometheus`` package gives us ``promtool``) every
query in them is valid PromQL and the exposition passes promtool's lint."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import Backend, need
from tests.support import ROOT, Server, env_for

DASHBOARD = ROOT / "deploy" / "grafana" / "peerline.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
PROMETHEUS_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
NAME = re.compile(r"\bpeerline_[a-z0-9_]+\b")
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


def alert_rules() -> list[dict]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]


@pytest.fixture(scope="module")
def exposition(migrated: Callable[[str], Backend]) -> Iterator[str]:
    backend = migrated("sqlite")
    env = env_for(backend.database_url)
    srv = Server(env).start()
    try:
        yield httpx.get(srv.base_url + "/metrics", timeout=10).text
    finally:
        srv.stop()


def served(exposition: str) -> dict[str, str]:
    """Metric family name -> type, from the ``# TYPE`` lines."""
    return {
        line.split()[2]: line.split()[3]
        for line in exposition.splitlines()
        if line.startswith("# TYPE ")
    }


def is_served(name: str, families: dict[str, str]) -> bool:
    if name in families:
        return True
    for suffix in HISTOGRAM_SUFFIXES:
        if name.endswith(suffix) and families.get(name.removesuffix(suffix)) == "histogram":
            return True
    return False


def test_the_dashboard_and_the_alerts_use_only_metrics_that_are_served(exposition: str):
    families = served(exposition)
    queries = dashboard_queries()
    rules = alert_rules()
    assert len(queries) >= 20 and len(rules) >= 5
    used = {name for expr in [*queries, *(r["expr"] for r in rules)] for name in NAME.findall(expr)}
    missing = sorted(name for name in used if not is_served(name, families))
    assert missing == [], f"not served at /metrics: {missing}"
    # The four things a supervisor lead must know at 3 a.m. each have an alert.
    alerts = {r["alert"]: r["expr"] for r in rules}
    assert "peerline_supervisors_on_call" in alerts["PeerlineNobodyOnCall"]
    assert 'level="imminent"' in alerts["PeerlineImminentPageUnacknowledged"]
    assert "peerline_oncall_roster_gap_seconds" in alerts["PeerlineOnCallRosterGap"]
    assert "> 600" in alerts["PeerlineQueueWaitLong"]
    assert "peerline_ready" in alerts["PeerlineNotReady"]
    # Every panel queries the dashboard's data source variable, and ids are unique.
    dashboard = json.loads(DASHBOARD.read_text())
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert {p["datasource"]["uid"] for p in dashboard["panels"]} == {"${datasource}"}


def promtool() -> str:
    """Installed, or unpacked into the virtualenv by scripts/test."""
    beside = Path(sys.executable).with_name("promtool")
    path = str(beside) if beside.exists() else shutil.which("promtool")
    need(path is not None, "promtool (Debian's prometheus package)")
    assert path is not None
    return path


def test_promtool_accepts_the_rules_the_dashboard_queries_and_the_exposition(
    exposition: str, tmp_path: Path
):
    tool = promtool()
    checked = subprocess.run(
        [tool, "check", "rules", str(ALERTS)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # promtool parses PromQL only inside rules: the dashboard's queries as recording rules.
    recording = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{i}", "expr": expr}
                    for i, expr in enumerate(dashboard_queries())
                ],
            }
        ]
    }
    rules_file = tmp_path / "dashboard-rules.yml"
    rules_file.write_text(yaml.safe_dump(recording))
    checked = subprocess.run(
        [tool, "check", "rules", str(rules_file)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # The scrape configuration (with a token file where it says one lives).
    token = tmp_path / "token"
    token.write_text("t")
    config = PROMETHEUS_CONFIG.read_text().replace(
        "/etc/prometheus/peerline-metrics-token", str(token)
    )
    (tmp_path / "prometheus.yml").write_text(config)
    (tmp_path / "alerts.yml").write_text(ALERTS.read_text())
    checked = subprocess.run(
        [tool, "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    linted = subprocess.run(
        [tool, "check", "metrics"], input=exposition, capture_output=True, text=True, timeout=60
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr
