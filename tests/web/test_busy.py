"""A seeker turned away by a flood limit sees a kind answer, never a bare error (issue #16
§1): when the queue is full (``queue_full``) or chats are started from one place too fast
(429 ``rate_limited``), the page says so gently, in English and Hindi, with Tele-MANAS 14416
and 112 one tap away and a way to try again. Checked with axe."""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import axe
import pytest
from conftest import LiveServer, _env, _free_port
from playwright.sync_api import Browser, Page, expect
from test_browser import EN, HI, PHONE, Watch, device, shot
from websockets.sync.client import connect

pytestmark = pytest.mark.browser


@pytest.fixture
def crowded(tmp_path: Path, migrated_template: Path, chromium_path: str) -> Iterator[LiveServer]:
    """One place in the queue, three new seekers a minute from one client."""
    for item in migrated_template.iterdir():
        if item.name.startswith("t.db"):
            shutil.copy(item, tmp_path / item.name)
    env = _env(f"sqlite+aiosqlite:///{tmp_path}/t.db")
    env.update(MAX_WAITING_SEEKERS="1", SEEKER_LIMIT_PER_CLIENT="3/minute")
    live = LiveServer(directory=tmp_path, port=_free_port(), env=env)
    live.start()
    yield live
    live.stop()


def someone_waits(server: LiveServer) -> object:
    """A seeker (not a browser) takes the only place in the queue; the socket stays open."""
    request = urllib.request.Request(
        server.base_url + "/api/v1/seekers",
        data=json.dumps({"language": "en", "consent": True}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        token = json.loads(answer.read())["seeker_token"]
    ws = connect(server.base_url.replace("http", "ws") + "/ws", open_timeout=10)
    ws.send(json.dumps({"type": "auth", "token": token}))
    assert json.loads(ws.recv(timeout=10))["type"] == "auth.ok"
    ws.send(json.dumps({"type": "queue.join"}))
    while json.loads(ws.recv(timeout=10))["type"] != "queue.status":
        pass
    return ws


def assert_kind_answer(page: Page, strings: dict[str, str]) -> None:
    expect(page.locator("#ended-title")).to_have_text(strings["busy.title"])
    expect(page.locator("#ended-text")).to_have_text(strings["busy.text"])
    helplines = page.locator("#ended-helplines")
    expect(helplines).to_contain_text(strings["busy.helplines_intro"])
    expect(helplines.locator('a[href="tel:14416"]')).to_be_visible()
    expect(helplines.locator('a[href="tel:112"]')).to_be_visible()
    expect(page.locator("#new-chat")).to_have_text(strings["busy.retry"])
    expect(page.locator("#feedback-form")).to_be_hidden()


def start(page: Page, server: LiveServer, language: str = "en") -> None:
    page.goto(server.base_url + "/")
    if language == "hi":
        page.locator('.lang-switch__option[data-lang="hi"]').click()
    page.locator("#consent").check()
    page.locator("#start-button").click()


def test_a_full_queue_and_a_refused_start_get_a_kind_answer_with_the_helplines(
    browser: Browser, crowded: LiveServer, screenshots: Path
) -> None:
    watch = Watch(origin=crowded.base_url)
    waiting = someone_waits(crowded)  # the client's first new seeker this minute
    try:
        with device(browser, watch, PHONE) as (_, page):
            start(page, crowded)  # the second: created, but the queue is full
            assert_kind_answer(page, EN)
            axe.check(page, "the queue-full answer")
            shot(page, screenshots, "seeker-queue-full-phone")
        with device(browser, watch, PHONE) as (_, page):
            start(page, crowded, "hi")  # the third, in Hindi
            assert_kind_answer(page, HI)
            shot(page, screenshots, "seeker-queue-full-hindi-phone")
        with device(browser, watch, PHONE) as (_, page):
            start(page, crowded)  # the fourth start this minute: 429
            assert_kind_answer(page, EN)
            # Trying again goes back to the start (nothing was created).
            page.locator("#new-chat").click()
            expect(page.locator("#welcome-title")).to_have_text(EN["welcome.title"])
    finally:
        waiting.close()  # type: ignore[attr-defined]
    watch.check()
