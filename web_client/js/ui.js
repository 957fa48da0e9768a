// Small DOM, REST and feedback helpers shared by the three pages.
// Text from people or the server is always set with textContent, never parsed as HTML.

import { bind, language, t, unbind } from "./i18n.js";

/**
 * Create an element. `options.text` becomes textContent; `options.i18n` a data-i18n key;
 * `options.attrs` plain attributes; `options.class` the class list.
 */
export function el(tag, options = {}, children = []) {
  const node = document.createElement(tag);
  if (options.class) node.className = options.class;
  if (options.text !== undefined && options.text !== null) node.textContent = String(options.text);
  if (options.i18n) {
    node.dataset.i18n = options.i18n;
    if (options.vars) node.dataset.i18nVars = JSON.stringify(options.vars);
    node.textContent = t(options.i18n, options.vars || {});
  }
  for (const [name, value] of Object.entries(options.attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

/** Shorthand for document.getElementById. */
export const $ = (id) => document.getElementById(id);

// What the server counts as showing nothing (app/chat/protocol.py, `text_empty`): white space,
// zero-width and other format characters, blank letters.
const INVISIBLE = /^[\s\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\u{1bca0}-\u{1bca3}\u{1d173}-\u{1d17a}\u{e0000}-\u{e007f}\u{e0100}-\u{e01ef}]*$/u;

/** A composer's text as it is sent (trimmed), or "" when it would show nothing. */
export function messageText(value) {
  const text = String(value || "").trim();
  return INVISIBLE.test(text) ? "" : text;
}

/** Show exactly one of the page's screens (`[data-screen]`), and move focus to its heading. */
export function showScreen(name, { focus = true } = {}) {
  for (const screen of document.querySelectorAll("[data-screen]")) {
    screen.hidden = screen.dataset.screen !== name;
  }
  if (!focus) return;
  const target = document.querySelector(`[data-screen="${name}"] [data-autofocus], [data-screen="${name}"] h1, [data-screen="${name}"] h2`);
  if (target) {
    if (!target.hasAttribute("tabindex") && !/^(INPUT|BUTTON|TEXTAREA|SELECT|A)$/.test(target.tagName)) {
      target.setAttribute("tabindex", "-1");
    }
    target.focus({ preventScroll: false });
  }
}

/** A REST call. Resolves to {ok, status, data}; never throws for HTTP errors. */
export async function api(path, { method = "GET", body, token } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    return { ok: false, status: 0, data: { error: { code: "network", message: "" } } };
  }
  let data = null;
  if (response.status !== 204) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }
  // A 429 says how many seconds to wait (Retry-After); null when it does not.
  const retryAfter = Number.parseInt(response.headers.get("Retry-After") || "", 10);
  return { ok: response.ok, status: response.status, data, retryAfter: retryAfter > 0 ? retryAfter : null };
}

/** Keep only what a tel: link may hold. */
export function telHref(number) {
  const digits = String(number || "").replace(/[^\d+]/g, "");
  return digits ? `tel:${digits}` : null;
}

/** A contact link the page may show: tel/sms (digits only), mailto, or https. Else null. */
export function contactHref(uri) {
  const value = String(uri || "").trim();
  const phone = /^(tel|sms):(\+?[\d-]+)$/i.exec(value);
  if (phone) return `${phone[1].toLowerCase()}:${phone[2].replace(/-/g, "")}`;
  if (/^mailto:[^\s@]+@[^\s@]+$/i.test(value)) return value;
  if (/^https:\/\/\S+$/i.test(value)) return value;
  return null;
}

/**
 * A call button's text as one span (the button is a flex box: one item, so the words flow),
 * each phone number in it (digits joined by "-" or spaces, a "+" before) a span of its own
 * (.button__number) that never breaks across lines: the words around it may wrap, the number
 * may not. --chars lets the CSS shrink a long number to fit a phone.
 */
export function callLabel(text) {
  const value = String(text);
  const label = el("span", { class: "button__label" });
  let last = 0;
  for (const match of value.matchAll(/\+?\d(?:[\d -]*\d)?/g)) {
    if (match.index > last) label.append(value.slice(last, match.index));
    const number = el("span", { class: "button__number", text: match[0] });
    number.style.setProperty("--chars", String(match[0].length));
    label.append(number);
    last = match.index + match[0].length;
  }
  if (last < value.length) label.append(value.slice(last));
  return label;
}

/**
 * The language switch says which language is on (aria-pressed). On a phone it shows only the
 * other one, so the button just pressed hides: the keyboard goes to the one now shown (it fell
 * to the top of the page).
 */
export function renderLanguageSwitch() {
  const options = [...document.querySelectorAll(".lang-switch__option")];
  const focused = options.find((button) => button === document.activeElement);
  for (const button of options) button.setAttribute("aria-pressed", String(button.dataset.lang === language()));
  if (focused && !focused.getClientRects().length) options.find((button) => button.getClientRects().length)?.focus();
}

const CONTACT_KINDS = new Set(["phone", "sms", "whatsapp", "email", "web"]);

/** A helpline's links, from either shape: numbers [{label, tel}] or contacts [{display, uri}]. */
function helplineLinks(helpline) {
  const links = [];
  for (const number of helpline.numbers || []) {
    const href = telHref(number.tel);
    if (href) links.push({ href, text: number.label || number.tel, kind: "phone" });
  }
  for (const contact of helpline.contacts || []) {
    const href = contactHref(contact.uri);
    if (href) links.push({ href, text: contactText(contact), kind: contactKind(contact) });
  }
  return links;
}

function contactKind(contact) {
  return CONTACT_KINDS.has(contact.kind) ? contact.kind : "phone";
}

/**
 * A contact as words that say what it does ("Call 988", "Text 988"): a WhatsApp or web link
 * must not read like a phone number, and a line's call and text numbers are often the same.
 */
export function contactText(contact) {
  return t(`contact.${contactKind(contact)}`, { display: contact.display || contact.uri });
}

/**
 * A card of helplines: `helplines` is [{name, numbers: [{label, tel}], hours}].
 * `intro` is a warm sentence shown above the list.
 */
export function helplineCard(helplines, intro, emergency) {
  // A group, not a landmark: a chat may hold several cards, and landmarks need unique names.
  const card = el("div", { class: "helpline-card", attrs: { role: "group", "aria-label": t("helplines.title") } });
  if (intro) card.append(el("p", { class: "helpline-card__intro", text: intro }));
  if (emergency) card.append(el("p", { class: "helpline-card__emergency", text: emergency }));
  const list = el("ul", { class: "helpline-list" });
  for (const helpline of helplines || []) {
    const item = el("li", { class: "helpline" });
    item.append(el("p", { class: "helpline__name", text: helpline.name }));
    if (helpline.hours) item.append(el("p", { class: "helpline__hours", text: helpline.hours }));
    const numbers = el("div", { class: "helpline__numbers" });
    for (const link of helplineLinks(helpline)) {
      const phone = link.href.startsWith("tel:");
      const attrs = { href: link.href };
      if (link.href.startsWith("https:")) Object.assign(attrs, { rel: "noopener noreferrer", target: "_blank" });
      // A number never breaks inside its button (callLabel); the label around it may wrap.
      numbers.append(el("a", { class: `button ${phone ? "button--call" : "button--quiet button--small"}`, attrs }, [phone ? callLabel(link.text) : link.text]));
    }
    item.append(numbers);
    list.append(item);
  }
  card.append(list);
  return card;
}

/** Say something to screen-reader users through a live region. */
export function announce(regionId, text) {
  const region = $(regionId);
  if (!region) return;
  region.textContent = "";
  // A fresh text node after a tick makes repeated identical messages announced again.
  setTimeout(() => { region.textContent = text; }, 30);
}

/**
 * Send `frame`; whether it went. Nothing goes while the socket reconnects: `line` (a live
 * region) then says so, scrolled into view, and the caller changes nothing. A later send
 * clears it.
 */
export function sendOrSayNotSent(conn, frame, line) {
  const sent = Boolean(conn?.send(frame));
  if (!sent) {
    line.hidden = false;
    unbind(line); // empty first: a second failed try is announced again
    setTimeout(() => {
      bind(line, "conn.not_sent");
      line.scrollIntoView({ block: "nearest" }); // a panel that scrolls may hide it below the button
    }, 30);
  } else if (line.dataset.i18n === "conn.not_sent") unbind(line);
  return sent;
}

// ---- modal dialogs ---------------------------------------------------------------------------

/** What a live region of the page is: it speaks when its text changes. */
const LIVE_REGION = '[aria-live]:not([aria-live="off"]), [role="status"], [role="alert"], [role="log"]';

const watchedDialogs = new WeakSet();
let regionWatch = null;
/** Regions the page says from #sr-alert itself while a dialog is open (the staff banner). */
let quiet = [];
/** An element carried into the open dialog → the mark where it goes back to. */
const carried = new Map();
/** live region → the text last said again from it (a text set again is not said twice). */
let lastSaid = new WeakMap();
let pending = [];

/** The topmost modal dialog open, or undefined. */
const openModalDialog = () => [...document.querySelectorAll("dialog")].filter((dialog) => dialog.matches(":modal")).at(-1);

/**
 * Open a modal dialog. It hides the rest of the page from screen readers, so while it is open
 * the page's alert region (#sr-alert) is in it, and what the page's other live regions say
 * meanwhile (a message or note added to a chat, a connection notice, a queue place, a status
 * line) is said again, once, from the page's status region (#sr-status, polite; made when the
 * page has none), also in it. `carry`: elements of the page that go into the dialog too, first
 * (the seeker's Quick exit: the top layer is above it). `quiet`: ids of live regions the page
 * says from #sr-alert itself meanwhile. All go back when the last modal dialog closes (to a
 * dialog still open before that): not on the "close" event of a closing the dialog was opened
 * again after (the event is a task of its own: Esc or Enter on Close, then Enter on the button
 * the focus went back to).
 */
export function openModal(dialog, { carry = [], quiet: ids = [] } = {}) {
  if (!watchedDialogs.has(dialog)) {
    watchedDialogs.add(dialog);
    dialog.addEventListener("close", () => dialog.open || settleRegions());
  }
  quiet = ids;
  for (const node of carry) {
    if (carried.has(node)) continue;
    const mark = document.createComment("");
    node.before(mark);
    carried.set(node, mark);
  }
  dialog.append(...carried.keys(), $("sr-alert"), statusRegion());
  if (!dialog.open) dialog.showModal();
  watchRegions();
}

function statusRegion() {
  let region = $("sr-status");
  if (!region) {
    region = el("div", { class: "visually-hidden", attrs: { id: "sr-status", "aria-live": "polite" } });
    document.body.append(region);
  }
  return region;
}

/** The regions go to the modal dialog still open, else back to the page, emptied. */
function settleRegions() {
  const open = openModalDialog();
  if (open) {
    open.append(...carried.keys(), $("sr-alert"), statusRegion());
    return;
  }
  regionWatch?.disconnect();
  regionWatch = null;
  pending = [];
  lastSaid = new WeakMap();
  for (const [node, mark] of carried) mark.replaceWith(node);
  carried.clear();
  document.body.append($("sr-alert"), statusRegion());
  statusRegion().replaceChildren();
}

function watchRegions() {
  if (regionWatch) return;
  // What the regions say now was heard before the dialog opened: only a change is said again.
  for (const region of document.querySelectorAll(LIVE_REGION)) {
    if (region.checkVisibility()) lastSaid.set(region, textOf(region));
  }
  regionWatch = new MutationObserver(onPageChange);
  // `hidden` too: a region shown with its words in it (the seeker's connection notice).
  regionWatch.observe(document.body, { childList: true, subtree: true, characterData: true, attributeFilter: ["hidden"] });
}

/** The words a screen reader would have heard from the page's live regions, said again. */
function onPageChange(records) {
  const dialog = openModalDialog();
  if (!dialog) return;
  const whole = new Set();
  for (const record of records) {
    const node = record.target.nodeType === Node.ELEMENT_NODE ? record.target : record.target.parentElement;
    const region = node?.closest(LIVE_REGION);
    if (!region || dialog.contains(region) || region.id === "sr-alert" || region.id === "sr-status" || quiet.includes(region.id)) continue;
    if (!region.checkVisibility()) {
      // Hidden: its words are said again when it shows again.
      lastSaid.delete(region);
      continue;
    }
    const relevant = region.getAttribute("aria-relevant") || "";
    if (relevant === "additions") {
      // A list that says only what is added (a chat's messages): each new entry, once.
      if (record.target !== region) continue;
      for (const added of record.addedNodes) say(textOf(added));
    } else {
      whole.add(region);
    }
  }
  for (const region of whole) {
    const text = textOf(region);
    if (lastSaid.get(region) === text) continue;
    lastSaid.set(region, text);
    say(text);
  }
}

function textOf(node) {
  const text = node.nodeType === Node.ELEMENT_NODE ? node.innerText : node.textContent;
  return String(text || "").replace(/\s+/g, " ").trim();
}

function say(text) {
  if (!text) return;
  // Said after announce() has filled #sr-alert, so that what it says is not said twice.
  if (!pending.length) setTimeout(flushSaid, 60);
  pending.push(text);
}

function flushSaid() {
  const texts = [...new Set(pending)].filter((text) => text !== $("sr-alert").textContent.trim());
  pending = [];
  const region = statusRegion();
  for (const text of texts) region.append(el("p", { text }));
  // Read as they are added; the old ones need not stay.
  while (region.childElementCount > 10) region.firstElementChild.remove();
}
