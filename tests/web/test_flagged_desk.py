"""The supervisors' desk shows flagged seekers waiting as one item, "N flagged seekers
waiting", paged once, with one Acknowledge (issue #16 §1), in English and Hindi.
Screenshots at 360x740 and 1280x800 in docs/screenshots/. The page alert keeps the count
up to date, and goes when another supervisor acknowledges what it is about; a page that still
waits for an acknowledgement then shows again. An Acknowledge pressed a moment after another
desk's is a calm note, not a failure."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import axe
import pytest
from playwright.sync_api import Browser, Page, WebSocketRoute, expect
from test_browser import (
    EN,
    HI,
    PHONE,
    TIMEOUT_MS,
    Watch,
    chat_in_progress,
    desk_page,
    escalate,
    raise_concern,
    seeker_starts,
    shot,
    supervisor_acks,
    supervisor_logs_in,
    volunteer_logs_in,
)
from websockets.sync.client import ClientConnection, connect

from tests.support import unique_language

if TYPE_CHECKING:
    from conftest import LiveServer

pytestmark = pytest.mark.browser

DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# A method cue counts in the group at once (FLAGGED_WAIT_PAGE_S does not apply).
METHOD_CUE = "i took 20 sleeping pills"


def flagged_seeker(server: LiveServer, i: int, language: str = "en") -> ClientConnection:
    """A seeker who joins the queue, writes a message a cue flags, and stays connected."""
    request = urllib.request.Request(
        server.base_url + "/api/v1/seekers",
        data=json.dumps({"language": language, "consent": True}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        token = json.loads(answer.read())["seeker_token"]
    ws = connect(server.base_url.replace("http", "ws") + "/ws", open_timeout=10)
    ws.send(json.dumps({"type": "auth", "token": token}))
    ws.send(json.dumps({"type": "queue.join"}))
    while (frame := json.loads(ws.recv(timeout=10)))["type"] != "queue.status":
        pass
    ws.send(json.dumps({"type": "chat.send", "conversation_id": frame["conversation_id"],
                        "client_msg_id": f"m{i}", "text": METHOD_CUE}))  # fmt: skip
    while json.loads(ws.recv(timeout=10))["type"] != "chat.ack":
        pass
    return ws


def test_the_desk_shows_flagged_seekers_waiting_as_one_item_with_one_acknowledge(
    browser: Browser, server: LiveServer
) -> None:
    DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
    watch = Watch(origin=server.base_url)
    server.create_user("supervisor", "sup1", server.supervisor_password)
    desk_ctx, desk = desk_page(browser, watch)
    phone_ctx = browser.new_context(viewport=PHONE)
    phone_ctx.set_default_timeout(TIMEOUT_MS)
    phone = watch.attach(phone_ctx.new_page())
    seekers: list[ClientConnection] = []
    try:
        supervisor_logs_in(desk, server)
        group = desk.locator("#flagged-group")
        expect(group).to_be_hidden()

        seekers = [flagged_seeker(server, i) for i in range(3)]
        expect(group).to_be_visible()
        expect(desk.locator("#flagged-group-title")).to_have_text(
            EN["flagged.title"].replace("{count}", "3")
        )
        # One page for the group: the banner says how many, and there is no escalation each.
        expect(desk.locator("#page-alert-text")).to_contain_text(
            re.compile(r"flagged seekers? waiting")
        )
        expect(desk.locator("#escalations li")).to_have_count(0)
        expect(desk.locator("#flagged-group-wait")).to_contain_text("Longest wait")
        axe.check(desk, "the desk with the flagged seekers waiting")
        shot(desk, DOCS_SHOTS, "supervisor-flagged-waiting-desktop")

        # The same desk on a phone (the on-call supervisor's usual device at night).
        supervisor_logs_in(phone, server)
        expect(phone.locator("#flagged-group-title")).to_have_text(
            EN["flagged.title"].replace("{count}", "3")
        )
        phone.locator("#flagged-group").scroll_into_view_if_needed()
        axe.check(phone, "the phone desk with the flagged seekers waiting")
        shot(phone, DOCS_SHOTS, "supervisor-flagged-waiting-phone")

        # One acknowledgement, for everyone.
        desk.locator("#flagged-ack").click()
        expect(desk.locator("#flagged-group-state")).to_have_text(EN["flagged.acked_you"])
        expect(desk.locator("#flagged-ack")).to_be_hidden()
        expect(desk.locator("#page-alert")).to_be_hidden()
        expect(phone.locator("#flagged-group-state")).to_have_text(EN["flagged.acked_you"])

        # In Hindi.
        desk.locator('.lang-switch__option[data-lang="hi"]').click()
        expect(desk.locator("#flagged-group-title")).to_have_text(
            HI["flagged.title"].replace("{count}", "3")
        )
        expect(desk.locator("#flagged-group-state")).to_have_text(HI["flagged.acked_you"])
        expect(desk.locator("#flagged-group-wait")).to_contain_text("सबसे लंबा इंतज़ार")
        axe.check(desk, "the desk in Hindi")
        shot(desk, DOCS_SHOTS, "supervisor-flagged-waiting-hindi-desktop")
        phone.locator('.lang-switch__option[data-lang="hi"]').click()
        expect(phone.locator("#flagged-group-title")).to_have_text(
            HI["flagged.title"].replace("{count}", "3")
        )
        expect(phone.locator("#flagged-group-wait")).to_contain_text("सबसे लंबा इंतज़ार")
        phone.locator("#flagged-group").scroll_into_view_if_needed()
        shot(phone, DOCS_SHOTS, "supervisor-flagged-waiting-hindi-phone")

        # The seekers are taken or leave: the item goes away.
        for ws in seekers:
            ws.send(json.dumps({"type": "quick_exit"}))
        expect(group).to_be_hidden()
    finally:
        for ws in seekers:
            ws.close()
        for ctx in (desk_ctx, phone_ctx):
            ctx.close()
    watch.check()


def test_the_page_alert_and_the_title_mark_go_when_the_flagged_group_ends(
    browser: Browser, server: LiveServer
) -> None:
    """One flagged seeker is paged in the singular; when they leave (``flagged.waiting`` with
    ``count`` 0: the group ended) the red page alert and the "(!)" in the tab's title go with
    the group's item, without anyone pressing Dismiss."""
    watch = Watch(origin=server.base_url)
    server.create_user("supervisor", "sup1", server.supervisor_password)
    desk_ctx, desk = desk_page(browser, watch)
    seeker: ClientConnection | None = None
    try:
        supervisor_logs_in(desk, server)
        title = desk.title()
        assert not title.startswith("(!)")

        seeker = flagged_seeker(server, 0)
        expect(desk.locator("#flagged-group-title")).to_have_text(EN["flagged.title_one"])
        expect(desk.locator("#page-alert-text")).to_have_text(EN["flagged.page_alert_one"])
        expect(desk).to_have_title(re.compile(r"^\(!\) "))
        axe.check(desk, "the desk paged about one flagged seeker")

        seeker.send(json.dumps({"type": "quick_exit"}))
        expect(desk.locator("#flagged-group")).to_be_hidden()
        expect(desk.locator("#page-alert")).to_be_hidden()
        expect(desk).to_have_title(title)
        axe.check(desk, "the desk once the flagged group ended")
    finally:
        if seeker:
            seeker.close()
        desk_ctx.close()
    watch.check()


def test_acknowledging_the_flagged_group_leaves_a_newer_escalations_page_up(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """The desk has one page alert. Acknowledging the flagged group used to take it down
    whatever it was about, so an escalation paged since went unseen (a colleague's audit);
    now each Acknowledge takes down only its own page."""
    server.create_user("supervisor", "sup1", server.supervisor_password)
    desk_ctx, desk = desk_page(browser, watch)
    seeker: ClientConnection | None = None
    try:
        supervisor_logs_in(desk, server)
        # A language no volunteer speaks: the seeker stays in the group while the chat runs.
        seeker = flagged_seeker(server, 0, language=unique_language())
        expect(desk.locator("#page-alert-text")).to_have_text(EN["flagged.page_alert_one"])

        seeker_ctx, _, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
        try:
            escalate(
                volunteer.locator("#risk-area .risk-panel:not([hidden])"),
                "I'd like support with this chat.",
            )
            page = desk.locator("#page-alert")
            expect(page.locator("#page-alert-text")).to_contain_text("escalation")
            desk.locator("#flagged-ack").click()
            expect(desk.locator("#flagged-group")).to_contain_text(re.compile(r"\S"))
            desk.wait_for_timeout(300)
            expect(page).to_be_visible()  # the escalation's page is still up
            expect(desk).to_have_title(re.compile(r"^\(!\) "))
            axe.check(desk, "the desk after the flagged group's acknowledge, an escalation paged")

            supervisor_acks(desk, desk.locator("#escalations .escalation").first)
            expect(page).to_be_hidden()
        finally:
            seeker_ctx.close()
            volunteer_ctx.close()
    finally:
        if seeker:
            seeker.close()
        desk_ctx.close()
    watch.check()


# A quiet update of the group's count comes within FLAGGED_UPDATE_S (10 s) of the last frame.
QUIET_UPDATE_MS = 25_000


def test_the_flagged_page_alert_says_how_many_wait_now(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """The group's page alert kept the count it was paged with ("1 flagged seeker waiting")
    while the group's item said 2, then 1 again: each quiet update now redraws it."""
    server.create_user("supervisor", "sup1", server.supervisor_password)
    desk_ctx, desk = desk_page(browser, watch)
    seekers: list[ClientConnection] = []
    try:
        supervisor_logs_in(desk, server)
        page_text = desk.locator("#page-alert-text")
        seekers.append(flagged_seeker(server, 0))
        expect(page_text).to_have_text(EN["flagged.page_alert_one"])

        seekers.append(flagged_seeker(server, 1))  # growth before anyone acknowledged: quiet
        two = EN["flagged.page_alert"].replace("{count}", "2")
        expect(desk.locator("#flagged-group-title")).to_have_text(
            EN["flagged.title"].replace("{count}", "2"), timeout=QUIET_UPDATE_MS
        )
        expect(page_text).to_have_text(two)
        expect(desk).to_have_title(re.compile(r"^\(!\) "))
        axe.check(desk, "the desk's page alert after the flagged group grew")

        seekers[0].send(json.dumps({"type": "quick_exit"}))
        expect(desk.locator("#flagged-group-title")).to_have_text(
            EN["flagged.title_one"], timeout=QUIET_UPDATE_MS
        )
        expect(page_text).to_have_text(EN["flagged.page_alert_one"])
        expect(desk.locator("#page-alert")).to_be_visible()
        expect(desk).to_have_title(re.compile(r"^\(!\) "))
    finally:
        for ws in seekers:
            ws.close()
        desk_ctx.close()
    watch.check()


def test_an_acknowledgement_at_another_desk_takes_this_desks_page_down(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """Two supervisors are paged; the other one acknowledges. This desk's page alert about
    the flagged group, then about an imminent escalation, went only when Dismiss was pressed."""
    for name in ("sup1", "sup2"):
        server.create_user("supervisor", name, server.supervisor_password)
    desk_ctx, desk = desk_page(browser, watch)
    other_ctx, other = desk_page(browser, watch)
    seeker: ClientConnection | None = None
    try:
        supervisor_logs_in(desk, server)
        supervisor_logs_in(other, server, "sup2")
        title = desk.title()
        page = desk.locator("#page-alert")

        # A language no volunteer speaks: the seeker stays in the group while the chat runs.
        seeker = flagged_seeker(server, 0, language=unique_language())
        for d in (desk, other):
            expect(d.locator("#page-alert-text")).to_have_text(EN["flagged.page_alert_one"])
        other.locator("#flagged-ack").click()
        expect(desk.locator("#flagged-group-state")).to_have_text(EN["flagged.acked_other"])
        expect(page).to_be_hidden()
        expect(desk).to_have_title(title)

        seeker_ctx, _, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
        try:
            raise_concern(
                volunteer.locator("#risk-area .risk-panel:not([hidden])"),
                "imminent",
                "says they are not safe tonight",
            )
            for d in (desk, other):
                expect(d.locator("#page-alert-text")).to_contain_text(
                    f"{EN['level.imminent']} escalation"
                )
            expect(desk).to_have_title(re.compile(r"^\(!\) "))
            supervisor_acks(other, other.locator("#escalations .escalation").first)
            expect(desk.locator("#escalations .escalation .js-ack")).to_be_hidden()
            expect(page).to_be_hidden()
            expect(desk).to_have_title(title)
            axe.check(desk, "the desk after another supervisor acknowledged its page")
        finally:
            seeker_ctx.close()
            volunteer_ctx.close()
    finally:
        if seeker:
            seeker.close()
        desk_ctx.close()
        other_ctx.close()
    watch.check()


def _imminent_page(browser: Browser, server: LiveServer, watch: Watch):  # type: ignore[no-untyped-def]
    """A chat in progress whose volunteer raises an imminent concern (every supervisor on call
    is paged): (seeker context, volunteer context)."""
    seeker_ctx, _, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    raise_concern(
        volunteer.locator("#risk-area .risk-panel:not([hidden])"), "imminent", "not safe tonight"
    )
    return seeker_ctx, volunteer_ctx


@pytest.mark.parametrize("first", ["update", "error"])
def test_an_acknowledge_a_moment_after_another_desks_is_a_calm_note_not_a_failure(
    browser: Browser, server: LiveServer, watch: Watch, first: str
) -> None:
    """Two supervisors are paged; the other acknowledges, and this one presses Acknowledge a
    moment later, before the other's acknowledgement has reached this desk. The server answers
    ``error`` ``invalid_transition`` (the escalation is no longer open), and the desk showed
    "Acknowledged" beside "The escalation couldn't be updated." and said the failure aloud.
    It now notes calmly that another supervisor acknowledged it, whichever of the two frames
    (the other's ``escalation.updated``, the refusal) comes first."""
    for name in ("sup1", "sup2"):
        server.create_user("supervisor", name, server.supervisor_password)
    held: list[str | bytes] = []  # this desk's escalation.updated frames, held back
    holding = {"on": False}
    sockets: dict[str, WebSocketRoute] = {}

    def route(ws: WebSocketRoute) -> None:
        upstream = ws.connect_to_server()
        sockets["desk"] = ws

        def from_server(message: str | bytes) -> None:
            kind = json.loads(message).get("type")
            if holding["on"] and kind == "escalation.updated":
                held.append(message)
                return
            if holding["on"] and kind == "error" and first == "update":
                holding["on"] = False  # the other's acknowledgement, then the refusal
                for update in held:
                    ws.send(update)
            ws.send(message)

        upstream.on_message(from_server)
        ws.on_message(upstream.send)

    desk_ctx, desk = desk_page(browser, watch)
    desk.route_web_socket(re.compile(r"/ws$"), route)
    other_ctx, other = desk_page(browser, watch)
    seeker_ctx = volunteer_ctx = None
    try:
        supervisor_logs_in(desk, server)
        supervisor_logs_in(other, server, "sup2")
        seeker_ctx, volunteer_ctx = _imminent_page(browser, server, watch)
        card = desk.locator("#escalations .escalation")
        expect(card.locator(".js-ack")).to_be_visible()

        holding["on"] = True
        supervisor_acks(other, other.locator("#escalations .escalation"))
        for _ in range(150):
            if held:
                break
            desk.wait_for_timeout(100)
        assert held, "the other desk's acknowledgement never reached this desk"
        card.locator(".js-ack").click()

        status = card.locator(".js-esc-status")
        expect(status).to_have_text(EN["sup.esc_acked_other"])
        if first == "error":
            holding["on"] = False  # the refusal came first; now the other's acknowledgement
            for update in held:
                sockets["desk"].send(update)
        expect(card.locator(".js-ack")).to_be_hidden()
        expect(card.locator(".js-countdown")).to_have_text(EN["sup.acked"])
        expect(status).to_be_visible()
        expect(status).to_have_text(EN["sup.esc_acked_other"])
        desk.wait_for_timeout(300)  # an announcement is written after a tick
        expect(desk.locator("#sr-alert")).not_to_have_text(EN["sup.esc_failed"])
        axe.check(desk, "the desk whose Acknowledge came after another's")

        # The note follows the desk's language, as the rest of the card does.
        desk.locator('.lang-switch__option[data-lang="hi"]').click()
        expect(status).to_have_text(HI["sup.esc_acked_other"])
        expect(card.locator(".js-countdown")).to_have_text(HI["sup.acked"])
    finally:
        for ctx in (seeker_ctx, volunteer_ctx, desk_ctx, other_ctx):
            if ctx:
                ctx.close()
    watch.check()


def test_an_acknowledge_the_server_fails_still_says_it_failed(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """The calm note is only for an escalation acknowledged elsewhere: any other refusal of
    an Acknowledge (here ``internal``, made by the test) still says the escalation couldn't
    be updated, aloud too, and leaves Acknowledge to press again."""
    server.create_user("supervisor", "sup1", server.supervisor_password)

    def route(ws: WebSocketRoute) -> None:
        upstream = ws.connect_to_server()

        def to_server(message: str | bytes) -> None:
            frame = json.loads(message)
            if frame.get("type") == "escalation.ack":
                ws.send(json.dumps({"type": "error", "code": "internal", "ref": frame.get("ref"),
                                    "message": "an unexpected error"}))  # fmt: skip
                return
            upstream.send(message)

        upstream.on_message(ws.send)
        ws.on_message(to_server)

    desk_ctx, desk = desk_page(browser, watch)
    desk.route_web_socket(re.compile(r"/ws$"), route)
    seeker_ctx = volunteer_ctx = None
    try:
        supervisor_logs_in(desk, server)
        seeker_ctx, volunteer_ctx = _imminent_page(browser, server, watch)
        card = desk.locator("#escalations .escalation")
        card.locator(".js-ack").click()
        expect(card.locator(".js-esc-status")).to_have_text(EN["sup.esc_failed"])
        expect(desk.locator("#sr-alert")).to_have_text(EN["sup.esc_failed"])
        expect(card.locator(".js-ack")).to_be_visible()
    finally:
        for ctx in (seeker_ctx, volunteer_ctx, desk_ctx):
            if ctx:
                ctx.close()
    watch.check()


# A stand-in for the desktop Notification API (headless Chromium grants none): records each
# notification a page raises and whether it was closed.
FAKE_NOTIFICATIONS = """
window.__notes = [];
class FakeNotification {
  constructor(title, options) {
    this.title = title; this.tag = options?.tag; this.body = options?.body; this.closed = false;
    window.__notes.push(this);
  }
  close() { this.closed = true; }
  static requestPermission() { return Promise.resolve("granted"); }
}
FakeNotification.permission = "granted";
window.Notification = FakeNotification;
"""


def _notes(page: Page) -> list[dict]:
    """The desktop notifications the page raised so far: their body and whether closed."""
    return page.evaluate("() => window.__notes.map((n) => ({ body: n.body, closed: n.closed }))")


def _page_about(text: str) -> str:
    """The conversation a page alert's text names ("… conversation ab12cd.")."""
    match = re.search(r"conversation (\S+)\.$", text)
    assert match, text
    return match.group(1)


def test_an_older_page_still_waiting_comes_back_when_the_shown_one_is_acknowledged(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """Audit: two imminent escalations, E1 then E2; another supervisor acknowledged E2 and
    this desk's page alert and "(!)" went, although E1 (60 s to acknowledge) still waited.
    The alert now falls back to E1 (no new sound or notification), and goes with the last
    page that waits; the desktop notification of an acknowledged page is closed."""
    for name in ("sup1", "sup2"):
        server.create_user("supervisor", name, server.supervisor_password)
    desk_ctx, desk = desk_page(browser, watch)
    desk.add_init_script(FAKE_NOTIFICATIONS)
    other_ctx, other = desk_page(browser, watch)
    phones = [browser.new_context(viewport=PHONE) for _ in range(2)]
    volunteer_ctx, volunteer = desk_page(browser, watch)
    try:
        supervisor_logs_in(desk, server)
        supervisor_logs_in(other, server, "sup2")
        title = desk.title()
        page = desk.locator("#page-alert")
        text = desk.locator("#page-alert-text")

        for ctx in phones:
            ctx.set_default_timeout(TIMEOUT_MS)
            seeker_starts(watch.attach(ctx.new_page()), server)
        volunteer_logs_in(volunteer, server)
        volunteer.locator("#capacity").select_option("2")
        expect(volunteer.locator("#availability-status")).to_contain_text("of 2")
        tabs = volunteer.locator("#chat-tabs .tab")
        for count in (1, 2):
            volunteer.locator("#take-next").click()
            expect(tabs).to_have_count(count)

        # E1, then E2, both imminent: the desk's alert shows the newest page.
        about = []
        for i, reason in enumerate(("says they are not safe tonight", "has pills with them now")):
            tabs.nth(i).click()
            expect(tabs.nth(i)).to_have_attribute("aria-selected", "true")
            raise_concern(
                volunteer.locator("#risk-area .risk-panel:not([hidden])"), "imminent", reason
            )
            expect(desk.locator("#escalations .escalation")).to_have_count(i + 1)
            expect(text).to_contain_text(f"{EN['level.imminent']} escalation")
            if about:
                expect(text).not_to_contain_text(about[0])
            about.append(_page_about(text.inner_text()))
        first, second = about
        expect(desk).to_have_title(re.compile(r"^\(!\) "))
        assert [n["closed"] for n in _notes(desk)] == [False, False]

        # Another supervisor acknowledges E2: E1 still waits, so the alert shows E1.
        supervisor_acks(other, other.locator("#escalations .escalation", has_text=second))
        expect(
            desk.locator("#escalations .escalation", has_text=second).locator(".js-ack")
        ).to_be_hidden()
        expect(page).to_be_visible()
        expect(text).to_have_text(
            EN["sup.page_alert"].replace("{level}", EN["level.imminent"]).replace("{id}", first)
        )
        expect(desk).to_have_title(re.compile(r"^\(!\) "))
        # Not a new page: no notification raised; E2's is closed, E1's stays.
        notes = _notes(desk)
        assert [(second in n["body"], n["closed"]) for n in notes] == [
            (False, False),
            (True, True),
        ], notes
        axe.check(desk, "the desk showing the older page that still waits")

        # E1 is acknowledged too: nothing waits, the alert and the "(!)" go.
        supervisor_acks(other, other.locator("#escalations .escalation", has_text=first))
        expect(page).to_be_hidden()
        expect(desk).to_have_title(title)
        assert [n["closed"] for n in _notes(desk)] == [True, True]
    finally:
        for ctx in (*phones, volunteer_ctx, desk_ctx, other_ctx):
            ctx.close()
    watch.check()


def test_the_flagged_groups_page_comes_back_when_an_escalation_over_it_is_acknowledged(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """The flagged group's page, covered by an escalation's: this desk's own Acknowledge of
    the escalation brought no page back although the group still waited unacknowledged. Now
    the group's page shows again with how many wait, and goes when another desk
    acknowledges the group."""
    for name in ("sup1", "sup2"):
        server.create_user("supervisor", name, server.supervisor_password)
    desk_ctx, desk = desk_page(browser, watch)
    desk.add_init_script(FAKE_NOTIFICATIONS)
    other_ctx, other = desk_page(browser, watch)
    seeker: ClientConnection | None = None
    try:
        supervisor_logs_in(desk, server)
        supervisor_logs_in(other, server, "sup2")
        title = desk.title()
        page = desk.locator("#page-alert")
        text = desk.locator("#page-alert-text")

        seeker = flagged_seeker(server, 0, language=unique_language())
        expect(text).to_have_text(EN["flagged.page_alert_one"])
        seeker_ctx, _, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
        try:
            # Imminent pages every supervisor on call (high only the first in the chain).
            raise_concern(
                volunteer.locator("#risk-area .risk-panel:not([hidden])"),
                "imminent",
                "says they are not safe tonight",
            )
            expect(text).to_contain_text(f"{EN['level.imminent']} escalation")
            supervisor_acks(desk, desk.locator("#escalations .escalation").first)
            expect(page).to_be_visible()
            expect(text).to_have_text(EN["flagged.page_alert_one"])
            expect(desk).to_have_title(re.compile(r"^\(!\) "))
            assert len(_notes(desk)) == 2

            axe.check(desk, "the desk showing the flagged group's page again")

            # The group acknowledged at another desk: nothing waits, the alert and "(!)" go,
            # and so do the desktop notifications of the two pages.
            other.locator("#flagged-ack").click()
            expect(desk.locator("#flagged-group-state")).to_have_text(EN["flagged.acked_other"])
            expect(page).to_be_hidden()
            expect(desk).to_have_title(title)
            assert [n["closed"] for n in _notes(desk)] == [True, True]
        finally:
            seeker_ctx.close()
            volunteer_ctx.close()
    finally:
        if seeker:
            seeker.close()
        desk_ctx.close()
        other_ctx.close()
    watch.check()


def test_a_desk_opened_after_the_page_shows_it_until_it_is_acknowledged(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """Audit: a desk reloaded (or a supervisor signing in) after an imminent page showed the
    escalation's card but no page alert and no "(!)" until the next re-page, up to 60 s. The
    alert now comes up from the list, said once, and goes with the acknowledgement."""
    server.create_user("supervisor", "sup1", server.supervisor_password)
    server.create_user("supervisor", "sup2", server.supervisor_password)
    seeker_ctx, seeker, volunteer_ctx, volunteer = chat_in_progress(browser, server, watch)
    desk_ctx, desk = desk_page(browser, watch)
    late_ctx, late = desk_page(browser, watch)
    try:
        supervisor_logs_in(desk, server)
        raise_concern(
            volunteer.locator("#risk-area .risk-panel:not([hidden])"), "imminent", "not safe"
        )
        text = desk.locator("#page-alert-text")
        expect(text).to_contain_text(f"{EN['level.imminent']} escalation")
        paged = text.inner_text()

        desk.reload()
        expect(desk.locator("[data-screen=desk]")).to_be_visible()
        expect(desk.locator("#escalations .escalation")).to_have_count(1)
        expect(desk.locator("#page-alert")).to_be_visible()
        expect(text).to_have_text(paged)
        expect(desk).to_have_title(re.compile(r"^\(!\) "))
        expect(desk.locator("#sr-alert")).to_have_text(paged)
        axe.check(desk, "supervisor desk, a waiting page after a reload")

        supervisor_logs_in(late, server, "sup2")  # signed in after the page was sent
        expect(late.locator("#page-alert-text")).to_have_text(paged)
        expect(late).to_have_title(re.compile(r"^\(!\) "))

        supervisor_acks(late, late.locator("#escalations .escalation"))
        for page in (late, desk):
            expect(page.locator("#page-alert")).to_be_hidden()
            expect(page).not_to_have_title(re.compile(r"^\(!\) "))
    finally:
        for ctx in (seeker_ctx, volunteer_ctx, desk_ctx, late_ctx):
            ctx.close()
    watch.check()
