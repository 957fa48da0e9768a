// Shared by the volunteer console and the supervisor desk: login, the staff session (token in
// sessionStorage, so it dies with the tab), logout, the language switch and staff.alert banners.

import { Connection, Status } from "./protocol.js";
import { bind, onLanguageChange, setLanguage, t, tOr, unbind } from "./i18n.js";
import { $, announce, api, openModal as openModalWith, renderLanguageSwitch, showScreen } from "./ui.js";

const SESSION_KEY = "peerline.staff";
const LANG_KEY = "peerline.staff.lang";

/**
 * The header's connection pill. Once the socket is open again, every "Not sent" line
 * (`sendOrSayNotSent` in ui.js) goes: the action can be tried again. Kept here, not in ui.js,
 * so the seeker's first visit does not carry it (the seeker page clears its own lines).
 */
function renderConnection(status) {
  const pill = $("conn-state");
  pill.hidden = status === Status.OPEN;
  if (status === Status.OPEN) {
    for (const line of document.querySelectorAll('[data-i18n="conn.not_sent"]')) unbind(line);
  } else if (status === Status.RECONNECTING) bind(pill, "conn.reconnecting_short");
  else if (status === Status.CONNECTING) bind(pill, "conn.connecting");
  else bind(pill, "conn.offline");
}

export function loadStaffSession() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
    if (!saved?.access_token) return null;
    if (saved.expires_at && Date.parse(saved.expires_at) <= Date.now()) {
      sessionStorage.removeItem(SESSION_KEY);
      return null;
    }
    return saved;
  } catch {
    return null;
  }
}

function saveStaffSession(session) {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

export function clearStaffSession() {
  try { sessionStorage.removeItem(SESSION_KEY); } catch { /* ignore */ }
}

/** Set up the language switch in the staff top bar. */
export async function initLanguage() {
  let lang = "en";
  try { lang = sessionStorage.getItem(LANG_KEY) || "en"; } catch { /* ignore */ }
  // The switch works from the first moment: a click while the page's first strings are still
  // on their way was lost (the handlers came after them), and setLanguage lets the last
  // choice win, so the first load finishing later does not undo it.
  for (const button of document.querySelectorAll(".lang-switch__option")) {
    button.addEventListener("click", async () => {
      try { sessionStorage.setItem(LANG_KEY, button.dataset.lang); } catch { /* ignore */ }
      await setLanguage(button.dataset.lang);
    });
  }
  onLanguageChange(renderLanguageSwitch); // also for the first language, below
  await setLanguage(lang);
}

/**
 * Wire the login form. `roles` lists the roles allowed on this page; `onSession(session)` runs
 * with a valid session (from the form or from sessionStorage). With `onWrongRole(session)`, a
 * signed-in account of another role is handed to it (the admin console says "admins only")
 * instead of a form error.
 */
export function initLogin({ roles, onSession, onWrongRole }) {
  const form = $("login-form");
  const error = $("login-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const username = $("login-username").value.trim();
    const password = $("login-password").value;
    if (!username || !password) {
      bind(error, "login.missing");
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    const answer = await api("/api/v1/auth/login", { method: "POST", body: { username, password } });
    button.disabled = false;
    // Disabled while it asked, the button lost the focus to the top of the page: a refusal
    // puts it on the password, ready to be typed again.
    const again = () => {
      $("login-password").focus();
      $("login-password").select();
    };
    if (!answer.ok) {
      const code = answer.data?.error?.code;
      if (code === "login_throttled") bind(error, "login.throttled", { seconds: answer.retryAfter || 1 });
      else if (code === "login_busy") bind(error, "login.busy");
      else bind(error, answer.status === 401 ? "login.invalid" : "login.failed");
      again();
      return;
    }
    if (!roles.includes(answer.data.role) && !onWrongRole) {
      bind(error, "login.wrong_role");
      again();
      return;
    }
    $("login-password").value = "";
    const session = {
      access_token: answer.data.access_token,
      expires_at: answer.data.expires_at,
      role: answer.data.role,
      user_id: answer.data.user_id,
      alias: answer.data.alias,
    };
    saveStaffSession(session);
    if (roles.includes(session.role)) onSession(session);
    else onWrongRole(session);
  });

  const saved = loadStaffSession();
  if (saved && roles.includes(saved.role)) onSession(saved);
  else if (saved && onWrongRole) onWrongRole(saved);
  else showScreen("login");
}

/**
 * Open the staff WebSocket, its state shown in the page's pill from the first attempt on; a 4401
 * (token revoked or expired) returns to the login form.
 */
export function openStaffConnection(session, { onUnauthorized } = {}) {
  const conn = new Connection({ token: session.access_token });
  // Before start(): its first "connecting" is emitted at once, and the pill must say it.
  conn.addEventListener("status", (event) => renderConnection(event.detail.status));
  conn.addEventListener("unauthorized", () => {
    clearStaffSession();
    const notice = $("login-error");
    if (notice) bind(notice, "login.session_ended");
    onUnauthorized?.();
    showScreen("login");
  });
  conn.start();
  return conn;
}

/** Log out: revoke the token on the server, forget it here, back to the login form. */
export async function logout(session, conn) {
  conn?.stop();
  if (session) await api("/api/v1/auth/logout", { method: "POST", token: session.access_token });
  clearStaffSession();
  window.location.reload();
}

let openAlerted = null;
/**
 * The alerts nobody has dealt with yet, oldest first: `{frame, onOpen, vars}`. The banner
 * shows the newest; Dismiss or Open takes it away and the next newest shows. A settled
 * notice (SETTLED_CODES) is shown over them but never kept: once replaced it is gone.
 */
let waiting = [];
let shown = null; // the entry the banner shows (one of `waiting`, or a settled notice), or null

/** Codes of the page's own notices that an alert is answered: calm, not urgent. */
const SETTLED_CODES = ["method_cue_screened"];
const URGENT_CODES = ["no_supervisor_on_call", "nobody_on_call", "method_cue", "quick_exit", "volunteer_vanished"];

/** The same alert: the same code about the same conversation (or about none). */
function sameAlert(a, b) {
  return (a.code || "") === (b.code || "") && (a.conversation_id || "") === (b.conversation_id || "");
}

/** Set a text only when it changes: the banner is a live region, so a rewrite is a re-read. */
function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/** A banner with the keyboard in it closed (Dismiss): the focus goes to the page's main
 * content, not to the top of the page (<body>), where the next Tab started over. */
export function keepFocusOnPage() {
  const main = $("main");
  main.setAttribute("tabindex", "-1");
  main.focus({ preventScroll: true });
}

/** Draw `entry` in the banner with the count of the others that wait, or close it (null). */
function draw(entry) {
  const banner = $("staff-alert");
  if (!banner) return;
  shown = entry;
  const open = $("staff-alert-open");
  if (!entry) {
    openAlerted = null;
    const had = banner.contains(document.activeElement);
    banner.hidden = true;
    if (had) keepFocusOnPage();
    return;
  }
  const { frame, onOpen, vars } = entry;
  // Known codes get a translated text; others show the server's own message.
  setText(banner.querySelector(".banner__text"), tOr(`alert.${frame.code}`, frame.message || frame.code, vars?.() || {}));
  banner.dataset.code = frame.code || "";
  banner.classList.toggle("banner--urgent", frame.severity === "critical" || URGENT_CODES.includes(frame.code));
  banner.classList.toggle("banner--calm", SETTLED_CODES.includes(frame.code));
  const more = waiting.filter((other) => other !== entry).length;
  const counter = banner.querySelector(".banner__more");
  if (counter) {
    setText(counter, more ? t(more === 1 ? "staff.alert_more_one" : "staff.alert_more", { count: more }) : "");
    counter.hidden = !more;
  }
  banner.dataset.waiting = String(more);
  if (open) {
    const id = onOpen && frame.conversation_id ? frame.conversation_id : null;
    // Focus stays in the banner: on Dismiss when the Open button it was on goes.
    if (!id && document.activeElement === open) $("staff-alert-close")?.focus();
    open.hidden = !id;
    banner.dataset.conversationId = id || "";
    openAlerted = id ? () => onOpen(id) : null;
    if (id) open.setAttribute("aria-label", t("staff.alert_open_id", { id: String(id).slice(0, 6) }));
  } else {
    banner.dataset.conversationId = frame.conversation_id || "";
  }
  banner.hidden = false;
}

/**
 * Show a `staff.alert {code, message}` (e.g. nobody on call) in the page banner, over the
 * alerts that still wait (they come back, newest first, as each shown one is dismissed or
 * opened; the banner says how many wait). An alert with the same code and conversation as
 * one that waits replaces it. An alert about a conversation gets an "Open conversation"
 * button (where the page passed `onOpen`) that opens it and takes it away. `vars()` fills
 * the translated text's {slots} (called again when the language changes). The banner keeps
 * the code and conversation it shows (`data-code`, `data-conversation-id`) and how many
 * more wait (`data-waiting`).
 */
export function showStaffAlert(frame, { onOpen, vars } = {}) {
  if (!$("staff-alert")) return;
  const entry = { frame, onOpen, vars };
  waiting = waiting.filter((other) => !sameAlert(other.frame, frame));
  if (!SETTLED_CODES.includes(frame.code)) waiting.push(entry);
  draw(entry);
  // Under an open modal dialog the banner is hidden from screen readers: said from the page's
  // alert region, which the dialog holds (the volunteer's debrief).
  if (document.querySelector("dialog:modal")) announce("sr-alert", $("staff-alert").querySelector(".banner__text").textContent);
}

/**
 * Take away the alerts `match(frame)` is true of: those that wait, and the shown one. When
 * the shown one goes, the newest that still waits shows, else the banner closes. Returns
 * whether the shown one went.
 */
export function dropStaffAlerts(match) {
  const before = waiting.length;
  waiting = waiting.filter((entry) => !match(entry.frame));
  const shownGone = shown !== null && match(shown.frame);
  if (shownGone) draw(waiting.at(-1) || null);
  else if (shown && waiting.length !== before) draw(shown); // the count
  return shownGone;
}

/** The alert the banner shows, or null when it is closed. */
export function shownStaffAlert() {
  return shown && $("staff-alert")?.hidden === false ? shown.frame : null;
}

/** Take away the alerts about this conversation (it was opened another way). */
export function clearStaffAlertFor(conversationId) {
  if (conversationId) dropStaffAlerts((frame) => frame.conversation_id === conversationId);
}

/** The shown alert was dealt with (Dismiss, Open): the next newest that waits shows. */
function takeShownAway() {
  const gone = shown;
  waiting = waiting.filter((entry) => entry !== gone);
  draw(waiting.at(-1) || null);
}

export function initAlertBanner() {
  onLanguageChange(() => {
    if (shownStaffAlert()) draw(shown);
  });
  $("staff-alert-close")?.addEventListener("click", takeShownAway);
  $("staff-alert-open")?.addEventListener("click", () => {
    const open = openAlerted;
    takeShownAway();
    open?.();
  });
}

// ---- modal dialogs (the volunteer's debrief) -------------------------------------------------

/**
 * Open a modal dialog (`openModal` in ui.js): the page's alert and status regions go into it,
 * and what the page's live regions say meanwhile is said from it. The banner is not said
 * twice: showStaffAlert says it from the alert region.
 */
export const openModal = (dialog) => openModalWith(dialog, { quiet: ["staff-alert"] });
