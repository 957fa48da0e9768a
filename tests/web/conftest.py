"""Browser fixtures: a real Peerline server per test and Debian's Chromium driven by Playwright.

Self-contained on purpose (it may later move into a shared conftest). The tests skip when
/usr/bin/chromium is missing, and fail instead when ``CI`` is set. Playwright never downloads a
browser here: we launch the system Chromium by path.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests import forked_server
from tests.support import GENEROUS_BUDGETS, START_TIMEOUT_S, free_port, launch, port_open, run_cli

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DOCS_SHOTS = ROOT / "docs" / "screenshots"
VOLUNTEER_USERNAME = "vol1"  # usernames follow the REST rule: 3+ characters
VOLUNTEER_PASSWORD = "volunteer-pass-1"
SUPERVISOR_PASSWORD = "supervisor-pass-1"


def _free_port() -> int:
    return free_port()  # tests.support's: a block of ports per xdist worker


def _env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        PEERLINE_ENV="test",
        SECRET_KEY=secrets.token_urlsafe(48),
        **GENEROUS_BUDGETS,
    )
    env.pop("REDIS_URL", None)
    # The browser journeys keep the standard password hashes: with the test cost
    # (PASSWORD_HASH_COST, which tests/conftest.py sets for the other tests) a supervisor's
    # sign-in is near-instant and test_supervisor_closes_a_referral_with_a_reason failed
    # twice in a row (the desk showed no referral row). The desk now reloads referrals when
    # its socket authenticates; with near-instant sign-ins the seeker then sometimes got no
    # referral card at all (2 of 6 runs). That race was the volunteer's Send pressed before
    # the helplines were listed (fixed in session 11; test_journeys.py holds the request).
    env.pop("PASSWORD_HASH_COST", None)
    return env


def _cli(args: list[str], env: dict[str, str], stdin: str | None = None) -> str:
    return run_cli(args, env, stdin, timeout=60)


@dataclass
class LiveServer:
    """A `peerline serve` subprocess with its own SQLite database."""

    directory: Path
    port: int
    env: dict[str, str]
    process: subprocess.Popen[bytes] | forked_server.ForkedProcess | None = None
    log_path: Path = field(init=False)
    #: The trained en/hi volunteer every test database starts with.
    volunteer: tuple[str, str] = (VOLUNTEER_USERNAME, VOLUNTEER_PASSWORD)
    supervisor_password: str = SUPERVISOR_PASSWORD

    def __post_init__(self) -> None:
        self.log_path = self.directory / "server.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = launch(
            [forked_server.PEERLINE, "serve", "--port", str(self.port)],
            self.env,
            ROOT,
            self.log_path,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"peerline serve exited early:\n{self.log()}")
            if not port_open(self.port):  # uvicorn listens once the app has started
                time.sleep(0.02)
                continue
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.02)
        self.stop()  # not left running: a leaked server slows every later test
        raise RuntimeError(f"peerline serve did not answer /healthz:\n{self.log()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def create_user(
        self, role: str, username: str, password: str, languages: str = "en,hi"
    ) -> None:
        args = ["create-user", "--role", role, "--username", username, "--languages", languages]
        if role == "volunteer":
            args.append("--trained")
        _cli(args, self.env, stdin=f"{password}\n")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is required when CI is set")
        pytest.skip(f"{CHROMIUM} is not installed")
    return CHROMIUM


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated database with volunteer v1, copied for every test (faster than migrating)."""
    directory = tmp_path_factory.mktemp("peerline-template")
    env = _env(f"sqlite+aiosqlite:///{directory}/t.db")
    _cli(["migrate"], env)
    _cli(
        [
            "create-user",
            "--role",
            "volunteer",
            "--username",
            VOLUNTEER_USERNAME,
            "--trained",
            "--languages",
            "en,hi",
        ],
        env,
        stdin=f"{VOLUNTEER_PASSWORD}\n",
    )
    return directory


@pytest.fixture
def server(tmp_path: Path, migrated_template: Path, chromium_path: str) -> Iterator[LiveServer]:
    for item in migrated_template.iterdir():
        if item.name.startswith("t.db"):
            shutil.copy(item, tmp_path / item.name)
    live = LiveServer(
        directory=tmp_path,
        port=_free_port(),
        env=_env(f"sqlite+aiosqlite:///{tmp_path}/t.db"),
    )
    live.start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def browser(chromium_path: str):  # type: ignore[no-untyped-def]
    # Per module, not per session: Playwright's sync API keeps its event loop marked as
    # running in this thread for as long as it is started, so an asyncio test that an xdist
    # worker runs after a browser module (asyncio.run, pytest-asyncio's runner) failed with
    # "cannot be called from a running event loop". pytest tears a module's fixtures down
    # before the next module's tests, so Playwright is stopped by then.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="session")
def docs_shots() -> Path:
    """docs/screenshots: the screens the README and docs show."""
    DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
    return DOCS_SHOTS


@pytest.fixture
def watch(server: LiveServer):  # type: ignore[no-untyped-def]
    """The page's console errors and requests that leave the server (test_browser.Watch)."""
    from test_browser import Watch

    return Watch(origin=server.base_url)
