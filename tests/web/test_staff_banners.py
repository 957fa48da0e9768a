"""The staff banners' buttons stay readable when hovered or focused, in every banner variant
(warm, urgent, calm) on the supervisors' desk and the volunteer console: hovering Dismiss or
Open conversation on the urgent banner turned its text white on white (and white on the
secondary button's pale hover), because the buttons' own hover rules outranked the banner's."""

from __future__ import annotations

from typing import TYPE_CHECKING

import axe
import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from test_browser import DESKTOP, Watch, device, supervisor_logs_in, volunteer_logs_in

if TYPE_CHECKING:
    from conftest import LiveServer

pytestmark = pytest.mark.browser

#: WCAG AA for normal-size text.
AA = 4.5

#: The text's contrast with what is really behind it: a transparent background is composited
#: over its ancestors' (the banner's), as the eye sees it.
CONTRAST = """(element) => {
  const rgba = (value) => {
    const [r, g, b, a = 1] = value.match(/[\\d.]+/g).map(Number);
    return [r, g, b, a];
  };
  const over = (top, bottom) => top.slice(0, 3).map((c, i) => c * top[3] + bottom[i] * (1 - top[3]));
  const layers = [];
  for (let node = element; node; node = node.parentElement) {
    layers.push(rgba(getComputedStyle(node).backgroundColor));
  }
  let back = [255, 255, 255];
  for (const layer of layers.reverse()) back = over(layer, back);
  const text = over(rgba(getComputedStyle(element).color), back);
  const luminance = (rgb) => {
    const [r, g, b] = rgb.map((c) => {
      const s = c / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [hi, lo] = [luminance(text), luminance(back)].sort((a, b) => b - a);
  return (hi + 0.05) / (lo + 0.05);
}"""

#: A focus ring's contrast with the banner it is drawn on (the outline is offset outside the
#: button): WCAG's 3:1 for what is not text.
RING = """(element) => {
  const rgb = (value) => value.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const luminance = (value) => {
    const [r, g, b] = rgb(value).map((c) => {
      const s = c / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ring = luminance(getComputedStyle(element).outlineColor);
  const banner = luminance(getComputedStyle(element.closest(".banner")).backgroundColor);
  const [hi, lo] = [ring, banner].sort((a, b) => b - a);
  return (hi + 0.05) / (lo + 0.05);
}"""

#: The banner variants, as the pages' scripts draw them (staff.js's showStaffAlert toggles
#: these classes; #page-alert and #cooldown carry theirs in the HTML).
VARIANTS = ("", "banner--urgent", "banner--calm")


def show_banner(page: Page, banner: str, variant: str | None) -> None:
    """Show ``banner`` with all its buttons, as ``variant`` (None: its own classes)."""
    page.evaluate(
        """([id, variant]) => {
          const banner = document.getElementById(id);
          if (variant !== null) {
            banner.classList.remove("banner--urgent", "banner--calm");
            if (variant) banner.classList.add(variant);
          }
          banner.querySelector(".banner__text").textContent ||= "A banner's words.";
          banner.querySelectorAll("button").forEach((button) => { button.hidden = false; });
          banner.hidden = false;
        }""",
        [banner, variant],
    )


def settled(button: Locator) -> float:
    """The button's text contrast once its colour transition (0.15 s) is over."""
    button.page.wait_for_timeout(250)
    return button.evaluate(CONTRAST)


def assert_buttons_readable(page: Page, banner: str, variant: str | None) -> None:
    show_banner(page, banner, variant)
    buttons = page.locator(f"#{banner} button")
    assert buttons.count() > 0
    for i in range(buttons.count()):
        button = buttons.nth(i)
        name = f"#{banner}.{variant or 'own'} {button.inner_text()!r}"
        page.mouse.move(0, 0)
        assert settled(button) >= AA, f"{name} at rest"
        button.hover()
        assert settled(button) >= AA, f"{name} hovered"
        page.mouse.move(0, 0)
        page.keyboard.press("Tab")  # a keyboard in use: focus shows its ring (:focus-visible)
        button.focus()
        assert button.evaluate("(b) => b.matches(':focus-visible')"), name
        assert settled(button) >= AA, f"{name} focused"
        assert button.evaluate(RING) >= 3, f"{name}'s focus ring"
        button.hover()
        assert settled(button) >= AA, f"{name} focused and hovered"
    axe.check(page, f"{banner} as {variant or 'own'}")
    page.evaluate("(id) => { document.getElementById(id).hidden = true; }", banner)


def test_banner_buttons_stay_readable_hovered_and_focused_on_the_desk(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    server.create_user("supervisor", "sup1", server.supervisor_password)
    with device(browser, watch, DESKTOP) as (_, desk):
        supervisor_logs_in(desk, server)
        expect(desk.locator("#staff-alert-open")).to_be_attached()
        for variant in VARIANTS:
            assert_buttons_readable(desk, "staff-alert", variant)
        assert_buttons_readable(desk, "page-alert", None)
    watch.check()


def test_banner_buttons_stay_readable_hovered_and_focused_on_the_console(
    browser: Browser, server: LiveServer, watch: Watch
) -> None:
    with device(browser, watch, DESKTOP) as (_, console):
        volunteer_logs_in(console, server)
        for variant in VARIANTS:
            assert_buttons_readable(console, "staff-alert", variant)
        assert_buttons_readable(console, "cooldown", None)
    watch.check()
