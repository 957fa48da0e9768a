"""The web client, driven in Chromium against a real server: seeker, volunteer and supervisor.

Each journey uses several browser contexts at once (separate "devices"). Every page is watched
for script errors, CSP violations and requests that leave the server's origin.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import axe
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

if TYPE_CHECKING:
    from conftest import LiveServer

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}

QUICK_EXIT_HOST = "https://www.google.com/"
I18N = ROOT / "web_client" / "i18n"
EN = json.loads((I18N / "en.json").read_text(encoding="utf-8"))
HI = json.loads((I18N / "hi.json").read_text(encoding="utf-8"))
TIMEOUT_MS = 15_000
RECONNECT_TIMEOUT_MS = 45_000  # ping every 15 s + pong timeout 10 s + backoff, with room

expect.set_options(timeout=TIMEOUT_MS)


@dataclass
class Watch:
    """What went wrong on the pages of one test: script errors, CSP refusals, foreign requests."""

    origin: str
    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> Page:
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("console", self._console)
        page.on("request", self._request)
        return page

    def _console(self, message) -> None:  # type: ignore[no-untyped-def]
        text = message.text
        if "Content Security Policy" in text or "Refused to" in text:
            self.errors.append(f"csp: {text}")
        elif (
            message.type == "error"
            and "ERR_INTERNET_DISCONNECTED" not in text
            and "WebSocket" not in text
        ):
            # 404s of optional endpoints are expected while the server grows.
            if "404" not in text and "Failed to load resource" not in text:
                self.errors.append(f"console: {text}")

    def _request(self, request) -> None:  # type: ignore[no-untyped-def]
        url = request.url
        if url.startswith((self.origin, "ws://127.0.0.1", "data:", "about:")):
            return
        self.foreign.append(url)

    def check(self, allow_foreign: tuple[str, ...] = ()) -> None:
        assert not self.errors, "\n".join(self.errors)
        leaked = [url for url in self.foreign if not url.startswith(allow_foreign)]
        assert not leaked, f"requests left the server: {leaked}"


@contextmanager
def device(
    browser: Browser, watch: Watch, viewport: dict[str, int], **options
) -> Iterator[tuple[BrowserContext, Page]]:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=viewport, **options)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context, watch.attach(context.new_page())
    finally:
        context.close()


def shot(page: Page, directory: Path, name: str, *, full_page: bool = False) -> None:
    page.wait_for_timeout(250)  # let fonts and layout settle
    page.screenshot(path=str(directory / f"{name}.png"), full_page=full_page)


# ---- journeys' building blocks ------------------------------------------------------------------


def seeker_starts(page: Page, server: LiveServer) -> None:
    page.goto(server.base_url + "/")
    expect(page.locator("#welcome-title")).to_have_text(EN["welcome.title"])
    page.locator("#consent").check()
    page.locator("#start-button").click()
    expect(page.locator("#queue-card")).to_be_visible()
    expect(page.locator("#queue-position")).to_contain_text(re.compile(r"next|number|still"))


def seeker_sends(page: Page, text: str) -> None:
    page.locator("#composer-text").fill(text)
    page.locator("#composer-text").press("Enter")


def volunteer_logs_in(page: Page, server: LiveServer) -> None:
    username, password = server.volunteer
    page.goto(server.base_url + "/volunteer")
    page.locator("#login-username").fill(username)
    page.locator("#login-password").fill(password)
    page.locator("#login-form button[type=submit]").click()
    expect(page.locator("[data-screen=console]")).to_be_visible()
    page.locator("#available").check()
    expect(page.locator("#availability-status")).to_contain_text("Available")


def volunteer_takes(page: Page) -> None:
    page.locator("#take-next").click()
    try:
        expect(page.locator("#chat-area .chat-pane:not([hidden])")).to_be_visible()
    except AssertionError as exc:  # name what the console said instead
        said = page.locator("#take-status").inner_text()
        raise AssertionError(f"no chat pane after Take next chat; it said {said!r}") from exc


def volunteer_pane(page: Page):  # type: ignore[no-untyped-def]
    return page.locator("#chat-area .chat-pane:not([hidden])")


def volunteer_sends(page: Page, text: str) -> None:
    box = volunteer_pane(page).locator(".js-text")
    box.fill(text)
    box.press("Enter")


def volunteer_ends(pane) -> None:  # type: ignore[no-untyped-def]
    """End chat, then yes in its confirm (a single click used to end the chat)."""
    pane.locator(".js-end").click()
    pane.locator(".js-end-yes").click()


def bubble_texts(page: Page, scope: str) -> list[str]:
    return page.locator(f"{scope} .bubble .bubble__text").all_inner_texts()


def desk_page(browser: Browser, watch: Watch):  # type: ignore[no-untyped-def]
    """A desktop browser, watched, for a desk or a console: (context, page)."""
    desk_ctx = browser.new_context(viewport=DESKTOP)
    desk_ctx.set_default_timeout(TIMEOUT_MS)
    return desk_ctx, watch.attach(desk_ctx.new_page())


def chat_in_progress(  # type: ignore[no-untyped-def]
    browser: Browser,
    server: LiveServer,
    watch: Watch,
    *,
    before_load: Callable[[Page, Page], object] | None = None,
    first_message: str | None = "hi, is anyone there?",
):
    """Open a seeker (phone) and the volunteer (desktop) with one chat between them, the seeker
    having written ``first_message`` while waiting (None: nothing, so the start question is
    still open). ``before_load(seeker, volunteer)`` runs before either page loads (to route
    their sockets)."""
    seeker_ctx = browser.new_context(viewport=PHONE)
    volunteer_ctx = browser.new_context(viewport=DESKTOP)
    for ctx in (seeker_ctx, volunteer_ctx):
        ctx.set_default_timeout(TIMEOUT_MS)
    seeker = watch.attach(seeker_ctx.new_page())
    volunteer = watch.attach(volunteer_ctx.new_page())
    if before_load:
        before_load(seeker, volunteer)
    seeker_starts(seeker, server)
    if first_message is not None:
        seeker_sends(seeker, first_message)
        expect(seeker.locator(".bubble--mine").last).to_have_attribute(
            "data-state", re.compile("sent|read")
        )
    volunteer_logs_in(volunteer, server)
    volunteer_takes(volunteer)
    if first_message is not None:
        expect(volunteer_pane(volunteer).locator(".bubble--peer .bubble__text")).to_have_text(
            [first_message]
        )
    expect(seeker.locator("#chat-header")).to_be_visible()
    return seeker_ctx, seeker, volunteer_ctx, volunteer


# ---- the journeys -------------------------------------------------------------------------------


def test_seeker_and_volunteer_chat_both_ways(
    browser: Browser, server: LiveServer, watch: Watch, screenshots: Path
) -> None:
    with device(browser, watch, DESKTOP) as (_, wide):
        wide.goto(server.base_url + "/")
        expect(wide.locator("#welcome-title")).to_be_visible()
        shot(wide, screenshots, "seeker-welcome-desktop")

    with (
        device(browser, watch, PHONE) as (_, seeker),
        device(browser, watch, DESKTOP) as (_, volunteer),
    ):
        seeker.goto(server.base_url + "/")
        # The emergency numbers come before consent, as tap-to-call links.
        emergency = seeker.locator(".emergency")
        expect(emergency.locator('a[href="tel:112"]')).to_be_visible()
        expect(emergency.locator('a[href="tel:14416"]')).to_be_visible()
        assert emergency.evaluate(
            "(e) => e.compareDocumentPosition(document.getElementById('consent')) & Node.DOCUMENT_POSITION_FOLLOWING"
        )
        shot(seeker, screenshots, "seeker-welcome-phone")
        shot(seeker, screenshots, "seeker-welcome-phone-full", full_page=True)

        # Consent is required.
        seeker.locator("#start-button").click()
        expect(seeker.locator("#consent-error")).to_have_text(EN["start.consent_required"])

        seeker.locator("#consent").check()
        seeker.locator("#start-button").click()
        expect(seeker.locator("#queue-card")).to_be_visible()
        # Nobody is online yet: say so honestly, keep the helplines one tap away.
        expect(seeker.locator("#queue-none")).to_be_visible()
        expect(seeker.locator("#queue-card .js-open-helplines")).to_be_visible()
        seeker_sends(seeker, "I don't know who else to talk to")
        expect(seeker.locator(".bubble--mine")).to_have_attribute("data-state", "sent")
        shot(seeker, screenshots, "seeker-queue-phone")
        assert seeker.evaluate("localStorage.length") == 1
        stored = seeker.evaluate("localStorage.getItem('peerline.seeker')")
        assert set(json.loads(stored)) == {"token", "expires_at"}

        volunteer_logs_in(volunteer, server)
        expect(volunteer.locator("#q-waiting")).to_have_text("1")
        expect(seeker.locator("#queue-none")).to_be_hidden()
        expect(seeker.locator("#queue-wait")).to_contain_text("Estimated wait")
        volunteer_takes(volunteer)
        pane = volunteer_pane(volunteer)
        # What the seeker wrote while waiting is there first.
        expect(pane.locator(".bubble--peer .bubble__text")).to_have_text(
            ["I don't know who else to talk to"]
        )
        expect(seeker.locator("#chat-header")).to_be_visible()

        # Volunteer → seeker, with the typing indicator on the way.
        pane.locator(".js-text").type("I'm here")
        expect(seeker.locator("#typing")).to_be_visible()
        pane.locator(".js-text").fill(
            "I'm really glad you reached out. I'm here and I'm listening."
        )
        pane.locator(".js-text").press("Enter")
        expect(seeker.locator(".bubble--peer .bubble__text")).to_have_text(
            ["I'm really glad you reached out. I'm here and I'm listening."]
        )
        # The seeker's page is visible, so it reads it; the volunteer sees "read".
        expect(pane.locator(".bubble--mine")).to_have_attribute("data-state", "read")

        # Seeker → volunteer; the volunteer's selected chat reads it, the seeker sees "read".
        seeker_sends(seeker, "exams are crushing me")
        expect(pane.locator(".bubble--peer .bubble__text")).to_have_text(
            ["I don't know who else to talk to", "exams are crushing me"]
        )
        expect(seeker.locator(".bubble--mine").last).to_have_attribute("data-state", "read")

        # A canned phrase goes into the box, editable, not straight to the seeker.
        phrases = pane.locator(".js-phrases")
        first_phrase = phrases.locator("option").nth(1).get_attribute("value")
        phrases.select_option(first_phrase)
        expect(pane.locator(".js-text")).to_have_value(first_phrase)
        pane.locator(".js-text").press("Enter")
        expect(seeker.locator(".bubble--peer .bubble__text").last).to_have_text(first_phrase)

        shot(seeker, screenshots, "seeker-chat-phone")
        shot(volunteer, screenshots, "volunteer-console-desktop")

        # Bubbles are in seq order on both sides, nothing twice.
        assert bubble_texts(seeker, "#messages") == [
            "I don't know who else to talk to",
            "I'm really glad you reached out. I'm here and I'm listening.",
            "exams are crushing me",
            first_phrase,
        ]

        # A paste longer than one message can hold is cut at 4,000 characters, and the seeker
        # is told so before sending (the cut was silent); sending clears the note.
        seeker.locator("#composer-text").focus()
        seeker.keyboard.insert_text("a long story. " * 400)
        limit = seeker.locator("#composer-limit")
        expect(limit).to_have_text(EN["chat.at_limit"])
        assert len(seeker.locator("#composer-text").input_value()) == 4000
        seeker.locator("#composer-text").press("Enter")
        expect(limit).to_be_hidden()
        expect(pane.locator(".bubble--peer .bubble__text").last).to_contain_text("a long story.")

        # The seeker ends the chat and answers (stored anonymously); the volunteer writes a note.
        seeker.locator("#end-chat").click()
        seeker.locator("#end-confirm").click()
        expect(seeker.locator("#ended-title")).to_be_visible()
        expect(seeker.locator('#ended-helplines a[href="tel:14416"]')).to_be_visible()
        seeker.locator('input[name="mood_end"][value="4"]').check()
        seeker.locator('input[name="come_back"][value="yes"]').check()
        shot(seeker, screenshots, "seeker-ended-phone", full_page=True)
        seeker.locator("#feedback-form button[type=submit]").click()
        expect(seeker.locator("#feedback-thanks")).to_be_visible()

        expect(pane.locator(".js-note-form")).to_be_visible()
        pane.locator(".js-note-text").fill("Exam stress; no risk indicators; gave Tele-MANAS.")
        pane.locator(".js-note-form button[type=submit]").click()
        expect(pane.locator(".js-note-status")).to_have_text(EN["vol.note_saved"])
        shot(volunteer, screenshots, "volunteer-wrapup-desktop")
    watch.check()


def assert_once_in_order(page: Page, scope: str, count: int) -> None:
    """Exactly `count` bubbles, seq 1..count: nothing lost, doubled or out of order."""
    seqs = page.locator(f"{scope} .bubble").evaluate_all(
        "(nodes) => nodes.map((n) => Number(n.dataset.seq))"
    )
    assert seqs == list(range(1, count + 1)), seqs


VOLUNTEER_LOG = "#chat-area .chat-pane:not([hidden]) .js-messages"


def test_network_drop_loses_and_doubles_nothing(
    browser: Browser, server: LiveServer, watch: Watch, screenshots: Path
) -> None:
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    sockets: list[object] = []
    seeker.on("websocket", lambda socket: sockets.append(socket))
    # Long enough that the phone's chat scrolls: the notice must stay in view all the same.
    before = "before the drop. " + "I'm still here, take all the time you need. " * 30
    try:
        volunteer_sends(volunteer, before)
        expect(seeker.locator(".bubble--peer .bubble__text")).to_have_text([before])

        seeker_ctx.set_offline(True)
        expect(seeker.locator("#conn-notice")).to_be_visible()
        # On a short screen (a phone with its keyboard open) the chat screen scrolls (header,
        # messages, composer): scrolled to the end, the notice stays in view (it once scrolled
        # away above).
        seeker.set_viewport_size({"width": 360, "height": 360})
        screen = seeker.locator("[data-screen=chat]")
        assert screen.evaluate("(e) => e.scrollHeight > e.clientHeight + 40"), "nothing to scroll"
        screen.evaluate("(e) => { e.scrollTop = e.scrollHeight; }")
        expect(seeker.locator("#conn-notice")).to_be_in_viewport(ratio=1)
        seeker.set_viewport_size(PHONE)
        # While the seeker is away: the volunteer writes twice, the seeker once.
        volunteer_sends(volunteer, "are you still there?")
        volunteer_sends(volunteer, "take your time")
        seeker_sends(seeker, "sorry, my signal dropped")
        expect(seeker.locator(".bubble--mine").last).to_have_attribute("data-state", "sending")
        shot(seeker, screenshots, "seeker-reconnecting-phone")
        # Stay away longer than the pong timeout, so the client gives the socket up for dead and
        # must reconnect, resume and resend (not merely wait for a stalled socket to flow again).
        seeker.wait_for_timeout(12_000)

        seeker_ctx.set_offline(False)
        expect(seeker.locator("#conn-notice")).to_be_hidden(timeout=RECONNECT_TIMEOUT_MS)
        expect(seeker.locator(".bubble--peer .bubble__text")).to_have_text(
            [before, "are you still there?", "take your time"],
            timeout=RECONNECT_TIMEOUT_MS,
        )
        expect(volunteer_pane(volunteer).locator(".bubble--peer .bubble__text")).to_have_text(
            ["hi, is anyone there?", "sorry, my signal dropped"], timeout=RECONNECT_TIMEOUT_MS
        )
        expect(seeker.locator(".bubble--mine").last).to_have_attribute(
            "data-state", re.compile("sent|read")
        )

        assert sockets, "the seeker never opened a new socket after the drop"

        # Exactly once each, in seq order with no gap, on both sides.
        assert_once_in_order(seeker, "#messages", 5)
        assert_once_in_order(volunteer, VOLUNTEER_LOG, 5)

        # The page still works after the drop.
        seeker_sends(seeker, "thanks for waiting")
        expect(volunteer_pane(volunteer).locator(".bubble--peer .bubble__text").last).to_have_text(
            "thanks for waiting"
        )
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
    watch.check()


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_words_written_offline_as_the_chat_ended_are_said_not_sent(
    browser: Browser, server: LiveServer, watch: Watch, lang: str
) -> None:
    """The seeker writes while offline ("Reconnecting… your messages are safe and will be
    sent"), and the volunteer ends the chat meanwhile. Back online, the ended screen thanked
    them and said nothing: their last words were never delivered (the page dropped them, and
    the server refused them), yet looked as if the volunteer had read them and left. The
    ended screen now says so, in the focused heading's description too."""
    strings = EN if lang == "en" else HI
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    try:
        if lang == "hi":
            seeker.locator('.lang-switch__option[data-lang="hi"]').click()
        seeker_ctx.set_offline(True)
        expect(seeker.locator("#conn-notice")).to_be_visible()
        seeker_sends(seeker, "wait, I still need to talk")
        expect(seeker.locator(".bubble--mine").last).to_have_attribute("data-state", "sending")
        volunteer_ends(volunteer_pane(volunteer))
        seeker_ctx.set_offline(False)
        title = seeker.locator("#ended-title")
        expect(title).to_have_text(strings["ended.title"], timeout=RECONNECT_TIMEOUT_MS)
        unsent = seeker.locator("#ended-unsent")
        expect(unsent).to_have_text(strings["ended.unsent"])
        expect(unsent).to_be_visible()
        expect(title).to_be_focused()
        expect(title).to_have_accessible_description(
            f"{strings['ended.text']} {strings['ended.unsent']}"
        )
        axe.check(seeker, f"ended with words not sent ({lang})")
        assert "wait, I still need to talk" not in bubble_texts(volunteer, VOLUNTEER_LOG)
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
    watch.check()


def test_a_chat_ended_with_every_word_sent_says_nothing_was_lost(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    try:
        volunteer_ends(volunteer_pane(volunteer))
        expect(seeker.locator("#ended-title")).to_be_focused()
        expect(seeker.locator("#ended-unsent")).to_be_hidden()
        expect(seeker.locator("#ended-title")).to_have_accessible_description(EN["ended.text"])
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
    watch.check()


def test_server_restart_reconnects_and_resumes(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """SIGTERM closes every socket with 1012; both pages come back to the next process."""
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    try:
        volunteer_sends(volunteer, "before the restart")
        expect(seeker.locator(".bubble--peer .bubble__text")).to_have_text(["before the restart"])

        server.stop()
        expect(seeker.locator("#conn-notice")).to_be_visible()
        seeker_sends(seeker, "written while the server was down")
        expect(seeker.locator(".bubble--mine").last).to_have_attribute("data-state", "sending")
        server.start()

        expect(seeker.locator("#conn-notice")).to_be_hidden(timeout=RECONNECT_TIMEOUT_MS)
        expect(volunteer_pane(volunteer).locator(".bubble--peer .bubble__text")).to_have_text(
            ["hi, is anyone there?", "written while the server was down"],
            timeout=RECONNECT_TIMEOUT_MS,
        )
        volunteer_sends(volunteer, "after the restart")
        expect(seeker.locator(".bubble--peer .bubble__text")).to_have_text(
            ["before the restart", "after the restart"]
        )
        assert_once_in_order(seeker, "#messages", 4)
        assert_once_in_order(volunteer, VOLUNTEER_LOG, 4)
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
    # Refused reconnects while the server was down are expected console noise.
    watch.errors = [e for e in watch.errors if "ERR_CONNECTION_REFUSED" not in e]
    watch.check()


def test_quick_exit_replaces_the_page_and_forgets_the_token(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    def stub(route: Route) -> None:
        route.fulfill(
            status=200, content_type="text/html", body="<title>weather</title><p>Weather</p>"
        )

    for how in ("button", "escape"):
        with device(browser, watch, PHONE) as (context, page):
            context.route(re.compile(r"^https://www\.google\.com/.*"), stub)
            page.goto(server.base_url + "/")
            page.locator("#consent").check()
            page.locator("#start-button").click()
            expect(page.locator("#queue-card")).to_be_visible()
            assert page.evaluate("localStorage.getItem('peerline.seeker')")

            if how == "button":
                expect(page.locator("#quick-exit")).to_be_visible()
                page.locator("#quick-exit").click()
            else:
                page.locator("#composer-text").focus()
                page.keyboard.press("Escape")
            page.wait_for_url(re.compile(r"^https://www\.google\.com/search\?q=weather"))

            # `replace`: going back does not return to Peerline.
            page.go_back()
            assert not page.url.startswith(server.base_url), page.url

            # The token is gone from this browser.
            check = context.new_page()
            check.goto(server.base_url + "/static/i18n/en.json")
            assert check.evaluate("localStorage.getItem('peerline.seeker')") is None
            assert check.evaluate("localStorage.length") == 0
    watch.check(allow_foreign=(QUICK_EXIT_HOST,))


def test_each_language_option_is_spoken_in_its_own_language(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """The seeker's switch offers "हिन्दी" on the English page and "English" on the Hindi one,
    each marked only by the page's language: a screen reader read "हिन्दी" with an English
    voice (or skipped it) and "English" with a Hindi one. Each option now carries its own."""
    with device(browser, watch, PHONE) as (_, page):
        page.goto(server.base_url + "/")
        for lang in ("en", "hi"):
            if lang == "hi":  # the switch shows only the other language
                page.locator('.lang-switch__option[data-lang="hi"]').click()
            expect(page.locator("html")).to_have_attribute("lang", lang)
            for option in ("en", "hi"):
                button = page.locator(f'.lang-switch__option[data-lang="{option}"]')
                expect(button).to_have_attribute("lang", option)
    watch.check()


def test_hindi_interface_renders_hindi(
    browser: Browser, server: LiveServer, watch: Watch, screenshots: Path
) -> None:
    with (
        device(browser, watch, PHONE) as (_, seeker),
        device(browser, watch, DESKTOP) as (_, volunteer),
    ):
        seeker.goto(server.base_url + "/")
        seeker.locator('.lang-switch__option[data-lang="hi"]').click()
        expect(seeker.locator("#welcome-title")).to_have_text(HI["welcome.title"])
        assert seeker.evaluate("document.documentElement.lang") == "hi"
        expect(seeker.locator("#quick-exit .quick-exit__label")).to_have_text(HI["exit.button"])
        expect(seeker.locator("#start-button")).to_have_text(HI["start.button"])
        # Every data-i18n element shows the Hindi string for its key.
        shown = seeker.locator("[data-i18n]:not([data-i18n-vars])").evaluate_all(
            "(nodes) => nodes.map((n) => [n.dataset.i18n, n.textContent])"
        )
        for key, text in shown:
            assert text == HI[key], (key, text)
        shot(seeker, screenshots, "seeker-welcome-hindi-phone")

        seeker.locator("#consent").check()
        seeker.locator("#start-button").click()
        expect(seeker.locator("#queue-card h2")).to_have_text(HI["queue.title"])
        expect(seeker.locator("#queue-none")).to_have_text(HI["queue.no_volunteer"])

        # The chat is in Hindi: the volunteer sees the language and Hindi phrases.
        volunteer_logs_in(volunteer, server)
        volunteer_takes(volunteer)
        pane = volunteer_pane(volunteer)
        expect(pane.locator(".js-meta")).to_contain_text("हिन्दी")
        phrases = json.loads((I18N / "phrases.hi.json").read_text(encoding="utf-8"))
        expect(pane.locator(".js-phrases option").nth(1)).to_have_text(
            phrases["groups"][0]["phrases"][0]
        )
        volunteer_sends(volunteer, "नमस्ते, मैं यहाँ हूँ।")
        expect(seeker.locator(".bubble--peer .bubble__text")).to_have_text(["नमस्ते, मैं यहाँ हूँ।"])
        expect(seeker.locator("#end-chat")).to_have_text(HI["chat.end"])
        shot(seeker, screenshots, "seeker-chat-hindi-phone")
    watch.check()


def test_a_system_note_follows_the_seekers_language_change(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    try:
        alias = volunteer.locator("#who").inner_text()  # "Signed in as <alias>"
        note = seeker.locator("#messages .system-note").first
        expect(note).to_contain_text(EN["chat.started"].split("{name}")[1].strip())
        name = note.inner_text().split(EN["chat.started"].split("{name}")[1])[0]
        assert name and name in alias
        seeker.locator('.lang-switch__option[data-lang="hi"]').click()
        expect(seeker.locator("#end-chat")).to_have_text(HI["chat.end"])
        expect(note).to_have_text(HI["chat.started"].replace("{name}", name))
        seeker.locator('.lang-switch__option[data-lang="en"]').click()
        expect(note).to_have_text(EN["chat.started"].replace("{name}", name))
    finally:
        for ctx in (seeker_ctx, volunteer_ctx):
            ctx.close()
    watch.check()


def test_returning_seeker_resumes_the_conversation(
    browser: Browser, server: LiveServer, watch: Watch, screenshots: Path
) -> None:
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    try:
        volunteer_sends(volunteer, "I'm glad you wrote.")
        expect(seeker.locator(".bubble--peer .bubble__text")).to_have_text(["I'm glad you wrote."])
        # Only the token and its expiry are kept, never what was said.
        storage = seeker.evaluate("JSON.stringify(Object.assign({}, localStorage))")
        assert "glad" not in storage and "anyone" not in storage
        seeker.close()

        # Same browser, later: the chat is back with its history.
        again = watch.attach(seeker_ctx.new_page())
        again.goto(server.base_url + "/")
        expect(again.locator("#chat-header")).to_be_visible()
        expect(again.locator("#messages .bubble .bubble__text")).to_have_text(
            ["hi, is anyone there?", "I'm glad you wrote."]
        )
        seeker_sends(again, "I'm back")
        expect(volunteer_pane(volunteer).locator(".bubble--peer .bubble__text").last).to_have_text(
            "I'm back"
        )
        expect(again.locator(".bubble--mine").last).to_have_attribute(
            "data-state", re.compile("sent|read")
        )
        shot(again, screenshots, "seeker-resumed-phone")
    finally:
        seeker_ctx.close()
        volunteer_ctx.close()
    watch.check()


def test_volunteer_handles_two_chats_with_unread_counts(
    browser: Browser, server: LiveServer, watch: Watch, screenshots: Path
) -> None:
    with (
        device(browser, watch, PHONE) as (_, first),
        device(browser, watch, PHONE) as (_, second),
        device(browser, watch, DESKTOP) as (_, volunteer),
    ):
        seeker_starts(first, server)
        seeker_starts(second, server)
        volunteer_logs_in(volunteer, server)
        volunteer.locator("#capacity").select_option("2")
        expect(volunteer.locator("#availability-status")).to_contain_text("of 2")
        volunteer.locator("#take-next").click()
        expect(volunteer.locator("#chat-tabs .tab")).to_have_count(1)
        volunteer_sends(volunteer, "hello first")
        expect(first.locator(".bubble--peer .bubble__text")).to_have_text(["hello first"])
        volunteer.locator("#take-next").click()
        expect(volunteer.locator("#chat-tabs .tab")).to_have_count(2)
        tabs = volunteer.locator("#chat-tabs .tab")
        # The chat just taken is the one shown, ready to write in (it used to stay behind the
        # first chat, its tab below the fold at 1280x800: a greeting went to the wrong seeker).
        expect(tabs.nth(1)).to_have_attribute("aria-selected", "true")
        expect(volunteer_pane(volunteer).locator(".js-text")).to_be_focused()
        volunteer.keyboard.type("hello second")
        volunteer.keyboard.press("Enter")
        expect(second.locator(".bubble--peer .bubble__text")).to_have_text(["hello second"])
        expect(first.locator(".bubble--peer .bubble__text")).to_have_text(["hello first"])
        # The status line counts the chats open (it said "0 of 2" until availability changed).
        expect(volunteer.locator("#availability-status")).to_have_text(
            EN["vol.status_available"].replace("{active}", "2").replace("{capacity}", "2")
        )
        for tab in (tabs.nth(0), tabs.nth(1)):
            expect(tab).to_be_in_viewport(ratio=1)

        seeker_sends(first, "message for the other tab")
        expect(tabs.nth(0).locator(".badge")).to_have_text("1")
        seeker_sends(first, "and another")
        expect(tabs.nth(0).locator(".badge")).to_have_text("2")
        expect(tabs.nth(0).locator(".badge")).to_be_in_viewport()
        elsewhere = volunteer.locator("#unread-elsewhere")
        expect(elsewhere).to_contain_text(EN["vol.unread_elsewhere"].split("{name}")[0])
        expect(volunteer.locator("#sr-status")).to_have_text(elsewhere.inner_text())
        shot(volunteer, screenshots, "volunteer-two-chats-desktop")

        # Keyboard: arrow to the other tab, which clears its unread count.
        tabs.nth(1).focus()
        volunteer.keyboard.press("ArrowUp")
        expect(tabs.nth(0)).to_have_attribute("aria-selected", "true")
        expect(tabs.nth(0).locator(".badge")).to_be_hidden()
        expect(elsewhere).to_be_hidden()
        expect(volunteer_pane(volunteer).locator(".bubble--peer .bubble__text")).to_have_text(
            ["message for the other tab", "and another"]
        )
        expect(first.locator(".bubble--mine").last).to_have_attribute("data-state", "read")
        # On a phone the other chat's tab and count are a screen above the message box: the
        # button naming it stays in sight, and takes the volunteer there.
        volunteer.set_viewport_size(PHONE)
        tabs.nth(1).click()
        volunteer_pane(volunteer).locator(".js-text").focus()
        seeker_sends(first, "are you still there?")
        expect(elsewhere).to_be_in_viewport()
        shot(volunteer, screenshots, "volunteer-unread-elsewhere-phone")
        elsewhere.click()
        expect(tabs.nth(0)).to_have_attribute("aria-selected", "true")
        expect(volunteer_pane(volunteer).locator(".js-text")).to_be_focused()
        expect(elsewhere).to_be_hidden()
        volunteer.set_viewport_size(DESKTOP)
        second.locator("#end-chat").click()
        second.locator("#end-confirm").click()
        expect(volunteer.locator("#availability-status")).to_have_text(
            EN["vol.status_available"].replace("{active}", "1").replace("{capacity}", "2")
        )
        # The volunteer's own activity is read again when a chat ends (it stayed at the
        # sign-in's 0 until a reload): both chats taken today count.
        chats = volunteer.locator('#activity-panel tr[data-field="chats"] td').first
        expect(chats).to_have_text("2")
    watch.check()


def test_supervisor_desk_loads_and_degrades_quietly(
    browser: Browser, server: LiveServer, watch: Watch, screenshots: Path
) -> None:
    server.create_user("supervisor", "sup1", server.supervisor_password)
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        with device(browser, watch, viewport) as (_, desk):
            desk.goto(server.base_url + "/supervisor")
            expect(desk.locator("#login-title")).to_have_text(EN["sup.login_title"])
            if name == "desktop":
                shot(desk, screenshots, "supervisor-login-desktop")
            desk.locator("#login-username").fill("sup1")
            desk.locator("#login-password").fill(server.supervisor_password)
            desk.locator("#login-form button[type=submit]").click()
            expect(desk.locator("[data-screen=desk]")).to_be_visible()
            expect(desk.locator("#conn-state")).to_be_hidden()  # connected: the layout is still
            turn_on_call(desk)
            expect(desk.locator("#oncall-status")).not_to_be_empty()
            expect(desk.locator("#escalations")).to_be_attached()
            shot(desk, screenshots, f"supervisor-desk-{name}")
    # Desktop notifications allowed from the keyboard: the button goes, and the focus goes on
    # to the next one (it fell to the top of the page).
    with device(browser, watch, DESKTOP) as (_, desk):
        desk.add_init_script(
            """let asked = "default";
            Object.defineProperty(Notification, "permission", { get: () => asked });
            Notification.requestPermission = async () => (asked = "granted");"""
        )
        supervisor_logs_in(desk, server)
        desk.locator("#enable-notifications").press("Enter")
        expect(desk.locator("#enable-notifications")).to_be_hidden()
        expect(desk.locator("#test-sound")).to_be_focused()
    watch.check()


def test_volunteer_login_page_phone(
    browser: Browser, server: LiveServer, watch: Watch, screenshots: Path
) -> None:
    with device(browser, watch, PHONE) as (_, page):
        page.goto(server.base_url + "/volunteer")
        expect(page.locator("#login-title")).to_have_text(EN["vol.login_title"])
        page.locator("#login-username").fill(server.volunteer[0])
        page.locator("#login-password").fill("wrong-password-1")
        page.locator("#login-form button[type=submit]").click()
        expect(page.locator("#login-error")).to_have_text(EN["login.invalid"])
        shot(page, screenshots, "volunteer-login-phone")
        # A failed sign-in makes the username wait a second before the next (LOGIN_DELAY_BASE_S).
        page.wait_for_timeout(1500)
        page.locator("#login-password").fill(server.volunteer[1])
        page.locator("#login-form button[type=submit]").click()
        expect(page.locator("[data-screen=console]")).to_be_visible()
        shot(page, screenshots, "volunteer-console-phone")
    watch.check()


def turn_on_call(page: Page) -> None:
    """Switch "I'm on call" on and see it stay on. The desk's socket must be open (the pill
    gone): a toggle that cannot go out springs back and says "Not sent". The switch is
    enabled once the desk knows whether the account is on call already: Playwright's
    ``check`` reads the state before it waits to click, so wait first, as a person would."""
    switch = page.locator("#oncall")
    expect(switch).to_be_enabled()
    switch.check()
    expect(switch).to_be_checked()


def supervisor_acks(desk: Page, escalation) -> None:  # type: ignore[no-untyped-def]
    """Acknowledge an escalation on the desk; a failure names what the desk said instead."""
    escalation.locator(".js-ack").click()
    try:
        expect(escalation.locator(".js-ack")).to_be_hidden()
    except AssertionError as exc:
        said = desk.locator("#sr-alert").inner_text()
        pill = desk.locator("#conn-state")
        state = pill.inner_text() if pill.is_visible() else "connected"
        raise AssertionError(f"the ack did not take; desk said {said!r} ({state})") from exc


def supervisor_signs_in(page: Page, server: LiveServer, username: str = "sup1") -> None:
    """The supervisor (sup1 unless told; the test creates any other) signs in at /supervisor;
    returns once the desk shows (its socket may not be open)."""
    page.goto(server.base_url + "/supervisor")
    page.locator("#login-username").fill(username)
    page.locator("#login-password").fill(server.supervisor_password)
    page.locator("#login-form button[type=submit]").click()
    expect(page.locator("[data-screen=desk]")).to_be_visible()


def supervisor_logs_in(page: Page, server: LiveServer, username: str = "sup1") -> None:
    """The supervisor signs in (see supervisor_signs_in) and goes on call."""
    supervisor_signs_in(page, server, username)
    # The "Connecting…" pill shows until the socket is open: only then can the switch's
    # toggle go out (and the pill's leaving moves the desk up under the pointer).
    expect(page.locator("#conn-state")).to_be_hidden()
    turn_on_call(page)
    expect(page.locator("#oncall-status")).to_have_text(EN["sup.oncall_on"])


def test_risk_escalation_whisper_and_helpline_card(
    browser: Browser, server: LiveServer, watch: Watch, screenshots: Path
) -> None:
    server.create_user("supervisor", "sup1", server.supervisor_password)
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    desk_ctx, desk = desk_page(browser, watch)
    try:
        supervisor_logs_in(desk, server)
        pane = volunteer_pane(volunteer)
        risk = volunteer.locator("#risk-area .risk-panel:not([hidden])")

        # A warning sign in the seeker's words is flagged next to the message, for a human.
        seeker_sends(seeker, "I feel like a burden to everyone")
        expect(pane.locator(".bubble--flagged .cue")).to_be_visible()
        expect(risk.locator(".js-cues li")).to_have_count(1)
        # Heard once, not "Possible warning sign …: warning sign."
        said = volunteer.locator("#sr-alert")
        expect(said).to_contain_text(EN["risk.cue_announce"].split("{name}")[0])
        assert said.inner_text().lower().count("warning sign") == 1, said.inner_text()

        # The volunteer judges the detector: a flag marked "Not a risk" says so, and a
        # message no cue flagged can be marked "this worried me" for the supervisors' review.
        risk.locator(".js-not-risk").click()
        expect(risk.locator(".js-cues li .js-marked")).to_have_text(EN["cuefb.marked_not_risk"])
        seeker_sends(seeker, "exams start on monday and i cant focus on anything")
        expect(pane.locator(".bubble--seeker")).to_have_count(3)
        risk.locator(".js-worry").click()
        # The unflagged messages, newest first: the greeting and this one.
        expect(risk.locator(".js-worry-seq option")).to_have_count(2)
        risk.locator(".js-worry-form button[type=submit]").click()
        expect(risk.locator(".js-status")).to_have_text(
            EN["cuefb.marked_worried"].replace("{seq}", "3")
        )

        # The supervisor reviews both marks; an agreed one becomes a paraphrase, never the
        # seeker's own words.
        desk.locator("#cue-marks-refresh").click()
        marks = desk.locator("#cue-marks > li")
        expect(marks).to_have_count(2)
        marks.first.get_by_role("button", name=EN["cuefb.agree"], exact=True).click()
        expect(desk.locator("#cue-marks-status")).to_have_text(EN["cuefb.reviewed"])
        form = desk.locator("#cue-marks .js-paraphrase")
        expect(form).to_have_count(1)
        form.locator("textarea").fill("I feel like a burden to everyone")
        form.locator("button[type=submit]").click()
        expect(desk.locator("#cue-marks-status")).to_have_text(EN["cuefb.too_close"])
        form.locator("textarea").fill("my family would do fine if i was not around")
        form.locator("button[type=submit]").click()
        expect(desk.locator("#cue-marks-status")).to_have_text(EN["cuefb.paraphrased"])
        expect(marks).to_have_count(1)

        # The screening starts one question at a time.
        risk.locator(".js-start").click()
        expect(risk.locator(".js-checklist")).to_be_visible()
        expect(risk.locator(".js-progress")).to_contain_text("1")
        expect(risk.locator(".js-question")).not_to_be_empty()
        expect(risk.locator(".js-options button").first).to_be_visible()

        # The volunteer sends a helpline card: tap-to-call links reach the seeker.
        risk.locator(".js-referral").click()
        expect(risk.locator(".js-helplines input").first).to_be_visible()
        risk.locator(".js-referral-form button[type=submit]").click()
        card = seeker.locator("#messages .referral .helpline-card")
        expect(card).to_be_visible()
        expect(card.locator('a[href="tel:14416"]')).to_be_visible()
        expect(card.locator('a[href="tel:112"]')).to_be_visible()
        shot(seeker, screenshots, "seeker-helpline-card-phone")

        # Escalate: the supervisor is paged with a live countdown to the ack deadline.
        escalate(risk, "Seeker sounds hopeless; I'd like support.")
        escalation = desk.locator("#escalations .escalation").first
        expect(escalation).to_be_visible()
        expect(desk.locator("#page-alert")).to_be_visible()
        expect(escalation.locator(".js-countdown")).to_contain_text(re.compile(r"\d+:\d\d"))
        shot(volunteer, screenshots, "volunteer-risk-panel-desktop")
        shot(desk, screenshots, "supervisor-escalation-desktop")
        # Dismissed from the keyboard, the page alert goes; the focus stays on the page's
        # content (it fell to <body>: the next Tab started again at the top).
        desk.locator("#page-alert-close").focus()
        desk.keyboard.press("Enter")
        expect(desk.locator("#page-alert")).to_be_hidden()
        expect(desk.locator("#main")).to_be_focused()

        supervisor_acks(desk, escalation)
        escalation.locator(".js-open").click()
        expect(desk.locator("#conv-messages .bubble__text").first).to_have_text(
            "hi, is anyone there?"
        )

        # A whisper reaches the volunteer only, shown apart from the chat.
        desk.locator("#whisper-text").fill("You're doing well. Ask about safety directly.")
        desk.locator("#whisper-form button[type=submit]").click()
        expect(pane.locator(".whisper")).to_contain_text("Ask about safety directly.")
        expect(seeker.locator("#messages")).not_to_contain_text("Ask about safety directly.")
        shot(desk, screenshots, "supervisor-conversation-desktop")

        escalation.locator(".js-resolve").click()
        escalation.locator(".js-outcome").select_option("safe_plan_agreed")
        escalation.locator(".js-resolve-form button[type=submit]").click()
        expect(desk.locator("#escalations .escalation")).to_have_count(0)
    finally:
        for ctx in (seeker_ctx, volunteer_ctx, desk_ctx):
            ctx.close()
    watch.check()


#: The volunteer's answers on the way to `high`: acute positive, nothing imminent.
HIGH_RISK_ANSWERS = {
    "asq1": "yes",
    "asq2": "no",
    "asq3": "yes",
    "asq4": "no",
    "asq5": "yes",
    "attempt_today": "no",
    "safe_now": "yes",
}


def raise_concern(risk, level: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    """The volunteer raises a concern from the risk panel ``risk``: level and reason, sent."""
    risk.locator(".js-concern").click()
    risk.locator(".js-concern-level").select_option(level)
    risk.locator(".js-concern-reason").fill(reason)
    risk.locator(".js-concern-form button[type=submit]").click()


def escalate(risk, reason: str) -> None:  # type: ignore[no-untyped-def]
    """The volunteer escalates from the risk panel ``risk`` with a reason, sent."""
    risk.locator(".js-escalate").click()
    risk.locator(".js-escalate-reason").fill(reason)
    risk.locator(".js-escalate-form button[type=submit]").click()


def run_checklist(risk, answers: dict[str, str], default: str = "no") -> list[str]:  # type: ignore[no-untyped-def]
    """Answer the checklist in the risk panel one question at a time; return the items asked."""
    risk.locator(".js-start").click()
    expect(risk.locator(".js-checklist")).to_be_visible()
    options = risk.locator(".js-options")
    asked: list[str] = []
    for _ in range(30):
        expect(risk.locator(".js-submit, .js-options button:enabled").first).to_be_visible()
        if risk.locator(".js-submit").is_visible():
            return asked
        item = options.get_attribute("data-item") or ""
        assert item and item not in asked, (item, asked)
        asked.append(item)
        expect(risk.locator(".js-question")).not_to_be_empty()
        options.locator(f'button[data-value="{answers.get(item, default)}"]').click()
        expect(options).not_to_have_attribute("data-item", item)
    raise AssertionError(f"the checklist did not finish: {asked}")


def test_high_risk_supervisor_joins_and_resolves(
    browser: Browser, server: LiveServer, watch: Watch, screenshots: Path
) -> None:
    """Checklist → high → page → ack → transcript → whisper → join → end refused → resolve."""
    server.create_user("supervisor", "sup1", server.supervisor_password)
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    desk_ctx, desk = desk_page(browser, watch)
    try:
        supervisor_logs_in(desk, server)

        # The overview: nobody waiting, one chat in progress.
        overview = desk.locator("#overview-panel")
        expect(overview).to_be_visible()
        waiting = overview.locator('[data-key="waiting"]')
        active = overview.locator('[data-key="active_chats"]')
        expect(waiting.locator("dt")).to_have_text(EN["overview.waiting"])
        expect(waiting.locator("dd")).to_have_text("0")
        expect(active.locator("dt")).to_have_text(EN["overview.active_chats"])
        expect(active.locator("dd")).to_have_text("1")

        pane = volunteer_pane(volunteer)
        risk = volunteer.locator("#risk-area .risk-panel:not([hidden])")
        volunteer_sends(volunteer, "Can I ask you some questions about how safe you are?")
        # The seeker answers what they have read (the two browsers race otherwise).
        expect(seeker.locator("#messages .bubble--peer .bubble__text").last).to_have_text(
            "Can I ask you some questions about how safe you are?"
        )
        seeker_sends(seeker, "okay")
        expect(pane.locator(".bubble--peer .bubble__text").last).to_have_text("okay")

        # The checklist, one question at a time, ends at `high`.
        asked = run_checklist(risk, HIGH_RISK_ANSWERS)
        assert asked[:7] == list(HIGH_RISK_ANSWERS), asked
        risk.locator(".js-submit").click()
        expect(risk.locator(".js-level-pill")).to_have_text(EN["level.high"])
        expect(risk.locator(".js-level-pill")).to_have_class(re.compile(r"risk-level--high"))
        expect(risk.locator(".js-actions li").first).to_be_visible()
        expect(risk.locator(".js-actions")).to_contain_text(EN["action.volunteer_cannot_close"])
        shot(volunteer, screenshots, "volunteer-risk-high-desktop")

        # The seeker gets the helpline card: Tele-MANAS and 112, tap to call.
        card = seeker.locator("#messages .referral .helpline-card")
        expect(card).to_be_visible()
        expect(card.locator('a[href="tel:14416"]')).to_be_visible()
        expect(card.locator('a[href="tel:112"]')).to_be_visible()
        shot(seeker, screenshots, "seeker-high-risk-card-phone")

        # The supervisor on call is paged: banner, live countdown.
        escalation = desk.locator("#escalations .escalation").first
        expect(escalation).to_be_visible()
        expect(escalation.locator(".js-level")).to_have_text(EN["level.high"])
        expect(desk.locator("#page-alert")).to_be_visible()
        expect(desk.locator("#page-alert-text")).to_contain_text(EN["level.high"])
        expect(escalation.locator(".js-countdown")).to_contain_text(re.compile(r"\d+:\d\d"))
        open_by_level = overview.locator('[data-key="open_escalations_by_level"] dd')
        expect(open_by_level).to_have_text(f"{EN['level.high']}: 1")
        shot(desk, screenshots, "supervisor-paged-high-desktop")

        # Acknowledge, then read the transcript.
        supervisor_acks(desk, escalation)
        expect(escalation.locator(".js-countdown")).to_have_text(EN["sup.acked"])
        expect(desk.locator("#page-alert")).to_be_hidden()
        escalation.locator(".js-open").click()
        expect(desk.locator("#conv-messages .bubble__text")).to_have_text(
            [
                "hi, is anyone there?",
                "Can I ask you some questions about how safe you are?",
                "okay",
            ]
        )

        # A whisper: the volunteer sees it apart from the chat, the seeker never does.
        whisper = "Stay with them; I'm joining now."
        desk.locator("#whisper-text").fill(whisper)
        desk.locator("#whisper-form button[type=submit]").click()
        expect(pane.locator(".whisper")).to_contain_text(whisper)
        expect(pane.locator(".whisper .whisper__label")).to_contain_text("only you can see this")
        expect(pane.locator(".bubble", has_text=whisper)).to_have_count(0)
        # The desk shows its own whisper once (the server's echo does not double it).
        expect(desk.locator("#conv-messages .whisper--mine")).to_have_count(1)
        expect(desk.locator("#conv-messages .whisper")).to_have_count(1)

        # The supervisor joins: the seeker is told, and sees the supervisor's message.
        desk.locator("#conv-join").click()
        expect(desk.locator("#conv-mode")).to_have_text(EN["sup.mode_joined"])
        expect(desk.locator("#sup-composer")).to_be_visible()
        joined_note = seeker.locator("#messages .system-note", has_text="has joined to help")
        expect(joined_note).to_be_visible()
        expect(pane.locator(".system-note", has_text="joined the chat")).to_be_visible()
        hello = "Hi, I'm a supervisor here. I'm glad you're talking with us."
        desk.locator("#sup-text").fill(hello)
        desk.locator("#sup-text").press("Enter")
        from_supervisor = seeker.locator("#messages .bubble--supervisor")
        expect(from_supervisor.locator(".bubble__text")).to_have_text([hello])
        expect(from_supervisor.locator(".bubble__who")).to_contain_text("supervisor")
        expect(pane.locator(".bubble--supervisor .bubble__text")).to_have_text([hello])
        expect(desk.locator("#conv-messages .bubble--mine .bubble__text")).to_have_text([hello])
        expect(seeker.locator("#messages")).not_to_contain_text(whisper)
        expect(seeker.locator(".whisper")).to_have_count(0)
        shot(seeker, screenshots, "seeker-supervisor-joined-phone")
        shot(desk, screenshots, "supervisor-joined-desktop")

        # A reload of the desk: the chat opens joined again, with the box to the seeker, and
        # without telling the seeker a second time (it once came back as a bystander).
        desk.reload()
        escalation = desk.locator("#escalations .escalation").first
        escalation.locator(".js-open").click()
        expect(desk.locator("#conv-mode")).to_have_text(EN["sup.mode_joined"])
        expect(desk.locator("#sup-composer")).to_be_visible()
        again = "I'm still here with you."
        desk.locator("#sup-text").fill(again)
        desk.locator("#sup-text").press("Enter")
        expect(from_supervisor.locator(".bubble__text")).to_have_text([hello, again])
        expect(joined_note).to_have_count(1)

        # The volunteer cannot end the chat while the escalation is open, and End says why
        # instead of asking.
        pane.locator(".js-end").click()
        expect(pane.locator(".js-end-question")).to_have_text(EN["vol.err_escalation_open"])
        expect(pane.locator(".js-end-yes")).to_be_hidden()
        expect(pane.locator(".js-composer")).to_be_visible()
        expect(seeker.locator("#chat-header")).to_be_visible()
        shot(volunteer, screenshots, "volunteer-end-refused-desktop")

        # The supervisor resolves with an outcome.
        escalation.locator(".js-resolve").click()
        escalation.locator(".js-outcome").select_option("referred_helpline")
        escalation.locator(".js-note").fill("Seeker agreed to call Tele-MANAS tonight.")
        escalation.locator(".js-resolve-form button[type=submit]").click()
        expect(desk.locator("#escalations .escalation")).to_have_count(0)
        expect(desk.locator("#no-escalations")).to_be_visible()
        desk.locator("#overview-refresh").click()
        expect(active.locator("dd")).to_have_text("1")
        expect(open_by_level).to_have_text(EN["overview.none"])
        expect(overview.locator('[data-key="time_to_ack_today"] dd')).to_contain_text(
            f"{EN['level.high']}: 1"
        )
        desk.locator("#overview-panel").scroll_into_view_if_needed()
        shot(desk, screenshots, "supervisor-overview-desktop")
        expect(seeker.locator("#messages")).not_to_contain_text(whisper)
    finally:
        for ctx in (seeker_ctx, volunteer_ctx, desk_ctx):
            ctx.close()
    watch.check()
