"""The supervisors' method-cue banner follows the screening (docs/protocol.md,
``method_cue.screened``): "no screening is done yet" stayed up after the volunteer had
screened the chat. Screenshots in docs/screenshots at 1280x800 and 360x740. A desk that
reloads, or reconnects, after the alert still shows it (``GET /api/v1/method-cues``): the
alert lived only on the socket, so a reload forgot a chat with an unscreened method cue. A
desk that stays open hears of a seeker who wrote a method while waiting when the chat is
taken (``staff.alert`` ``method_cue`` at the take). A desk that stays open takes the banner
down when that chat ends (``method_cue.ended``): it offered "Open conversation" for a chat
that was over, while a quick exit's own alert stays."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import axe
import pytest
from playwright.sync_api import Browser, Page, Route, WebSocket, WebSocketRoute, expect
from test_browser import (
    DESKTOP,
    EN,
    HI,
    PHONE,
    QUICK_EXIT_HOST,
    Watch,
    chat_in_progress,
    desk_page,
    device,
    run_checklist,
    seeker_sends,
    seeker_starts,
    shot,
    supervisor_logs_in,
    volunteer_ends,
    volunteer_logs_in,
    volunteer_pane,
    volunteer_takes,
)
from test_journeys import DroppableSocket

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import LiveServer

pytestmark = pytest.mark.browser

METHOD_CUE = "i have pills"  # means_medicine: a method cue (lexicon v15)


def _fill(text: str, **slots: str) -> str:
    for name, value in slots.items():
        text = text.replace("{" + name + "}", value)
    return text


def _frames_of(page: Page, kind: str) -> list[dict]:
    """The frames of type ``kind`` the page's sockets receive from now on."""
    seen: list[dict] = []

    def on_socket(ws: WebSocket) -> None:
        def on_frame(payload: str | bytes) -> None:
            frame = json.loads(payload)
            if frame.get("type") == kind:
                seen.append(frame)

        ws.on("framereceived", on_frame)

    page.on("websocket", on_socket)
    return seen


def _screen(volunteer: Page, tab: int, greeting: str) -> None:
    """The volunteer screens the chat in ``tab`` (no to everything: no risk found)."""
    volunteer.locator("#chat-tabs .tab").nth(tab).click()
    expect(volunteer_pane(volunteer).locator(".bubble--peer .bubble__text").first).to_have_text(
        greeting
    )
    risk = volunteer.locator("#risk-area .risk-panel:not([hidden])")
    run_checklist(risk, {})
    risk.locator(".js-submit").click()
    expect(risk.locator(".js-level-pill")).to_have_text(EN["level.none"])


def test_the_method_cue_banner_says_so_once_that_chat_is_screened_not_another(
    browser: Browser, server: LiveServer, watch: Watch, docs_shots: Path
) -> None:
    server.create_user("supervisor", "sup1", server.supervisor_password)
    with (
        device(browser, watch, PHONE) as (_, first),
        device(browser, watch, PHONE) as (_, second),
        device(browser, watch, DESKTOP) as (_, volunteer),
        device(browser, watch, DESKTOP) as (_, desk),
    ):
        _one_volunteer_takes_both(server, volunteer, first, second)
        screened = _frames_of(desk, "method_cue.screened")
        supervisor_logs_in(desk, server)

        # Both seekers mention a method: the banner shows the newest alert.
        banner = desk.locator("#staff-alert")
        seeker_sends(first, METHOD_CUE)
        expect(banner.locator(".banner__text")).to_have_text(EN["alert.method_cue"])
        expect(banner).to_have_attribute("data-conversation-id", re.compile(r"\w+"))
        first_id = banner.get_attribute("data-conversation-id") or ""
        seeker_sends(second, METHOD_CUE)
        expect(banner).not_to_have_attribute("data-conversation-id", first_id)
        second_id = banner.get_attribute("data-conversation-id") or ""
        expect(banner).to_have_class(re.compile(r"\bbanner--urgent\b"))

        # The first chat is screened: the banner, about the second, still needs its screen.
        _screen(volunteer, 0, "first one here")
        for _ in range(100):  # the frame reaches the desk (or the test says it never did)
            if screened:
                break
            desk.wait_for_timeout(100)
        assert [f["conversation_id"] for f in screened] == [first_id]
        desk.wait_for_timeout(300)  # what the desk did with the frame
        expect(banner).to_be_visible()
        expect(banner).to_have_attribute("data-conversation-id", second_id)
        expect(banner.locator(".banner__text")).to_have_text(EN["alert.method_cue"])

        # The second chat is screened: the banner says so, calm, and still opens the chat.
        _screen(volunteer, 1, "second one here")
        said = _fill(EN["alert.method_cue_screened"], id=second_id[:6], level=EN["level.none"])
        expect(banner.locator(".banner__text")).to_have_text(said)
        expect(banner).not_to_have_class(re.compile(r"\bbanner--urgent\b"))
        expect(banner.locator("#staff-alert-open")).to_be_visible()
        axe.check(desk, "supervisor desk, method-cue banner after the screen")
        shot(desk, docs_shots, "supervisor-method-banner-screened-desktop")

        # In Hindi, on a phone: the banner is redrawn in the new language and fits.
        desk.locator('.lang-switch__option[data-lang="hi"]').click()
        said_hi = _fill(HI["alert.method_cue_screened"], id=second_id[:6], level=HI["level.none"])
        expect(banner.locator(".banner__text")).to_have_text(said_hi)
        desk.set_viewport_size(PHONE)
        desk.evaluate("window.scrollTo(0, 0)")
        assert desk.evaluate("document.documentElement.scrollWidth <= innerWidth")
        for part in ("#staff-alert .banner__text", "#staff-alert-open", "#staff-alert-close"):
            expect(desk.locator(part)).to_be_in_viewport(ratio=1)
        shot(desk, docs_shots, "supervisor-method-banner-screened-hi-phone")
        banner.locator("#staff-alert-open").click()
        expect(banner).to_be_hidden()
        expect(desk.locator("#conv-messages .bubble__text").first).to_have_text("second one here")
    watch.check()


def test_a_screened_chat_gives_the_banner_back_to_an_alert_it_had_covered(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """The banner holds one alert: when the newest chat is screened, an older chat's alert
    it covered, still unscreened, comes back (the frames as the server sends them)."""
    server.create_user("supervisor", "sup1", server.supervisor_password)
    older, newer, other = "a1" * 16, "b2" * 16, "c3" * 16
    with device(browser, watch, DESKTOP) as (_, desk):
        sockets: list[WebSocketRoute] = []

        def route(ws: WebSocketRoute) -> None:
            ws.connect_to_server()  # everything still flows both ways
            sockets.append(ws)

        desk.route_web_socket(re.compile(r"/ws$"), route)
        supervisor_logs_in(desk, server)

        def server_sends(frame: dict) -> None:
            sockets[-1].send(json.dumps(frame))

        def method_cue(conversation_id: str) -> dict:
            return {"type": "staff.alert", "code": "method_cue", "seq": 1,
                    "message": "A seeker's message mentions a method or an attempt and no screen is done yet.",
                    "conversation_id": conversation_id}  # fmt: skip

        def screened(conversation_id: str, level: str) -> dict:
            return {"type": "method_cue.screened", "conversation_id": conversation_id,
                    "level": level}  # fmt: skip

        banner = desk.locator("#staff-alert")
        text = banner.locator(".banner__text")
        server_sends(method_cue(older))
        server_sends(method_cue(newer))
        expect(banner).to_have_attribute("data-conversation-id", newer)

        server_sends(screened(other, "low"))  # a chat this desk was never alerted about
        server_sends(screened(newer, "low"))
        expect(banner).to_have_attribute("data-conversation-id", older)
        expect(text).to_have_text(EN["alert.method_cue"])
        expect(banner).to_have_class(re.compile(r"\bbanner--urgent\b"))

        server_sends(screened(older, "moderate"))
        said = _fill(EN["alert.method_cue_screened"], id=older[:6], level=EN["level.moderate"])
        expect(text).to_have_text(said)
        expect(banner).to_have_attribute("data-conversation-id", older)
        banner.locator("#staff-alert-close").click()
        expect(banner).to_be_hidden()
    watch.check()


def _one_volunteer_takes_both(
    server: LiveServer, volunteer: Page, first: Page, second: Page
) -> None:
    """Two seekers greet while waiting; one volunteer, at a capacity of two, takes both."""
    for seeker, greeting in ((first, "first one here"), (second, "second one here")):
        seeker_starts(seeker, server)
        seeker_sends(seeker, greeting)
        expect(seeker.locator(".bubble--mine")).to_have_count(1)
    volunteer_logs_in(volunteer, server)
    volunteer.locator("#capacity").select_option("2")
    expect(volunteer.locator("#availability-status")).to_contain_text("of 2")
    volunteer_takes(volunteer)
    volunteer.locator("#take-next").click()
    expect(volunteer.locator("#chat-tabs .tab")).to_have_count(2)


def _reload_and_read(desk: Page) -> None:
    """Reload the desk and wait until the new page has read the alerts that still stand, at
    sign-in and once authenticated. (Not the answer's body: Chromium may drop it once the page
    it was read for is gone, and the old page can read once more as it goes.)"""
    reads = _method_cue_reads(desk)
    desk.reload()
    _until(desk, lambda: len(reads) >= 2, "the reloaded desk's reads of the method-cue list")


def _standing(desk: Page) -> list[dict]:
    """The alerts that still stand, as GET /api/v1/method-cues answers the desk's account."""
    return desk.evaluate(
        """async () => {
          const token = JSON.parse(sessionStorage.getItem("peerline.staff")).access_token;
          const answer = await fetch("/api/v1/method-cues", {
            headers: { Authorization: `Bearer ${token}` },
          });
          return (await answer.json()).method_cues;
        }"""
    )


def _method_cues_read(page: Page):  # type: ignore[no-untyped-def]
    """Wait (as a context manager) for the desk's read of the alerts that still stand."""
    return page.expect_response(lambda r: r.url.endswith("/api/v1/method-cues") and r.ok)


def _method_cue_reads(page: Page) -> list[object]:
    """Every finished read of the alerts that still stand, from now on."""
    reads: list[object] = []
    page.on(
        "requestfinished",
        lambda r: reads.append(r) if r.url.endswith("/api/v1/method-cues") else None,
    )
    return reads


def _until(page: Page, done: Callable[[], bool], what: str, timeout_ms: int = 15_000) -> None:
    for _ in range(timeout_ms // 50):
        if done():
            page.evaluate("0")  # the page's handling of the answer ran before this round trip
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"waited {timeout_ms} ms for {what}")


def _screen_the_chat(volunteer: Page) -> None:
    risk = volunteer.locator("#risk-area .risk-panel:not([hidden])")
    run_checklist(risk, {})
    risk.locator(".js-submit").click()
    expect(risk.locator(".js-level-pill")).to_have_text(EN["level.none"])


def test_a_desk_reloaded_after_the_method_cue_alert_still_shows_it(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """The alert came on the socket before the reload; after it, the banner comes back from
    the list of alerts that still stand, and leaves once the chat is screened."""
    server.create_user("supervisor", "sup1", server.supervisor_password)
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    desk_ctx, desk = desk_page(browser, watch)
    try:
        supervisor_logs_in(desk, server)
        banner = desk.locator("#staff-alert")
        seeker_sends(seeker, METHOD_CUE)
        expect(banner.locator(".banner__text")).to_have_text(EN["alert.method_cue"])
        expect(banner).to_have_attribute("data-conversation-id", re.compile(r"\w+"))
        conversation_id = banner.get_attribute("data-conversation-id") or ""

        alerts = _frames_of(desk, "staff.alert")
        _reload_and_read(desk)
        expect(desk.locator("[data-screen=desk]")).to_be_visible()  # the tab kept its session
        assert [c["conversation_id"] for c in _standing(desk)] == [conversation_id]
        expect(banner.locator(".banner__text")).to_have_text(EN["alert.method_cue"])
        expect(banner).to_have_attribute("data-conversation-id", conversation_id)
        expect(banner).to_have_class(re.compile(r"\bbanner--urgent\b"))
        expect(banner.locator("#staff-alert-open")).to_be_visible()
        assert alerts == []  # from the list: the socket said nothing again
        axe.check(desk, "supervisor desk, method-cue banner after a reload")

        # Screened: the live desk says so, and a reload brings no banner back.
        _screen_the_chat(volunteer)
        said = _fill(
            EN["alert.method_cue_screened"], id=conversation_id[:6], level=EN["level.none"]
        )
        expect(banner.locator(".banner__text")).to_have_text(said)
        _reload_and_read(desk)
        assert _standing(desk) == []
        expect(banner).to_be_hidden()
    finally:
        for ctx in (seeker_ctx, volunteer_ctx, desk_ctx):
            ctx.close()
    watch.check()


def test_a_desk_offline_when_the_alert_came_shows_it_once_back_and_not_once_screened(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """A network drop: the alert, sent while the desk's socket was down, shows when it is back;
    the screen, done while it was down again, takes the banner down at the next reconnect."""
    server.create_user("supervisor", "sup1", server.supervisor_password)
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    desk_ctx, desk = desk_page(browser, watch)
    try:
        link = DroppableSocket(desk)
        reads = _method_cue_reads(desk)
        supervisor_logs_in(desk, server)
        # The desk reads the list at sign-in and again once its socket is authenticated. On a
        # busy machine an answer still on its way after the drop could carry the flag below.
        _until(desk, lambda: len(reads) >= 2, "the desk's two reads of the method-cue list")
        banner = desk.locator("#staff-alert")
        link.drop()
        seeker_sends(seeker, METHOD_CUE)
        flagged = volunteer_pane(volunteer).locator(".bubble--flagged")
        expect(flagged).to_have_count(1)  # flagged, and the alert sent to nobody listening
        expect(banner).to_be_hidden()
        with _method_cues_read(desk):
            link.allow()
        expect(banner.locator(".banner__text")).to_have_text(EN["alert.method_cue"])
        expect(banner).to_have_attribute("data-conversation-id", re.compile(r"\w+"))
        axe.check(desk, "supervisor desk, method-cue banner after a reconnect")

        link.drop()
        _screen_the_chat(volunteer)
        expect(banner.locator(".banner__text")).to_have_text(EN["alert.method_cue"])  # unheard
        with _method_cues_read(desk):
            link.allow()
        expect(banner).to_be_hidden()
    finally:
        for ctx in (seeker_ctx, volunteer_ctx, desk_ctx):
            ctx.close()
    watch.check()


def test_an_open_desk_shows_the_banner_when_a_seeker_who_wrote_a_method_while_waiting_is_taken(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """While waiting the seeker is one of the flagged seekers waiting; at the take, the chat
    is an unscreened method cue, and a desk that stays open hears of it live (no reload)."""
    server.create_user("supervisor", "sup1", server.supervisor_password)
    desk_ctx, desk = desk_page(browser, watch)
    seeker_ctx = browser.new_context(viewport=PHONE)
    volunteer_ctx = browser.new_context(viewport=DESKTOP)
    try:
        seeker = watch.attach(seeker_ctx.new_page())
        volunteer = watch.attach(volunteer_ctx.new_page())
        alerts = _frames_of(desk, "staff.alert")
        supervisor_logs_in(desk, server)
        banner = desk.locator("#staff-alert")

        seeker_starts(seeker, server)
        seeker_sends(seeker, "i have pills right here")
        expect(seeker.locator(".bubble--mine").last).to_have_attribute(
            "data-state", re.compile("sent|read")
        )
        expect(desk.locator("#page-alert")).to_be_visible()  # the flagged seekers' group
        assert [a for a in alerts if a["code"] == "method_cue"] == []
        expect(banner).to_be_hidden()

        reads: list[str] = []
        desk.on("response", lambda r: reads.append(r.url) if "/method-cues" in r.url else None)
        volunteer_logs_in(volunteer, server)
        volunteer_takes(volunteer)
        expect(banner.locator(".banner__text")).to_have_text(EN["alert.method_cue"])
        expect(banner).to_have_class(re.compile(r"\bbanner--urgent\b"))
        [alert] = [a for a in alerts if a["code"] == "method_cue"]
        expect(banner).to_have_attribute("data-conversation-id", alert["conversation_id"])
        assert alert["seq"] == 1
        assert reads == []  # live, from the socket: the desk read no list meanwhile
        banner.locator("#staff-alert-open").click()
        expect(desk.locator("#conv-messages .bubble__text").first).to_have_text(
            "i have pills right here"
        )
    finally:
        for ctx in (seeker_ctx, volunteer_ctx, desk_ctx):
            ctx.close()
    watch.check()


def _routed_desk(desk: Page) -> Callable[[dict], None]:
    """Route the desk's socket through the test (everything still flows both ways); returns a
    function that sends a frame to the desk as if the server had."""
    sockets: list[WebSocketRoute] = []

    def route(ws: WebSocketRoute) -> None:
        ws.connect_to_server()
        sockets.append(ws)

    desk.route_web_socket(re.compile(r"/ws$"), route)
    return lambda frame: sockets[-1].send(json.dumps(frame))


def _method_cue_alert(conversation_id: str) -> dict:
    return {"type": "staff.alert", "code": "method_cue", "seq": 1,
            "message": "A seeker's message mentions a method or an attempt and no screen is done yet.",
            "conversation_id": conversation_id}  # fmt: skip


def test_the_method_cue_banner_goes_when_its_chat_ends_and_a_quick_exit_alert_stays(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """The volunteer ends the newest alerted chat: the banner goes to the older chat's alert,
    which still stands (it stayed on the ended chat, with its Open button). That seeker then
    quick-exits: the quick-exit alert shows, and the method cue's end does not undo it."""
    server.create_user("supervisor", "sup1", server.supervisor_password)

    def search_page(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html", body="<title>weather</title>")

    with (
        device(browser, watch, PHONE) as (first_ctx, first),
        device(browser, watch, PHONE) as (_, second),
        device(browser, watch, DESKTOP) as (_, volunteer),
        device(browser, watch, DESKTOP) as (_, desk),
    ):
        first_ctx.route(re.compile(r"^https://www\.google\.com/.*"), search_page)
        _one_volunteer_takes_both(server, volunteer, first, second)
        ended = _frames_of(desk, "method_cue.ended")
        supervisor_logs_in(desk, server)

        banner = desk.locator("#staff-alert")
        text = banner.locator(".banner__text")
        seeker_sends(first, METHOD_CUE)
        expect(text).to_have_text(EN["alert.method_cue"])
        expect(banner).to_have_attribute("data-conversation-id", re.compile(r"\w+"))
        first_id = banner.get_attribute("data-conversation-id") or ""
        seeker_sends(second, METHOD_CUE)
        expect(banner).not_to_have_attribute("data-conversation-id", first_id)
        second_id = banner.get_attribute("data-conversation-id") or ""

        # The volunteer ends the second chat: the banner is about the first one again.
        volunteer.locator("#chat-tabs .tab").nth(1).click()
        pane = volunteer_pane(volunteer)
        expect(pane.locator(".bubble--peer .bubble__text").first).to_have_text("second one here")
        volunteer_ends(pane)
        expect(banner).to_have_attribute("data-conversation-id", first_id)
        expect(text).to_have_text(EN["alert.method_cue"])
        expect(banner).to_have_class(re.compile(r"\bbanner--urgent\b"))
        expect(banner.locator("#staff-alert-open")).to_be_visible()
        assert [f["conversation_id"] for f in ended] == [second_id]
        axe.check(desk, "supervisor desk, method-cue banner after the newest chat ended")

        # The first seeker quick-exits: its quick-exit alert shows, and stays.
        first.locator("#quick-exit").click()
        first.wait_for_url(re.compile(r"^https://www\.google\.com/"))
        expect(banner).to_have_attribute("data-code", "quick_exit")
        expect(text).to_have_text(EN["alert.quick_exit"])
        expect(banner).to_have_attribute("data-conversation-id", first_id)
        _until(desk, lambda: len(ended) == 2, "the end of the first chat's method cue")
        assert ended[1]["conversation_id"] == first_id
        desk.wait_for_timeout(300)
        expect(banner).to_have_attribute("data-code", "quick_exit")
        expect(banner).to_be_visible()
    watch.check(allow_foreign=(QUICK_EXIT_HOST,))


def test_an_ended_chats_method_cue_banner_goes_to_the_newest_standing_then_closes(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """The frames as the server sends them: each end takes down its own chat's alert only, a
    chat the desk was never alerted about changes nothing, the last end closes the banner,
    and an end that comes after a chat's quick-exit alert leaves that alert up."""
    server.create_user("supervisor", "sup1", server.supervisor_password)
    older, newer, other, gone = "a1" * 16, "b2" * 16, "c3" * 16, "d4" * 16
    with device(browser, watch, DESKTOP) as (_, desk):
        server_sends = _routed_desk(desk)
        supervisor_logs_in(desk, server)

        def ended(conversation_id: str) -> dict:
            return {"type": "method_cue.ended", "conversation_id": conversation_id}

        banner = desk.locator("#staff-alert")
        text = banner.locator(".banner__text")
        server_sends(_method_cue_alert(older))
        server_sends(_method_cue_alert(newer))
        expect(banner).to_have_attribute("data-conversation-id", newer)

        server_sends(ended(other))  # a chat this desk was never alerted about
        server_sends(ended(newer))
        expect(banner).to_have_attribute("data-conversation-id", older)
        expect(text).to_have_text(EN["alert.method_cue"])
        expect(banner).to_have_class(re.compile(r"\bbanner--urgent\b"))

        server_sends(ended(older))
        expect(banner).to_be_hidden()

        # A quick exit's alert, then that chat's method-cue end (in this order too): it stays.
        server_sends(_method_cue_alert(gone))
        expect(banner).to_have_attribute("data-conversation-id", gone)
        server_sends({"type": "staff.alert", "code": "quick_exit", "conversation_id": gone,
                      "level": "none", "message": "A seeker at risk used quick exit."})  # fmt: skip
        expect(banner).to_have_attribute("data-code", "quick_exit")
        server_sends(ended(gone))
        desk.wait_for_timeout(300)  # what the desk did with the frame
        expect(banner).to_have_attribute("data-code", "quick_exit")
        expect(text).to_have_text(EN["alert.quick_exit"])
        expect(banner).to_be_visible()
        axe.check(desk, "supervisor desk, a quick-exit alert after the method cue's end")
    watch.check()
