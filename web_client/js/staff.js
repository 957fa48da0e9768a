// Shared by the volunteer console and the supervisor desk: login, the staff session (token in
// sessionStorage, so it dies with the tab), logout, the language switch and staff.alert banners.

import { Connection, Status } from "./protocol.js";
import { bind, language, onLanguageChange, setLanguage, t, tOr, unbind } from "./i18n.js";
import { $, api, showScreen } from "./ui.js";

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
  await setLanguage(lang);
  const render = () => {
    for (const button of document.querySelectorAll(".lang-switch__option")) {
      button.setAttribute("aria-pressed", String(button.dataset.lang === language()));
    }
  };
  render();
  onLanguageChange(render);
  for (const button of document.querySelectorAll(".lang-switch__option")) {
    button.addEventListener("click", async () => {
      const chosen = await setLanguage(button.dataset.lang);
      try { sessionStorage.setItem(LANG_KEY, chosen); } catch { /* ignore */ }
    });
  }
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
    if (!answer.ok) {
      const code = answer.data?.error?.code;
      if (code === "login_throttled") bind(error, "login.throttled", { seconds: answer.retryAfter || 1 });
      else if (code === "login_busy") bind(error, "login.busy");
      else bind(error, answer.status === 401 ? "login.invalid" : "login.failed");
      return;
    }
    if (!roles.includes(answer.data.role) && !onWrongRole) {
      bind(error, "login.wrong_role");
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
let shownAlert = null; // [frame, options] of the banner, drawn again in a new language

/** Codes of the page's own notices that an alert is answered: calm, not urgent. */
const SETTLED_CODES = ["method_cue_screened"];

/**
 * Show a `staff.alert {code, message}` (e.g. nobody on call) in the page banner. An alert
 * about a conversation gets an "Open conversation" button (where the page passed `onOpen`)
 * that opens it and clears the banner. `vars()` fills the translated text's {slots} (called
 * again when the language changes). The banner keeps the code and conversation it shows
 * (`data-code`, `data-conversation-id`).
 */
export function showStaffAlert(frame, { onOpen, vars } = {}) {
  const banner = $("staff-alert");
  if (!banner) return;
  shownAlert = [frame, { onOpen, vars }];
  const text = banner.querySelector(".banner__text");
  // Known codes get a translated text; others show the server's own message.
  text.textContent = tOr(`alert.${frame.code}`, frame.message || frame.code, vars?.() || {});
  banner.dataset.code = frame.code || "";
  banner.classList.toggle("banner--urgent", frame.severity === "critical" || ["no_supervisor_on_call", "nobody_on_call", "method_cue", "quick_exit", "volunteer_vanished"].includes(frame.code));
  banner.classList.toggle("banner--calm", SETTLED_CODES.includes(frame.code));
  const open = $("staff-alert-open");
  if (open) {
    const id = onOpen && frame.conversation_id ? frame.conversation_id : null;
    open.hidden = !id;
    banner.dataset.conversationId = id || "";
    openAlerted = id ? () => onOpen(id) : null;
    if (id) open.setAttribute("aria-label", t("staff.alert_open_id", { id: String(id).slice(0, 6) }));
  }
  banner.hidden = false;
}

/** Clear the banner if it is about this conversation (it was opened another way). */
export function clearStaffAlertFor(conversationId) {
  const banner = $("staff-alert");
  if (banner && conversationId && banner.dataset.conversationId === conversationId) banner.hidden = true;
}

export function initAlertBanner() {
  onLanguageChange(() => {
    if (shownAlert && $("staff-alert")?.hidden === false) showStaffAlert(...shownAlert);
  });
  $("staff-alert-close")?.addEventListener("click", () => { $("staff-alert").hidden = true; });
  $("staff-alert-open")?.addEventListener("click", () => {
    $("staff-alert").hidden = true;
    openAlerted?.();
  });
}
