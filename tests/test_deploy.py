"""What the production files promise, read from the files: deploy/compose.yaml,
deploy/Caddyfile, the Dockerfile and the lock files. (Building and running the image is
tests/test_container.py, when a container engine is at hand.)"""

from __future__ import annotations

import re
import tomllib

import yaml
from packaging.requirements import Requirement

from tests.support import ROOT

COMPOSE = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
CADDYFILE = (ROOT / "deploy" / "Caddyfile").read_text()
DOCKERFILE = (ROOT / "Dockerfile").read_text()
APPS = ("app1", "app2")


def caddy_site_blocks() -> dict[str, str]:
    """Top-level blocks of the Caddyfile: address -> body (the global options block is '')."""
    blocks: dict[str, list[str]] = {}
    depth, address = 0, ""
    for raw in CADDYFILE.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if depth == 0:
            assert line.endswith("{"), line
            address = line[:-1].strip()
            blocks[address] = []
        else:
            blocks[address].append(line)
        depth += line.count("{") - line.count("}")
    return {a: "\n".join(body) for a, body in blocks.items()}


def test_caddy_serves_one_tls_site_named_by_an_environment_variable():
    sites = {a: b for a, b in caddy_site_blocks().items() if a}
    assert list(sites) == ["{$PEERLINE_HOST}"], "one site, its name from PEERLINE_HOST"
    site = sites["{$PEERLINE_HOST}"]
    # No plain-HTTP site (":80", "http://..."): automatic HTTPS redirects port 80 instead.
    assert not any(a.startswith((":", "http://")) for a in caddy_site_blocks())
    hsts = re.search(r'header Strict-Transport-Security "max-age=(\d+)', site)
    assert hsts and int(hsts.group(1)) >= 365 * 24 * 3600
    assert re.search(r"^\s*encode zstd gzip\s*$", site, re.M)
    assert re.search(r"reverse_proxy app1:8000 app2:8000", site)
    assert "health_uri /readyz" in site
    proxy = SERVICES["proxy"]
    assert proxy["environment"]["PEERLINE_HOST"].startswith("${PEERLINE_HOST:?")
    assert "443:443" in proxy["ports"]
    assert any(v.startswith("caddy_data:/data") for v in proxy["volumes"]), "keep certificates"


def test_every_long_running_service_restarts_and_the_stateful_ones_report_health():
    for name, service in SERVICES.items():
        if name == "migrate":
            assert service.get("restart", "no") == "no", "a one-shot job is not restarted"
        else:
            assert service.get("restart") in ("unless-stopped", "always"), name
    for name in ("postgres", "redis", *APPS):
        assert SERVICES[name].get("healthcheck", {}).get("test"), name
    for name in APPS:
        assert "/readyz" in " ".join(SERVICES[name]["healthcheck"]["test"])
    assert SERVICES["proxy"]["depends_on"] == {
        app: {"condition": "service_healthy"} for app in APPS
    }


def test_the_apps_take_the_metrics_token_prometheus_scrapes_them_with():
    """deploy/prometheus/prometheus.yml scrapes app1 and app2 with a bearer token; in
    production /metrics is on only when METRICS_TOKEN is set, so compose must pass it on
    (optional: unset or empty, /metrics stays off)."""
    for name in APPS:
        assert SERVICES[name]["environment"]["METRICS_TOKEN"] == "${METRICS_TOKEN:-}"


def test_migrations_run_once_before_the_apps_which_run_in_production_mode():
    assert SERVICES["migrate"]["command"] == ["peerline", "migrate"]
    for name in ("migrate", *APPS):
        env = SERVICES[name]["environment"]
        assert env["PEERLINE_ENV"] == "production"
        assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")
        assert env["EMERGENCY_SHARE_KEY"].startswith("${EMERGENCY_SHARE_KEY:?")
        assert env["DATABASE_URL"].startswith("postgresql://")
        assert env["REDIS_URL"].startswith("redis://")
    for name in APPS:
        assert SERVICES[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }


def test_the_image_runs_the_installed_package_in_production_as_a_user():
    assert re.search(r"^\s*PEERLINE_ENV=production", DOCKERFILE, re.M)
    assert re.search(r"^USER (?!root)\w+", DOCKERFILE, re.M)
    assert "HEALTHCHECK" in DOCKERFILE
    assert "pip install --no-cache-dir --require-hashes -r requirements.lock" in DOCKERFILE
    # The migrations ship inside the package; nothing beside it is needed.
    copied = re.findall(r"^COPY (?!--from)(.+)$", DOCKERFILE, re.M)
    assert not [c for c in copied if "migrations" in c or "alembic" in c], copied
    assert DOCKERFILE.rstrip().endswith(
        'CMD ["peerline", "serve", "--host", "0.0.0.0", "--port", "8000"]'
    )


def locked(path: str) -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)", (ROOT / path).read_text(), re.M)
    return {name.lower().replace("_", "-"): version for name, version in pins}


def test_the_lock_files_pin_what_pyproject_asks_for():
    """After editing pyproject.toml's dependencies, run `bash scripts/lock`."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = [Requirement(r) for r in project["dependencies"]]
    dev = [Requirement(r) for r in project["optional-dependencies"]["dev"]]
    for lock, requirements in (
        ("requirements.lock", runtime),
        ("requirements-dev.lock", runtime + dev),
    ):
        pins = locked(lock)
        for requirement in requirements:
            name = requirement.name.lower().replace("_", "-")
            assert name in pins, f"{name} is not in {lock}: run bash scripts/lock"
            assert requirement.specifier.contains(pins[name], prereleases=True), (
                f"{lock} pins {name}=={pins[name]}, pyproject asks {requirement}: "
                "run bash scripts/lock"
            )
    assert set(locked("requirements.lock")) <= set(locked("requirements-dev.lock"))
    for lock in ("requirements.lock", "requirements-dev.lock"):
        lines = (ROOT / lock).read_text().splitlines()
        for i, line in enumerate(lines):
            if "==" in line and not line.startswith("#"):
                assert lines[i + 1].strip().startswith("--hash=sha256:"), f"{lock}: {line}"
