// The supervisor desk: on-call, open escalations with a live countdown to their ack deadline,
// sound + visible + desktop alerts, transcript / observe / whisper / join / take over, resolve,
// the referral queue and an overview. Frames and endpoints the server does not have yet
// (`unknown_type`, 404) make their part of the page step aside quietly.

import { apply, bind, formatTime, language, onLanguageChange, t, tOr, unbind } from "./i18n.js";
import { beep, clock, shortId, unlockAudio } from "./desk.js";
import { $, announce, api, el, messageText, sendOrSayNotSent, showScreen } from "./ui.js";
import { ChatLog } from "./chatlog.js";
import { renderPlan } from "./safetyplan.js";
import { clearStaffAlertFor, dropStaffAlerts, initAlertBanner, initLanguage, initLogin, keepFocusOnPage, logout, openStaffConnection, showStaffAlert, shownStaffAlert } from "./staff.js";

const LEVEL_RANK = { imminent: 4, high: 3, moderate: 2, low: 1, none: 0 };
const CLOSED_STATUSES = new Set(["resolved"]);
/** The referral lifecycle (app/referrals/lifecycle.py): where each status may go next. */
const REFERRAL_NEXT = {
  offered: ["accepted", "declined", "unreachable"],
  accepted: ["handed_over", "declined", "unreachable"],
  handed_over: ["completed", "unreachable"],
  completed: [],
  declined: [],
  unreachable: [],
};
const TRANSCRIPT_PAGE = 500;

const state = {
  session: null,
  conn: null,
  /** The referral this desk asked to close, until its `referral.updated` says it is closed. */
  closingReferral: null,
  escalations: new Map(),
  /** escalation_id → its latest emergency share (`emergency_share.updated`, no contents). */
  shares: new Map(),
  /** The one group of flagged seekers waiting (`flagged.waiting`), and when it was read. */
  flagged: null,
  /** conversation_id → its latest `method_cue` alert, until `method_cue.screened` (oldest first). */
  methodCues: new Map(),
  /** Counts the method-cue frames the socket brought; conversation_id → the count at its last. */
  methodCueClock: 0,
  methodCueHeard: new Map(),
  conversationId: null,
  log: null,
  /** conversation_id → Map(seq → chat.message): what the socket delivered, shown or not. */
  messages: new Map(),
  helplineNames: new Map(), // id → the directory's entry (name, translations)
  mode: null, // observing | joined | takeover
  keptBefore: null, // the kept mode a join or takeover in flight replaced (put back if refused)
  tick: null,
  overview: null,
  /** conversation_id → its latest `safety_plan` frame. */
  plans: new Map(),
  pendingWhispers: [],
  overviewTimer: null,
  /** A roster shift of this supervisor is running now (GET /api/v1/roster/coverage). */
  rosteredNow: false,
  originalTitle: document.title,
  /** The desktop notifications pages raised, by what they are about (an escalation_id, or
   * FLAGGED_NOTE), with whether that page awaits an acknowledgement: closed when it is over. */
  pageNotes: new Map(),
};

// Browsers allow sound only after a user gesture: unlock on the first one.
document.addEventListener("pointerdown", unlockAudio, { once: true, capture: true });
document.addEventListener("keydown", unlockAudio, { once: true, capture: true });

// ---- session ------------------------------------------------------------------------------

function start(session) {
  state.session = session;
  $("who").textContent = t("staff.signed_in_as", { name: session.alias || "" });
  $("who").hidden = false;
  $("logout").hidden = false;
  showScreen("desk", { focus: false });
  const conn = openStaffConnection(session, { onUnauthorized: () => { state.conn = null; } });
  state.conn = conn;
  conn.addEventListener("authenticated", onAuthenticated);
  conn.addEventListener("message", (event) => onMessage(event.detail));
  conn.addEventListener("ack", (event) => {
    if (event.detail.conversation_id === state.conversationId) state.log?.ack(event.detail);
  });
  conn.addEventListener("frame", (event) => onFrame(event.detail));
  clearInterval(state.tick);
  state.tick = setInterval(renderCountdowns, 1000);
  renderNotificationButton();
  loadOnCall();
  // A page sent before this desk was open (or before a reload) still waits: raise its alert
  // once both lists are read.
  Promise.allSettled([loadEscalations(), loadFlagged()]).then(raiseWaitingPage);
  loadShares();
  loadMethodCues();
  loadReferrals();
  loadOverview();
  loadCueMarks();
  loadDebriefs();
  loadTeam();
  clearInterval(state.overviewTimer);
  loadRosterGap();
  state.overviewTimer = setInterval(() => { loadOverview(); loadTeam(); loadRosterGap(); }, 30_000);
}

$("logout").addEventListener("click", () => logout(state.session, state.conn));

function onAuthenticated() {
  // On-call belongs to the account, but say it again after a reconnect so the two agree.
  if ($("oncall").checked) sendOnCall();
  loadFlagged(); // what changed while the socket was away
  loadMethodCues(); // a method-cue alert sent while it was away is not lost
  loadReferrals(); // a referral.updated sent before this socket was listening is not lost
  if (state.conversationId && state.mode === "observing") {
    state.conn.send({ type: "conversation.observe", conversation_id: state.conversationId, ref: "observe" });
  }
}

// ---- on call + alerts ------------------------------------------------------------------------

function sendOnCall() {
  const onCall = $("oncall").checked;
  if (!sendOrSayNotSent(state.conn, { type: "oncall.set", on_call: onCall, ref: "oncall" }, $("oncall-status"))) {
    $("oncall").checked = !onCall; // nothing went: the switch goes back to what the server has
    return;
  }
  bind($("oncall-status"), onCall ? "sup.oncall_on" : "sup.oncall_off");
}

$("oncall").addEventListener("change", () => {
  sendOnCall();
  renderRosterReminder();
});

/**
 * On call is the account's state: show it as the server has it after sign-in or reload. The
 * switch is disabled until then, or a click on what it showed before (off, on a fresh page)
 * could land just as the answer turns it on, and turn off a supervisor who is on call; so no
 * toggle of the person's can come between the question and the answer.
 */
async function loadOnCall() {
  $("oncall").disabled = true;
  const answer = await api("/api/v1/me", { token: state.session.access_token });
  $("oncall").disabled = false; // also when unread: the toggle itself says what the server did
  if (!answer.ok || typeof answer.data?.on_call !== "boolean") return;
  $("oncall").checked = answer.data.on_call;
  bind($("oncall-status"), answer.data.on_call ? "sup.oncall_on" : "sup.oncall_off");
  renderRosterReminder();
}

function renderNotificationButton() {
  const button = $("enable-notifications");
  if (!("Notification" in window)) {
    button.hidden = true;
    return;
  }
  button.hidden = Notification.permission === "granted";
  button.disabled = Notification.permission === "denied";
}

$("enable-notifications").addEventListener("click", async () => {
  try { await Notification.requestPermission(); } catch { /* unsupported */ }
  renderNotificationButton();
  // Allowed (or refused), the button goes (or is disabled) with the keyboard on it: the focus
  // goes on to the button beside it, not to the top of the page.
  const button = $("enable-notifications");
  if (button.hidden || button.disabled) $("test-sound").focus();
});

$("test-sound").addEventListener("click", () => {
  unlockAudio();
  beep({ times: 1 });
});

/** Take the page alert down, and the "(!)" it put in the tab's title. */
function closePageAlert() {
  const had = $("page-alert").contains(document.activeElement);
  $("page-alert").hidden = true;
  if (had) keepFocusOnPage(); // Dismiss from the keyboard: not fallen to <body>
  document.title = state.originalTitle;
}

// Dismiss is the supervisor's own choice: the alert closes, whatever else still waits.
$("page-alert-close").addEventListener("click", closePageAlert);

const FLAGGED_NOTE = "flagged-waiting";

/** Raise a desktop notification for a page (requireInteraction: it stays until closed). */
function notifyPage(about, text, { awaitsAck }) {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  try {
    const note = new Notification(t("sup.notification_title"), { body: text, tag: about, requireInteraction: true });
    note.onclick = () => { window.focus(); note.close(); };
    state.pageNotes.set(about, { note, awaitsAck });
  } catch { /* some browsers only allow notifications from a service worker */ }
}

/** What a page was about has been dealt with: the desktop notification it raised goes too. */
function closePageNote(about, { acked }) {
  const held = state.pageNotes.get(about);
  if (!held || (acked && !held.awaitsAck)) return;
  state.pageNotes.delete(about);
  try { held.note.close(); } catch { /* already gone */ }
}

/**
 * The pages that still wait for an acknowledgement, the most urgent first: open escalations
 * nobody has acknowledged (imminent before high, then the earliest deadline) and the flagged
 * group while unacknowledged (it counts as high and has no deadline of its own, so it comes
 * after the high escalations that have one). `except`: what this desk has just acknowledged
 * (an escalation_id, or "flagged"), before the server's answer says so.
 */
function pagesWaiting({ except } = {}) {
  const waiting = [...state.escalations.values()].filter(
    (e) => e.escalation_id !== except && !isAcked(e) && !CLOSED_STATUSES.has(e.status),
  );
  if (except !== "flagged" && state.flagged?.count && !state.flagged.acknowledged_by) {
    waiting.push({ flagged: true, level: "high", ack_deadline: null });
  }
  return waiting.sort(urgencyOrder);
}

/**
 * The shown page is over (acknowledged here or at another desk, resolved, or the flagged
 * group acknowledged or ended): the alert falls back to the most urgent page that still waits
 * for an acknowledgement, with its text and the "(!)"; it closes only when none waits. Not a
 * new page: no sound, no desktop notification, no sr-alert (the banner's text is a polite live
 * region: what it now shows is said once). A page the supervisor dismissed stays dismissed.
 */
function pageOver({ except } = {}) {
  const page = $("page-alert");
  if (page.hidden) return;
  const next = pagesWaiting({ except })[0];
  if (!next) {
    closePageAlert();
    return;
  }
  showWaitingPage(next);
}

/**
 * At sign-in or reload: a page sent while this desk was not open, still unacknowledged,
 * raises the page alert (the most urgent such page, with its "(!)"), said once to a screen
 * reader; no sound (the page was sounded when it was sent, and a browser plays none before
 * the supervisor has touched the page) and no new desktop notification. The escalation list
 * alone showed it, with its countdown, until the next re-page.
 */
function raiseWaitingPage() {
  if (!$("page-alert").hidden) return; // a live page came first
  const next = pagesWaiting()[0];
  if (!next) return;
  showWaitingPage(next);
  $("page-alert").hidden = false;
  announce("sr-alert", $("page-alert-text").textContent);
}

function showWaitingPage(next) {
  if (next.flagged) setPage(flaggedPageText(state.flagged.count));
  else setPage(escalationPageText(next), { escalationId: next.escalation_id });
}

/**
 * What the page alert is about (an escalation, or the flagged group when `escalationId` is
 * null), its text and the "(!)" in the tab's title; showing, sounding and announcing it are
 * the caller's. `awaitsAck`: an acknowledgement takes it down (see alertPage).
 */
function setPage(text, { escalationId = null, awaitsAck = true } = {}) {
  const page = $("page-alert");
  $("page-alert-text").textContent = text;
  page.dataset.about = escalationId ? "escalation" : "flagged";
  if (escalationId) page.dataset.escalationId = escalationId;
  else delete page.dataset.escalationId;
  page.dataset.awaitsAck = String(awaitsAck);
  document.title = `(!) ${t("sup.page_title")}`;
}

function escalationPageText(escalation) {
  return t("sup.page_alert", { level: t(`level.${escalation.level}`), id: shortId(escalation.conversation_id) });
}

/**
 * Page about an escalation. `awaitsAck`: the page has an acknowledgement deadline (a level
 * raised on an escalation already acknowledged pages again without one: its page stays
 * until the escalation is resolved, or Dismiss).
 */
function alertPage(escalation, { awaitsAck }) {
  const text = escalationPageText(escalation);
  setPage(text, { escalationId: escalation.escalation_id, awaitsAck });
  $("page-alert").hidden = false;
  announce("sr-alert", text);
  beep({ times: escalation.level === "imminent" ? 5 : 3 });
  notifyPage(escalation.escalation_id, text, { awaitsAck });
}

// ---- flagged seekers waiting: one group, one page (docs/protocol.md) ----------------------

async function loadFlagged() {
  const answer = await api("/api/v1/escalations/flagged-waiting", { token: state.session.access_token });
  if (answer.ok && answer.data) renderFlagged(answer.data, { fresh: false });
}

function renderFlagged(frame, { fresh }) {
  state.flagged = { ...frame, receivedAt: Date.now() };
  const box = $("flagged-group");
  box.hidden = !frame.count;
  if (!frame.count) {
    // The group ended: its page is over too (an escalation's page since stays up; the
    // group's falls back to an escalation that still waits for an acknowledgement).
    closePageNote(FLAGGED_NOTE, { acked: false });
    if ($("page-alert").dataset.about === "flagged") pageOver();
    return;
  }
  bind($("flagged-group-title"), frame.count === 1 ? "flagged.title_one" : "flagged.title", { count: frame.count });
  const acked = Boolean(frame.acknowledged_by);
  $("flagged-ack").hidden = acked;
  if (acked) bind($("flagged-group-state"), frame.acknowledged_by === state.session?.user_id ? "flagged.acked_you" : "flagged.acked_other");
  else unbind($("flagged-group-state"));
  renderFlaggedWait();
  if (fresh) {
    box.classList.add("escalation--new");
    setTimeout(() => box.classList.remove("escalation--new"), 3500);
    alertFlagged(frame.count);
  } else {
    if (acked) closePageNote(FLAGGED_NOTE, { acked: true });
    if ($("page-alert").dataset.about === "flagged") {
      // The group's page, while up, says how many wait now; once someone acknowledged the
      // group (here or at another desk) it is over, and the alert falls back to an
      // escalation that still waits. An escalation's page since stays up.
      if (acked) pageOver();
      else $("page-alert-text").textContent = flaggedPageText(frame.count);
    }
  }
}

function flaggedPageText(count) {
  return t(count === 1 ? "flagged.page_alert_one" : "flagged.page_alert", { count });
}

function renderFlaggedWait() {
  const group = state.flagged;
  if (!group?.count) return;
  const waited = (group.oldest_wait_s || 0) + (Date.now() - group.receivedAt) / 1000;
  $("flagged-group-wait").textContent = t("flagged.wait", { time: clock(waited) });
}

function alertFlagged(count) {
  const text = flaggedPageText(count);
  setPage(text);
  $("page-alert").hidden = false;
  announce("sr-alert", text);
  beep({ times: 3 });
  notifyPage(FLAGGED_NOTE, text, { awaitsAck: true });
}

$("flagged-ack").addEventListener("click", () => {
  // Not sent (reconnecting): said beside the button, and the page alert stays up.
  if (!sendOrSayNotSent(state.conn, { type: "flagged.ack", ref: "flagged" }, $("flagged-group-state"))) return;
  // Only the group's own page: an escalation paged since stays up until it is acknowledged;
  // the group's falls back to one that still waits.
  if ($("page-alert").dataset.about === "flagged") pageOver({ except: "flagged" });
});

// ---- method-cue alerts: true until that chat is screened (docs/protocol.md) ---------------

/** A `method_cue` alert of this chat. */
const methodCueOf = (id) => (alert) => alert.code === "method_cue" && alert.conversation_id === id;

/**
 * A chat whose seeker mentioned a method was screened: its `method_cue` alert goes from the
 * banner's waiting alerts. When the banner showed it, the newest alert that still waits shows
 * (another chat's it had covered), else the banner says this chat was screened (calm).
 */
function onMethodCueScreened(frame) {
  const id = frame.conversation_id;
  heardMethodCue(id);
  state.methodCues.delete(id);
  if (!dropStaffAlerts(methodCueOf(id)) || shownStaffAlert()) return;
  const vars = () => ({ id: shortId(id), level: tOr(`level.${frame.level}`, frame.level || "") });
  showStaffAlert({ code: "method_cue_screened", conversation_id: id }, { onOpen: openConversation, vars });
}

/**
 * A chat whose method cue stood ended (`method_cue.ended`): its alert no longer stands and
 * goes from the banner's waiting alerts. A banner showing it goes to the newest alert that
 * still waits, else closes; any other banner (the `quick_exit` alert that follows a seeker's
 * quick exit) stays.
 */
function onMethodCueEnded(frame) {
  const id = frame.conversation_id;
  heardMethodCue(id);
  state.methodCues.delete(id);
  dropStaffAlerts(methodCueOf(id));
}

/** A live `method_cue` alert, `method_cue.screened` or `method_cue.ended` for this chat: a
 * list read before it came must not undo it. */
function heardMethodCue(conversationId) {
  state.methodCueHeard.set(conversationId, ++state.methodCueClock);
}

/**
 * The method-cue alerts that still stand (GET /api/v1/method-cues), at load and after every
 * reconnect: an alert sent while this desk was not listening is not lost. The list replaces
 * what the desk kept (a chat missing from it ended or was screened meanwhile), except for
 * chats the socket spoke of while the list was being read. Each chat the desk did not know
 * of yet (or a newer message of one it did) joins the banner's alerts as a live alert would,
 * the newest shown; a chat whose alert no longer stands leaves them (shown, the newest alert
 * that still waits takes its place).
 */
async function loadMethodCues() {
  const since = state.methodCueClock;
  const answer = await api("/api/v1/method-cues", { token: state.session.access_token });
  const list = answer.ok ? answer.data?.method_cues : null;
  if (!Array.isArray(list)) return; // not there: the live alerts still come
  const heardSince = (id) => (state.methodCueHeard.get(id) || 0) > since;
  const known = state.methodCues;
  const standing = new Map();
  const news = [];
  for (const cue of list) { // oldest first, so the newest ends last
    const id = cue?.conversation_id;
    if (typeof id !== "string" || heardSince(id)) continue;
    const kept = known.get(id);
    const alert = kept?.seq === cue.seq ? kept : { type: "staff.alert", code: "method_cue", conversation_id: id, seq: cue.seq };
    if (alert !== kept) news.push(alert);
    standing.set(id, alert);
  }
  for (const [id, alert] of known) {
    if (heardSince(id)) standing.set(id, alert); // the socket's word is newer than the list's
  }
  state.methodCues = standing;
  dropStaffAlerts((alert) => alert.code === "method_cue" && !standing.has(alert.conversation_id));
  for (const alert of news) showStaffAlert(alert, { onOpen: openConversation });
}

// ---- escalations -------------------------------------------------------------------------

async function loadEscalations() {
  const answer = await api("/api/v1/escalations?status=open", { token: state.session.access_token });
  if (!answer.ok) return; // not there yet: pages arrive live over the socket
  const list = Array.isArray(answer.data) ? answer.data : answer.data?.escalations || answer.data?.items || [];
  for (const item of list) upsertEscalation(item, { fresh: false });
}

function upsertEscalation(frame, { fresh }) {
  const id = frame.escalation_id || frame.id;
  if (!id) return null;
  let escalation = state.escalations.get(id);
  if (!escalation) {
    const node = $("escalation-template").content.firstElementChild.cloneNode(true);
    const n = state.escalations.size + Math.floor(Math.random() * 1e6);
    for (const [label, field] of [[".js-outcome-label", ".js-outcome"], [".js-note-label", ".js-note"]]) {
      const fieldId = `${field.slice(4)}-${n}`;
      node.querySelector(field).id = fieldId;
      node.querySelector(label).setAttribute("for", fieldId);
    }
    apply(node);
    escalation = { escalation_id: id, node, status: "open", level: "high" };
    state.escalations.set(id, escalation);
    wireEscalation(escalation);
  }
  for (const key of ["conversation_id", "level", "ack_deadline", "status", "reason", "acknowledged_by", "volunteer_alias", "source", "tier", "opened_at"]) {
    if (frame[key] !== undefined && frame[key] !== null) escalation[key] = frame[key];
  }
  if (CLOSED_STATUSES.has(escalation.status)) {
    // Resolved from its own form: the focus stays in the list, not at the top of the page.
    const hadFocus = escalation.node.contains(document.activeElement);
    escalation.node.remove();
    if (hadFocus) {
      $("esc-title").tabIndex = -1;
      $("esc-title").focus();
    }
    state.escalations.delete(id);
    renderEscalationList();
    return escalation;
  }
  renderEscalation(escalation);
  renderEscalationList();
  if (fresh) {
    escalation.node.classList.add("escalation--new");
    setTimeout(() => escalation.node.classList.remove("escalation--new"), 3500);
    alertPage(escalation, { awaitsAck: Boolean(frame.ack_deadline) });
  }
  return escalation;
}

/**
 * An escalation was acknowledged (by anyone: this desk or another) or resolved: the page
 * alert about it goes, and only that one (another escalation's or the flagged group's stays),
 * with the desktop notification it raised.
 */
function endEscalationPage(frame) {
  const page = $("page-alert");
  const id = frame.escalation_id || frame.id;
  const resolved = CLOSED_STATUSES.has(frame.status);
  const acked = frame.status === "acknowledged" || Boolean(frame.acknowledged_by);
  if (resolved || acked) closePageNote(id, { acked: !resolved });
  if (page.dataset.about !== "escalation" || page.dataset.escalationId !== id) return;
  // Over: the alert falls back to the most urgent page that still waits, or closes.
  if (resolved || (acked && page.dataset.awaitsAck === "true")) pageOver();
}

function isAcked(escalation) {
  return escalation.status === "acknowledged" || Boolean(escalation.acknowledged_by);
}

function renderEscalation(escalation) {
  const node = escalation.node;
  const level = LEVEL_RANK[escalation.level] !== undefined ? escalation.level : "high";
  node.className = `escalation escalation--${level}${node.classList.contains("escalation--new") ? " escalation--new" : ""}`;
  const pill = node.querySelector(".js-level");
  pill.className = `risk-level risk-level--${level} js-level`;
  bind(pill, `level.${level}`);
  node.querySelector(".js-title").textContent = t("sup.escalation_title", { id: shortId(escalation.conversation_id) });
  const detail = [];
  detail.push(tOr(`esc_status.${escalation.status}`, escalation.status || ""));
  if (escalation.source) detail.push(tOr(`esc_source.${escalation.source}`, escalation.source));
  if (escalation.volunteer_alias) detail.push(t("sup.volunteer", { name: escalation.volunteer_alias }));
  if (escalation.reason) detail.push(reasonText(escalation.reason));
  node.querySelector(".js-detail").textContent = detail.filter(Boolean).join(" · ");
  const ack = node.querySelector(".js-ack");
  const ackHadFocus = document.activeElement === ack;
  ack.hidden = isAcked(escalation);
  // Acknowledged from the keyboard: the focus went to the top of the page with the button.
  // It goes on to the next step, reading the conversation.
  if (ack.hidden && ackHadFocus) node.querySelector(".js-open").focus();
  if (isAcked(escalation)) showEscalationStatus(escalation, lateAckNote(escalation));
  renderCountdown(escalation);
  renderShare(escalation);
}

// ---- consented emergency share (docs/protocol.md) ------------------------------------------

async function loadShares() {
  const answer = await api("/api/v1/emergency-shares", { token: state.session.access_token });
  if (!answer.ok) return;
  for (const share of [...(answer.data?.shares || [])].reverse()) state.shares.set(share.escalation_id, share);
  for (const escalation of state.escalations.values()) renderShare(escalation);
}

/** Only the supervisor who acknowledged an imminent escalation may ask, and read. */
function mayAskToShare(escalation) {
  return escalation.level === "imminent" && escalation.status === "acknowledged"
    && escalation.acknowledged_by === state.session?.user_id;
}

function renderShare(escalation) {
  const box = escalation.node.querySelector(".js-share");
  const share = state.shares.get(escalation.escalation_id);
  box.hidden = !mayAskToShare(escalation);
  if (box.hidden) return;
  const status = box.querySelector(".js-share-status");
  const ask = box.querySelector(".js-share-ask");
  const show = box.querySelector(".js-share-show");
  ask.hidden = share?.status === "requested" || share?.status === "shared";
  show.hidden = share?.status !== "shared";
  if (show.hidden) hideHeld(box);
  bind(show, box.querySelector(".js-share-held").hidden ? "sup.share_show" : "sup.share_hide");
  if (!share) { status.textContent = ""; return; }
  const what = share.has_phone && share.has_location ? "sup.share_what_both"
    : share.has_phone ? "sup.share_what_phone" : "sup.share_what_location";
  status.textContent = t(`sup.share_${share.status}`, {
    what: t(what), time: share.delete_by ? deleteBy(share.delete_by) : "",
  });
}

/** Up to 72 hours ahead: the day matters as much as the time. */
function deleteBy(iso) {
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return "";
  return when.toLocaleString(document.documentElement.lang || "en", {
    weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
  });
}

function hideHeld(box) {
  const held = box.querySelector(".js-share-held");
  held.replaceChildren(); // what was shared leaves the page as soon as it is hidden
  held.hidden = true;
  box.querySelector(".js-share-show").setAttribute("aria-expanded", "false");
}

async function toggleHeld(escalation) {
  const box = escalation.node.querySelector(".js-share");
  const held = box.querySelector(".js-share-held");
  if (!held.hidden) { hideHeld(box); renderShare(escalation); return; }
  const share = state.shares.get(escalation.escalation_id);
  if (!share) return;
  const answer = await api(`/api/v1/emergency-shares/${encodeURIComponent(share.share_id)}`, { token: state.session.access_token });
  if (!answer.ok) { box.querySelector(".js-share-status").textContent = t("sup.share_failed"); return; }
  const rows = [];
  if (answer.data.phone) {
    const digits = answer.data.phone.replace(/[^\d+]/g, "");
    rows.push(el("dt", { text: t("sup.share_phone") }), el("dd", {}, [
      digits ? el("a", { text: answer.data.phone, attrs: { href: `tel:${digits}` } }) : el("span", { text: answer.data.phone }),
    ]));
  }
  if (answer.data.location) rows.push(el("dt", { text: t("sup.share_location") }), el("dd", { class: "share-held__place", text: answer.data.location }));
  if (!answer.data.readable) rows.push(el("dd", { text: t("sup.share_unreadable") }));
  held.replaceChildren(...rows);
  held.hidden = false;
  box.querySelector(".js-share-show").setAttribute("aria-expanded", "true");
  bind(box.querySelector(".js-share-show"), "sup.share_hide");
}

function onShareUpdated(frame) {
  state.shares.set(frame.escalation_id, frame);
  const escalation = state.escalations.get(frame.escalation_id);
  if (!escalation) return;
  renderShare(escalation);
  if (frame.status === "shared" || frame.status === "declined") {
    announce("sr-alert", escalation.node.querySelector(".js-share-status").textContent);
  }
}

/** "acute_positive, asq_positive" (rule codes) in words; free text from a person stays as is. */
function reasonText(reason) {
  const parts = String(reason).split(/,\s*/);
  if (!parts.every((part) => /^[a-z_]+$/.test(part))) return String(reason);
  return parts.map((part) => tOr(`risk_reason.${part}`, part.replace(/_/g, " "))).join(", ");
}

function renderCountdown(escalation) {
  const box = escalation.node.querySelector(".js-countdown");
  if (isAcked(escalation) || !escalation.ack_deadline) {
    box.textContent = isAcked(escalation) ? t("sup.acked") : "";
    box.classList.remove("countdown--overdue");
    return;
  }
  const left = (Date.parse(escalation.ack_deadline) - Date.now()) / 1000;
  if (Number.isNaN(left)) return;
  box.classList.toggle("countdown--overdue", left < 0);
  box.textContent = left >= 0 ? t("sup.ack_within", { time: clock(left) }) : t("sup.overdue", { time: clock(-left) });
}

function renderCountdowns() {
  for (const escalation of state.escalations.values()) renderCountdown(escalation);
  renderFlaggedWait();
}

/** Unacknowledged first, then the most urgent level, then the nearest deadline. */
function urgencyOrder(a, b) {
  const ackA = isAcked(a) ? 1 : 0;
  const ackB = isAcked(b) ? 1 : 0;
  if (ackA !== ackB) return ackA - ackB;
  const rank = (LEVEL_RANK[b.level] ?? 0) - (LEVEL_RANK[a.level] ?? 0);
  if (rank) return rank;
  return (Date.parse(a.ack_deadline) || Infinity) - (Date.parse(b.ack_deadline) || Infinity);
}

function renderEscalationList() {
  const list = $("escalations");
  const sorted = [...state.escalations.values()].sort(urgencyOrder);
  const focused = document.activeElement;
  for (const escalation of sorted) list.append(escalation.node);
  // A move can drop the focus (an acknowledged card goes below the open ones): put it back.
  if (focused !== document.activeElement && list.contains(focused)) focused.focus();
  const open = sorted.filter((e) => !isAcked(e)).length;
  $("esc-count").hidden = open === 0;
  $("esc-count").textContent = String(open);
  $("no-escalations").hidden = sorted.length > 0;
}

/**
 * This desk's Acknowledge came a moment after another's (the server answered
 * `invalid_transition`: the escalation was no longer open). Not a failure: a calm note, kept
 * once the acknowledgement arrives, unless it was this supervisor's own (another tab).
 */
function lateAckNote(escalation) {
  return escalation.lateAck && escalation.acknowledged_by !== state.session?.user_id ? "sup.esc_acked_other" : null;
}

/** The line under an escalation's buttons: why an action on it did not go (null clears it). */
function showEscalationStatus(escalation, key) {
  const line = escalation.node.querySelector(".js-esc-status");
  line.hidden = !key;
  if (key) bind(line, key);
  else unbind(line);
}

function wireEscalation(escalation) {
  const node = escalation.node;
  // The card's status line says when an action on it could not go (the desk reconnects).
  const status = node.querySelector(".js-esc-status");
  node.querySelector(".js-ack").addEventListener("click", () => {
    const frame = { type: "escalation.ack", escalation_id: escalation.escalation_id, ref: `ack:${escalation.escalation_id}` };
    // Not sent: the page alert stays up.
    if (!sendOrSayNotSent(state.conn, frame, status)) return;
    showEscalationStatus(escalation, null);
    // Only this escalation's page: another escalation's, or the flagged group's, stays up.
    // Its page falls back to the most urgent one that still waits for an acknowledgement.
    closePageNote(escalation.escalation_id, { acked: true });
    const page = $("page-alert");
    if (page.dataset.about === "escalation" && page.dataset.escalationId === escalation.escalation_id) pageOver({ except: escalation.escalation_id });
  });
  node.querySelector(".js-open").addEventListener("click", () => openConversation(escalation.conversation_id));
  node.querySelector(".js-share-ask").addEventListener("click", () => {
    sendOrSayNotSent(state.conn, { type: "emergency_share.ask", escalation_id: escalation.escalation_id, ref: `share:${escalation.escalation_id}` }, status);
  });
  node.querySelector(".js-share-show").addEventListener("click", () => toggleHeld(escalation));
  const form = node.querySelector(".js-resolve-form");
  node.querySelector(".js-resolve").addEventListener("click", () => {
    form.hidden = !form.hidden;
    if (!form.hidden) form.querySelector("select").focus();
  });
  // The form's buttons go with it: the focus goes back to Resolve, not to the page's top.
  node.querySelector(".js-cancel").addEventListener("click", () => {
    form.hidden = true;
    node.querySelector(".js-resolve").focus();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const frame = {
      type: "escalation.resolve",
      escalation_id: escalation.escalation_id,
      outcome: form.querySelector(".js-outcome").value,
      note: form.querySelector(".js-note").value.trim(),
      ref: `esc:${escalation.escalation_id}`,
    };
    if (!sendOrSayNotSent(state.conn, frame, status)) return;
    form.hidden = true;
    node.querySelector(".js-resolve").focus();
  });
}

// ---- one conversation: transcript, observe, whisper, join, take over -------------------------

/** A plan this socket was not sent (another device, a conversation never followed here). */
async function loadDeskPlan(conversationId) {
  const answer = await api(`/api/v1/conversations/${encodeURIComponent(conversationId)}/safety-plan`, { token: state.session.access_token });
  if (!answer.ok || !answer.data?.plan_id) return;
  const known = state.plans.get(conversationId);
  if (!known || answer.data.revision >= known.revision) state.plans.set(conversationId, answer.data);
  if (state.conversationId === conversationId) renderDeskPlan();
}

/** The open conversation's safety plan, read-only (docs/protocol.md, Safety plan). */
function renderDeskPlan() {
  const plan = state.plans.get(state.conversationId);
  $("conv-plan").hidden = !plan;
  if (plan) renderPlan($("conv-plan-body"), plan, { idPrefix: "desk-plan" });
}

/** What an ended chat no longer offers on the desk (its reassign form goes too). */
const ENDED_GOES = ["conv-join", "conv-takeover", "conv-reassign"];

async function openConversation(conversationId) {
  if (!conversationId) return;
  clearStaffAlertFor(conversationId);
  state.conversationId = conversationId;
  state.mode = null;
  renderDeskPlan();
  $("conv-empty").hidden = true;
  $("conv-body").hidden = false;
  $("conv-mode").hidden = true;
  $("sup-composer").hidden = true;
  $("block-form").hidden = true;
  $("block-note").value = "";
  $("reassign-form").hidden = true;
  $("reassign-note").value = "";
  for (const id of ENDED_GOES) $(id).hidden = false; // shown again: another chat
  state.transfersSeen = new Set();
  bind($("conv-title"), "sup.conversation_with", { id: shortId(conversationId) });
  const list = $("conv-messages");
  list.replaceChildren();
  // Another supervisor's message (joined too, or took over) is theirs, not "You".
  state.log = new ChatLog(list, "supervisor", { alias: state.session?.alias || "" });
  state.pendingWhispers = [];
  // What the socket already delivered (after an ack or observe, the server replays from 0).
  for (const frame of [...(state.messages.get(conversationId)?.values() || [])].sort((a, b) => a.seq - b.seq)) {
    state.log.addMessage(frame);
  }
  bind($("conv-status"), "sup.loading_transcript");
  let after = 0;
  for (let page = 0; page < 20; page += 1) {
    const answer = await api(`/api/v1/conversations/${encodeURIComponent(conversationId)}/messages?after_seq=${after}&limit=${TRANSCRIPT_PAGE}`, { token: state.session.access_token });
    if (state.conversationId !== conversationId) return;
    if (!answer.ok) {
      bind($("conv-status"), answer.status === 403 || answer.status === 404 ? "sup.transcript_forbidden" : "sup.transcript_failed");
      return;
    }
    const messages = answer.data?.messages || [];
    for (const message of messages) {
      state.log.addMessage({ ...message, conversation_id: conversationId });
      state.conn?.markHeld(conversationId, message.seq);
    }
    after = answer.data?.next_after_seq ?? after;
    if (!answer.data?.has_more || !messages.length) break;
  }
  // What was said meanwhile stays (a Join pressed while the transcript loaded, and refused,
  // was wiped by "loaded"), and so does the keyboard if it moved into the conversation.
  const status = $("conv-status");
  if (status.dataset.i18n === "sup.loading_transcript") {
    if (state.log.bySeq.size) unbind(status);
    else bind(status, "sup.transcript_empty");
  }
  renderDeskPlan();
  loadDeskPlan(conversationId);
  restoreMode(conversationId);
  if (!$("conv-body").contains(document.activeElement)) $("conv-body").querySelector("button")?.focus();
}

function setMode(mode) {
  state.mode = mode;
  const pill = $("conv-mode");
  pill.hidden = !mode;
  if (mode) bind(pill, `sup.mode_${mode}`);
  $("sup-composer").hidden = !(mode === "joined" || mode === "takeover");
}

const MODE_RANK = { observing: 0, joined: 1, takeover: 2 };

// The modes this supervisor chose, per conversation, kept in this tab (sessionStorage) so a
// reload comes back joined, not as a bystander without the seeker's box. The server keeps
// the highest mode given; the desk only has to follow the chat again (observe changes no mode).
function modesKey() {
  return `peerline.desk.modes.${state.session?.user_id || ""}`;
}

function keptModes() {
  try { return JSON.parse(sessionStorage.getItem(modesKey()) || "{}") || {}; } catch { return {}; }
}

function writeModes(modes) {
  const recent = Object.entries(modes).slice(-20); // the latest few chats are enough
  try { sessionStorage.setItem(modesKey(), JSON.stringify(Object.fromEntries(recent))); } catch { /* private mode */ }
}

/** Keep ``mode`` for the chat unless a higher one is kept (as the server does); what was
 * kept before, so a refused join or takeover can put it back. */
function keepMode(conversationId, mode) {
  const modes = keptModes();
  const before = modes[conversationId];
  if ((MODE_RANK[mode] ?? 0) >= (MODE_RANK[before] ?? 0)) {
    delete modes[conversationId];
    modes[conversationId] = mode;
    writeModes(modes);
  }
  return before;
}

function putBackMode(conversationId, mode) {
  const modes = keptModes();
  delete modes[conversationId];
  if (mode) modes[conversationId] = mode;
  writeModes(modes);
}

/** After a reload: a chat this supervisor joined or took over opens in that mode again. */
function restoreMode(conversationId) {
  const mode = keptModes()[conversationId];
  if (mode !== "joined" && mode !== "takeover") return;
  const frame = { type: "conversation.observe", conversation_id: conversationId, ref: "observe" };
  if (!sendOrSayNotSent(state.conn, frame, $("conv-status"))) return;
  state.conn.follow(conversationId, { resume: false });
  setMode(mode);
}

/** Observe, join or take over the open conversation; nothing changes when it did not go. */
function supervise(action, mode) {
  if (!state.conversationId) return;
  // The server keeps the highest mode given: Observe (or Join) after a takeover changes
  // nothing there, so nothing here either. The desk said "Observing" and hid the box to the
  // seeker while the volunteer stayed locked out: nobody could answer the seeker.
  if (state.mode && MODE_RANK[mode] < MODE_RANK[state.mode]) {
    bind($("conv-status"), "sup.mode_kept", { mode: { key: `sup.mode_${state.mode}` } });
    return;
  }
  const frame = { type: `conversation.${action}`, conversation_id: state.conversationId, ref: action };
  if (!sendOrSayNotSent(state.conn, frame, $("conv-status"))) return;
  state.conn.follow(state.conversationId, { resume: false });
  if (mode !== "observing") {
    state.keptBefore = { conversationId: state.conversationId, mode: keepMode(state.conversationId, mode) };
  }
  setMode(mode);
  announce("sr-status", t(`sup.now_${mode}`)); // the pill beside the buttons is not heard
}

$("conv-observe").addEventListener("click", () => supervise("observe", "observing"));
$("conv-join").addEventListener("click", () => supervise("join", "joined"));
$("conv-takeover").addEventListener("click", () => supervise("takeover", "takeover"));

// Block: ends every open chat of the seeker (neutrally, for them) and closes their session.
$("conv-block").addEventListener("click", () => {
  if (!state.conversationId) return;
  $("block-form").hidden = false;
  $("block-note").focus();
});
$("block-cancel").addEventListener("click", () => {
  $("block-form").hidden = true;
  $("conv-block").focus();
});
$("block-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!state.conversationId) return;
  const note = $("block-note").value.trim();
  const frame = { type: "seeker.block", conversation_id: state.conversationId, ref: "block" };
  if (note) frame.note = note;
  if (!sendOrSayNotSent(state.conn, frame, $("conv-status"))) return;
  hideKeepingFocus($("block-form"));
  bind($("conv-status"), "sup.blocking");
});

/**
 * Hide `box` (a form sent, a composer of an ended chat). Had it the keyboard, the focus goes
 * to `target` (the conversation's status line, which says what happened), not to the top of
 * the page.
 */
function hideKeepingFocus(box, target = $("conv-status")) {
  const had = box.contains(document.activeElement);
  box.hidden = true;
  if (!had) return;
  if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
  target.focus();
}

// Reassign (warm transfer): to a volunteer who shares the language and has a free slot, or
// back to the front of the queue, with a note only staff read (docs/protocol.md).
$("conv-reassign").addEventListener("click", async () => {
  const conversationId = state.conversationId;
  if (!conversationId) return;
  const select = $("reassign-to");
  select.replaceChildren(el("option", { text: t("transfer.to_queue"), attrs: { value: "queue" } }));
  $("reassign-form").hidden = false;
  select.focus();
  const answer = await api(`/api/v1/conversations/${encodeURIComponent(conversationId)}/transfer-targets`, { token: state.session.access_token });
  if (state.conversationId !== conversationId) return;
  for (const target of answer.ok ? answer.data.targets : []) {
    select.append(el("option", { text: t("transfer.to_volunteer", { name: target.alias, n: target.free_slots }), attrs: { value: target.volunteer_id } }));
  }
  if (answer.ok && !answer.data.targets.length) bind($("conv-status"), "transfer.nobody_free");
});
$("reassign-cancel").addEventListener("click", () => {
  $("reassign-form").hidden = true;
  $("conv-reassign").focus();
});
$("reassign-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!state.conversationId) return;
  const note = $("reassign-note").value.trim();
  if (!note) {
    bind($("conv-status"), "transfer.err_note");
    $("reassign-note").focus();
    return;
  }
  const to = $("reassign-to").value;
  const frame = { type: "conversation.transfer", conversation_id: state.conversationId, note, ref: "transfer" };
  if (to === "queue") frame.to = "queue";
  else Object.assign(frame, { to: "volunteer", volunteer_id: to });
  if (!sendOrSayNotSent(state.conn, frame, $("conv-status"))) return;
  bind($("conv-status"), "transfer.sending");
});

/** A hand-over in the open conversation, note included, once each. */
function noteTransfer(frame) {
  if (frame.conversation_id !== state.conversationId || !state.log) return;
  state.transfersSeen ??= new Set();
  if (state.transfersSeen.has(frame.transfer_id)) return;
  state.transfersSeen.add(frame.transfer_id);
  const from = frame.from_alias || { key: "role.volunteer" };
  let said;
  if (frame.reason === "volunteer_vanished") said = ["transfer.log_vanished", { from }];
  else if (frame.to === "queue") said = ["transfer.log_queue", { from, by: frame.by_alias || from }];
  else said = ["transfer.log_to", { from, to: frame.to_alias || { key: "role.volunteer" }, by: frame.by_alias || from }];
  if (frame.note) state.log.note(said, ["transfer.log_note", { note: frame.note }]);
  else state.log.note(said);
}

$("whisper-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = messageText($("whisper-text").value);
  if (!text || !state.conversationId) return;
  if (sendOrSayNotSent(state.conn, { type: "chat.whisper", conversation_id: state.conversationId, text, ref: "whisper" }, $("conv-status"))) {
    // Shown at once; the server's echo (chat.whisper to the conversation's staff) replaces it.
    const node = state.log?.whisper({ text, sent_at: new Date().toISOString() }, { mine: true });
    if (node) state.pendingWhispers.push({ conversationId: state.conversationId, text, node });
    $("whisper-text").value = "";
  }
});

// Enter sends a whisper as it sends a chat message (Shift+Enter for a new line).
$("whisper-text").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("whisper-form").requestSubmit();
  }
});

$("sup-composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = messageText($("sup-text").value);
  if (!text || !state.conversationId || !state.conn) return;
  const id = state.conn.sendChat(state.conversationId, text);
  state.log?.addPending(id, text);
  $("sup-text").value = "";
});
$("sup-text").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("sup-composer").requestSubmit();
  }
});

function onMessage(frame) {
  let held = state.messages.get(frame.conversation_id);
  if (!held) {
    held = new Map();
    state.messages.set(frame.conversation_id, held);
  }
  held.set(frame.seq, frame);
  if (frame.conversation_id !== state.conversationId || !state.log) return;
  state.log.addMessage(frame);
  unbind($("conv-status"));
}

// ---- referrals and overview --------------------------------------------------------------------

async function loadHelplineNames() {
  if (state.helplineNames.size) return;
  const answer = await api("/api/v1/helplines", { token: state.session.access_token });
  for (const line of answer.ok ? answer.data?.helplines || [] : []) state.helplineNames.set(line.id, line);
}

/** A helpline's name in the desk's language (the directory's translation), else its own. */
function helplineName(id) {
  const line = state.helplineNames.get(id);
  if (!line) return id;
  return (line.translations || []).find((tr) => tr.language === language())?.name || line.name;
}

let referralReads = 0; // only the latest read is drawn: an older answer can arrive last

async function loadReferrals() {
  const read = ++referralReads;
  await loadHelplineNames();
  const answer = await api("/api/v1/referrals", { token: state.session.access_token });
  if (read !== referralReads) return;
  const box = $("referrals");
  const was = focusInReferrals(box);
  if (!answer.ok) {
    box.replaceChildren();
    bind($("referrals-empty"), answer.status === 404 ? "sup.referrals_unavailable" : "sup.no_referrals");
    $("referrals-empty").hidden = false;
    restoreReferralFocus(box, was);
    return;
  }
  const list = Array.isArray(answer.data) ? answer.data : answer.data?.referrals || answer.data?.items || [];
  $("referrals-empty").hidden = list.length > 0;
  if (!list.length) {
    box.replaceChildren();
    restoreReferralFocus(box, was);
    return;
  }
  const table = el("table", { class: "table" });
  const head = el("tr");
  for (const key of ["sup.ref_conversation", "sup.ref_level", "sup.ref_helpline", "sup.ref_created", "sup.ref_status", "sup.ref_actions"]) {
    head.append(el("th", { i18n: key, attrs: { scope: "col" } }));
  }
  table.append(el("thead", {}, [head]));
  const body = el("tbody");
  for (const referral of list) {
    const id = referral.referral_id || referral.id;
    const row = el("tr", { attrs: { "data-referral": id } });
    const open = el("button", { class: "button button--quiet button--small js-ref-open", text: shortId(referral.conversation_id), attrs: { type: "button", "aria-label": t("sup.open_conversation_id", { id: shortId(referral.conversation_id) }) } });
    open.addEventListener("click", () => openConversation(referral.conversation_id));
    row.append(el("td", {}, [open]));
    row.append(el("td", { text: referral.level ? tOr(`level.${referral.level}`, referral.level) : "–" }));
    const names = (referral.helpline_ids || []).map(helplineName);
    row.append(el("td", { text: names.join(", ") || "–" }));
    row.append(el("td", { text: formatTime(referral.created_at) }));
    const select = el("select", { class: "input js-ref-status", attrs: { "aria-label": t("sup.ref_status_for", { id: shortId(referral.conversation_id) }) } });
    const statuses = [referral.status, ...(REFERRAL_NEXT[referral.status] || [])];
    select.disabled = statuses.length === 1;
    for (const status of statuses) {
      const option = el("option", { text: tOr(`ref_status.${status}`, status), attrs: { value: status } });
      if (status === referral.status) option.selected = true;
      select.append(option);
    }
    select.addEventListener("change", () => {
      const frame = { type: "referral.update", referral_id: id, status: select.value, ref: `ref:${id}`.slice(0, 64) };
      // Not sent: the select goes back to the status the server has.
      if (!sendOrSayNotSent(state.conn, frame, $("referrals-status"))) select.value = referral.status;
    });
    row.append(el("td", {}, [select]));
    row.append(el("td", {}, [closeReferralControl(id, referral.conversation_id)]));
    body.append(row);
  }
  table.append(body);
  // Its own scroll box: on a phone the table made the whole desk scroll sideways.
  box.replaceChildren(el("div", { class: "table-wrap", attrs: { tabindex: "0", role: "region", "aria-labelledby": "ref-title" } }, [table]));
  restoreReferralFocus(box, was);
}

const REFERRAL_CONTROLS = ["js-ref-open", "js-ref-status", "js-ref-close", "js-ref-close-reason", "js-ref-close-send"];

/** Where the keyboard was in the referrals (a row's control), before they are drawn anew. */
function focusInReferrals(box) {
  const focused = document.activeElement;
  if (!box.contains(focused)) return null;
  return {
    referral: focused.closest("tr[data-referral]")?.dataset.referral,
    control: REFERRAL_CONTROLS.find((name) => focused.classList.contains(name)),
  };
}

/** The keyboard back where it was; the row gone (closed, finished), to the panel's title.
 * It fell to the top of the page, and a supervisor closing a referral was lost. */
function restoreReferralFocus(box, was) {
  if (!was) return;
  const row = was.referral ? box.querySelector(`tr[data-referral="${CSS.escape(was.referral)}"]`) : null;
  const target = row && was.control ? row.querySelector(`.${was.control}`) : null;
  if (target && !target.closest("[hidden]")) {
    target.focus();
    return;
  }
  $("ref-title").setAttribute("tabindex", "-1");
  $("ref-title").focus();
}

/** "Close with a reason…": a supervisor ends a referral nobody can finish (audited). */
function closeReferralControl(referralId, conversationId) {
  const wrap = el("div", { class: "stack" });
  const open = el("button", {
    class: "button button--quiet button--small js-ref-close",
    text: t("sup.ref_close"),
    attrs: { type: "button", "aria-label": t("sup.ref_close_for", { id: shortId(conversationId) }) },
  });
  const form = el("form", { class: "stack js-ref-close-form", attrs: { hidden: true } });
  const fieldId = `ref-close-${referralId}`;
  const label = el("label", { class: "small", text: t("sup.ref_close_reason"), attrs: { for: fieldId } });
  const reason = el("input", { class: "input js-ref-close-reason", attrs: { id: fieldId, maxlength: "500", required: true } });
  const submit = el("button", { class: "button button--primary button--small js-ref-close-send", text: t("sup.ref_close_confirm"), attrs: { type: "submit" } });
  // A way back without closing anything (there was none but a reload).
  const cancel = el("button", { class: "button button--quiet button--small js-ref-close-cancel", text: t("common.cancel"), attrs: { type: "button" } });
  cancel.addEventListener("click", () => {
    form.hidden = true;
    reason.value = "";
    open.hidden = false;
    open.focus();
  });
  form.append(label, reason, el("div", { class: "row" }, [submit, cancel]));
  open.addEventListener("click", () => {
    form.hidden = false;
    open.hidden = true;
    reason.focus();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = reason.value.trim();
    // Sent once (aria-disabled, not disabled: a disabled button drops the keyboard to the
    // top of the page, before the closed row's going could put it on the panel's title).
    if (!text || submit.getAttribute("aria-disabled") === "true") return;
    const frame = { type: "referral.update", referral_id: referralId, status: "closed", reason: text, ref: `ref:${referralId}`.slice(0, 64) };
    // Not sent: the form stays, with the reason typed.
    if (sendOrSayNotSent(state.conn, frame, $("referrals-status"))) {
      submit.setAttribute("aria-disabled", "true");
      state.closingReferral = referralId;
    }
  });
  wrap.append(open, form);
  return wrap;
}

// ---- cue marks (learning in service) -------------------------------------------------------

/** A cue family's name (app/risk/cue_lists/families.yaml) in the page's language; its id
 * where the strings have no name for it. */
function familyName(id) {
  return tOr(`cue_family.${id}`, id);
}

function familiesText(ids) {
  return t("cuefb.families", { families: ids.map(familyName).join(", ") });
}

/** "Conversation 1a2b3c, message 2: flagged, ..." in the desk's language. */
function markHead(head) {
  const kind = t(`cuefb.kind_${head.dataset.kind}`);
  return t("cuefb.mark_head", { seq: head.dataset.seq, kind, id: shortId(head.dataset.conversation) });
}

/** The cue-mark cards' headings and family names, in a new language (typed paraphrases stay). */
function renderFamilyNames() {
  for (const head of document.querySelectorAll(".js-mark-head")) head.textContent = markHead(head);
  for (const line of document.querySelectorAll(".js-cue-families")) line.textContent = familiesText(line.dataset.families.split(" "));
  for (const option of document.querySelectorAll("option[data-family]")) option.textContent = familyName(option.value);
}

/** Volunteers' marks on the cue detector: open ones to judge, agreed ones to paraphrase. */
async function loadCueMarks() {
  if (!state.session) return;
  const token = state.session.access_token;
  const [open, reviewed] = await Promise.all([
    api("/api/v1/cue-marks?status=open", { token }),
    api("/api/v1/cue-marks?status=reviewed", { token }),
  ]);
  if (!open.ok || !reviewed.ok) {
    $("cue-marks-panel").hidden = true; // not on this server, or not for this account
    return;
  }
  state.cueFamilies = open.data.families || [];
  const marks = [...(open.data.marks || []), ...(reviewed.data.marks || []).filter((m) => m.verdict === "agree")];
  const had = $("cue-marks").contains(document.activeElement);
  $("cue-marks").replaceChildren(...marks.map(renderCueMark));
  $("cue-marks-empty").hidden = marks.length > 0;
  $("cue-marks-panel").hidden = false;
  // A mark judged or paraphrased from the keyboard: its button went with the list drawn
  // again, and the focus fell to the top of the page. It goes to the line that says so.
  if (had) {
    $("cue-marks-status").setAttribute("tabindex", "-1");
    $("cue-marks-status").focus();
  }
}

function renderCueMark(mark) {
  const item = el("li", { class: "panel cue-mark", attrs: { "data-mark": mark.mark_id } });
  const head = el("p", { class: "small js-mark-head", attrs: { "data-seq": String(mark.seq), "data-kind": mark.kind, "data-conversation": mark.conversation_id } });
  head.textContent = markHead(head);
  item.append(head);
  item.append(el("blockquote", { class: "cue-mark__text", text: mark.text, attrs: { lang: mark.language || "" } }));
  if (mark.families?.length) item.append(el("p", { class: "small js-cue-families", text: familiesText(mark.families), attrs: { "data-families": mark.families.join(" ") } }));
  if (mark.status === "open") {
    const row = el("div", { class: "row" });
    for (const verdict of ["agree", "disagree"]) {
      const button = el("button", { class: "button button--secondary button--small", i18n: `cuefb.${verdict}`, attrs: { type: "button" } });
      button.addEventListener("click", () => reviewCueMark(mark, verdict));
      row.append(button);
    }
    item.append(row);
  } else {
    item.append(paraphraseForm(mark));
  }
  return item;
}

function paraphraseForm(mark) {
  const id = `para-${mark.mark_id}`;
  const form = el("form", { class: "stack js-paraphrase" });
  const text = el("textarea", { class: "input", attrs: { id: `${id}-text`, rows: "2", maxlength: "300", minlength: "3", required: true, "aria-describedby": `${id}-hint` } });
  const family = el("select", { class: "input", attrs: { id: `${id}-family` } });
  const families = state.cueFamilies?.length ? state.cueFamilies : mark.families;
  // Shown by name, in the order of the names; the server is sent the family's id.
  const byName = [...families].sort((a, b) => familyName(a).localeCompare(familyName(b), document.documentElement.lang || "en"));
  for (const name of byName) {
    const option = el("option", { text: familyName(name), attrs: { value: name, "data-family": "" } });
    if (mark.families?.[0] === name) option.selected = true;
    family.append(option);
  }
  const formSelect = el("select", { class: "input", attrs: { id: `${id}-form` } });
  for (const value of ["en", "hinglish", "hi"]) formSelect.append(el("option", { i18n: `cuefb.form_${value}`, attrs: { value } }));
  const field = (labelKey, control) => el("div", { class: "field" }, [el("label", { i18n: labelKey, attrs: { for: control.id } }), control]);
  const paraphraseField = field("cuefb.paraphrase_label", text);
  // Never the seeker's words: said before the box, and refused by the server when too close.
  paraphraseField.insertBefore(el("p", { class: "small cue-mark__hint", i18n: "cuefb.paraphrase_hint", attrs: { id: `${id}-hint` } }), text);
  form.append(paraphraseField, field("cuefb.family_label", family), field("cuefb.form_label", formSelect));
  form.append(el("button", { class: "button button--primary button--small", i18n: "cuefb.paraphrase_send", attrs: { type: "submit" } }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const answer = await api(`/api/v1/cue-marks/${encodeURIComponent(mark.mark_id)}/paraphrase`, {
      method: "POST",
      token: state.session.access_token,
      body: { text: text.value.trim(), family: family.value, form: formSelect.value },
    });
    const code = answer.data?.error?.code;
    bind($("cue-marks-status"), answer.ok ? "cuefb.paraphrased" : code === "paraphrase_too_close" ? "cuefb.too_close" : "risk.failed");
    if (answer.ok) loadCueMarks();
  });
  return form;
}

async function reviewCueMark(mark, verdict) {
  const answer = await api(`/api/v1/cue-marks/${encodeURIComponent(mark.mark_id)}/review`, {
    method: "POST",
    token: state.session.access_token,
    body: { verdict },
  });
  bind($("cue-marks-status"), answer.ok ? "cuefb.reviewed" : "risk.failed");
  loadCueMarks();
}

$("cue-marks-refresh").addEventListener("click", loadCueMarks);

/** The candidate corpus as JSON Lines (GET /api/v1/cue-candidates), saved as a file for the
 * clinical lead; the server audits each export. */
async function exportCueCandidates() {
  if (!state.session) return;
  let response;
  try {
    response = await fetch("/api/v1/cue-candidates", {
      headers: { Accept: "application/x-ndjson", Authorization: `Bearer ${state.session.access_token}` },
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    response = null;
  }
  if (!response?.ok) {
    bind($("cue-marks-status"), "risk.failed");
    return;
  }
  const body = await response.text();
  const count = body.split("\n").filter((line) => line.trim()).length;
  const link = el("a", { attrs: { href: URL.createObjectURL(new Blob([body], { type: "application/x-ndjson" })), download: "cue-candidates.jsonl" } });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  bind($("cue-marks-status"), "cuefb.exported", { count });
}

$("cue-export").addEventListener("click", exportCueCandidates);

/**
 * The on-call roster's next hour (GET /api/v1/roster/coverage): a warning when part of it has
 * nobody rostered, so a supervisor can stay on or call someone in before it comes.
 */
async function loadRosterGap() {
  if (!state.session) return;
  const answer = await api("/api/v1/roster/coverage", { token: state.session.access_token });
  const warning = $("roster-gap");
  state.rosteredNow = Boolean(answer.ok && answer.data?.you_rostered_now);
  renderRosterReminder();
  if (!answer.ok || !answer.data || !(answer.data.gap_seconds > 0)) {
    warning.hidden = true;
    return;
  }
  const gap = answer.data;
  const whole = gap.gaps.length === 1 && gap.gaps[0].starts_at === gap.window_start && gap.gaps[0].ends_at === gap.window_end;
  if (whole) bind(warning, "sup.roster_gap_all");
  else {
    bind(warning, "sup.roster_gap", {
      minutes: Math.ceil(gap.gap_seconds / 60),
      time: formatTime(new Date(gap.gaps[0].starts_at).toISOString()),
    });
  }
  warning.hidden = false;
}

/** A supervisor whose roster shift is running, with "I'm on call" off, is reminded. */
function renderRosterReminder() {
  $("roster-you").hidden = !(state.rosteredNow && !$("oncall").checked);
}

async function loadOverview() {
  if (!state.session) return;
  const answer = await api("/api/v1/overview", { token: state.session.access_token });
  if (!answer.ok || !answer.data || typeof answer.data !== "object") {
    // Not there yet (404), or not for this account: the panel steps aside.
    $("overview-panel").hidden = true;
    return;
  }
  state.overview = answer.data;
  renderOverview();
}

function overviewRow(key, labelKey, value, vars = {}) {
  const row = el("div", { class: "kv__row", attrs: { "data-key": key } });
  row.append(el("dt", { i18n: labelKey, vars }), el("dd", { text: value }));
  return row;
}

function renderOverview() {
  const data = state.overview;
  if (!data) return;
  const rows = [];
  const number = (value) => (typeof value === "number" ? String(value) : "–");
  rows.push(overviewRow("waiting", "overview.waiting", number(data.waiting)));
  rows.push(overviewRow("oldest_wait_s", "overview.oldest_wait", typeof data.oldest_wait_s === "number" && data.waiting ? clock(data.oldest_wait_s) : "–"));
  rows.push(overviewRow("active_chats", "overview.active_chats", number(data.active_chats)));
  const volunteers = Array.isArray(data.volunteers_online) ? data.volunteers_online : [];
  const load = volunteers.map((v) => t("overview.volunteer_load", { name: v.alias || "?", active: v.active_chats ?? 0, capacity: v.capacity ?? "?" }));
  rows.push(overviewRow("volunteers_online", "overview.volunteers_online", load.length ? `${load.length}: ${load.join(", ")}` : "0"));
  const byLevel = data.open_escalations_by_level && typeof data.open_escalations_by_level === "object" ? data.open_escalations_by_level : {};
  const levels = Object.entries(byLevel)
    .filter(([, count]) => count > 0)
    .sort(([a], [b]) => (LEVEL_RANK[b] ?? 0) - (LEVEL_RANK[a] ?? 0))
    .map(([level, count]) => t("overview.level_count", { level: tOr(`level.${level}`, level), count }));
  rows.push(overviewRow("open_escalations_by_level", "overview.open_escalations", levels.length ? levels.join(", ") : t("overview.none")));
  const acks = data.time_to_ack_today && typeof data.time_to_ack_today === "object" ? data.time_to_ack_today : {};
  const ackText = Object.entries(acks)
    .sort(([a], [b]) => (LEVEL_RANK[b] ?? 0) - (LEVEL_RANK[a] ?? 0))
    .map(([level, m]) => t("overview.ack_level", { level: tOr(`level.${level}`, level), count: m.count ?? 0, mean: clock(m.mean_s ?? 0), max: clock(m.max_s ?? 0) }));
  rows.push(overviewRow("time_to_ack_today", "overview.time_to_ack", ackText.length ? ackText.join("; ") : t("overview.none")));
  rows.push(...cueFeedbackRows(data.cue_feedback_today));
  $("overview").replaceChildren(...rows);
  $("overview-as-of").textContent = data.as_of ? t("overview.as_of", { time: formatTime(data.as_of) }) : "";
  $("overview-panel").hidden = false;
  renderOutcomes(data.outcomes);
}

/** Today's flags and marks per cue family (most marked first) and the patterns marked "not a
 * risk" most often: where the cue lists need a clinical lead's look. */
function cueFeedbackRows(feedback) {
  if (!feedback || typeof feedback !== "object") return [];
  const families = Object.entries(feedback.families || {})
    .sort(([a, x], [b, y]) => (y.not_risk + y.missed) - (x.not_risk + x.missed) || y.flags - x.flags || a.localeCompare(b))
    .map(([family, c]) => t("overview.cue_family", { family: familyName(family), flags: c.flags ?? 0, not_risk: c.not_risk ?? 0, missed: c.missed ?? 0 }));
  const rows = [
    overviewRow("cue_open_marks", "overview.cue_open", String(feedback.open_marks ?? 0)),
    overviewLines("cue_feedback_today", "overview.cue_feedback", families.length ? families : [t("overview.none")]),
  ];
  const patterns = Object.entries(feedback.patterns || {})
    .filter(([, c]) => c.not_risk > 0)
    .sort(([a, x], [b, y]) => y.not_risk - x.not_risk || a.localeCompare(b))
    .slice(0, 5)
    .map(([pattern, c]) => t("overview.cue_pattern", { pattern, count: c.not_risk }));
  if (patterns.length) rows.push(overviewLines("cue_patterns_today", "overview.cue_patterns", patterns));
  return rows;
}

function overviewLines(key, labelKey, lines) {
  const row = overviewRow(key, labelKey, "");
  row.querySelector("dd").replaceChildren(...lines.map((line) => el("span", { class: "kv__line", text: line })));
  return row;
}

// ---- volunteers' debriefs and activity (docs/protocol.md, Supervision and wellbeing) ---------

async function loadDebriefs() {
  if (!state.session) return;
  const answer = await api("/api/v1/debriefs?status=open", { token: state.session.access_token });
  if (!answer.ok || !Array.isArray(answer.data?.debriefs)) {
    $("debriefs-panel").hidden = true;
    return;
  }
  state.debriefs = answer.data.debriefs;
  renderDebriefs();
}

function renderDebrief(debrief) {
  const item = el("li", { class: "debrief card", attrs: { "data-debrief-id": debrief.debrief_id } });
  item.append(el("p", { class: "debrief__who", text: t("debrief.desk_item", {
    name: debrief.volunteer_alias || "?", level: tOr(`level.${debrief.level}`, debrief.level), time: formatTime(debrief.created_at),
  }) }));
  item.append(el("p", { text: t("debrief.desk_feeling", { feeling: tOr(`debrief.feeling.${debrief.feeling}`, debrief.feeling) }) }));
  if (debrief.wants?.length) {
    const wants = debrief.wants.map((w) => tOr(`debrief.want.${w}`, w)).join("; ");
    item.append(el("p", { text: t("debrief.desk_wants", { wants }) }));
  }
  if (debrief.note) item.append(el("p", { class: "debrief__note", text: debrief.note }));
  const seen = el("button", { class: "button button--secondary button--small", i18n: "debrief.desk_seen", attrs: { type: "button" } });
  seen.addEventListener("click", () => markDebriefSeen(debrief.debrief_id));
  item.append(seen);
  return item;
}

function renderDebriefs() {
  const list = state.debriefs || [];
  $("debriefs").replaceChildren(...list.map(renderDebrief));
  $("debriefs-empty").hidden = list.length > 0;
  $("debriefs-count").hidden = list.length === 0;
  $("debriefs-count").textContent = String(list.length);
  $("debriefs-panel").hidden = false;
}

async function markDebriefSeen(id) {
  const had = $("debriefs").contains(document.activeElement);
  const answer = await api(`/api/v1/debriefs/${encodeURIComponent(id)}/seen`, { method: "POST", token: state.session.access_token });
  bind($("debriefs-status"), answer.ok ? "debrief.desk_marked" : "risk.failed");
  loadTeam();
  await loadDebriefs();
  // The list was drawn again without the button pressed: the keyboard goes to the next
  // debrief's, or to the answer, not to the top of the page.
  if (had && !$("debriefs").contains(document.activeElement)) {
    const next = $("debriefs").querySelector("button") || $("debriefs-status");
    if (next.tagName !== "BUTTON") next.setAttribute("tabindex", "-1");
    next.focus();
  }
}

$("debriefs-refresh").addEventListener("click", loadDebriefs);

async function loadTeam() {
  if (!state.session) return;
  const answer = await api("/api/v1/volunteers/activity", { token: state.session.access_token });
  if (!answer.ok || !Array.isArray(answer.data?.volunteers)) {
    $("team-panel").hidden = true;
    return;
  }
  state.team = answer.data.volunteers;
  renderTeam();
}

function renderTeam() {
  const rows = (state.team || []).map((v) => {
    const row = el("tr", { attrs: { "data-volunteer-id": v.volunteer_id } });
    row.append(el("th", { text: v.alias || "?", attrs: { scope: "row" } }));
    const week = v.windows?.["7d"] || {};
    const month = v.windows?.["30d"] || {};
    for (const value of [week.chats, week.hours, month.high_risk_chats, month.debriefs, v.open_debriefs]) {
      row.append(el("td", { text: value === undefined || value === null ? "–" : String(value) }));
    }
    return row;
  });
  $("team-rows").replaceChildren(...rows);
  $("team-panel").hidden = false;
}

// ---- seekers' feedback: aggregates only (docs/protocol.md, Feedback and outcomes) -------------

function percent(share) {
  return Math.round(share * 100);
}

function outcomeCells(row) {
  const dash = "–";
  const moods = row.mood_start?.mean != null || row.mood_end?.mean != null
    ? `${row.mood_start?.mean ?? dash} → ${row.mood_end?.mean ?? dash}`
    : dash;
  const change = row.mood_change?.mean != null
    ? t("outcomes.change_value", { mean: (row.mood_change.mean > 0 ? "+" : "") + row.mood_change.mean, percent: percent(row.mood_change.better_share) })
    : dash;
  const share = (m) => (m?.yes_share != null ? t("outcomes.share", { percent: percent(m.yes_share), n: m.n }) : dash);
  return [
    String(row.chats),
    t("outcomes.rate", { count: row.responses, percent: percent(row.response_rate) }),
    moods,
    change,
    share(row.heard),
    share(row.come_back),
  ];
}

function outcomeRow(label, row, key) {
  const tr = el("tr", { attrs: { "data-group": key } });
  tr.append(el("th", { text: label, attrs: { scope: "row" } }));
  for (const cell of outcomeCells(row)) tr.append(el("td", { text: cell }));
  return tr;
}

function renderOutcomes(outcomes) {
  if (!outcomes || typeof outcomes !== "object") {
    $("outcomes-panel").hidden = true;
    return;
  }
  const rows = [];
  if (outcomes.overall) rows.push(outcomeRow(t("outcomes.overall"), outcomes.overall, "overall"));
  for (const [language, row] of Object.entries(outcomes.by_language || {})) {
    rows.push(outcomeRow(t("outcomes.language", { language: tOr(`lang.${language}`, language) }), row, `language:${language}`));
  }
  for (const [bucket, row] of Object.entries(outcomes.by_risk || {})) {
    rows.push(outcomeRow(t("outcomes.risk", { bucket: tOr(`outcomes.bucket.${bucket}`, bucket) }), row, `risk:${bucket}`));
  }
  for (const row of outcomes.by_week || []) {
    rows.push(outcomeRow(t("outcomes.week", { week: row.week }), row, `week:${row.week}`));
  }
  $("outcomes-rows").replaceChildren(...rows);
  $("outcomes-empty").hidden = rows.length > 0;
  $("outcomes-rows").closest(".table-wrap").hidden = rows.length === 0;
  $("outcomes-scope").textContent = t("outcomes.scope", {
    from: outcomes.from_week, to: outcomes.to_week, min: outcomes.min_group, withheld: outcomes.withheld_chats ?? 0,
  });
  $("outcomes-panel").hidden = false;
}

$("overview-refresh").addEventListener("click", loadOverview);

// ---- frames --------------------------------------------------------------------------------

function onFrame(frame) {
  switch (frame.type) {
    case "escalation.page":
      upsertEscalation(frame, { fresh: true });
      loadOverview();
      return;
    case "escalation.updated":
      upsertEscalation(frame, { fresh: false });
      endEscalationPage(frame);
      loadOverview();
      return;
    case "emergency_share.updated":
      onShareUpdated(frame);
      return;
    case "flagged.waiting":
      renderFlagged(frame, { fresh: Boolean(frame.alert) });
      return;
    case "oncall.ok":
      if (typeof frame.on_call === "boolean") {
        $("oncall").checked = frame.on_call;
        bind($("oncall-status"), frame.on_call ? "sup.oncall_on" : "sup.oncall_off");
        renderRosterReminder();
      }
      return;
    case "debrief.received":
      loadDebriefs();
      loadTeam();
      announce("sr-alert", t("debrief.desk_new"));
      return;
    case "staff.alert":
      if (frame.code === "method_cue" && frame.conversation_id) {
        heardMethodCue(frame.conversation_id);
        state.methodCues.delete(frame.conversation_id); // the newest goes last
        state.methodCues.set(frame.conversation_id, frame);
      }
      showStaffAlert(frame, { onOpen: openConversation });
      return;
    case "method_cue.screened":
      onMethodCueScreened(frame);
      return;
    case "method_cue.ended":
      onMethodCueEnded(frame);
      return;
    case "safety_plan": {
      const known = state.plans.get(frame.conversation_id);
      if (known && frame.revision < known.revision) return;
      state.plans.set(frame.conversation_id, frame);
      if (frame.conversation_id === state.conversationId) renderDeskPlan();
      return;
    }
    case "seeker.returning":
      if (frame.conversation_id === state.conversationId) state.log?.note(["sup.returning", { n: frame.chats_before }]);
      return;
    case "chat.whisper": {
      if (frame.conversation_id !== state.conversationId) return;
      const mine = Boolean(state.session?.alias) && frame.sender_alias === state.session.alias;
      const pending = mine ? state.pendingWhispers.findIndex((w) => w.conversationId === frame.conversation_id && w.text === frame.text) : -1;
      if (pending >= 0) {
        const [echo] = state.pendingWhispers.splice(pending, 1);
        echo.node.querySelector(".bubble__meta").textContent = formatTime(frame.sent_at);
        echo.node.dataset.whisperId = String(frame.whisper_id);
        return;
      }
      // A resume (a reconnect) sends every whisper again: one line each.
      if (state.log?.hasWhisper(frame.whisper_id)) return;
      state.log?.whisper(frame, { mine });
      return;
    }
    case "conversation.ended":
      if (frame.conversation_id === state.conversationId) {
        state.log?.note(["sup.conversation_ended"]);
        hideKeepingFocus($("sup-composer"), $("conv-messages")); // it says the chat ended
        // Nothing is left to join, take over or hand on (the server refuses them), and no
        // mode to hold: they go, so the chat no longer looks live ("Taken over" stayed after
        // a quick exit). Observe, whispers (staff may still agree what happens next) and
        // Block stay.
        for (const id of [...ENDED_GOES, "reassign-form"]) hideKeepingFocus($(id), $("conv-messages"));
        setMode(null);
      }
      return;
    case "referral.updated":
      if (frame.closed_reason && frame.referral_id === state.closingReferral) { // closed: the status stays the last step
        state.closingReferral = null;
        const line = $("referrals-status");
        bind(line, "sup.ref_closed");
        line.hidden = false;
      }
      loadReferrals();
      return;
    case "conversation.transfer.ok":
      if (frame.conversation_id === state.conversationId) {
        hideKeepingFocus($("reassign-form"));
        $("reassign-note").value = "";
        bind($("conv-status"), "transfer.sent");
        announce("sr-alert", t("transfer.sent"));
      }
      return;
    case "conversation.transferred":
      noteTransfer(frame);
      return;
    case "seeker.block.ok":
      if (frame.conversation_id === state.conversationId) {
        $("block-note").value = "";
        bind($("conv-status"), "sup.blocked");
        announce("sr-alert", t("sup.blocked"));
      }
      return;
    case "error":
      onError(frame);
      return;
    default:
  }
}

function onError(frame) {
  const ref = frame.ref || "";
  if (ref === "oncall") {
    const unsupported = frame.code === "unknown_type";
    bind($("oncall-status"), unsupported ? "sup.oncall_unavailable" : "sup.oncall_failed");
    $("oncall").checked = false;
    $("oncall").disabled = unsupported;
    return;
  }
  if (["observe", "join", "takeover", "whisper"].includes(ref)) {
    const key = frame.code === "unknown_type" ? "sup.action_unavailable"
      : frame.code === "invalid_transition" ? "sup.action_not_active" : "sup.action_failed";
    bind($("conv-status"), key, { action: t(`sup.${ref}`) });
    if (ref !== "whisper") setMode(null);
    if ((ref === "join" || ref === "takeover") && state.keptBefore) {
      putBackMode(state.keptBefore.conversationId, state.keptBefore.mode); // refused: not joined
      state.keptBefore = null;
    }
    return;
  }
  if (ref === "transfer") {
    const known = ["target_unavailable", "target_language", "target_at_capacity", "same_volunteer", "text_too_long", "text_empty", "invalid_transition", "conversation_closed"];
    bind($("conv-status"), known.includes(frame.code) ? `transfer.err_${frame.code}` : "transfer.err_generic");
    return;
  }
  if (ref === "block") {
    bind($("conv-status"), frame.code === "unknown_type" ? "sup.action_unavailable" : "sup.block_failed", { action: t("sup.block") });
    return;
  }
  if (ref.startsWith("share:")) {
    const escalation = state.escalations.get(ref.slice("share:".length));
    const box = escalation?.node.querySelector(".js-share-status");
    if (box) box.textContent = t(frame.code === "share_pending" ? "sup.share_pending" : "sup.share_failed");
    return;
  }
  if (ref.startsWith("esc:") || ref.startsWith("ack:")) {
    const escalation = state.escalations.get(ref.slice(ref.indexOf(":") + 1));
    if (ref.startsWith("ack:") && frame.code === "invalid_transition") {
      // Another supervisor acknowledged (or resolved) it first: said calmly, not as a failure.
      if (!escalation) return; // resolved: its card has gone
      escalation.lateAck = true;
      showEscalationStatus(escalation, lateAckNote(escalation));
      return;
    }
    const key = frame.code === "unknown_type" ? "sup.esc_unavailable" : "sup.esc_failed";
    announce("sr-alert", t(key));
    if (escalation) showEscalationStatus(escalation, key);
  }
}

onLanguageChange(() => {
  for (const escalation of state.escalations.values()) renderEscalation(escalation);
  renderFlaggedWait();
  state.log?.rerender();
  if (state.session) {
    $("who").textContent = t("staff.signed_in_as", { name: state.session.alias || "" });
    loadReferrals();
    renderOverview();
    renderFamilyNames();
    if (state.debriefs) renderDebriefs();
    renderDeskPlan();
  }
  state.originalTitle = document.title;
  // A page alert that is up stays so in the new language, with the "(!)" in the tab's title:
  // the title's translation took the mark away, and a tab in the background looked calm.
  const page = $("page-alert");
  if (!page.hidden) {
    const escalation = state.escalations.get(page.dataset.escalationId);
    if (page.dataset.about === "flagged" && state.flagged?.count) $("page-alert-text").textContent = flaggedPageText(state.flagged.count);
    else if (page.dataset.about === "escalation" && escalation) $("page-alert-text").textContent = escalationPageText(escalation);
    document.title = `(!) ${t("sup.page_title")}`;
  }
});

async function boot() {
  await initLanguage();
  state.originalTitle = document.title;
  initAlertBanner();
  initLogin({ roles: ["supervisor", "admin"], onSession: start });
}

boot();
