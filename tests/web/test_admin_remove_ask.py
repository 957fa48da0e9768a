"""Removing a helpline asks in its row. On a phone the table scrolls sideways under its sticky
column of names, and the question came in scrolled beneath them: "Yes, remove it" had the
focus but could not be seen, nor the start of the question. And a second row asked while the
first still did, so a screen reader's list of buttons read "Yes, remove it, Keep it, Yes,
remove it, Keep it" with nothing to tell them apart. Now the question starts beside the names
and one row asks at a time, its "Keep it" described by the question like "Yes, remove it"."""

from __future__ import annotations

from typing import TYPE_CHECKING

import axe
import pytest
from playwright.sync_api import Browser, expect
from test_admin import ADMIN_PASSWORD, ZONE, admin_logs_in
from test_browser import EN, HI, PHONE, Watch, device

if TYPE_CHECKING:
    from conftest import LiveServer

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("language", ["en", "hi"])
def test_on_a_phone_one_row_asks_and_its_answer_is_in_view(
    browser: Browser, server: LiveServer, watch: Watch, language: str
) -> None:
    words = EN if language == "en" else HI
    server.create_user("admin", "adm1", ADMIN_PASSWORD)
    server.create_user("supervisor", "sup1", server.supervisor_password)
    with device(browser, watch, PHONE, timezone_id=ZONE) as (_, page):
        admin_logs_in(page, server)
        if language == "hi":
            page.locator(".lang-switch__option[data-lang=hi]").click()
            expect(page.locator("html")).to_have_attribute("lang", "hi")
        aasra = page.locator('#helpline-rows tr[data-helpline="aasra"]')
        aasra.locator("button[data-action=remove]").click()
        yes = aasra.locator("button[data-action=remove-confirm]")
        expect(yes).to_be_focused()
        expect(yes).to_have_text(words["adm.hl_remove_yes"])
        name = aasra.locator("th").bounding_box()
        wrap = page.locator("#helplines-panel .table-wrap").bounding_box()
        assert name and wrap
        for part in (yes, aasra.locator(".admin-remove-ask")):
            box = part.bounding_box()
            assert box, part
            assert box["x"] >= name["x"] + name["width"] - 1, (part, box, name)
        box = yes.bounding_box()
        assert box and box["x"] + box["width"] <= wrap["x"] + wrap["width"] + 1, (box, wrap)
        question = aasra.locator(".admin-remove-ask").get_attribute("id")
        expect(aasra.locator("button[data-action=remove-keep]")).to_have_attribute(
            "aria-describedby", question or "?"
        )
        axe.check(page, f"admin, a row asks before removing ({language})", axe.EVERY_IMPACT)

        vandrevala = page.locator('#helpline-rows tr[data-helpline="vandrevala"]')
        vandrevala.locator("button[data-action=remove]").click()
        expect(vandrevala.locator("button[data-action=remove-confirm]")).to_be_focused()
        expect(page.locator("button[data-action=remove-confirm]")).to_have_count(1)
        expect(page.locator("button[data-action=remove-keep]")).to_have_count(1)
        expect(aasra.locator("button[data-action=remove]")).to_be_visible()
    watch.check()
