"""Issue #18 §6 in the browser: the admin console at /admin. An admin creates a volunteer,
adds an on-call shift (the supervisor desk's warning about the next hour goes away), marks a
helpline verified and filters the audit log; an account of another role sees "admins only".
Screenshots in docs/screenshots at 360x740 and 1280x800."""

from __future__ import annotations

import json
import sqlite3
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import axe
import pytest
from playwright.sync_api import Browser, Page, expect
from test_browser import DESKTOP, EN, HI, PHONE, Watch, device, shot, supervisor_logs_in

if TYPE_CHECKING:
    from conftest import LiveServer

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
DOCS_SHOTS = ROOT / "docs" / "screenshots"
ADMIN_PASSWORD = "admin-pass-123"
ZONE = "Asia/Kolkata"


def admin_logs_in(page: Page, server: LiveServer) -> None:
    page.goto(server.base_url + "/admin")
    expect(page.locator("#login-title")).to_have_text(EN["adm.login_title"])
    page.locator("#login-username").fill("adm1")
    page.locator("#login-password").fill(ADMIN_PASSWORD)
    page.locator("#login-form button[type=submit]").click()
    expect(page.locator("[data-screen=console]")).to_be_visible()
    expect(page.locator('#staff-rows tr[data-username="sup1"]')).to_be_visible()


def local_input(moment: datetime) -> str:
    """A datetime-local input's value."""
    return moment.strftime("%Y-%m-%dT%H:%M")


def test_an_admin_creates_a_volunteer_rosters_a_supervisor_and_filters_the_audit_log(
    browser: Browser, server: LiveServer, watch: Watch, docs_shots: Path
) -> None:
    server.create_user("admin", "adm1", ADMIN_PASSWORD)
    server.create_user("supervisor", "sup1", server.supervisor_password)

    # A volunteer who opens /admin is told plainly that it is for admins only.
    with device(browser, watch, PHONE) as (_, page):
        page.goto(server.base_url + "/admin")
        page.locator("#login-username").fill(server.volunteer[0])
        page.locator("#login-password").fill(server.volunteer[1])
        page.locator("#login-form button[type=submit]").click()
        expect(page.locator("#denied-title")).to_have_text(EN["adm.denied_title"])
        expect(page.locator("#denied-title")).to_be_focused()
        axe.check(page, "admin console, admins only")
        shot(page, docs_shots, "admin-denied-phone")

    # Nobody is rostered: the supervisor desk warns about the next hour.
    with device(browser, watch, DESKTOP, timezone_id=ZONE) as (_, desk):
        supervisor_logs_in(desk, server)
        expect(desk.locator("#roster-gap")).to_be_visible()
        expect(desk.locator("#roster-gap")).to_have_text(EN["sup.roster_gap_all"])
        shot(desk, docs_shots, "supervisor-roster-gap-desktop")

        with device(browser, watch, DESKTOP, timezone_id=ZONE) as (_, page):
            admin_logs_in(page, server)
            expect(page.locator("#roster-coverage")).to_have_text(EN["adm.coverage_none"])

            # Create a volunteer.
            page.locator("#new-username").fill("vol_new")
            page.locator("#new-password").fill("a-first-password-1")
            page.locator("#new-role").select_option("volunteer")
            page.locator("#new-languages").fill("en, hi")
            page.locator("#new-topics").fill("exams")
            page.locator("#new-max").fill("3")
            page.locator("#new-rank").fill("5")
            page.locator("#new-trained").check()
            page.locator("#staff-create button[type=submit]").click()
            expect(page.locator("#staff-status")).to_have_text(
                EN["adm.created"].replace("{name}", "vol_new")
            )
            row = page.locator('#staff-rows tr[data-username="vol_new"]')
            expect(row.locator("td").nth(1)).to_have_text("en, hi")
            expect(row.locator("td").nth(3)).to_have_text(EN["adm.yes"])
            expect(row.locator("td").nth(4)).to_have_text("3")

            # A taken username is refused with our words.
            page.locator("#new-username").fill("vol_new")
            page.locator("#new-password").fill("a-first-password-1")
            page.locator("#staff-create button[type=submit]").click()
            expect(page.locator("#staff-create-error")).to_have_text(EN["adm.err_username_taken"])
            page.locator("#new-username").fill("")
            page.locator("#new-password").fill("")

            # Edit it from the keyboard: Edit, change the rank, save.
            row.get_by_role("button").focus()
            page.keyboard.press("Enter")
            expect(page.locator("#staff-edit-title")).to_be_focused()
            page.locator("#edit-rank").fill("9")
            page.locator("#staff-edit button[type=submit]").click()
            expect(row.locator("td").nth(5)).to_have_text("9")

            # Roster sup1 from a few minutes ago for three hours.
            now = datetime.now(ZoneInfo(ZONE))
            page.locator("#shift-staff").select_option(
                label=page.locator("#shift-staff option", has_text="sup1").inner_text()
            )
            page.locator("#shift-start").fill(local_input(now - timedelta(minutes=5)))
            page.locator("#shift-end").fill(local_input(now + timedelta(hours=3)))
            page.locator("#roster-add button[type=submit]").click()
            expect(page.locator("#roster-status")).to_contain_text("sup1")
            expect(page.locator("#roster-rows tr")).to_have_count(1)
            covered = EN["adm.coverage_ok"].split("{names}")[0]
            expect(page.locator("#roster-coverage")).to_contain_text(covered)
            expect(page.locator("#roster-coverage")).to_have_class("notice notice--calm")

            # Mark a helpline verified.
            kiran = page.locator('#helpline-rows tr[data-helpline="kiran"]')
            expect(kiran.locator(".pill")).to_have_text(EN["adm.never_verified"])
            kiran.locator("button[data-action=verify]").click()
            expect(kiran.locator(".pill")).to_have_text(EN["adm.verified_ok"])
            expect(kiran.locator("button[data-action=verify]")).to_be_focused()

            # Filter the audit log: this admin's account changes, today.
            today = now.strftime("%Y-%m-%d")
            page.locator("#audit-actor").select_option(label="adm1 (Admin)")
            page.locator("#audit-action").select_option("staff.")
            page.locator("#audit-from").fill(today)
            page.locator("#audit-to").fill(today)
            page.locator("#audit-filter button[type=submit]").click()
            rows = page.locator("#audit-rows tr")
            expect(rows).to_have_count(2)
            expect(rows.nth(0)).to_contain_text(EN["adm.action.staff.updated"])
            expect(rows.nth(1)).to_contain_text(EN["adm.action.staff.created"])
            expect(rows.nth(1)).to_contain_text("vol_new")
            expect(page.locator("#audit-status")).to_have_text(
                EN["adm.audit_count"].replace("{n}", "2")
            )
            # Another staff member, or yesterday: nothing.
            page.locator("#audit-actor").select_option(label="sup1 (Supervisor)")
            page.locator("#audit-filter button[type=submit]").click()
            expect(page.locator("#audit-status")).to_have_text(EN["adm.audit_none"])
            page.locator("#audit-actor").select_option(label="adm1 (Admin)")
            page.locator("#audit-action").select_option("roster.")
            page.locator("#audit-filter button[type=submit]").click()
            expect(rows).to_have_count(1)
            expect(rows.nth(0)).to_contain_text(EN["adm.action.roster.shift_added"])

            expect(page.locator("#versions")).to_contain_text("asq-followup-v1")
            expect(page.locator("#versions")).to_contain_text("policy-v1")
            # Moderate too: each table's scroll region had its panel's name (landmark-unique).
            axe.check(page, "admin console", axe.EVERY_IMPACT)
            shot(page, docs_shots, "admin-console-desktop", full_page=True)

            page.locator(".lang-switch__option[data-lang=hi]").click()
            expect(page.locator("#admin-title")).to_have_text(HI["adm.title"])
            expect(rows.nth(0)).to_contain_text(HI["adm.action.roster.shift_added"])
            axe.check(page, "admin console in Hindi", axe.EVERY_IMPACT)
            shot(page, docs_shots, "admin-console-hi-desktop")
            page.locator(".lang-switch__option[data-lang=en]").click()

        # The desk's warning goes with the gap (it checks every 30 s, and on load).
        desk.reload()
        expect(desk.locator("[data-screen=desk]")).to_be_visible()
        expect(desk.locator("#oncall-status")).not_to_be_empty()
        expect(desk.locator("#roster-gap")).to_be_hidden()
        # The switch's toggle goes out on the socket: wait until the pill says it is open.
        expect(desk.locator("#conn-state")).to_be_hidden()
        # sup1's shift is running: with "I'm on call" off, the desk reminds them.
        if desk.locator("#oncall").is_checked():  # as the server has it (GET /api/v1/me)
            expect(desk.locator("#roster-you")).to_be_hidden()
            desk.locator("#oncall").uncheck()
        expect(desk.locator("#roster-you")).to_have_text(EN["sup.roster_you"])
        axe.check(desk, "supervisor desk with the roster reminder")
        shot(desk, docs_shots, "supervisor-roster-reminder-desktop")
        desk.locator("#oncall").check()
        expect(desk.locator("#roster-you")).to_be_hidden()

    with device(browser, watch, PHONE, timezone_id=ZONE) as (_, page):
        page.goto(server.base_url + "/admin")  # the session is per tab: sign in again
        admin_logs_in(page, server)
        axe.check(page, "admin console on a phone")
        shot(page, docs_shots, "admin-console-phone")
        page.locator("#roster-panel").scroll_into_view_if_needed()
        shot(page, docs_shots, "admin-roster-phone")
        page.locator("#audit-panel").scroll_into_view_if_needed()
        shot(page, docs_shots, "admin-audit-phone")

    # What the console did is what the server holds.
    with sqlite3.connect(server.directory / "t.db", timeout=10) as db:
        (role, trained, max_chats, rank) = db.execute(
            "SELECT role, trained, max_concurrent_chats, backup_rank FROM staff_users "
            "WHERE username = 'vol_new'"
        ).fetchone()
        shifts = db.execute("SELECT count(*) FROM oncall_shifts").fetchone()[0]
    assert (role, trained, max_chats, rank) == ("volunteer", 1, 3, 9)
    assert shifts == 1
    with urllib.request.urlopen(server.base_url + "/metrics", timeout=10) as answer:
        exposition = answer.read().decode()
    assert "peerline_oncall_roster_gap_seconds 0.0" in exposition
    assert json.loads(json.dumps(EN["adm.title"]))  # the strings file parses
    watch.check()


def test_the_admin_console_on_a_phone_scrolls_only_inside_its_tables(
    browser: Browser, server: LiveServer, watch: Watch, tmp_path: Path
) -> None:
    """At 360 px each table scrolls in its own box; the page itself does not scroll sideways.
    Each table's visually hidden "Actions" header was positioned against the page, not its
    scroll box, and made the whole console 739 px wide (691 px in Hindi)."""
    server.create_user("admin", "adm1", ADMIN_PASSWORD)
    server.create_user("supervisor", "sup1", server.supervisor_password)
    with device(browser, watch, PHONE, timezone_id=ZONE) as (_, page):
        admin_logs_in(page, server)
        expect(page.locator("#helpline-rows tr").first).to_be_visible()
        for language in ("en", "hi"):
            if language == "hi":  # a phone shows only the other language's button
                page.locator(".lang-switch__option[data-lang=hi]").click()
            expect(page.locator("html")).to_have_attribute("lang", language)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{language}: the page is {width} px wide"
            for wrap in page.locator(".table-wrap").all():  # the tables still scroll
                assert wrap.evaluate("(box) => box.scrollWidth > box.clientWidth")
        shot(page, tmp_path, "admin-console-hi-phone", full_page=True)
    watch.check()


def test_an_admin_keeps_their_place_after_removing_a_shift(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """Remove takes its own row away: focus goes to the roster's heading, not to the page."""
    server.create_user("admin", "adm1", ADMIN_PASSWORD)
    server.create_user("supervisor", "sup1", server.supervisor_password)
    with device(browser, watch, DESKTOP, timezone_id=ZONE) as (_, page):
        admin_logs_in(page, server)
        now = datetime.now(ZoneInfo(ZONE))
        page.locator("#shift-start").fill(local_input(now + timedelta(hours=2)))
        page.locator("#shift-end").fill(local_input(now + timedelta(hours=5)))
        page.locator("#roster-add button[type=submit]").click()
        remove = page.locator("#roster-rows tr").get_by_role("button")
        expect(remove).to_have_count(1)
        remove.focus()
        page.keyboard.press("Enter")
        expect(page.locator("#roster-status")).to_have_text(EN["adm.shift_removed"])
        expect(page.locator("#roster-rows tr")).to_have_count(0)
        expect(page.locator("#roster-title")).to_be_focused()
        page.keyboard.press("Tab")  # and Tab goes on from the roster, not from the page's top
        assert page.evaluate("document.activeElement.closest('#roster-panel') !== null")
    watch.check()


def test_an_admin_cannot_deactivate_their_own_account(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """Unticking Active on one's own account signed the admin out at once (every token is
    revoked) and left a lone admin locked out: the switch is off for one's own account and
    says why; another account's still works."""
    server.create_user("admin", "adm1", ADMIN_PASSWORD)
    server.create_user("supervisor", "sup1", server.supervisor_password)
    with device(browser, watch, DESKTOP, timezone_id=ZONE) as (_, page):
        admin_logs_in(page, server)
        page.locator('#staff-rows tr[data-username="adm1"]').get_by_role("button").click()
        expect(page.locator("#edit-active")).to_be_checked()
        expect(page.locator("#edit-active")).to_be_disabled()
        expect(page.locator("#edit-active-self")).to_have_text(EN["adm.active_self"])
        axe.check(page, "admin console, editing one's own account")
        page.locator("#edit-rank").fill("7")
        page.locator("#staff-edit button[type=submit]").click()
        own = page.locator('#staff-rows tr[data-username="adm1"]')
        expect(own.locator("td").nth(5)).to_have_text("7")
        expect(own.locator("td").nth(6)).to_have_text(EN["adm.active"])

        sup = page.locator('#staff-rows tr[data-username="sup1"]')
        sup.get_by_role("button").click()
        expect(page.locator("#edit-active")).to_be_enabled()
        expect(page.locator("#edit-active-self")).to_be_hidden()
        page.locator("#edit-active").uncheck()
        page.locator("#staff-edit button[type=submit]").click()
        expect(sup.locator("td").nth(6)).to_have_text(EN["adm.inactive"])
        expect(page.locator("[data-screen=console]")).to_be_visible()
    with sqlite3.connect(server.directory / "t.db", timeout=10) as db:
        active = dict(db.execute("SELECT username, active FROM staff_users").fetchall())
    assert active["adm1"] == 1 and active["sup1"] == 0
    watch.check()


def test_a_staff_account_needs_a_language_code(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """An empty Languages field made an account with no language, which no chat can ever
    reach; "English, Hindi" got the server's error about usernames and passwords. Both are
    refused in the form with words about languages, in English and Hindi."""
    server.create_user("admin", "adm1", ADMIN_PASSWORD)
    server.create_user("supervisor", "sup1", server.supervisor_password)
    with device(browser, watch, DESKTOP, timezone_id=ZONE) as (_, page):
        admin_logs_in(page, server)
        page.locator("#new-username").fill("vol_nolang")
        page.locator("#new-password").fill("a-first-password-1")
        error = page.locator("#staff-create-error")
        for typed in ("", " , ", "English, Hindi"):
            page.locator("#new-languages").fill(typed)
            page.locator("#staff-create button[type=submit]").click()
            expect(error).to_have_text(EN["adm.err_languages"])
            expect(page.locator("#new-languages")).to_be_focused()
        page.locator(".lang-switch__option[data-lang=hi]").click()
        page.locator("#staff-create button[type=submit]").click()
        expect(error).to_have_text(HI["adm.err_languages"])
        page.locator(".lang-switch__option[data-lang=en]").click()
        page.locator("#new-languages").fill("hi, en")
        page.locator("#staff-create button[type=submit]").click()
        expect(page.locator('#staff-rows tr[data-username="vol_nolang"] td').nth(1)).to_have_text(
            "hi, en"
        )

        # Editing: clearing the field is refused too, and nothing is sent.
        page.locator('#staff-rows tr[data-username="sup1"]').get_by_role("button").click()
        page.locator("#edit-languages").fill("")
        page.locator("#staff-edit button[type=submit]").click()
        expect(page.locator("#staff-edit-error")).to_have_text(EN["adm.err_languages"])
        expect(page.locator("#edit-languages")).to_be_focused()
    with sqlite3.connect(server.directory / "t.db", timeout=10) as db:
        rows = dict(db.execute("SELECT username, languages FROM staff_users").fetchall())
    assert json.loads(rows["vol_nolang"]) == ["hi", "en"]
    assert json.loads(rows["sup1"]) == ["en", "hi"]
    watch.check()


def test_the_roster_tells_ended_shifts_from_planned_ones(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """A shift typed with the wrong day or am/pm was taken without a word ("Added a shift")
    and listed like the planned ones, though it covers nothing: the form refuses a shift
    that has already ended, and the roster marks the ended shifts it lists (from yesterday)."""
    server.create_user("admin", "adm1", ADMIN_PASSWORD)
    server.create_user("supervisor", "sup1", server.supervisor_password)
    with device(browser, watch, DESKTOP, timezone_id=ZONE) as (_, page):
        admin_logs_in(page, server)
        now = datetime.now(ZoneInfo(ZONE))
        page.locator("#shift-start").fill(local_input(now - timedelta(hours=3)))
        page.locator("#shift-end").fill(local_input(now - timedelta(hours=1)))
        page.locator("#roster-add button[type=submit]").click()
        expect(page.locator("#roster-error")).to_have_text(EN["adm.err_shift_ended"])
        expect(page.locator("#roster-status")).to_be_empty()

        # One ended earlier today (as the API still takes it) and one to come.
        staff_id = page.locator("#shift-staff").input_value()
        for starts, ends in ((-5, -2), (2, 4)):
            status = page.evaluate(
                """async ([staff, starts, ends]) => {
                    const token = JSON.parse(sessionStorage.getItem("peerline.staff")).access_token;
                    const answer = await fetch("/api/v1/roster", {
                        method: "POST",
                        headers: {"content-type": "application/json",
                                  authorization: `Bearer ${token}`},
                        body: JSON.stringify({staff_id: staff, starts_at: starts, ends_at: ends}),
                    });
                    return answer.status;
                }""",
                [
                    staff_id,
                    (now + timedelta(hours=starts)).isoformat(),
                    (now + timedelta(hours=ends)).isoformat(),
                ],
            )
            assert status == 201
        page.reload()
        rows = page.locator("#roster-rows tr")
        expect(rows).to_have_count(2)
        expect(rows.nth(0).locator("th")).to_contain_text(EN["adm.shift_ended"])
        expect(rows.nth(1).locator("th")).not_to_contain_text(EN["adm.shift_ended"])
        page.locator(".lang-switch__option[data-lang=hi]").click()
        expect(rows.nth(0).locator("th")).to_contain_text(HI["adm.shift_ended"])
        axe.check(page, "admin console, roster with an ended shift")
    watch.check()


def test_on_a_phone_each_row_keeps_its_name_in_view(
    browser: Browser, server: LiveServer, watch: Watch, tmp_path: Path
) -> None:
    """The tables scroll sideways at 360 px, and a row's button (Edit, Mark verified today,
    Remove) sits at the far right: after a tap the table stayed scrolled there and showed
    eight "Not verified" rows with no helpline names. Each row's name stays in view."""
    server.create_user("admin", "adm1", ADMIN_PASSWORD)
    server.create_user("supervisor", "sup1", server.supervisor_password)
    with device(browser, watch, PHONE, timezone_id=ZONE) as (_, page):
        admin_logs_in(page, server)
        kiran = page.locator('#helpline-rows tr[data-helpline="kiran"]')
        kiran.locator("button[data-action=verify]").click()
        expect(kiran.locator(".pill")).to_have_text(EN["adm.verified_ok"])
        expect(kiran.locator("button[data-action=verify]")).to_be_focused()
        sup = page.locator('#staff-rows tr[data-username="sup1"]')
        sup.get_by_role("button").focus()  # scrolls the staff table to its right end too
        for row in (kiran, sup):
            wrap = row.locator("xpath=ancestor::div[contains(@class, 'table-wrap')]")
            assert wrap.evaluate("(box) => box.scrollLeft") > 0  # scrolled, as the tap left it
            name, box = row.locator("th").bounding_box(), wrap.bounding_box()
            assert name and box
            assert (
                box["x"] - 1 <= name["x"] and name["x"] + name["width"] <= box["x"] + box["width"]
            )
            assert name["width"] <= box["width"] / 2  # and leaves room for the rest
        expect(kiran.locator("th")).to_have_text("KIRAN (Govt. of India)")
        page.locator("#helplines-panel").scroll_into_view_if_needed()
        shot(page, tmp_path, "admin-helplines-phone")
    watch.check()


def test_the_audit_filter_offers_who_read_a_plan_a_share_or_the_comments(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """docs/protocol.md names the actions that answer "who saw what", among them a supervisor's
    read of a seeker's safety plan, of their emergency share and of the feedback comments. The
    audit log's "What" list offered none of the three (an admin could only page through
    everything), and such an entry showed its bare code. Each is a choice now, in both
    languages, and its entries read in words."""
    server.create_user("admin", "adm1", ADMIN_PASSWORD)
    server.create_user("supervisor", "sup1", server.supervisor_password)
    with sqlite3.connect(server.directory / "t.db", timeout=10) as db:
        (sup_id,) = db.execute("SELECT id FROM staff_users WHERE username = 'sup1'").fetchone()
        for action in ("safety_plan.read", "emergency_share.read", "outcomes.comments_read"):
            db.execute(
                "INSERT INTO audit_events (at, actor_id, actor_role, action, conversation_id, "
                "detail) VALUES (?, ?, 'supervisor', ?, NULL, '{}')",
                (datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" "), sup_id, action),
            )
    wanted = {
        "safety_plan.read": "adm.act_safety_plan_read",
        "emergency_share.read": "adm.act_emergency_share_read",
        "outcomes.comments_read": "adm.act_comments_read",
    }
    with device(browser, watch, DESKTOP, timezone_id=ZONE) as (_, page):
        admin_logs_in(page, server)
        rows = page.locator("#audit-rows tr")
        for strings in (EN, HI):
            if strings is HI:
                page.locator(".lang-switch__option[data-lang=hi]").click()
            for action, key in wanted.items():
                option = page.locator(f'#audit-action option[value="{action}"]')
                expect(option).to_have_text(strings[key])
                page.locator("#audit-action").select_option(action)
                page.locator("#audit-filter button[type=submit]").click()
                expect(rows).to_have_count(1)
                expect(rows.first.locator("td").nth(1)).to_contain_text("sup1")
                expect(rows.first.locator("td").nth(2)).to_contain_text(
                    strings[f"adm.action.{action}"]
                )
            axe.check(page, f"admin audit log, who read what ({strings['lang.en']})")
    watch.check()


def test_show_more_in_the_audit_log_keeps_the_keyboards_place(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """The audit log shows 50 entries, then "Show more". On the last page that button hides,
    and the focus of a keyboard or screen reader user fell to the top of the page: the focus
    goes to the first entry it added, which is read."""
    server.create_user("admin", "adm1", ADMIN_PASSWORD)
    server.create_user("supervisor", "sup1", server.supervisor_password)
    stamp = datetime.now(UTC).replace(tzinfo=None)
    with sqlite3.connect(server.directory / "t.db", timeout=10) as db:
        for minutes in range(60):
            db.execute(
                "INSERT INTO audit_events (at, actor_id, actor_role, action, conversation_id, "
                "detail) VALUES (?, NULL, 'system', 'oncall.set', NULL, '{}')",
                ((stamp - timedelta(minutes=minutes + 5)).isoformat(sep=" "),),
            )
    with device(browser, watch, PHONE, timezone_id=ZONE) as (_, page):
        admin_logs_in(page, server)
        rows = page.locator("#audit-rows tr")
        expect(rows).to_have_count(50)
        more = page.locator("#audit-more")
        more.focus()
        page.keyboard.press("Enter")
        expect(more).to_be_hidden()
        assert rows.count() > 50
        expect(rows.nth(50)).to_be_focused()
        axe.check(page, "admin audit log, the last page")
    watch.check()


def test_a_refused_sign_in_leaves_the_keyboard_on_the_password(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """The sign-in button is disabled while it asks the server; when the answer was "no" the
    focus had fallen to the top of the page, and someone at the keyboard (or a screen reader)
    had to find the form again. The focus is on the password, its text selected to type anew.
    On the admin page in Hindi; every staff page shares the form (web_client/js/staff.js)."""
    server.create_user("admin", "adm1", ADMIN_PASSWORD)
    server.create_user("supervisor", "sup1", server.supervisor_password)
    with device(browser, watch, PHONE) as (_, page):
        page.goto(server.base_url + "/admin")
        page.locator(".lang-switch__option[data-lang=hi]").click()
        expect(page.locator("#login-title")).to_have_text(HI["adm.login_title"])
        page.locator("#login-username").fill("adm1")
        password = page.locator("#login-password")
        password.fill("not-the-password-1")
        page.keyboard.press("Tab")
        expect(page.locator("#login-form button[type=submit]")).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.locator("#login-error")).to_have_text(HI["login.invalid"])
        expect(password).to_be_focused()
        assert password.evaluate("(box) => box.selectionEnd - box.selectionStart") == len(
            "not-the-password-1"
        )
        axe.check(page, "admin sign-in refused, Hindi")
        # A failed sign-in makes the username wait a second before the next (LOGIN_DELAY_BASE_S).
        page.wait_for_timeout(1500)
        page.keyboard.type(ADMIN_PASSWORD)
        page.keyboard.press("Enter")
        expect(page.locator('#staff-rows tr[data-username="sup1"]')).to_be_visible()
    watch.check()


def test_a_short_password_or_a_number_out_of_range_is_named_in_the_pages_language(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """Editing an account, a short new password or "most chats at once" of 0 got the browser's
    own bubble, in the browser's language on a Hindi page ("Please lengthen this text to 10
    characters"), gone in a moment; creating one, the server's one answer for every field.
    The form names the field in the page's language, and the focus goes to it."""
    server.create_user("admin", "adm1", ADMIN_PASSWORD)
    server.create_user("supervisor", "sup1", server.supervisor_password)
    with device(browser, watch, PHONE, timezone_id=ZONE) as (_, page):
        admin_logs_in(page, server)
        page.locator(".lang-switch__option[data-lang=hi]").click()
        page.locator('#staff-rows tr[data-username="sup1"]').get_by_role("button").click()
        expect(page.locator("#staff-edit-title")).to_be_focused()
        error = page.locator("#staff-edit-error")
        page.locator("#edit-password").fill("short")
        page.locator("#staff-edit button[type=submit]").click()
        expect(error).to_have_text(HI["adm.err_password_short"])
        expect(page.locator("#edit-password")).to_be_focused()
        axe.check(page, "admin, an account's edit refused, Hindi")
        page.locator("#edit-password").fill("")
        page.locator("#edit-max").fill("0")
        page.locator("#staff-edit button[type=submit]").click()
        expect(error).to_have_text(HI["adm.err_max_chats"])
        expect(page.locator("#edit-max")).to_be_focused()
        page.locator("#edit-max").fill("2")
        page.locator("#edit-rank").fill("5000")
        page.locator("#staff-edit button[type=submit]").click()
        expect(error).to_have_text(HI["adm.err_backup_rank"])
        page.locator("#staff-edit-cancel").click()

        page.locator("#new-username").fill("vol_two")
        page.locator("#new-password").fill("a-first-password-1")
        page.locator("#new-max").fill("50")
        page.locator("#staff-create button[type=submit]").click()
        expect(page.locator("#staff-create-error")).to_have_text(HI["adm.err_max_chats"])
        expect(page.locator("#new-max")).to_be_focused()
        page.locator("#new-max").fill("3")
        page.locator("#staff-create button[type=submit]").click()
        expect(page.locator('#staff-rows tr[data-username="vol_two"]')).to_be_visible()
    with sqlite3.connect(server.directory / "t.db", timeout=10) as db:
        (max_chats, rank) = db.execute(
            "SELECT max_concurrent_chats, backup_rank FROM staff_users WHERE username = 'sup1'"
        ).fetchone()
    assert (max_chats, rank) == (2, 100)  # nothing was sent
    watch.check()


def test_a_created_account_is_said_once(browser: Browser, server: LiveServer, watch: Watch) -> None:
    """ "Created vol_new" was put in the staff panel's status line and in the page's alert
    region both, so a screen reader said it twice (the second time interrupting). Once."""
    server.create_user("admin", "adm1", ADMIN_PASSWORD)
    server.create_user("supervisor", "sup1", server.supervisor_password)
    with device(browser, watch, DESKTOP, timezone_id=ZONE) as (_, page):
        admin_logs_in(page, server)
        page.locator("#new-username").fill("vol_new")
        page.locator("#new-password").fill("a-first-password-1")
        page.locator("#staff-create button[type=submit]").click()
        created = EN["adm.created"].replace("{name}", "vol_new")
        expect(page.locator("#staff-status")).to_have_text(created)
        expect(page.locator('#staff-rows tr[data-username="vol_new"]')).to_be_visible()
        page.wait_for_timeout(300)  # the alert region is written a moment later
        live = page.locator("[role=status], [role=alert], [aria-live]")
        expect(live.filter(has_text=created)).to_have_count(1)
        axe.check(page, "admin console, an account created")
    watch.check()


def helplines(server: LiveServer) -> dict[str, dict]:
    """The directory as a seeker's page and the volunteer console read it."""
    with urllib.request.urlopen(server.base_url + "/api/v1/helplines", timeout=10) as answer:
        return {line["id"]: line for line in json.loads(answer.read())["helplines"]}


def test_an_admin_adds_and_edits_a_helpline_and_seekers_get_the_change(
    browser: Browser, server: LiveServer, watch: Watch, docs_shots: Path
) -> None:
    """An NGO admin could only mark a helpline verified: adding one, or correcting a number,
    its hours or its Hindi name, meant calling the REST API by hand. "Add a helpline" and each
    row's Edit open a form; the server's refusals are shown beside the field they name, in the
    page's language; Tele-MANAS keeps 14416; after a save the table and a status line say so
    and the focus is back on the row's Edit. All from the keyboard."""
    server.create_user("admin", "adm1", ADMIN_PASSWORD)
    server.create_user("supervisor", "sup1", server.supervisor_password)
    shown_before = helplines(server)
    with device(browser, watch, DESKTOP, timezone_id=ZONE) as (_, page):
        admin_logs_in(page, server)
        form = page.locator("#helpline-edit")
        expect(form).to_be_hidden()

        # Add one: the form opens on its heading and Tab goes on to the id.
        page.locator("#helpline-add").focus()
        page.keyboard.press("Enter")
        expect(page.locator("#helpline-edit-title")).to_have_text(EN["adm.hl_add_title"])
        expect(page.locator("#helpline-edit-title")).to_be_focused()
        page.keyboard.press("Tab")
        expect(page.locator("#hl-id")).to_be_focused()
        expect(page.locator("#hl-region")).to_have_value("IN")
        axe.check(page, "admin, the helpline form (add)", axe.EVERY_IMPACT)

        page.keyboard.type("sneha_chennai")
        page.locator("#hl-name").fill("Sneha (Chennai)")
        page.locator("#hl-hours").fill("24x7")
        page.locator("#hl-languages").fill("en, ta")
        page.locator("#hl-source").fill("snehaindia.org, called on 2026-12-01")
        page.locator("#hl-contact-1-display").fill("044 2464 0050")
        page.locator("#hl-contact-1-uri").fill("tel:044 2464 0050")  # spaces: not a link
        page.locator("#hl-hi-name").fill("स्नेहा (चेन्नई)")
        # A second contact, from the keyboard; then taken away again.
        page.locator("#hl-contact-add").focus()
        page.keyboard.press("Enter")
        expect(page.locator("#hl-contact-2-kind")).to_be_focused()
        page.keyboard.press("Tab")
        expect(page.locator("#hl-contact-2-display")).to_be_focused()
        page.locator("#hl-contact-2-kind").select_option("email")
        page.locator("#hl-contact-2-display").fill("help@snehaindia.org")
        page.locator("#hl-contact-2-uri").fill("mailto:help@snehaindia.org")
        page.get_by_role("button", name=EN["adm.hl_contact_remove_n"].replace("{n}", "2")).click()
        expect(page.locator(".admin-contact")).to_have_count(1)
        expect(page.locator("#hl-contact-1-kind")).to_be_focused()

        # The server refuses the link: said beside it, in English, and the focus is on it.
        form.locator("button[type=submit]").click()
        uri = page.locator("#hl-contact-1-uri")
        expect(page.locator("#hl-contact-1-uri-error")).to_have_text(EN["adm.hl_err_format_uri"])
        expect(uri).to_be_focused()
        expect(uri).to_have_attribute("aria-invalid", "true")
        expect(uri).to_have_accessible_description(EN["adm.hl_err_format_uri"])
        axe.check(page, "admin, the helpline form with a refused link", axe.EVERY_IMPACT)
        shot(page, docs_shots, "admin-helpline-error-desktop")
        # ... and in Hindi when the page is.
        page.locator(".lang-switch__option[data-lang=hi]").click()
        expect(page.locator("#hl-contact-1-uri-error")).to_have_text(HI["adm.hl_err_format_uri"])
        page.locator(".lang-switch__option[data-lang=en]").click()
        uri.fill("tel:04424640050")
        expect(page.locator("#hl-contact-1-uri-error")).to_have_count(0)
        form.locator("button[type=submit]").click()

        status = page.locator("#helplines-status")
        expect(status).to_have_text(EN["adm.hl_added"].replace("{name}", "Sneha (Chennai)"))
        expect(form).to_be_hidden()
        sneha = page.locator('#helpline-rows tr[data-helpline="sneha_chennai"]')
        expect(sneha.locator("th")).to_have_text("Sneha (Chennai)")
        expect(sneha.locator(".pill")).to_have_text(EN["adm.never_verified"])
        expect(sneha.locator("button[data-action=edit]")).to_be_focused()

        # An id that is taken is refused before anything is sent.
        page.locator("#helpline-add").click()
        page.locator("#hl-id").fill("kiran")
        page.locator("#hl-name").fill("Another KIRAN")
        page.locator("#hl-source").fill("a test")
        page.locator("#hl-contact-1-display").fill("1")
        page.locator("#hl-contact-1-uri").fill("tel:1")
        form.locator("button[type=submit]").click()
        expect(page.locator("#hl-id-error")).to_have_text(EN["adm.hl_err_id_taken"])
        expect(page.locator("#hl-id")).to_be_focused()
        page.keyboard.press("Escape")
        expect(form).to_be_hidden()
        expect(page.locator("#helpline-add")).to_be_focused()

        # Edit KIRAN: its hours, its Hindi name, and the day someone called it.
        kiran = page.locator('#helpline-rows tr[data-helpline="kiran"]')
        kiran.locator("button[data-action=edit]").focus()
        page.keyboard.press("Enter")
        expect(page.locator("#helpline-edit-title")).to_have_text(
            EN["adm.edit_title"].replace("{name}", "KIRAN (Govt. of India)")
        )
        expect(page.locator("#hl-id-field")).to_be_hidden()
        page.keyboard.press("Tab")
        expect(page.locator("#hl-name")).to_be_focused()
        expect(page.locator("#hl-hi-name")).to_have_value("किरण (भारत सरकार)")
        page.locator("#hl-hours").fill("Mon-Sat 10:00-20:00")
        page.locator("#hl-hi-name").fill("किरण हेल्पलाइन (भारत सरकार)")
        page.locator("#hl-hi-hours").fill("सोम-शनि, सुबह 10 से रात 8")
        page.locator("#hl-verified-on").fill("2025-11-03")
        page.locator("#hl-verified").check()
        page.locator("#hl-hours").press("Enter")  # Enter in a field saves, as in every form
        expect(status).to_have_text(EN["adm.hl_saved"].replace("{name}", "KIRAN (Govt. of India)"))
        expect(kiran.locator("button[data-action=edit]")).to_be_focused()
        expect(kiran.locator("td").nth(1)).to_have_text("3 Nov 2025")  # the page's language
        expect(kiran.locator(".pill")).to_have_text(EN["adm.needs_reverification"])

        # Tele-MANAS must keep 14416: the refusal says why, beside its contacts.
        tele = page.locator('#helpline-rows tr[data-helpline="tele_manas"]')
        tele.locator("button[data-action=edit]").click()
        page.locator("#hl-contact-1-uri").fill("tel:14417")
        page.locator("#hl-contact-1-display").fill("14417")
        form.locator("button[type=submit]").click()
        keeps = (
            EN["adm.hl_err_keeps_number"]
            .replace("{name}", "Tele-MANAS (Govt. of India)")
            .replace("{number}", "14416")
        )
        expect(page.locator("#hl-contact-1-display-error")).to_have_text(keeps)
        expect(page.locator("#hl-contact-1-display")).to_be_focused()
        page.keyboard.press("Escape")
        expect(form).to_be_hidden()
        expect(tele.locator("button[data-action=edit]")).to_be_focused()
        call = EN["contact.phone"]
        expect(tele.locator("td").nth(0)).to_have_text(
            f"{call.replace('{display}', '14416')}, {call.replace('{display}', '1-800-891-4416')}"
        )
        # A line's call and text numbers are often the same: each says what it does.
        lifeline = page.locator('#helpline-rows tr[data-helpline="lifeline_988"] td').nth(0)
        expect(lifeline).to_have_text(
            f"{call.replace('{display}', '988')}, {EN['contact.sms'].replace('{display}', '988')}"
        )

        # Tele-MANAS's hours can change: it stays mandatory without the form showing it.
        tele.locator("button[data-action=edit]").click()
        page.locator("#hl-hours").fill("24x7 (every day)")
        form.locator("button[type=submit]").click()
        expect(status).to_have_text(
            EN["adm.hl_saved"].replace("{name}", "Tele-MANAS (Govt. of India)")
        )
        expect(tele.locator("td").nth(1)).to_have_text("2025")  # a year stays a year

        # The audit log names each save, with the day as the table shows it.
        page.locator("#audit-action").select_option("helpline.")
        page.locator("#audit-filter button[type=submit]").click()
        audit = page.locator("#audit-rows tr")
        expect(audit).to_have_count(3)  # Tele-MANAS, KIRAN, Sneha: newest first
        expect(audit.nth(1)).to_contain_text(EN["adm.action.helpline.saved"])
        expect(audit.nth(1).locator(".admin-detail")).to_contain_text("verified_on: 3 Nov 2025")

        # The page in Hindi: the dates too.
        page.locator(".lang-switch__option[data-lang=hi]").click()
        expect(kiran.locator("td").nth(1)).to_have_text("3 नव॰ 2025")
        expect(kiran.locator(".pill")).to_have_text(HI["adm.needs_reverification"])
        expect(audit.nth(1).locator(".admin-detail")).to_contain_text("verified_on: 3 नव॰ 2025")

    # What a seeker's page and the volunteer console read now.
    shown = helplines(server)
    assert "sneha_chennai" not in shown_before
    sneha_line = shown["sneha_chennai"]
    assert sneha_line["contacts"] == [
        {"kind": "phone", "display": "044 2464 0050", "uri": "tel:04424640050"}
    ]
    assert (sneha_line["hours"], sneha_line["languages"], sneha_line["region"]) == (
        "24x7",
        ["en", "ta"],
        "IN",
    )
    assert sneha_line["verified"] is False and sneha_line["verified_on"] is None
    assert sneha_line["translations"] == [{"language": "hi", "name": "स्नेहा (चेन्नई)", "hours": None}]
    kiran_line = shown["kiran"]
    assert kiran_line["hours"] == "Mon-Sat 10:00-20:00"
    assert kiran_line["verified_on"] == "2025-11-03" and kiran_line["verified"] is True
    assert kiran_line["translations"] == [
        {"language": "hi", "name": "किरण हेल्पलाइन (भारत सरकार)", "hours": "सोम-शनि, सुबह 10 से रात 8"}
    ]
    # What the form does not show was sent back as it was.
    for key in ("contacts", "languages", "channels", "region", "source", "emergency"):
        assert kiran_line[key] == shown_before["kiran"][key], key
    tele_line = shown["tele_manas"]
    assert tele_line["hours"] == "24x7 (every day)"
    assert tele_line["contacts"] == shown_before["tele_manas"]["contacts"]
    assert tele_line["translations"] == shown_before["tele_manas"]["translations"]
    # Its notes the form does not show (GET gives them, so an edit sends them back) are kept.
    for key in ("hours_note", "cost", "language_note", "mandatory"):
        assert tele_line[key] == shown_before["tele_manas"][key], key
    assert shown["emergency_112"] == shown_before["emergency_112"]
    watch.check()


def test_the_helpline_form_fits_a_phone_in_both_languages(
    browser: Browser, server: LiveServer, watch: Watch, docs_shots: Path
) -> None:
    """At 360 px the form's contacts stack (kind, as shown, link, Remove), nothing makes the
    page scroll sideways, and axe finds nothing, in English and in Hindi."""
    server.create_user("admin", "adm1", ADMIN_PASSWORD)
    server.create_user("supervisor", "sup1", server.supervisor_password)
    with device(browser, watch, PHONE, timezone_id=ZONE) as (_, page):
        admin_logs_in(page, server)
        page.locator(
            '#helpline-rows tr[data-helpline="vandrevala"] button[data-action=edit]'
        ).click()
        expect(page.locator("#helpline-edit-title")).to_be_focused()
        expect(page.locator(".admin-contact")).to_have_count(2)
        for language, name in (
            ("en", "admin-helpline-form-phone"),
            ("hi", "admin-helpline-form-hi-phone"),
        ):
            if language == "hi":
                page.locator(".lang-switch__option[data-lang=hi]").click()
            expect(page.locator("html")).to_have_attribute("lang", language)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{language}: the page is {width} px wide"
            axe.check(page, f"admin, the helpline form on a phone ({language})", axe.EVERY_IMPACT)
            # Each contact's Remove is named for its contact, in the page's language.
            remove = (EN if language == "en" else HI)["adm.hl_contact_remove_n"]
            expect(page.get_by_role("button", name=remove.replace("{n}", "2"))).to_be_visible()
            page.evaluate("document.getElementById('helpline-edit-title').scrollIntoView()")
            shot(page, docs_shots, name)
            page.evaluate("document.getElementById('hl-contacts').scrollIntoView()")
            shot(page, docs_shots, name.replace("form", "contacts"))
    with device(browser, watch, DESKTOP, timezone_id=ZONE) as (_, page):
        admin_logs_in(page, server)
        page.locator(
            '#helpline-rows tr[data-helpline="vandrevala"] button[data-action=edit]'
        ).click()
        page.evaluate("document.getElementById('helpline-edit-title').scrollIntoView()")
        shot(page, docs_shots, "admin-helpline-form-desktop")
    watch.check()


def test_an_admin_removes_a_closed_helpline_after_saying_yes(
    browser: Browser, server: LiveServer, watch: Watch, docs_shots: Path
) -> None:
    """A line that closed kept being offered to seekers: the admin page could not take it out.
    Each row but Tele-MANAS's and 112's has Remove, which asks in the row first ("Keep it"
    puts the row back, focus on Remove); "Yes, remove it" takes the line out of what seekers
    are offered, a status line says so and the focus goes to "Add a helpline". By keyboard."""
    server.create_user("admin", "adm1", ADMIN_PASSWORD)
    server.create_user("supervisor", "sup1", server.supervisor_password)
    assert "aasra" in helplines(server)
    with device(browser, watch, DESKTOP, timezone_id=ZONE) as (_, page):
        admin_logs_in(page, server)
        for mandatory in ("tele_manas", "emergency_112"):
            row = page.locator(f'#helpline-rows tr[data-helpline="{mandatory}"]')
            expect(row.locator("button[data-action=edit]")).to_be_visible()
            expect(row.locator("button[data-action=remove]")).to_have_count(0)
        row = page.locator('#helpline-rows tr[data-helpline="aasra"]')
        name = helplines(server)["aasra"]["name"]
        remove = row.locator("button[data-action=remove]")
        expect(remove).to_have_attribute("aria-label", f"Remove {name}")
        remove.focus()
        page.keyboard.press("Enter")
        yes = row.locator("button[data-action=remove-confirm]")
        expect(yes).to_be_focused()
        expect(row).to_contain_text(f"Remove {name} from the directory?")
        axe.check(page, "admin, removing a helpline asks first", axe.EVERY_IMPACT)
        shot(page, docs_shots, "admin-helpline-remove-desktop")
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")  # Keep it
        expect(remove).to_be_focused()
        assert "aasra" in helplines(server)

        page.keyboard.press("Enter")
        expect(yes).to_be_focused()
        page.keyboard.press("Enter")  # Yes, remove it
        expect(page.locator("#helplines-status")).to_have_text(
            f"{name} was removed: seekers are no longer offered it."
        )
        expect(row).to_have_count(0)
        expect(page.locator("#helpline-add")).to_be_focused()
        assert "aasra" not in helplines(server)
        assert {"tele_manas", "emergency_112"} <= set(helplines(server))


def test_a_language_chosen_while_the_page_loads_its_words_is_the_one_shown(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    """On a slow network the staff pages' language switch did nothing until the page's first
    strings had arrived (its clicks were wired after them), and a first load finishing after a
    choice could undo it. Here English is held back, Hindi chosen meanwhile: Hindi it is."""
    server.create_user("admin", "adm1", ADMIN_PASSWORD)
    held: list = []
    with device(browser, watch, PHONE) as (_, page):
        page.route("**/i18n/en.json", lambda route: held.append(route))
        page.goto(server.base_url + "/admin", wait_until="domcontentloaded")
        while not held:
            page.wait_for_timeout(50)
        page.locator(".lang-switch__option[data-lang=hi]").click()
        page.wait_for_timeout(200)
        for route in held:
            route.continue_()
        page.unroute("**/i18n/en.json")
        expect(page.locator("#login-title")).to_have_text(HI["adm.login_title"])
        expect(page.locator(".lang-switch__option[data-lang=hi]")).to_have_attribute(
            "aria-pressed", "true"
        )
        expect(page.locator("html")).to_have_attribute("lang", "hi")
