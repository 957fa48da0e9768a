// The seeker's page: welcome → consent → queue → chat → ended.
//
// Privacy rules kept here:
//   - localStorage holds ONLY the seeker token and its expiry (never message text);
//   - the interface language lives in sessionStorage and is gone with the tab, and so does
//     the start mood (a number 1-5 and the conversation id, until the answers are sent);
//   - Quick exit (button or Esc) wipes both, closes the socket and replaces this page.

import { Connection, Status } from "./protocol.js";
import { apply, bind, formatTime, formatWait, language, onLanguageChange, setLanguage, t, unbind } from "./i18n.js";
import { $, announce, api, callLabel, el, helplineCard, messageText, openModal, renderLanguageSwitch, sendOrSayNotSent, showScreen as showAnyScreen } from "./ui.js";
// The safety plan's module is fetched only when a plan exists (few chats open one): the
// first screen of a slow phone needs none of it (tests/web/test_slow_network.py).
let planModule = null;
const loadPlan = () => (planModule ??= import("./safetyplan.js"));
// So is the emergency share, with its own strings: only a supervisor's request loads it.
let shareModule = null;
const toShare = (frame) => (shareModule ??= import("./emergencyshare.js"))
  .then((m) => m.onFrame(frame, { conn: state.conn, note: appendSystemNote, openDialog }));
let codeModule = null; // return codes, as rarely needed
const loadCode = () => (codeModule ??= import("./returncode.js"));

/** Where Quick exit goes: an ordinary, harmless page. `location.replace` keeps it out of history. */
export const QUICK_EXIT_URL = "https://www.google.com/search?q=weather";
const TOKEN_KEY = "peerline.seeker";
const LANG_KEY = "peerline.lang";
const MOOD_KEY = "peerline.mood";
const TYPING_REPEAT_MS = 3000;
const TYPING_IDLE_MS = 4000;
const PEER_TYPING_HIDE_MS = 6000;

const state = {
  conn: null,
  conversationId: null,
  status: null, // waiting | active | ended
  peerAlias: "",
  peerSupervisor: false,
  joinOnAuth: false,
  leaveWanted: false, // "Leave queue" tapped before the join was answered
  peerReadSeq: 0,
  highestPeerSeq: 0,
  readSentSeq: 0,
  /** client_msg_id → bubble element of my messages. */
  mine: new Map(),
  typingSentAt: 0,
  typingIdleTimer: null,
  peerTypingTimer: null,
  lastQueueStatus: null,
  /** "A supervisor joined" notes shown (a resume tells them again). */
  joinedSeen: new Set(),
  /** A volunteer took this conversation: only then are the feedback questions asked. */
  hadVolunteer: false,
  /** The conversation's safety plan (the last `safety_plan` frame), in memory only. */
  plan: null,
  /** The plan asked for again in the page's language (reloadPlan), until it answers. */
  planReload: null,
};

/** Show a screen; the chat screen gets an app-like, full-height layout. */
function showScreen(name, options) {
  document.body.classList.toggle("is-chat", name === "chat");
  document.body.dataset.current = name;
  showAnyScreen(name, options);
  // The empty box is sized to its prompt, which wraps on a phone (it was cut to one line).
  if (name === "chat") requestAnimationFrame(autoGrow);
}

// ---- the saved session (token + expiry only) ------------------------------------------------

function loadSession() {
  try {
    const saved = JSON.parse(localStorage.getItem(TOKEN_KEY) || "null");
    if (!saved || typeof saved.token !== "string") return null;
    if (saved.expires_at && Date.parse(saved.expires_at) <= Date.now()) {
      localStorage.removeItem(TOKEN_KEY);
      return null;
    }
    return { token: saved.token, expires_at: saved.expires_at || null };
  } catch {
    return null;
  }
}

function saveSession(token, expiresAt) {
  try {
    localStorage.setItem(TOKEN_KEY, JSON.stringify({ token, expires_at: expiresAt || null }));
  } catch { /* private mode: the chat still works, it just cannot be resumed */ }
}

function clearSession() {
  try { localStorage.removeItem(TOKEN_KEY); } catch { /* ignore */ }
}

// ---- Quick exit ----------------------------------------------------------------------------

/** The close code that tells the server this socket went by quick exit (docs/protocol.md). */
export const CLOSE_QUICK_EXIT = 4100;
const QUICK_EXIT_PATH = "/api/v1/seekers/quick-exit";

/**
 * Tell the server three ways, so one arrives while the page goes: a beacon (survives the
 * navigation), a final `quick_exit` frame, and the socket's close code. The server ends the
 * chat as `quick_exit`, tells the volunteer, and revokes the token.
 */
function reportQuickExit() {
  const token = state.conn?.token || loadSession()?.token;
  if (token) {
    try {
      const body = new Blob([JSON.stringify({ token })], { type: "application/json" });
      navigator.sendBeacon(QUICK_EXIT_PATH, body);
    } catch { /* the frame and the close code still tell */ }
  }
  if (state.conn) {
    state.conn.send({ type: "quick_exit" });
    state.conn.stop(CLOSE_QUICK_EXIT);
  }
}

function quickExit() {
  reportQuickExit();
  clearSession();
  try { sessionStorage.clear(); } catch { /* ignore */ }
  state.conn = null;
  clearTimeout(state.peerTypingTimer); // nothing left for them to hide
  clearTimeout(state.typingIdleTimer);
  // Blank the page at once so nothing stays on screen while the next page loads.
  document.title = "";
  document.body.replaceChildren();
  window.location.replace(QUICK_EXIT_URL);
}

/**
 * Open a dialog with Quick exit inside it: a modal dialog sits in the top layer, above the
 * page's own button, so the button moves into the dialog (last in tab order, pinned to the
 * same corner) and back when the dialog closes. The page's alert and status regions go with
 * it: a modal dialog hides the rest of the page from screen readers, so what the page says
 * meanwhile (a volunteer's message, the connection notice, the place in the queue, the plan
 * saved, the chat ended) is said from the dialog (`openModal` in ui.js). A dialog already open
 * stays as it is; one closed and opened again at once keeps them.
 */
function openDialog(dialog) {
  openModal(dialog, { carry: [$("quick-exit")] });
}

$("quick-exit").addEventListener("click", quickExit);
document.addEventListener(
  "keydown",
  (event) => {
    // Not while an input method composes (Hindi): there Esc cancels its suggestions.
    if (event.key === "Escape" && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      event.stopPropagation();
      quickExit();
    }
  },
  true,
);

// ---- language --------------------------------------------------------------------------------

for (const button of document.querySelectorAll(".lang-switch__option")) {
  button.addEventListener("click", async () => {
    const lang = await setLanguage(button.dataset.lang);
    try { sessionStorage.setItem(LANG_KEY, lang); } catch { /* ignore */ }
    tellLanguage();
  });
}

/** A language chosen is a language kept: the conversation (and its volunteer) follow it. */
function tellLanguage() {
  if (!state.conn || !state.conversationId || !(state.status === "waiting" || state.status === "active")) return;
  sendOrSayNotSent(state.conn, { type: "conversation.language", conversation_id: state.conversationId, language: language() }, $("not-sent"));
}

function chosenLanguage() {
  try { return sessionStorage.getItem(LANG_KEY); } catch { return null; }
}

/**
 * After every `auth.ok` (a reload, or a reconnect): a language chosen in this tab that the
 * conversation does not have was switched while the server could not hear it (its "Not sent"
 * went when the page came back): tell it now, once. Whether there was one to tell.
 */
function tellChosenLanguage(active) {
  const chosen = chosenLanguage();
  if (!chosen || active.language === chosen) return false;
  tellLanguage();
  return true;
}

onLanguageChange(() => {
  renderLanguageSwitch();
  renderStaticHelplines();
  renderCallNumbers();
  renderQueueStatus();
  renderPeer();
  for (const bubble of state.mine.values()) renderBubbleState(bubble);
  if (document.body.classList.contains("is-chat")) autoGrow();
  planFollowsPage(language());
});

// ---- helplines -------------------------------------------------------------------------------

/** Tele-MANAS and 112 are always one tap away, whatever the server sends. */
function defaultHelplines() {
  return [
    {
      name: t("helplines.telemanas_name"),
      hours: t("helplines.telemanas_hours"),
      numbers: [
        { label: t("helplines.telemanas_short"), tel: "14416" },
        { label: t("helplines.telemanas_tollfree"), tel: "18008914416" },
      ],
    },
    {
      name: t("helplines.emergency_name"),
      hours: t("helplines.emergency_hours"),
      numbers: [{ label: t("helplines.emergency_number"), tel: "112" }],
    },
  ];
}

/** The welcome's call buttons (i18n text): a phone number in them never breaks across lines. */
function renderCallNumbers() {
  for (const button of document.querySelectorAll(".emergency__calls .button--call")) {
    button.replaceChildren(callLabel(button.textContent));
  }
}

function renderStaticHelplines() {
  $("helplines-body").replaceChildren(helplineCard(defaultHelplines(), t("helplines.intro")));
  const intro = state.notStarted ? "busy.helplines_intro" : "ended.helplines_intro";
  $("ended-helplines").replaceChildren(helplineCard(defaultHelplines(), t(intro)));
}

// Also the return screens' (drawn later).
document.addEventListener("click", (event) => event.target.closest?.(".js-open-helplines") && openDialog($("helplines-dialog")));
for (const button of document.querySelectorAll(".js-close-dialog")) {
  button.addEventListener("click", () => button.closest("dialog").close());
}

// ---- starting ------------------------------------------------------------------------------

$("start-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const consent = $("consent");
  const error = $("consent-error");
  if (!consent.checked) {
    bind(error, "start.consent_required");
    consent.setAttribute("aria-invalid", "true");
    consent.focus();
    return;
  }
  error.textContent = "";
  consent.removeAttribute("aria-invalid");
  const button = $("start-button");
  button.disabled = true;
  bind(button, "start.button_busy");
  try {
    let session = loadSession();
    if (!session) {
      const answer = await api("/api/v1/seekers", {
        method: "POST",
        body: { language: language(), consent: true },
      });
      if (answer.status === 429) {
        // Too many chats started from here (or by everyone) just now: a kind answer.
        showBusy();
        return;
      }
      if (!answer.ok || !answer.data?.seeker_token) {
        bind(error, answer.status === 0 ? "start.error_network" : "start.error_server");
        return;
      }
      saveSession(answer.data.seeker_token, answer.data.expires_at);
      session = loadSession() || { token: answer.data.seeker_token };
    }
    state.joinOnAuth = true;
    connect(session.token);
  } finally {
    button.disabled = false;
    bind(button, "start.button");
  }
});

$("welcome-bar-start").addEventListener("click", (event) => {
  event.preventDefault();
  $("start-form").scrollIntoView({ block: "center" });
  $("consent").focus({ preventScroll: true });
});

$("consent").addEventListener("change", () => {
  if ($("consent").checked) {
    $("consent-error").textContent = "";
    $("consent").removeAttribute("aria-invalid");
  }
});

function connect(token) {
  if (state.conn) state.conn.stop();
  const conn = new Connection({ token });
  state.conn = conn;
  conn.addEventListener("status", (event) => renderConnection(event.detail.status));
  conn.addEventListener("authenticated", (event) => onAuthenticated(event.detail));
  conn.addEventListener("message", (event) => onMessage(event.detail));
  conn.addEventListener("ack", (event) => onAck(event.detail));
  conn.addEventListener("sendfailed", (event) => onSendFailed(event.detail));
  conn.addEventListener("frame", (event) => onFrame(event.detail));
  conn.addEventListener("unauthorized", () => onUnauthorized());
  conn.start();
}

function onAuthenticated(frame) {
  const active = (frame.active_conversations || [])[0];
  if (active) {
    const firstTime = state.conversationId !== active.conversation_id;
    state.conversationId = active.conversation_id;
    if (firstTime) {
      resetChat();
      state.peerAlias = active.peer_alias || "";
      restoreStartMood(active.conversation_id);
      setStatus(active.status === "active" ? "active" : "waiting");
      if (!tellChosenLanguage(active) && active.language && active.language !== language()) {
        setLanguage(active.language);
      }
      showScreen("chat", { focus: false });
      $("composer-text").focus();
    } else {
      tellChosenLanguage(active);
    }
    state.joinOnAuth = false;
    return;
  }
  if (state.joinOnAuth) {
    state.joinOnAuth = false;
    resetChat();
    askStartMood();
    setStatus("waiting");
    showScreen("chat", { focus: false });
    state.conn.send({ type: "queue.join", ref: JOIN_REF });
    $("composer-text").focus();
    return;
  }
  if (state.status === "waiting" || state.status === "active") {
    // The conversation closed while we were away; conversation.resumed will say how.
    return;
  }
  if (!state.status) {
    // A saved token with nothing open: start again from the welcome (the token is reused).
    state.conn.stop();
    state.conn = null;
    showScreen("welcome");
  }
}

function onUnauthorized() {
  clearSession();
  if (state.status === "ended") {
    // The chat ended and then the session closed (the service closed it): keep the ended
    // screen and its helplines; "Start a new chat" begins from the welcome screen.
    state.conn = null;
    return;
  }
  state.conn = null;
  state.conversationId = null;
  state.status = null;
  const notice = $("start-notice");
  bind(notice, "start.session_expired");
  notice.hidden = false;
  showScreen("welcome");
}

// ---- queue ---------------------------------------------------------------------------------

function setStatus(status) {
  state.status = status;
  if (status === "active") state.hadVolunteer = true;
  $("queue-card").hidden = status !== "waiting";
  $("chat-header").hidden = status !== "active";
  // Writable once the conversation exists (the join is answered): a message typed before
  // that would have nowhere to go.
  $("composer-text").disabled = !((status === "waiting" || status === "active") && state.conversationId);
  renderQueueStatus();
  renderPeer();
}

function renderQueueStatus() {
  const status = state.lastQueueStatus;
  const position = $("queue-position");
  const wait = $("queue-wait");
  const none = $("queue-none");
  if (!status) {
    bind(position, "queue.still_waiting");
    wait.textContent = "";
    none.hidden = true;
    return;
  }
  bind(position, status.position === 1 ? "queue.position_next" : "queue.position", { n: status.position });
  if (status.no_volunteer_online || status.estimated_wait_s === null || status.estimated_wait_s === undefined) {
    wait.textContent = "";
    none.hidden = !status.no_volunteer_online;
    if (!status.no_volunteer_online) bind(wait, "queue.wait_unknown");
  } else {
    none.hidden = true;
    bind(wait, "queue.wait_estimate", { wait: formatWait(status.estimated_wait_s) });
  }
  // What the focused heading says after its name (a hidden notice named here is read too).
  $("queue-title").setAttribute("aria-describedby", none.hidden ? "queue-position queue-wait" : "queue-position queue-none");
}

// A mis-tap lost a place waited minutes for: asked first, the safe choice focused.
$("leave-queue").addEventListener("click", () => {
  openDialog($("leave-dialog"));
  $("leave-cancel").focus();
});
$("leave-confirm").addEventListener("click", () => {
  $("leave-dialog").close();
  // Confirmed before the server has answered the join (a slow network or a busy server), the
  // leave is sent as soon as it does (leaveIfWanted on queue.status), not dropped.
  state.leaveWanted = true;
  leaveIfWanted();
});

/** Send the leave the seeker asked for, once there is a conversation to leave. */
function leaveIfWanted() {
  if (!state.leaveWanted || !state.conn || !state.conversationId) return;
  state.leaveWanted = false;
  sendOrSayNotSent(state.conn, { type: "queue.leave", conversation_id: state.conversationId }, $("not-sent"));
}

// ---- chat ------------------------------------------------------------------------------------

function resetChat() {
  state.leaveWanted = false;
  $("queue-position").removeAttribute("aria-live");
  $("messages").replaceChildren();
  state.mine.clear();
  state.peerReadSeq = 0;
  state.highestPeerSeq = 0;
  state.readSentSeq = 0;
  state.lastQueueStatus = null;
  state.joinedSeen.clear();
  state.peerSupervisor = false;
  state.hadVolunteer = false;
  state.plan = null;
  $("open-plan").hidden = true;
  $("typing").hidden = true;
  $("mood-start").hidden = true;
}

function renderPeer() {
  if (state.peerAlias) $("peer-name").textContent = state.peerAlias;
  else bind($("peer-name"), "chat.peer_default");
  // Taken over: a supervisor.
  bind(document.querySelector(".chat-header__role"), state.peerSupervisor ? "role.supervisor" : "chat.peer_role");
}

function renderConnection(status) {
  $("conn-notice").hidden = status === Status.OPEN || status === Status.CLOSED || status === Status.CONNECTING;
  // Back online: a "not sent" goes (the seeker can try again now).
  if (status === Status.OPEN) for (const line of document.querySelectorAll(".js-not-sent")) unbind(line).hidden = true;
}

/** Put a message bubble in seq order; bubbles still sending stay at the end. */
function placeBubble(bubble) {
  const list = $("messages");
  const seq = Number(bubble.dataset.seq || 0);
  if (seq) {
    for (const other of list.children) {
      const otherSeq = Number(other.dataset.seq || 0);
      if ((!otherSeq && other.dataset.clientMsgId) || otherSeq > seq) {
        list.insertBefore(bubble, other);
        return;
      }
    }
  }
  list.append(bubble);
}

function makeBubble({ mine, text, sentAt, seq, clientMsgId, alias, role }) {
  const bubble = el("li", { class: `bubble ${mine ? "bubble--mine" : "bubble--peer"}${role === "supervisor" ? " bubble--supervisor" : ""}` });
  if (seq) bubble.dataset.seq = String(seq);
  if (clientMsgId) bubble.dataset.clientMsgId = clientMsgId;
  const who = mine ? t("chat.you") : alias || state.peerAlias || t("chat.peer_default");
  if (role === "supervisor" && !mine) {
    bubble.append(bind(el("p", { class: "bubble__who" }), "chat.supervisor_label", { name: alias || t("role.supervisor") }));
  } else {
    bubble.append(el("span", { class: "visually-hidden bubble__who", text: `${who}: ` }));
  }
  bubble.append(el("p", { class: "bubble__text", text }));
  const meta = el("p", { class: "bubble__meta" });
  meta.append(el("time", { class: "bubble__time", text: formatTime(sentAt), attrs: { datetime: sentAt || "" } }));
  if (mine) meta.append(el("span", { class: "bubble__state" }));
  bubble.append(meta);
  return bubble;
}

function renderBubbleState(bubble) {
  const stateEl = bubble.querySelector(".bubble__state");
  if (!stateEl) return;
  const seq = Number(bubble.dataset.seq || 0);
  let key = "chat.state_sending";
  if (bubble.dataset.failed) key = "chat.state_failed";
  else if (seq && state.peerReadSeq >= seq) key = "chat.state_read";
  else if (seq) key = "chat.state_sent";
  bubble.dataset.state = key.replace("chat.state_", "");
  bind(stateEl, key);
}

function send(text) {
  if (!state.conn || !state.conversationId) return false;
  // The start question: once the seeker writes (to a volunteer, or while waiting for one), the
  // chat has started and the optional question goes, unanswered. Kept while they wait and
  // write, it squeezed the queue card's "no volunteer online" notice on a phone, and came back
  // above their own words when a volunteer joined, pushing the chat's header off the screen.
  if (!$("mood-start").hidden) closeStartMood(null);
  const clientMsgId = state.conn.sendChat(state.conversationId, text);
  const bubble = makeBubble({ mine: true, text, sentAt: new Date().toISOString(), clientMsgId });
  state.mine.set(clientMsgId, bubble);
  renderBubbleState(bubble);
  placeBubble(bubble);
  scrollToEnd();
  return true;
}

function onAck(frame) {
  if (frame.conversation_id !== state.conversationId) return;
  const bubble = state.mine.get(frame.client_msg_id);
  if (!bubble) return;
  markStored(bubble, frame.seq, frame.sent_at);
}

function markStored(bubble, seq, sentAt) {
  if (!bubble.dataset.seq) {
    bubble.dataset.seq = String(seq);
    placeBubble(bubble);
    renderUnsent(); // stored after all (its answer came after the end)
  }
  const time = bubble.querySelector(".bubble__time");
  if (sentAt && time) {
    time.textContent = formatTime(sentAt);
    time.setAttribute("datetime", sentAt);
  }
  renderBubbleState(bubble);
}

function onSendFailed(frame) {
  const bubble = state.mine.get(frame.client_msg_id);
  if (!bubble) return;
  bubble.dataset.failed = frame.code || "error";
  renderBubbleState(bubble);
}

function onMessage(frame) {
  if (frame.conversation_id !== state.conversationId) return;
  if (frame.sender_role === "seeker") {
    let bubble = frame.client_msg_id ? state.mine.get(frame.client_msg_id) : null;
    if (!bubble) {
      bubble = makeBubble({ mine: true, text: frame.text, sentAt: frame.sent_at, seq: frame.seq, clientMsgId: frame.client_msg_id });
      if (frame.client_msg_id) state.mine.set(frame.client_msg_id, bubble);
      placeBubble(bubble);
    }
    markStored(bubble, frame.seq, frame.sent_at);
  } else {
    const bubble = makeBubble({ mine: false, text: frame.text, sentAt: frame.sent_at, seq: frame.seq, alias: frame.sender_alias, role: frame.sender_role });
    placeBubble(bubble);
    state.highestPeerSeq = Math.max(state.highestPeerSeq, frame.seq);
    hidePeerTyping();
    sendRead();
  }
  scrollToEnd();
}

function sendRead() {
  if (document.visibilityState !== "visible" || !state.conn) return;
  if (state.highestPeerSeq <= state.readSentSeq) return;
  if (state.conn.send({ type: "chat.read", conversation_id: state.conversationId, seq: state.highestPeerSeq })) {
    state.readSentSeq = state.highestPeerSeq;
  }
}

document.addEventListener("visibilitychange", sendRead);

function scrollToEnd() {
  const list = $("messages");
  list.scrollTop = list.scrollHeight;
  // A small screen or large text: the chat screen itself scrolls (app.css); the newest message
  // must not sit under the composer.
  const screen = list.closest("[data-screen]");
  if (screen.scrollHeight > screen.clientHeight) screen.scrollTop = screen.scrollHeight;
}

function showPeerTyping() {
  const typing = $("typing");
  bind(typing, "chat.typing", { name: state.peerAlias || t("chat.peer_default") });
  typing.hidden = false;
  clearTimeout(state.peerTypingTimer);
  state.peerTypingTimer = setTimeout(hidePeerTyping, PEER_TYPING_HIDE_MS);
}

function hidePeerTyping() {
  clearTimeout(state.peerTypingTimer);
  $("typing").hidden = true;
}

function onFrame(frame) {
  switch (frame.type) {
    case "queue.status": {
      const first = !state.conversationId;
      state.conversationId = frame.conversation_id;
      state.conn.follow(frame.conversation_id, { resume: false });
      state.lastQueueStatus = frame;
      bindStartMood(frame.conversation_id);
      if (state.status !== "active") setStatus("waiting");
      renderQueueStatus();
      // Where they are is heard once, from the focused heading; the place's line speaks
      // only of later changes (live at once, it said the place twice).
      if (first && document.activeElement === document.body) $("queue-title").focus();
      // A new chat is in the session's language, which is the one the page had when the
      // session began (or the code was typed): one chosen since (the welcome back, the ended
      // screen) is told now, so the volunteer who takes the chat speaks it.
      if (first && chosenLanguage()) tellLanguage();
      // (Gone if a quick exit blanked the page meanwhile.)
      setTimeout(() => $("queue-position")?.setAttribute("aria-live", "polite"), 1000);
      leaveIfWanted();
      return;
    }
    case "conversation.started":
      if (frame.your_role && frame.your_role !== "seeker") return;
      state.leaveWanted = false; // a volunteer came first: the chat has begun
      if ($("leave-dialog").open) $("leave-dialog").close();
      state.conversationId = frame.conversation_id;
      state.conn.follow(frame.conversation_id, { resume: false });
      state.peerAlias = frame.peer_alias || "";
      bindStartMood(frame.conversation_id);
      if ($("queue-card").contains(document.activeElement)) $("composer-text").focus(); // the card goes
      setStatus("active");
      announce("sr-alert", t("chat.started", { name: state.peerAlias || t("chat.peer_default") }));
      appendKeyNote("chat.started", { name: state.peerAlias || t("chat.peer_default") });
      return;
    case "conversation.resumed":
      if (frame.conversation_id !== state.conversationId) return;
      if (frame.status === "ended" || frame.status === "abandoned" || frame.status === "closed") {
        showEnded();
        return;
      }
      if (frame.status === "active" && state.status !== "active") setStatus("active");
      if (typeof frame.peer_read_seq === "number") applyPeerRead(frame.peer_read_seq);
      sendRead();
      return;
    case "chat.typing":
      if (frame.conversation_id !== state.conversationId || frame.sender_role === "seeker") return;
      if (frame.typing === false) hidePeerTyping();
      else showPeerTyping();
      return;
    case "chat.read":
      if (frame.conversation_id !== state.conversationId || frame.reader_role === "seeker") return;
      applyPeerRead(frame.seq);
      return;
    case "conversation.ended":
      if (frame.conversation_id !== state.conversationId) return;
      if (frame.reason === "left_queue") showNotStarted("left.title", "left.text", "ended.new_chat");
      else showEnded({ closedByService: frame.reason === "ended_by_service" });
      return;
    case "conversation.joined":
    case "conversation.taken_over": {
      if (frame.conversation_id !== state.conversationId) return;
      const key = frame.type === "conversation.joined" ? "chat.supervisor_joined" : "chat.supervisor_took_over";
      const vars = { name: frame.staff_alias || t("role.supervisor") };
      if (frame.type === "conversation.taken_over" && frame.staff_alias) {
        state.peerAlias = frame.staff_alias;
        state.peerSupervisor = true;
        renderPeer();
      }
      const seen = `${frame.type}:${frame.staff_alias || ""}`;
      if (state.joinedSeen.has(seen)) return;
      state.joinedSeen.add(seen);
      announce("sr-alert", appendKeyNote(key, vars).textContent);
      return;
    }
    case "conversation.handed_over":
      if (frame.conversation_id !== state.conversationId) return;
      onHandedOver(frame);
      return;
    case "safety_plan":
      if (frame.conversation_id !== state.conversationId) return;
      onPlan(frame);
      return;
    case "conversation.language":
      // The plan's steps are worded in the conversation's language: ask for them in the new one.
      if (state.plan && frame.conversation_id === state.conversationId) reloadPlan(frame.conversation_id);
      return;
    case "emergency_share.request":
    case "emergency_share.withdrawn":
    case "emergency_share.ok":
      toShare(frame);
      return;
    case "referral.card":
      if (frame.conversation_id && frame.conversation_id !== state.conversationId) return;
      appendReferralCard(frame);
      return;
    case "error":
      onError(frame);
      return;
    default:
  }
}

/** The chat moved to another volunteer, or back to the queue: say so kindly (never the
 * staff's note: the server never sends it), unless the organisation hands over silently. */
function onHandedOver(frame) {
  hidePeerTyping();
  state.peerSupervisor = false;
  if (frame.to === "queue") {
    state.peerAlias = "";
    state.lastQueueStatus = null;
    setStatus("waiting");
  } else {
    state.peerAlias = frame.peer_alias || "";
    renderPeer();
  }
  if (!frame.announce) return;
  const key =
    frame.reason === "volunteer_vanished" ? "transfer.vanished" : frame.to === "queue" ? "transfer.requeued" : "transfer.handed";
  announce("sr-alert", appendKeyNote(key, { alias: frame.peer_alias || t("chat.peer_default") }).textContent);
}

function onError(frame) {
  if (frame.ref === "share") toShare(frame);
  else if (frame.code === "queue_full" || (frame.code === "rate_limited" && frame.ref === JOIN_REF)) {
    // The queue is full, or too many joins came from here just now.
    showBusy();
  } else if (frame.code === "conversation_closed") {
    showEnded();
  } else if (frame.code === "already_queued") {
    // We already hold a conversation; a reconnect resumes it.
  } else if (frame.code === "rate_limited") {
    announce("sr-alert", t("chat.error_slow_down"));
  }
}

function applyPeerRead(seq) {
  if (seq <= state.peerReadSeq) return;
  state.peerReadSeq = seq;
  for (const bubble of state.mine.values()) renderBubbleState(bubble);
}

/** Add a note or card where it happened: after every stored message, before unsent ones. */
function appendEvent(node) {
  const seqs = [...$("messages").children].map((child) => Math.floor(Number(child.dataset.seq || 0)));
  node.dataset.seq = String(Math.max(0, ...seqs) + 0.5);
  placeBubble(node);
  scrollToEnd();
}

function appendSystemNote(text) {
  appendEvent(el("li", { class: "system-note", text }));
}

/** A note from a string key: it follows a language change, like the rest of the page. */
function appendKeyNote(key, vars) {
  const note = bind(el("li", { class: "system-note" }), key, vars);
  appendEvent(note);
  return note;
}

function appendReferralCard(frame) {
  // One card per referral: a resume replays it (skip), a second offer extends it (the card
  // moves to now, with every line).
  const lines = (frame.helplines || []).map((h) => h.id).join(" ");
  const previous = frame.referral_id
    ? [...$("messages").querySelectorAll(".referral")].find((node) => node.dataset.referralId === frame.referral_id)
    : null;
  if (previous && previous.dataset.lines === lines && previous.dataset.emergency === String(Boolean(frame.emergency))) return;
  previous?.remove();
  const item = el("li", { class: "referral" });
  if (frame.referral_id) item.dataset.referralId = frame.referral_id;
  item.dataset.lines = lines;
  item.dataset.emergency = String(Boolean(frame.emergency));
  const intro = frame.intro || frame.text || t("referral.intro");
  const helplines = Array.isArray(frame.helplines) && frame.helplines.length ? frame.helplines : defaultHelplines();
  item.append(helplineCard(helplines, intro, frame.emergency));
  appendEvent(item);
  announce("sr-alert", t("referral.announce"));
}

/** The `ref` of queue.join, so a refusal of the join itself is told from a chat error. */
const JOIN_REF = "join";

/**
 * No chat: too many people are reaching out (the queue is full, or chats are being started
 * from here too fast), or the seeker left the queue. Never a bare error or "your chat has
 * ended", but a kind word, the helplines one tap away, and a way to start again. It borrows
 * the ended screen: no chat took place, so there is nothing to rate and no return code (a
 * plan made before a chat went back to the queue stays).
 */
function showNotStarted(title, text, again) {
  state.notStarted = true;
  renderStaticHelplines();
  if (state.conn && state.conversationId) state.conn.forget(state.conversationId);
  state.status = "ended";
  state.conversationId = null;
  bind($("ended-title"), title);
  bind($("ended-text"), text);
  bind($("new-chat"), again);
  hidePeerTyping();
  $("mood-start").hidden = true;
  $("feedback-form").hidden = true;
  $("feedback-thanks").hidden = true;
  $("feedback-worse").hidden = true;
  $("feedback-low").hidden = true;
  $("ended-plan").hidden = !state.plan;
  $("ended-code").hidden = true;
  renderUnsent();
  showScreen("ended");
  // From the long welcome page, focusing the heading would leave it under the quick exit.
  window.scrollTo(0, 0);
  announce("sr-alert", t(title));
}

function showBusy() {
  showNotStarted("busy.title", "busy.text", "busy.retry");
}

/**
 * The ended screen. `closedByService`: the service closed the chat (a block); the page says
 * so neutrally, never "blocked", with the helplines.
 */
function showEnded({ closedByService = false } = {}) {
  if (state.status === "ended") return;
  state.status = "ended";
  bind($("ended-title"), closedByService ? "ended.closed_title" : "ended.title");
  bind($("ended-text"), closedByService ? "ended.closed_text" : "ended.text");
  bind($("new-chat"), "ended.new_chat");
  if (state.notStarted) {
    state.notStarted = false;
    renderStaticHelplines();
  }
  if (state.conn && state.conversationId) state.conn.forget(state.conversationId);
  hidePeerTyping();
  if ($("leave-dialog").open) $("leave-dialog").close();
  if ($("end-dialog").open) $("end-dialog").close(); // ended already: the question is moot
  $("mood-start").hidden = true;
  $("feedback-form").hidden = closedByService || !state.hadVolunteer;
  $("feedback-form").reset();
  $("feedback-error").textContent = "";
  $("feedback-thanks").hidden = true;
  $("feedback-worse").hidden = true;
  $("feedback-low").hidden = true;
  $("ended-plan").hidden = !state.plan;
  offerReturnCode(!closedByService && state.hadVolunteer);
  renderUnsent();
  showScreen("ended");
  // Ended while the seeker was in a dialog (their plan, the helplines): it stays open, the plan
  // read-only. The heading behind it could not take the focus (nothing was read, and the focus
  // fell to the page), so the end is said, the focus stays in the dialog, and closing the last
  // one open lands on the ended screen.
  const open = [...document.querySelectorAll("dialog")].filter((dialog) => dialog.matches(":modal"));
  if (open.length) announce("sr-alert", $("ended-title").textContent);
  for (const dialog of open) {
    dialog.addEventListener("close", function toEnded() {
      if (dialog.open) return; // opened again before this closing's event came
      dialog.removeEventListener("close", toEnded);
      if (state.status === "ended" && !document.querySelector("dialog:modal")) $("ended-title").focus();
    });
  }
  if ($("plan-dialog").open) {
    renderSeekerPlan().then(() => {
      if (!$("plan-dialog").contains(document.activeElement)) $("plan-title").focus();
    });
  }
}

/**
 * Messages still unsent when the chat ended (written offline, or as it ended) are never
 * sent: the ended screen says so, with the words under its focused heading, rather than
 * letting them look delivered. Not after leaving the queue (the seeker chose to go).
 */
function renderUnsent() {
  const unsent = state.status === "ended" && !state.notStarted && [...state.mine.values()].some((bubble) => !bubble.dataset.seq);
  $("ended-unsent").hidden = !unsent;
  $("ended-title").setAttribute("aria-describedby", unsent ? "ended-text ended-unsent" : "ended-text");
}

/** After a chat a volunteer took (not one the service closed), offer a return code. */
async function offerReturnCode(offer) {
  const card = $("ended-code");
  card.replaceChildren();
  card.hidden = true; // shown once it holds its title (its aria-labelledby), never empty
  if (!offer) return;
  const token = state.conn?.token || loadSession()?.token;
  const { offerCode } = await loadCode();
  await offerCode(card, { conversationId: state.conversationId, token });
  card.hidden = !card.querySelector("#code-title");
}

$("have-code").addEventListener("click", async () => {
  const { showComeBack } = await loadCode();
  showScreen("return", { focus: false });
  await showComeBack(document.querySelector('[data-screen="return"]'), {
    saveSession,
    back: () => showScreen("welcome"),
    startChat: () => {
      state.conn?.stop(); // the new session's token is the saved one now
      state.conn = null;
      $("new-chat").click();
    },
  });
});

$("end-chat").addEventListener("click", () => {
  openDialog($("end-dialog"));
  // The safe choice first: Enter or a stray tap keeps the chat going.
  $("end-cancel").focus();
});
$("end-confirm").addEventListener("click", () => {
  $("end-dialog").close();
  if (state.conn && state.conversationId) {
    sendOrSayNotSent(state.conn, { type: "conversation.end", conversation_id: state.conversationId }, $("not-sent"));
  }
});

$("new-chat").addEventListener("click", () => {
  state.conversationId = null;
  state.status = null;
  state.peerAlias = "";
  resetChat();
  const session = loadSession();
  if (state.conn && state.conn.status === Status.OPEN) {
    askStartMood();
    setStatus("waiting");
    showScreen("chat", { focus: false });
    state.conn.send({ type: "queue.join", ref: JOIN_REF });
    $("composer-text").focus();
  } else if (session) {
    state.joinOnAuth = true;
    connect(session.token);
  } else {
    showScreen("welcome");
  }
});

// ---- the safety plan: filled in together, kept on this device only if the seeker saves it ------

function onPlan(frame) {
  const first = !state.plan || state.plan.plan_id !== frame.plan_id;
  if (state.plan && frame.revision < state.plan.revision) return; // an older frame, late
  state.plan = frame;
  loadPlan(); // fetched now, so opening the plan is instant
  $("open-plan").hidden = false;
  $("ended-plan").hidden = state.status !== "ended";
  if (first && !$("messages").querySelector(".system-note--plan")) {
    const note = el("li", { class: "system-note system-note--plan" });
    note.append(el("span", { text: t("plan.opened_note") }));
    const open = el("button", { class: "button button--secondary button--small js-open-plan", text: t("plan.open"), attrs: { type: "button" } });
    open.addEventListener("click", openPlan);
    note.append(open);
    appendEvent(note);
    announce("sr-alert", t("plan.opened_note"));
  }
  if ($("plan-dialog").open) renderSeekerPlan();
}

/**
 * Ask for the plan again in the page's language: the steps' words, the intro and the
 * helplines' names and hours come from the server in it, what was written as written. A later
 * switch wins: an answer in a language the page has left, or for a plan it no longer shows,
 * is dropped.
 */
async function reloadPlan(id, lang = language()) {
  const token = state.conn?.token || loadSession()?.token;
  const asked = api(`/api/v1/conversations/${encodeURIComponent(id)}/safety-plan?language=${encodeURIComponent(lang)}`, { token });
  state.planReload = asked;
  const answer = await asked; // api() never rejects
  if (state.planReload === asked) state.planReload = null;
  if (answer.ok && id === state.plan?.conversation_id && language() === lang) onPlan(answer.data);
}

/** The plan in the page's language: one asked for after a switch comes first (Save or Print
 * pressed at once would otherwise keep the last language's steps under this one's title). */
async function planInPageLanguage() {
  while (state.planReload) await state.planReload;
  return state.plan;
}

/**
 * The page's language changed. In a chat, the server's `conversation.language` brings the plan
 * in it; after the chat (ended, or left in the queue) nothing does: the plan (the dialog, "Save
 * to my phone", Print) is asked for here. An open plan is drawn again at once in the page's
 * own words.
 */
function planFollowsPage(lang) {
  if (!state.plan) return;
  if ($("plan-dialog").open) renderSeekerPlan();
  if (state.plan.language !== lang && !planEditable()) reloadPlan(state.plan.conversation_id, lang);
}

function planEditable() {
  return Boolean(state.conn && (state.status === "waiting" || state.status === "active"));
}

async function renderSeekerPlan() {
  if (!state.plan) return;
  const { renderPlan } = await loadPlan();
  renderPlan($("plan-body"), state.plan, {
    idPrefix: "seeker-plan",
    onChange: planEditable()
      ? (step, items) => sendOrSayNotSent(state.conn, { type: "safety_plan.update", conversation_id: state.conversationId, step, items }, $("plan-not-sent"))
      : null,
  });
}

async function openPlan() {
  if (!state.plan) return;
  await renderSeekerPlan();
  openDialog($("plan-dialog"));
  $("plan-title").setAttribute("tabindex", "-1");
  $("plan-title").focus();
}

/** A plain text file, made here and handed to the browser's download: no server involved. */
async function savePlan() {
  if (!state.plan) return;
  const { planText } = await loadPlan();
  const plan = await planInPageLanguage();
  const blob = new Blob([planText(plan)], { type: "text/plain;charset=utf-8" });
  const url = URL.createObjectURL(blob);
  const link = el("a", { attrs: { href: url, download: "my-plan.txt" } });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  announce("sr-alert", t("plan.saved"));
}

async function printPlan() {
  if (!state.plan) return;
  const { renderPrint } = await loadPlan();
  renderPrint($("plan-print"), await planInPageLanguage());
  if ($("plan-dialog").open) $("plan-dialog").close();
  document.body.classList.add("is-printing-plan");
  window.addEventListener("afterprint", () => document.body.classList.remove("is-printing-plan"), { once: true });
  window.print();
}

document.addEventListener("click", (event) => {
  const target = event.target.closest?.(".js-open-plan, .js-save-plan, .js-print-plan");
  if (!target || target.closest(".system-note--plan")) return;
  if (target.classList.contains("js-open-plan")) openPlan();
  else if (target.classList.contains("js-save-plan")) savePlan();
  else printPlan();
});

// ---- how the seeker feels, and the answers at the end ---------------------------------------
// The start mood stays in this tab (sessionStorage, gone with it and wiped by quick exit)
// and travels only with the answers at the end: the server never holds it beside the chat.

function readMood() {
  try { return JSON.parse(sessionStorage.getItem(MOOD_KEY) || "null"); } catch { return null; }
}

function writeMood(record) {
  try {
    if (record) sessionStorage.setItem(MOOD_KEY, JSON.stringify(record));
    else sessionStorage.removeItem(MOOD_KEY);
  } catch { /* private mode: the question is simply asked without being kept */ }
}

/** A new chat: ask how the seeker feels (once, optional). */
function askStartMood() {
  writeMood({ conversation_id: null, mood: null, open: true });
  $("mood-start").reset();
  $("mood-start").hidden = false;
}

/** The conversation now has an id: the mood asked for it belongs to it. */
function bindStartMood(conversationId) {
  const record = readMood();
  if (record && !record.conversation_id) writeMood({ ...record, conversation_id: conversationId });
}

/** After a reload: the question is still open, or answered, for this conversation. */
function restoreStartMood(conversationId) {
  const record = readMood();
  const mine = record && (record.conversation_id === conversationId || !record.conversation_id);
  $("mood-start").hidden = !(mine && record.open);
  if (mine && !record.conversation_id) writeMood({ ...record, conversation_id: conversationId });
}

function startMood() {
  const record = readMood();
  return record && record.conversation_id === state.conversationId && Number.isInteger(record.mood) ? record.mood : null;
}

function closeStartMood(mood) {
  const record = readMood() || { conversation_id: state.conversationId };
  writeMood({ ...record, mood, open: false });
  $("mood-start").hidden = true;
  $("composer-text").focus();
}

// The arrow keys move the choice in a radio group, each move a change: the first one closed
// the question with the next mood along. A change made by an arrow waits for Space or Enter;
// any other (a tap, a click, a screen reader's activation, Space) answers at once.
let arrowed = false;
$("mood-start").addEventListener("keydown", (event) => { arrowed = event.key.startsWith("Arrow"); });
$("mood-start").addEventListener("pointerdown", () => { arrowed = false; });
$("mood-start").addEventListener("change", (event) => { if (!arrowed) answerStartMood(event.target.value); });
$("mood-start").addEventListener("keyup", (event) => {
  if ((event.key === " " || event.key === "Enter") && event.target.checked) answerStartMood(event.target.value);
});

function answerStartMood(value) {
  const mood = Number(value);
  if ($("mood-start").hidden || !Number.isInteger(mood)) return;
  closeStartMood(mood);
  announce("sr-alert", t("mood.thanks"));
}
$("mood-start-skip").addEventListener("click", () => closeStartMood(null));

function choice(form, name) {
  const value = form.get(name);
  return value === null || value === "" ? null : String(value);
}

$("feedback-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData($("feedback-form"));
  const moodEnd = choice(form, "mood_end") === null ? null : Number(form.get("mood_end"));
  const moodStart = startMood();
  const body = {
    conversation_id: state.conversationId,
    mood_start: moodStart,
    mood_end: moodEnd,
    heard: choice(form, "heard"),
    come_back: choice(form, "come_back"),
    comment: String(form.get("comment") || "").trim() || null,
  };
  const error = $("feedback-error");
  if ([body.mood_start, body.mood_end, body.heard, body.come_back, body.comment].every((v) => v === null)) {
    bind(error, "feedback.choose_one");
    return;
  }
  const token = state.conn?.token || loadSession()?.token;
  const answer = await api("/api/v1/outcomes", { method: "POST", body, token });
  const worse = moodEnd !== null && moodStart !== null && moodEnd < moodStart;
  $("feedback-worse").hidden = !worse;
  $("feedback-low").hidden = worse || moodEnd === null || moodEnd > 2;
  if (!answer.ok && answer.data?.error?.code !== "outcome_recorded") {
    bind(error, "feedback.error");
    // Unsent or not, "I feel worse" was said: its follow-up is shown, and read after the error.
    const followup = [$("feedback-worse"), $("feedback-low")].find((line) => !line.hidden);
    if (followup) announce("sr-alert", followup.textContent);
    return;
  }
  error.textContent = "";
  writeMood(null);
  $("feedback-form").hidden = true;
  $("feedback-thanks").hidden = false;
  // Heard with the thanks: the follow-up shown (never a hidden one: it would be read too).
  $("feedback-thanks").setAttribute("aria-describedby", worse ? "feedback-worse" : $("feedback-low").hidden ? "" : "feedback-low");
  $("feedback-thanks").focus?.();
});

// ---- composer ------------------------------------------------------------------------------

const composer = $("composer-text");

function autoGrow() {
  composer.style.height = "auto";
  composer.style.height = `${Math.min(composer.scrollHeight, 160)}px`;
}

/** At the composer's limit (its maxlength cuts a longer paste) the seeker is told so. */
function showLimit() {
  $("composer-limit").hidden = composer.value.length < composer.maxLength;
}

composer.addEventListener("input", () => {
  autoGrow();
  showLimit();
  if (state.status !== "active" || !state.conn) return;
  const now = Date.now();
  if (now - state.typingSentAt > TYPING_REPEAT_MS) {
    state.typingSentAt = now;
    state.conn.send({ type: "chat.typing", conversation_id: state.conversationId, typing: true });
  }
  clearTimeout(state.typingIdleTimer);
  state.typingIdleTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
});

function stopTyping() {
  clearTimeout(state.typingIdleTimer);
  if (!state.typingSentAt || !state.conn || state.status !== "active") return;
  state.typingSentAt = 0;
  state.conn.send({ type: "chat.typing", conversation_id: state.conversationId, typing: false });
}

composer.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
});

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = messageText(composer.value);
  if (!text) return;
  if (send(text)) {
    composer.value = "";
    autoGrow();
    showLimit();
    stopTyping();
  }
});

// ---- boot ------------------------------------------------------------------------------------

async function boot() {
  let lang = "en";
  try { lang = sessionStorage.getItem(LANG_KEY) || (navigator.language || "").slice(0, 2); } catch { /* ignore */ }
  await setLanguage(lang === "hi" ? "hi" : "en");
  renderLanguageSwitch();
  renderStaticHelplines();
  apply(document);
  renderCallNumbers();
  const session = loadSession();
  if (session) {
    showScreen("loading", { focus: false });
    connect(session.token);
  } else {
    showScreen("welcome", { focus: false });
  }
}

boot();
