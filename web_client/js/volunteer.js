// The volunteer console: availability, the live queue, several chats in tabs, canned phrases,
// and a risk panel per chat. Risk frames (risk.*, referral.*, escalation.raise) may not exist
// on the server yet: an `unknown_type` answer hides those tools quietly.

import { apply, bind, formatWait, onLanguageChange, t, tOr, unbind } from "./i18n.js";
import { $, announce, api, el, messageText, sendOrSayNotSent, showScreen } from "./ui.js";
import { ChatLog, cueName } from "./chatlog.js";
import { renderPlan } from "./safetyplan.js";
import { initAlertBanner, initLanguage, initLogin, keepFocusOnPage, logout, openModal, openStaffConnection, showStaffAlert } from "./staff.js";

const TYPING_REPEAT_MS = 3000;
const TYPING_IDLE_MS = 4000;
const PEER_TYPING_HIDE_MS = 6000;
const LEVELS = ["none", "low", "moderate", "high", "imminent"];
/** The risk panel's status line after Escalate, as the chat's escalations stand. */
const ESCALATE_LINES = ["risk.escalate_sent", "risk.escalate_acked", "risk.escalate_resolved"];
/** The referral lifecycle (app/referrals/lifecycle.py): the steps a volunteer records next. */
const REFERRAL_NEXT = {
  offered: ["accepted", "declined", "unreachable"],
  accepted: ["handed_over", "declined", "unreachable"],
  handed_over: ["completed", "unreachable"],
};

const state = {
  session: null,
  conn: null,
  chats: new Map(),
  selected: null,
  availability: { available: false, capacity: 1, auto_assign: false },
  /** What the server last confirmed (availability.ok), to fall back to when a change fails. */
  confirmed: { available: false, capacity: 1, auto_assign: false },
  /** availability.set frames sent on this connection and not answered yet. */
  availabilityAsked: 0,
  riskSupported: true,
  referralSupported: true,
  phrases: {},
  helplines: {},
  cooldownUntil: 0,
  cooldownTimer: null,
  /** GET /api/v1/me has not answered yet (loadAccount). */
  accountLoading: false,
  /** "Take next chat" was pressed and its chat has not come yet. */
  takeAsked: false,
  /** The chat the "You're now chatting with …" line under Take next chat names. */
  tookChat: null,
};

// ---- session ------------------------------------------------------------------------------

function start(session) {
  state.session = session;
  $("who").textContent = t("staff.signed_in_as", { name: session.alias || "" });
  $("who").hidden = false;
  $("logout").hidden = false;
  showScreen("console", { focus: false });
  const conn = openStaffConnection(session, { onUnauthorized: resetConsole });
  state.conn = conn;
  conn.addEventListener("authenticated", (event) => onAuthenticated(event.detail));
  conn.addEventListener("message", (event) => onMessage(event.detail));
  conn.addEventListener("ack", (event) => state.chats.get(event.detail.conversation_id)?.log.ack(event.detail));
  conn.addEventListener("sendfailed", (event) => state.chats.get(event.detail.conversation_id)?.log.failed(event.detail.client_msg_id));
  conn.addEventListener("frame", (event) => onFrame(event.detail));
  loadAccount();
  loadActivity();
}

/** The account as the server has it: offer only the chats at once it allows. Its controls
 * wait for the answer: a change before it would send the page's defaults as the account's
 * choice (availability.set keeps them), and the answer would then show another. */
async function loadAccount() {
  state.accountLoading = true;
  renderAvailabilityControls();
  const answer = await api("/api/v1/me", { token: state.session.access_token });
  state.accountLoading = false; // also when unread: a change then says what the server did
  renderAvailabilityControls();
  if (!answer.ok || !answer.data) return;
  const me = answer.data;
  const wanted = offerCapacity(me.max_concurrent_chats, Number(me.capacity) || Number($("capacity").value) || 1);
  $("auto-assign").checked = Boolean(me.auto_assign);
  state.availability = { ...state.availability, capacity: wanted, auto_assign: Boolean(me.auto_assign) };
  state.confirmed = { ...state.confirmed, capacity: wanted, auto_assign: Boolean(me.auto_assign) };
}

/** The "chats at once" choices, 1 to the account's most, showing `wanted` (kept within
 * them); the value shown. From `GET /api/v1/me`, and from `availability.ok`, which an admin's
 * change to the most brings at once. */
function offerCapacity(most, wanted) {
  const limit = Number.isInteger(most) && most > 0 ? most : 1;
  const select = $("capacity");
  if (select.options.length !== limit) {
    select.replaceChildren(...Array.from({ length: limit }, (_, i) => el("option", { text: String(i + 1), attrs: { value: String(i + 1) } })));
  }
  const shown = Math.min(Math.max(Number(wanted) || 1, 1), limit);
  select.value = String(shown);
  return shown;
}

function resetConsole() {
  state.conn = null;
  $("who").hidden = true;
  $("logout").hidden = true;
  $("conn-state").hidden = true;
}

$("logout").addEventListener("click", () => logout(state.session, state.conn));

function onAuthenticated(frame) {
  $("who").textContent = t("staff.signed_in_as", { name: frame.alias || state.session.alias || "" });
  for (const conv of frame.active_conversations || []) {
    ensureChat({ conversation_id: conv.conversation_id, peer_alias: conv.peer_alias, language: conv.language, status: conv.status });
  }
  // Availability belongs to the connection: say it again after a reconnect. What was asked on
  // the last one is never answered.
  state.availabilityAsked = 0;
  if (state.availability.available) sendAvailability();
  if (!state.selected && state.chats.size) select(state.chats.keys().next().value);
}

// ---- availability and queue ----------------------------------------------------------------

function sendAvailability() {
  const frame = {
    type: "availability.set",
    available: $("available").checked,
    capacity: Number($("capacity").value),
    auto_assign: $("auto-assign").checked,
    ref: "availability",
  };
  state.availability = { available: frame.available, capacity: frame.capacity, auto_assign: frame.auto_assign };
  if (state.conn?.send(frame)) state.availabilityAsked += 1;
}

/** An answer to one of this page's availability.set frames came: true while newer ones are
 * still unanswered. Their answers will show the state; this one's would undo a change made
 * meanwhile (chats at once chosen, then auto-assign ticked before the first answer came). */
function newerAvailabilityAsked() {
  state.availabilityAsked = Math.max(0, state.availabilityAsked - 1);
  return state.availabilityAsked > 0;
}

for (const id of ["available", "capacity", "auto-assign"]) {
  $(id).addEventListener("change", sendAvailability);
}

/**
 * The server's availability. An admin's change to the most chats at once comes unasked (no
 * `ref`): the choices change under the volunteer, so the new most is said (#sr-status), and
 * the status line, often the same as before, is not said again (a line set anew is read
 * anew: "Away: you won't get new chats." out of nowhere).
 */
function renderAvailability(frame) {
  state.availabilityRetried = false;
  state.confirmed = { available: Boolean(frame.available), capacity: frame.capacity || 1, auto_assign: Boolean(frame.auto_assign) };
  if (frame.ref === "availability" && newerAvailabilityAsked()) return;
  $("available").checked = Boolean(frame.available);
  const most = $("capacity").options.length;
  if (Number.isInteger(frame.max_concurrent_chats)) offerCapacity(frame.max_concurrent_chats, frame.capacity);
  else if (frame.capacity) $("capacity").value = String(frame.capacity);
  $("auto-assign").checked = Boolean(frame.auto_assign);
  state.availability = { available: frame.available, capacity: frame.capacity, auto_assign: frame.auto_assign };
  const status = $("availability-status");
  const key = frame.available ? "vol.status_available" : "vol.status_away";
  const vars = { active: frame.active_chats ?? 0, capacity: frame.capacity ?? 1 };
  if (frame.ref || status.textContent !== t(key, vars)) bind(status, key, vars);
  else Object.assign(status.dataset, { i18n: key, i18nVars: JSON.stringify(vars) }); // as bind, unsaid
  if (!frame.ref && Number.isInteger(frame.max_concurrent_chats) && frame.max_concurrent_chats !== most) {
    announce("sr-status", t("vol.max_changed", { n: frame.max_concurrent_chats }));
  }
}

/** The status line's count follows this console's chats as they start, end or go to someone
 * else (it was the count when availability last changed: "0 of 2" with two chats open). The
 * server counts the same: its active chats with this volunteer, a taken-over one included. */
function renderChatCount() {
  const status = $("availability-status");
  if (status.dataset.i18n !== "vol.status_available") return;
  const active = [...state.chats.values()].filter((chat) => chat.status === "active").length;
  const vars = { active, capacity: state.confirmed.capacity };
  if (status.textContent !== t("vol.status_available", vars)) bind(status, "vol.status_available", vars);
}

function renderQueueSummary(frame) {
  $("q-waiting").textContent = String(frame.waiting ?? 0);
  $("q-oldest").textContent = frame.waiting ? formatWait(frame.oldest_wait_s || 0) : "–";
  $("q-online").textContent = String(frame.volunteers_online ?? 0);
  const parts = Object.entries(frame.by_language || {})
    .filter(([, v]) => v && v.waiting)
    .map(([lang, v]) => `${tOr(`lang.${lang}`, lang)}: ${v.waiting}`);
  $("q-languages").textContent = parts.length ? parts.join(", ") : "–";
  $("take-next").classList.toggle("button--attention", Boolean(frame.waiting));
}

/** Empty the line under "Take next chat" (unbound, so a language change leaves it empty). */
function clearTakeStatus() {
  unbind($("take-status"));
  state.tookChat = null;
}

/** "You're now chatting with …" goes when that chat ends or leaves this console. */
function forgetTook(chat) {
  if (state.tookChat === chat.id) clearTakeStatus();
}

$("take-next").addEventListener("click", () => {
  clearTakeStatus();
  // The chat this click brings is shown at once (conversation.started); one that arrives on its
  // own (auto-assignment, a hand-over) never pulls the volunteer away from the chat they are in.
  // A click while the socket is down is not lost in silence: the line says it was not sent.
  state.takeAsked = sendOrSayNotSent(state.conn, { type: "queue.take", ref: "take" }, $("take-status"));
});

// ---- chats -----------------------------------------------------------------------------------

let paneCounter = 0;

function ensureChat(info) {
  let chat = state.chats.get(info.conversation_id);
  if (chat) {
    if (info.peer_alias) chat.peerAlias = info.peer_alias;
    if (info.language) chat.language = info.language;
    if (info.topics) chat.topics = info.topics;
    renderChatHead(chat);
    return chat;
  }
  paneCounter += 1;
  const n = paneCounter;
  const pane = $("chat-pane-template").content.firstElementChild.cloneNode(true);
  pane.id = `pane-${n}`;
  pane.hidden = true;
  // Labels need ids that are unique per pane.
  const link = (labelSel, fieldSel, id) => {
    pane.querySelector(fieldSel).id = id;
    pane.querySelector(labelSel).setAttribute("for", id);
  };
  link(".js-phrases-label", ".js-phrases", `phrases-${n}`);
  link(".js-text-label", ".js-text", `text-${n}`);
  link(".js-note-label", ".js-note-text", `note-${n}`);
  link(".js-report-label", ".js-report-note", `report-${n}`);
  link(".js-transfer-to-label", ".js-transfer-to", `transfer-to-${n}`);
  // Closing a chat handed on ends the chance to report it: its button says so, as the line
  // above it does (the keyboard comes to the button from the notice, past that line).
  pane.querySelector(".js-handed-report").id = `handed-report-${n}`;
  pane.querySelector(".js-handed-close").setAttribute("aria-describedby", `handed-report-${n}`);
  link(".js-transfer-note-label", ".js-transfer-note", `transfer-note-${n}`);
  pane.querySelector(".js-transfer-note-help").id = `transfer-note-help-${n}`;
  pane.querySelector(".js-transfer-note").setAttribute("aria-describedby", `transfer-note-help-${n}`);
  apply(pane);

  const risk = $("risk-panel-template").content.firstElementChild.cloneNode(true);
  risk.hidden = true;
  const riskLink = (labelSel, fieldSel, id) => {
    risk.querySelector(fieldSel).id = id;
    risk.querySelector(labelSel).setAttribute("for", id);
  };
  riskLink(".js-concern-level-label", ".js-concern-level", `concern-level-${n}`);
  riskLink(".js-worry-seq-label", ".js-worry-seq", `worry-seq-${n}`);
  riskLink(".js-concern-reason-label", ".js-concern-reason", `concern-reason-${n}`);
  riskLink(".js-escalate-reason-label", ".js-escalate-reason", `escalate-reason-${n}`);
  apply(risk);

  const tab = el("button", { class: "tab", attrs: { type: "button", role: "tab", "aria-selected": "false", "aria-controls": pane.id, id: `tab-${n}`, tabindex: "-1" } });
  tab.append(el("span", { class: "tab__name" }), el("span", { class: "badge", attrs: { hidden: true } }));
  pane.setAttribute("aria-labelledby", tab.id);

  chat = {
    id: info.conversation_id,
    peerAlias: info.peer_alias || "",
    language: info.language || "en",
    topics: info.topics || [],
    status: info.status || "active",
    pane,
    risk,
    tab,
    log: new ChatLog(pane.querySelector(".js-messages"), "volunteer", { alias: state.session?.alias || "" }),
    unread: 0,
    unreadAt: 0, // when its latest unread message came (the newest is named first)
    highestPeerSeq: 0,
    readSentSeq: 0,
    typingSentAt: 0,
    typingIdleTimer: null,
    peerTypingTimer: null,
    flagged: false,
    checklistZeroBased: false,
    level: "none",
    /** escalation_id → {status, level}, from escalation.updated (live, and again on a resume). */
    escalations: new Map(),
    /** The code of the server's last refusal of End, until what caused it changes. */
    endRefused: null,
  };
  state.chats.set(chat.id, chat);
  $("chat-tabs").append(tab);
  $("chat-area").append(pane);
  $("risk-area").append(risk);
  $("no-chats").hidden = true;
  tab.addEventListener("click", () => select(chat.id));
  tab.addEventListener("keydown", (event) => onTabKey(event, chat.id));
  wireComposer(chat);
  wireRisk(chat);
  renderChatHead(chat);
  loadPhrases(chat);
  return chat;
}

function renderChatHead(chat) {
  const name = chat.peerAlias || t("role.seeker");
  chat.pane.querySelector(".js-peer").textContent = name;
  const meta = [tOr(`lang.${chat.language}`, chat.language)];
  if (chat.topics?.length) meta.push(chat.topics.join(", "));
  if (chat.returning) meta.push(t("vol.returning_badge"));
  chat.pane.querySelector(".js-meta").textContent = meta.join(" · ");
  chat.tab.querySelector(".tab__name").textContent = name;
  const badge = chat.tab.querySelector(".badge");
  badge.hidden = chat.unread === 0;
  badge.textContent = String(chat.unread);
  badge.setAttribute("aria-label", t("vol.unread", { n: chat.unread }));
  chat.tab.classList.toggle("tab--ended", chat.status === "ended");
  chat.tab.classList.toggle("tab--risk", chat.flagged);
}

function select(conversationId) {
  state.selected = conversationId;
  for (const chat of state.chats.values()) {
    const on = chat.id === conversationId;
    chat.pane.hidden = !on;
    chat.risk.hidden = !on;
    chat.tab.setAttribute("aria-selected", String(on));
    chat.tab.setAttribute("tabindex", on ? "0" : "-1");
    if (on) {
      chat.unread = 0;
      renderChatHead(chat);
      sendRead(chat);
      chat.log.scrollToEnd();
    }
  }
  $("chat-empty").hidden = state.chats.size > 0;
  renderUnreadElsewhere();
}

function onTabKey(event, conversationId) {
  const ids = [...state.chats.keys()];
  const index = ids.indexOf(conversationId);
  let next = null;
  if (event.key === "ArrowDown" || event.key === "ArrowRight") next = ids[(index + 1) % ids.length];
  if (event.key === "ArrowUp" || event.key === "ArrowLeft") next = ids[(index - 1 + ids.length) % ids.length];
  if (event.key === "Home") next = ids[0];
  if (event.key === "End") next = ids[ids.length - 1];
  if (!next) return;
  event.preventDefault();
  select(next);
  state.chats.get(next).tab.focus();
}

function closeTab(chat) {
  dropPane(chat);
  state.conn?.forget(chat.id);
  // The keyboard goes to the chat now shown (its tab, which names it), or to "Take next chat"
  // when none is left: it fell to the top of the page.
  const shown = state.chats.get(state.selected);
  (shown ? shown.tab : $("take-next")).focus();
}

function dropPane(chat) {
  chat.pane.remove();
  chat.risk.remove();
  chat.tab.remove();
  state.chats.delete(chat.id);
  if (state.selected === chat.id) {
    state.selected = null;
    const first = state.chats.keys().next().value;
    if (first) select(first);
  }
  $("no-chats").hidden = state.chats.size > 0;
  $("chat-empty").hidden = state.chats.size > 0;
  renderUnreadElsewhere();
}

/**
 * A message in a chat not shown: a button at the top of the chat area names the chat and
 * shows it, and a screen reader hears it. On a phone that chat's tab and its count were a
 * screen above: a seeker could wait unseen while the volunteer wrote in the other chat.
 */
function renderUnreadElsewhere(arrived = null) {
  const button = $("unread-elsewhere");
  const waiting = [...state.chats.values()].filter((chat) => chat.id !== state.selected && chat.unread > 0);
  const latest = waiting.sort((a, b) => b.unreadAt - a.unreadAt)[0];
  if (!latest) {
    button.hidden = true;
    return;
  }
  const vars = { name: latest.peerAlias || { key: "role.seeker" } };
  bind(button, "vol.unread_elsewhere", vars);
  button.dataset.chat = latest.id;
  button.hidden = false;
  if (arrived) announce("sr-status", button.textContent); // the chat just written in is the newest
}

$("unread-elsewhere").addEventListener("click", () => {
  const chat = state.chats.get($("unread-elsewhere").dataset.chat);
  if (!chat) return renderUnreadElsewhere();
  select(chat.id);
  const text = chat.pane.querySelector(".js-text");
  (text && text.getClientRects().length ? text : chat.tab).focus();
});

function sendRead(chat) {
  if (state.selected !== chat.id || document.visibilityState !== "visible") return;
  if (chat.highestPeerSeq <= chat.readSentSeq || chat.status === "ended") return;
  if (state.conn?.send({ type: "chat.read", conversation_id: chat.id, seq: chat.highestPeerSeq })) {
    chat.readSentSeq = chat.highestPeerSeq;
  }
}

document.addEventListener("visibilitychange", () => {
  const chat = state.chats.get(state.selected);
  if (chat) sendRead(chat);
});

function onMessage(frame) {
  const chat = ensureChat({ conversation_id: frame.conversation_id });
  const fromOther = chat.log.addMessage(frame);
  if (!fromOther) return;
  chat.highestPeerSeq = Math.max(chat.highestPeerSeq, frame.seq);
  hidePeerTyping(chat);
  if (state.selected === chat.id && document.visibilityState === "visible") {
    sendRead(chat);
  } else if (frame.seq > chat.readSentSeq) {
    chat.unread += 1;
    chat.unreadAt = Date.now();
    renderChatHead(chat);
    if (state.selected !== chat.id) renderUnreadElsewhere(chat);
  }
}

function wireComposer(chat) {
  const form = chat.pane.querySelector(".js-composer");
  const text = chat.pane.querySelector(".js-text");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = messageText(text.value);
    if (!value || !state.conn || chat.status === "ended") return;
    const clientMsgId = state.conn.sendChat(chat.id, value);
    chat.log.addPending(clientMsgId, value);
    text.value = "";
    stopTyping(chat);
  });
  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  text.addEventListener("input", () => {
    if (!state.conn || chat.status === "ended") return;
    const now = Date.now();
    if (now - chat.typingSentAt > TYPING_REPEAT_MS) {
      chat.typingSentAt = now;
      state.conn.send({ type: "chat.typing", conversation_id: chat.id, typing: true });
    }
    clearTimeout(chat.typingIdleTimer);
    chat.typingIdleTimer = setTimeout(() => stopTyping(chat), TYPING_IDLE_MS);
  });
  const phrases = chat.pane.querySelector(".js-phrases");
  phrases.addEventListener("change", () => {
    if (!phrases.value) return;
    // Insert at the cursor; the volunteer edits it before sending.
    const start = text.selectionStart ?? text.value.length;
    const end = text.selectionEnd ?? text.value.length;
    const before = text.value.slice(0, start);
    const spacer = before && !/\s$/.test(before) ? " " : "";
    const phrase = phrases.value;
    text.value = `${before}${spacer}${phrase}${text.value.slice(end)}`;
    phrases.value = "";
    text.focus();
    const caret = before.length + spacer.length + phrase.length;
    text.setSelectionRange(caret, caret);
  });
  // Ending is final for the seeker (they see that the chat ended): one click beside Report abuse
  // must not do it. A small confirm, the safe choice focused, as the seeker's own End chat has.
  // A chat the server will not let end (docs/protocol.md: escalation_open, referral_open) says
  // so, and what to do instead, in place of the question: the volunteer confirmed and was
  // then told no. Where the page cannot be sure (only the level says so), End is still offered.
  const endConfirm = chat.pane.querySelector(".js-end-confirm");
  const question = endConfirm.querySelector(".js-end-question");
  question.id = `${chat.pane.id}-end-question`;
  endConfirm.setAttribute("aria-labelledby", question.id);
  chat.pane.querySelector(".js-end").addEventListener("click", () => {
    if (chat.status === "ended") return;
    const block = endBlock(chat);
    chat.renderEndQuestion = () => bind(question, block?.key || "vol.end_confirm", { name: chat.peerAlias || t("role.seeker"), level: t(`level.${chat.level}`) });
    chat.renderEndQuestion();
    endConfirm.querySelector(".js-end-yes").hidden = Boolean(block?.sure);
    unbind(endConfirm.querySelector(".js-end-status")).hidden = true;
    endConfirm.hidden = false;
    endConfirm.querySelector(".js-end-no").focus();
  });
  endConfirm.querySelector(".js-end-no").addEventListener("click", () => {
    endConfirm.hidden = true;
    chat.pane.querySelector(".js-text").focus();
  });
  endConfirm.querySelector(".js-end-yes").addEventListener("click", () => {
    if (chat.status !== "ended") {
      const frame = { type: "conversation.end", conversation_id: chat.id, ref: `end:${chat.id}` };
      // Not sent (reconnecting): the question stays, with why, for a second "yes".
      if (!sendOrSayNotSent(state.conn, frame, endConfirm.querySelector(".js-end-status"))) return;
    }
    endConfirm.hidden = true;
  });
  // Report abuse: supervisors are alerted and may block the seeker; nothing changes here.
  const reportForm = chat.pane.querySelector(".js-report-form");
  chat.pane.querySelector(".js-report").addEventListener("click", () => {
    reportForm.hidden = false;
    chat.pane.querySelector(".js-report-note").focus();
  });
  chat.pane.querySelector(".js-report-cancel").addEventListener("click", () => {
    reportForm.hidden = true;
    chat.pane.querySelector(".js-report").focus();
  });
  reportForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const note = chat.pane.querySelector(".js-report-note").value.trim();
    const frame = { type: "seeker.report", conversation_id: chat.id, ref: `report:${chat.id}` };
    if (note) frame.note = note;
    if (!sendOrSayNotSent(state.conn, frame, chat.pane.querySelector(".js-report-status"))) return;
    reportForm.hidden = true;
    bind(chat.pane.querySelector(".js-report-status"), "vol.report_sending");
    keepFocus(chat, chat.pane.querySelector(".js-report-status")); // Send went with its form
  });
  wireTransfer(chat);
  const noteForm = chat.pane.querySelector(".js-note-form");
  noteForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const note = chat.pane.querySelector(".js-note-text").value.trim();
    if (!note) return;
    const status = chat.pane.querySelector(".js-note-status");
    const frame = { type: "conversation.note", conversation_id: chat.id, text: note, ref: `note:${chat.id}` };
    if (sendOrSayNotSent(state.conn, frame, status)) bind(status, "vol.note_saving");
  });
  chat.pane.querySelector(".js-close-tab").addEventListener("click", () => closeTab(chat));
}

// ---- warm transfer (docs/protocol.md, Warm transfer) ---------------------------------------

function wireTransfer(chat) {
  const form = chat.pane.querySelector(".js-transfer-form");
  const opener = chat.pane.querySelector(".js-transfer");
  opener.addEventListener("click", () => openTransfer(chat));
  chat.pane.querySelector(".js-transfer-cancel").addEventListener("click", () => {
    form.hidden = true;
    opener.focus();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const note = chat.pane.querySelector(".js-transfer-note").value.trim();
    const to = chat.pane.querySelector(".js-transfer-to").value;
    const status = chat.pane.querySelector(".js-transfer-status");
    if (!note) {
      bind(status, "transfer.err_note");
      chat.pane.querySelector(".js-transfer-note").focus();
      return;
    }
    const frame = { type: "conversation.transfer", conversation_id: chat.id, note, ref: `transfer:${chat.id}` };
    if (to === "queue") frame.to = "queue";
    else Object.assign(frame, { to: "volunteer", volunteer_id: to });
    if (!sendOrSayNotSent(state.conn, frame, status)) return;
    bind(status, "transfer.sending");
    form.hidden = true;
    keepFocus(chat, status); // the Send button just went with its form
  });
  chat.pane.querySelector(".js-handed-close").addEventListener("click", () => closeTab(chat));
}

/** Open the hand-over form with the volunteers who could take this chat now. */
async function openTransfer(chat) {
  const form = chat.pane.querySelector(".js-transfer-form");
  const select = chat.pane.querySelector(".js-transfer-to");
  select.replaceChildren(el("option", { text: t("transfer.to_queue"), attrs: { value: "queue" } }));
  form.hidden = false;
  select.focus();
  const answer = await api(`/api/v1/conversations/${encodeURIComponent(chat.id)}/transfer-targets`, { token: state.session.access_token });
  for (const target of answer.ok ? answer.data.targets : []) {
    select.append(el("option", { text: t("transfer.to_volunteer", { name: target.alias, n: target.free_slots }), attrs: { value: target.volunteer_id } }));
  }
  if (answer.ok && answer.data.targets.length === 0) bind(chat.pane.querySelector(".js-transfer-status"), "transfer.nobody_free");
}

/** A chat handed to me: who had it and their note, above the conversation. */
function showHandover(chat, handover) {
  chat.handoversSeen ??= new Set();
  if (chat.handoversSeen.has(handover.transfer_id)) return;
  chat.handoversSeen.add(handover.transfer_id);
  // A chat handed to this volunteer more than once: the box shows the latest hand-over's note
  // (the earlier ones come again, replayed, when the chat is resumed).
  const at = Date.parse(handover.at || "");
  if (chat.handoverAt && !(at >= chat.handoverAt)) return;
  if (at) chat.handoverAt = at;
  const box = chat.pane.querySelector(".js-handover");
  const from = handover.from_alias || t("role.volunteer");
  const key = handover.reason === "volunteer_vanished" ? "transfer.received_vanished" : "transfer.received_from";
  bind(box.querySelector(".js-handover-from"), key, { name: from });
  const note = box.querySelector(".js-handover-note");
  note.textContent = handover.note || "";
  note.hidden = !handover.note;
  box.hidden = false;
}

/**
 * My chat went to someone else (or back to the queue): it leaves this console, all but
 * Report. The server still takes a `seeker.report` from the volunteer it was handed on from,
 * during the chat and after it ended (docs/protocol.md): a hand-over is often because of how
 * the seeker treated them. The pane keeps it until its tab is closed; after a reload the chat
 * is no longer listed, and there is no pane to report from.
 */
function releaseChat(chat, frame) {
  chat.status = "ended";
  renderChatCount();
  state.conn?.forget(chat.id);
  hidePeerTyping(chat);
  // Writing a report when the chat went: the keyboard stays in its form.
  const reportForm = chat.pane.querySelector(".js-report-form");
  const reporting = reportForm.contains(document.activeElement) || chat.pane.querySelector(".js-report") === document.activeElement;
  for (const sel of [".js-composer", ".js-end", ".js-end-confirm", ".js-transfer", ".js-transfer-form", ".js-note-form"]) {
    chat.pane.querySelector(sel).hidden = true;
  }
  chat.risk.hidden = true;
  const text = frame.to === "queue" ? t("transfer.released_queue") : t("transfer.released_to", { name: frame.to_alias || t("role.volunteer") });
  chat.pane.querySelector(".js-handed-text").textContent = text;
  unbind(chat.pane.querySelector(".js-transfer-status"));
  chat.pane.querySelector(".js-handed").hidden = false;
  forgetTook(chat);
  keepFocus(chat, chat.pane.querySelector(".js-handed-text"), { fromPane: !reporting });
  announce("sr-alert", text);
  renderChatHead(chat);
}

/**
 * The control with the keyboard was hidden (a form sent, a chat gone): focus `target`
 * (made focusable) rather than let it fall to <body>. With `fromPane`, from anywhere in the
 * pane or its risk panel, which have nothing left to act on.
 */
function keepFocus(chat, target, { fromPane = false } = {}) {
  if (state.selected !== chat.id) return;
  const active = document.activeElement;
  const inPane = active && (chat.pane.contains(active) || chat.risk.contains(active));
  const lost = !active || active === document.body || (inPane && (fromPane || !active.checkVisibility()));
  if (!lost) return;
  target.setAttribute("tabindex", "-1");
  target.focus();
}

function stopTyping(chat) {
  clearTimeout(chat.typingIdleTimer);
  if (!chat.typingSentAt || chat.status === "ended") return;
  chat.typingSentAt = 0;
  state.conn?.send({ type: "chat.typing", conversation_id: chat.id, typing: false });
}

function showPeerTyping(chat) {
  const typing = chat.pane.querySelector(".js-typing");
  bind(typing, "chat.typing", { name: chat.peerAlias || t("role.seeker") });
  typing.hidden = false;
  clearTimeout(chat.peerTypingTimer);
  chat.peerTypingTimer = setTimeout(() => hidePeerTyping(chat), PEER_TYPING_HIDE_MS);
}

function hidePeerTyping(chat) {
  clearTimeout(chat.peerTypingTimer);
  chat.pane.querySelector(".js-typing").hidden = true;
}

const BLOCKING_LEVELS = ["high", "imminent"];

/**
 * Why the server would refuse to end this chat, as far as the page knows: `{key, sure}`, or
 * null. The server's rule (app/escalation/ending.py): an unresolved high or imminent
 * escalation refuses with escalation_open, else an open referral with referral_open. So: a
 * known unresolved escalation (escalation.updated) or the server's escalation_open refusal;
 * else a known open referral (referral.updated, sent again on every resume) or the server's
 * referral_open refusal: either way the chat cannot end, whatever became of the escalation.
 * Only when neither is known does the level speak: after a reload no escalation.updated has
 * come, so a high or imminent level says one was opened, not whether a supervisor has
 * resolved it since (`sure` false: End is still offered).
 */
function endBlock(chat) {
  const known = [...chat.escalations.values()];
  const blocking = known.some((e) => e.status !== "resolved" && BLOCKING_LEVELS.includes(e.level));
  if (blocking || chat.endRefused === "escalation_open") return { key: "vol.err_escalation_open", sure: true };
  if (chat.endRefused === "referral_open" || referralOpen(chat.referral)) return { key: "vol.err_referral_open", sure: true };
  if (!known.length && BLOCKING_LEVELS.includes(chat.level)) return { key: "vol.end_blocked_level", sure: false };
  return null;
}

/** Open as the server counts it: neither closed by a supervisor nor at a final step. */
function referralOpen(referral) {
  return Boolean(referral && !referral.closed_reason && REFERRAL_NEXT[referral.status]);
}

function endChat(chat, frame) {
  if (chat.status === "ended") return;
  chat.status = "ended";
  renderChatCount();
  loadActivity(); // the chat counts now (it showed only after a reload)
  hidePeerTyping(chat);
  renderVolunteerPlan(chat); // read-only from now on
  const notice = chat.pane.querySelector(".js-ended");
  const quickExit = frame.reason === "quick_exit";
  if (quickExit) {
    // The seeker vanished on purpose: say what happened and what to do, loudly, once.
    bind(notice, "vol.ended_quick_exit", { name: chat.peerAlias || t("role.seeker") });
    notice.setAttribute("role", "alert");
  } else {
    bind(notice, frame.by === "volunteer" ? "vol.ended_by_you" : "vol.ended_by", { by: t(`role.${frame.by || "system"}`) });
  }
  notice.classList.toggle("system-note--urgent", quickExit);
  notice.hidden = false;
  chat.pane.querySelector(".js-composer").hidden = true;
  chat.pane.querySelector(".js-end").hidden = true;
  chat.pane.querySelector(".js-end-confirm").hidden = true;
  // Nothing the server would now refuse stays on screen: no hand-over. Report stays (abuse is
  // often reported at the end, and the server takes it), unless the service itself ended the
  // chat by blocking the seeker: nothing is left to report then.
  const blocked = frame.by === "system" && frame.reason === "ended_by_service";
  const gone = [".js-transfer", ".js-transfer-form", ...(blocked ? [".js-report", ".js-report-form"] : [])];
  for (const sel of gone) chat.pane.querySelector(sel).hidden = true;
  unbind(chat.pane.querySelector(".js-transfer-status"));
  // The level's routing ("supervisors are being paged", "a supervisor will join") was about
  // the live chat: once it ended it would only mislead. The level itself stays.
  chat.risk.querySelector(".js-actions").hidden = true;
  chat.pane.querySelector(".js-note-form").hidden = false;
  keepFocus(chat, notice);
  forgetTook(chat);
  renderChatHead(chat);
}

/**
 * A supervisor took the chat over: from now on the volunteer only reads along. The server
 * refuses their messages, End and Hand over (docs/protocol.md, conversation.takeover), and
 * in the risk panel the checklist, a concern, a helpline card and the safety plan (the
 * supervisor leads them now), so those go, and a line says why instead of a "Not sent" with
 * no reason. Again on a resume.
 */
function onTakenOver(chat, frame) {
  // No "stopped typing" to send: the server refuses it from a volunteer who only reads along.
  clearTimeout(chat.typingIdleTimer);
  chat.typingSentAt = 0;
  chat.takenOver = { name: frame.staff_alias || t("role.supervisor") };
  // First the panel: the keyboard in its checklist or a form goes to the line beside it.
  renderRiskLed(chat);
  const notice = chat.pane.querySelector(".js-ended");
  bind(notice, "vol.taken_over_notice", { name: frame.staff_alias || t("role.supervisor") });
  notice.hidden = false;
  for (const sel of [".js-composer", ".js-end", ".js-end-confirm", ".js-transfer", ".js-transfer-form"]) {
    chat.pane.querySelector(sel).hidden = true;
  }
  unbind(chat.pane.querySelector(".js-transfer-status"));
  keepFocus(chat, notice);
}

// ---- phrases -------------------------------------------------------------------------------

async function phrasesFor(lang) {
  if (!state.phrases[lang]) {
    state.phrases[lang] = fetch(`/static/i18n/phrases.${lang}.json`)
      .then((r) => (r.ok ? r.json() : { groups: [] }))
      .catch(() => ({ groups: [] }));
  }
  return state.phrases[lang];
}

async function loadPhrases(chat) {
  const data = await phrasesFor(chat.language === "hi" ? "hi" : "en");
  const select = chat.pane.querySelector(".js-phrases");
  select.replaceChildren(el("option", { text: t("vol.phrases_pick"), attrs: { value: "" } }));
  for (const group of data.groups || []) {
    const optgroup = el("optgroup", { attrs: { label: group.label } });
    for (const phrase of group.phrases || []) optgroup.append(el("option", { text: phrase, attrs: { value: phrase } }));
    select.append(optgroup);
  }
}

// ---- risk panel ------------------------------------------------------------------------------

function wireRisk(chat) {
  const risk = chat.risk;
  const forms = [".js-concern-form", ".js-referral-form", ".js-escalate-form", ".js-worry-form"];
  const open = (selector) => {
    for (const f of forms) risk.querySelector(f).hidden = f !== selector;
    risk.querySelector(`${selector} select, ${selector} textarea, ${selector} input`)?.focus();
  };
  // A form that goes (sent or cancelled) took the focus with it to the top of the page: it
  // goes back to the button that opened the form (.js-escalate for .js-escalate-form); what
  // happened is said in the status line.
  const close = (form) => {
    const had = form.contains(document.activeElement);
    form.hidden = true;
    const opener = [...form.classList].find((c) => c.endsWith("-form"));
    if (had) risk.querySelector(`.${opener.slice(0, -"-form".length)}`)?.focus();
  };
  for (const cancel of risk.querySelectorAll(".js-cancel")) {
    cancel.addEventListener("click", () => close(cancel.closest("form")));
  }
  risk.querySelector(".js-concern").addEventListener("click", () => open(".js-concern-form"));
  risk.querySelector(".js-worry").addEventListener("click", () => {
    renderWorryChoices(chat);
    open(".js-worry-form");
  });
  risk.querySelector(".js-worry-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const seq = Number(risk.querySelector(".js-worry-seq").value);
    if (!seq) return;
    if (sendRisk(chat, { type: "cue.mark", conversation_id: chat.id, seq, kind: "missed" }, null)) close(event.target);
  });
  risk.querySelector(".js-escalate").addEventListener("click", () => open(".js-escalate-form"));
  risk.querySelector(".js-plan").addEventListener("click", () => {
    if (chat.plan) {
      risk.querySelector(".js-plan-box").scrollIntoView({ block: "start" });
      risk.querySelector(".js-plan-body input")?.focus();
      return;
    }
    sendRisk(chat, { type: "safety_plan.open", conversation_id: chat.id }, null);
  });
  risk.querySelector(".js-referral").addEventListener("click", async () => {
    open(".js-referral-form");
    // Send waits for the list: pressed before the lines were there, it used to send nothing.
    const send = risk.querySelector(".js-referral-form button[type=submit]");
    send.disabled = true;
    try {
      await renderHelplineChoices(chat);
    } finally {
      send.disabled = false;
    }
  });
  risk.querySelector(".js-concern-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const sent = sendRisk(chat, {
      type: "risk.concern",
      conversation_id: chat.id,
      level: risk.querySelector(".js-concern-level").value,
      reason: risk.querySelector(".js-concern-reason").value.trim(),
    }, "risk.concern_sent");
    if (sent) close(event.target);
  });
  risk.querySelector(".js-escalate-form").addEventListener("submit", (event) => {
    event.preventDefault();
    // Not sent: the form stays open with the reason typed, and the panel says why.
    const sent = sendRisk(chat, {
      type: "escalation.raise",
      conversation_id: chat.id,
      reason: risk.querySelector(".js-escalate-reason").value.trim(),
    }, "risk.escalate_sent");
    if (sent) close(event.target);
  });
  risk.querySelector(".js-referral-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const ids = [...risk.querySelectorAll(".js-helplines input:checked")].map((input) => input.value);
    if (!ids.length) {
      bind(risk.querySelector(".js-status"), "risk.card_pick_one");
      return;
    }
    if (sendRisk(chat, { type: "referral.offer", conversation_id: chat.id, helpline_ids: ids }, "risk.card_sent")) close(event.target);
  });
  risk.querySelector(".js-start").addEventListener("click", () => {
    sendRisk(chat, { type: "risk.start", conversation_id: chat.id }, null);
  });
  risk.querySelector(".js-submit").addEventListener("click", () => {
    if (!sendRisk(chat, { type: "risk.submit", conversation_id: chat.id }, "risk.submitted")) return;
    const checklist = risk.querySelector(".js-checklist");
    const had = checklist.contains(document.activeElement);
    checklist.hidden = true;
    // Its button went with the checklist: the focus goes to "Screening submitted." instead.
    const status = risk.querySelector(".js-status");
    status.tabIndex = -1;
    if (had) status.focus();
  });
  wireChecklist(chat);
  renderRiskSupport(chat);
}

/** The seeker's messages no cue flagged, newest first: what "this worried me" can mark. */
function renderWorryChoices(chat) {
  const select = chat.risk.querySelector(".js-worry-seq");
  select.replaceChildren();
  const nodes = [...chat.log.bySeq.entries()]
    .filter(([seq, node]) => node.classList.contains("bubble--seeker") && !chat.log.cues.has(seq))
    .sort((a, b) => b[0] - a[0])
    .slice(0, 30);
  for (const [seq, node] of nodes) {
    const text = node.querySelector(".bubble__text")?.textContent || "";
    const short = text.length > 60 ? `${text.slice(0, 57)}…` : text;
    select.append(el("option", { text: t("cuefb.message_choice", { seq, text: short }), attrs: { value: String(seq) } }));
  }
}

/** A mark acknowledged: the flag's button becomes a note; a "worried" mark is confirmed. */
function onCueMarked(chat, frame) {
  if (frame.kind === "not_risk") {
    const item = chat.risk.querySelector(`.js-cues li[data-seq="${frame.seq}"]`);
    item?.querySelector(".js-not-risk")?.remove();
    if (item && !item.querySelector(".js-marked")) {
      item.append(el("span", { class: "pill js-marked", i18n: "cuefb.marked_not_risk" }));
    }
  } else {
    bind(chat.risk.querySelector(".js-status"), "cuefb.marked_worried", { seq: frame.seq });
  }
}

/**
 * Send a risk frame; whether it went. One that could not go (the console reconnects) is said
 * on the panel's status line and the caller leaves its form, answer or step as it was.
 */
function sendRisk(chat, frame, statusKey) {
  if (!state.riskSupported) return false;
  const status = chat.risk.querySelector(".js-status");
  if (!sendOrSayNotSent(state.conn, { ...frame, ref: `risk:${frame.type}:${chat.id}`.slice(0, 64) }, status)) return false;
  if (statusKey) bind(status, statusKey);
  return true;
}

function renderRiskSupport(chat) {
  chat.risk.querySelector(".js-unavailable").hidden = state.riskSupported;
  chat.risk.querySelector(".js-tools").hidden = !state.riskSupported;
  chat.risk.querySelector(".js-referral").hidden = !state.referralSupported || Boolean(chat.takenOver);
}

/**
 * After a takeover the supervisor leads the screening: the server refuses risk.start,
 * risk.answer, risk.submit and risk.concern from the volunteer, and referral.offer and the
 * safety plan's changes from anyone who only reads along. Those go (a checklist in progress
 * too: the supervisor continues it), and a line says who leads. What stays is what the server
 * still takes from them: "This worried me" (cue.mark), Escalate and the referral's steps.
 */
function renderRiskLed(chat) {
  const risk = chat.risk;
  const line = risk.querySelector(".js-led");
  bind(line, "risk.supervisor_leads", { name: chat.takenOver.name });
  line.hidden = false;
  for (const sel of [".js-checklist", ".js-start", ".js-concern", ".js-concern-form", ".js-referral", ".js-referral-form", ".js-plan"]) {
    risk.querySelector(sel).hidden = true;
  }
  renderVolunteerPlan(chat); // read-only from now on
  // Only from the panel: on a resume the page's focus is the chat's (onTakenOver's notice).
  if (risk.contains(document.activeElement)) keepFocus(chat, line);
}

async function loadHelplines(lang) {
  if (!state.helplines[lang]) {
    state.helplines[lang] = api(`/api/v1/helplines?language=${encodeURIComponent(lang)}&region=IN`, { token: state.session.access_token })
      .then((answer) => {
        if (!answer.ok) return null;
        const list = Array.isArray(answer.data) ? answer.data : answer.data?.helplines || answer.data?.items || [];
        return list;
      });
  }
  return state.helplines[lang];
}

async function renderHelplineChoices(chat) {
  const box = chat.risk.querySelector(".js-helplines");
  const list = await loadHelplines(chat.language);
  box.replaceChildren();
  chat.helplineNames = new Map((list || []).map((h) => [h.id, h.name]));
  if (!list) {
    state.referralSupported = false;
    state.helplines[chat.language] = undefined;
    for (const c of state.chats.values()) renderRiskSupport(c);
    chat.risk.querySelector(".js-referral-form").hidden = true;
    return;
  }
  for (const helpline of list) {
    const id = `hl-${chat.tab.id}-${helpline.id}`;
    const numbers = [
      ...(helpline.numbers || []).map((n) => n.label || n.tel),
      ...(helpline.contacts || []).filter((c) => c.kind === "phone").map((c) => c.display),
    ].join(", ");
    const label = el("label", { class: "choice", attrs: { for: id } });
    const input = el("input", { attrs: { type: "checkbox", id, value: helpline.id } });
    // Tele-MANAS and 112 are always offered (DOMAIN.md): pre-tick the verified national lines.
    if (helpline.mandatory || helpline.id === "tele_manas" || helpline.id === "emergency_112") input.checked = true;
    label.append(input, el("span", { text: numbers ? `${helpline.name} (${numbers})` : helpline.name }));
    // 112 is India's emergency number, not an unverified helpline.
    if (helpline.emergency) label.append(el("span", { class: "pill", text: t("risk.emergency_line") }));
    else if (helpline.verified === false) label.append(el("span", { class: "pill", text: t("risk.unverified") }));
    box.append(label);
  }
}

function onRiskFrame(frame) {
  const chat = state.chats.get(frame.conversation_id);
  if (!chat) return;
  const risk = chat.risk;
  switch (frame.type) {
    case "risk.cue": {
      // Sent again on every resume (a reconnect): one line and one announcement per cue.
      const cues = [...risk.querySelectorAll(".js-cues > li")];
      if (cues.some((li) => li.dataset.seq === String(frame.seq) && li.dataset.cueClass === frame.cue_class)) return;
      chat.log.flag(frame.seq, frame.cue_class);
      chat.flagged = true;
      renderChatHead(chat);
      const box = risk.querySelector(".js-cues-box");
      box.hidden = false;
      const item = el("li", { attrs: { "data-seq": String(frame.seq), "data-cue-class": frame.cue_class } });
      item.append(el("span", { class: "js-cue-text", text: cueItemText(item) }));
      const notRisk = el("button", { class: "button button--quiet button--small js-not-risk", i18n: "cuefb.not_risk", attrs: { type: "button" } });
      notRisk.addEventListener("click", () => {
        sendRisk(chat, { type: "cue.mark", conversation_id: chat.id, seq: frame.seq, kind: "not_risk" }, null);
      });
      item.append(" ", notRisk);
      risk.querySelector(".js-cues").append(item);
      // A cue of the class "warning sign" is said once ("…: warning sign." said it twice).
      const said = frame.cue_class === "warning_sign" ? "risk.cue_announce_sign" : "risk.cue_announce";
      announce("sr-alert", t(said, { name: chat.peerAlias || t("role.seeker"), cue: cueName(frame.cue_class) }));
      return;
    }
    case "risk.checklist": {
      chat.checklist = frame;
      chat.reviewing = null;
      renderChecklist(chat);
      return;
    }
    case "risk.assessed": {
      const level = LEVELS.includes(frame.level) ? frame.level : "none";
      risk.querySelector(".js-level").hidden = false;
      chat.level = level;
      const pill = risk.querySelector(".js-level-pill");
      pill.className = `risk-level risk-level--${level} js-level-pill`;
      bind(pill, `level.${level}`);
      const reasons = risk.querySelector(".js-reasons");
      reasons.replaceChildren(...(frame.reasons || []).map((r) => el("li", { text: tOr(`risk_reason.${r}`, String(r).replace(/_/g, " ")) })));
      const actions = risk.querySelector(".js-actions");
      actions.replaceChildren(...(frame.actions || []).map((a) => el("li", { text: tOr(`action.${a}`, String(a).replace(/_/g, " ")) })));
      actions.hidden = chat.status === "ended";
      if ((frame.actions || []).includes("offer_safety_plan") && !chat.takenOver) risk.querySelector(".js-plan").hidden = false;
      risk.querySelector(".js-checklist").hidden = true;
      risk.querySelector(".js-start").hidden = Boolean(chat.takenOver);
      if (level === "high" || level === "imminent") {
        chat.flagged = true;
        renderChatHead(chat);
      }
      announce("sr-alert", t("risk.assessed_announce", { level: t(`level.${level}`) }));
      return;
    }
    default:
  }
}

// ---- checklist ---------------------------------------------------------------------------

/**
 * The question in hand: the next unanswered one, or (after Back) an answered one to change.
 * Numbers count only the questions actually asked ("question 5 of about 9").
 */
function renderChecklist(chat) {
  const frame = chat.checklist;
  if (!frame || chat.takenOver) return; // the supervisor who took the chat over continues it
  const risk = chat.risk;
  risk.querySelector(".js-checklist").hidden = false;
  risk.querySelector(".js-start").hidden = true;
  const answered = frame.answered || [];
  const reviewing = chat.reviewing;
  const item = reviewing !== null ? answered[reviewing] : frame.item;
  const options = risk.querySelector(".js-options");
  const back = risk.querySelector(".js-back");
  back.hidden = reviewing !== null ? reviewing === 0 : answered.length === 0;
  risk.querySelector(".js-keep").hidden = reviewing === null;
  const submit = risk.querySelector(".js-submit");
  if (!item) {
    // Every question asked: the volunteer reviews and submits.
    bind(risk.querySelector(".js-progress"), "risk.complete");
    risk.querySelector(".js-question").textContent = "";
    risk.querySelector(".js-follow-up").textContent = "";
    options.replaceChildren();
    options.dataset.item = "";
    submit.hidden = false;
    if (state.selected === chat.id) submit.focus();
    return;
  }
  const total = frame.about_total ?? item.total ?? "?";
  if (reviewing !== null) bind(risk.querySelector(".js-progress"), "risk.progress_review", { index: reviewing + 1, total });
  else bind(risk.querySelector(".js-progress"), "risk.progress", { index: frame.position ?? item.index ?? 1, total });
  risk.querySelector(".js-question").textContent = item.text || "";
  risk.querySelector(".js-follow-up").textContent = item.follow_up || "";
  options.dataset.item = item.item_id || "";
  options.replaceChildren();
  for (const option of item.options || []) {
    const chosen = reviewing !== null && option.value === item.value;
    const button = el("button", {
      class: `button button--secondary button--small${chosen ? " button--chosen" : ""}`,
      text: option.label,
      attrs: { type: "button", "data-value": option.value, "aria-pressed": String(chosen) },
    });
    button.addEventListener("click", () => {
      if (!sendRisk(chat, { type: "risk.answer", conversation_id: chat.id, item_id: item.item_id, value: option.value }, null)) return;
      for (const b of options.querySelectorAll("button")) b.disabled = true;
      button.classList.add("button--chosen");
      button.setAttribute("aria-pressed", "true");
    });
    options.append(button);
  }
  submit.hidden = true;
  if (state.selected === chat.id) (options.querySelector('[aria-pressed="true"]') || options.querySelector("button"))?.focus();
}

function wireChecklist(chat) {
  const risk = chat.risk;
  risk.querySelector(".js-back").addEventListener("click", () => {
    const answered = chat.checklist?.answered || [];
    if (!answered.length) return;
    chat.reviewing = (chat.reviewing ?? answered.length) - 1;
    renderChecklist(chat);
  });
  risk.querySelector(".js-keep").addEventListener("click", () => {
    const answered = chat.checklist?.answered || [];
    const next = (chat.reviewing ?? answered.length) + 1;
    chat.reviewing = next < answered.length ? next : null;
    renderChecklist(chat);
  });
}

// ---- referral steps ------------------------------------------------------------------------

/** The conversation's referral and the steps the volunteer can record next (one box). */
async function renderReferral(chat, referral) {
  chat.referral = referral;
  const box = chat.risk.querySelector(".js-referral-box");
  const closed = Boolean(referral.closed_reason);
  const next = closed ? [] : REFERRAL_NEXT[referral.status] || [];
  box.hidden = false;
  const names = await helplineNames(chat.language);
  chat.risk.querySelector(".js-referral-lines").textContent = (referral.helpline_ids || [])
    .map((id) => names.get(id) || id)
    .join(", ");
  bind(chat.risk.querySelector(".js-referral-state"), closed ? "vol.referral_closed" : "vol.referral_status", {
    status: tOr(`ref_status.${referral.status}`, referral.status),
    reason: referral.closed_reason || "",
  });
  const nextText = chat.risk.querySelector(".js-referral-next");
  if (next.length) bind(nextText, `ref_next.${referral.status}`);
  else bind(nextText, "vol.referral_done");
  const steps = chat.risk.querySelector(".js-referral-steps");
  steps.replaceChildren(...next.map((status) => {
    const button = el("button", {
      class: "button button--secondary button--small",
      text: t(`ref_step.${status}`),
      attrs: { type: "button", "data-status": status },
    });
    button.addEventListener("click", () => {
      if (!sendRisk(chat, { type: "referral.update", referral_id: referral.referral_id, status }, null)) return;
      chat.referralStepSent = true;
      for (const b of steps.querySelectorAll("button")) b.disabled = true;
    });
    return button;
  }));
  // The pressed step's button was disabled, then replaced: from the keyboard the focus fell to
  // the top of the page. It goes to the new status (not to the next step: a second Enter
  // would press it), and the next steps are a Tab away.
  if (chat.referralStepSent) keepFocus(chat, chat.risk.querySelector(".js-referral-state"));
  chat.referralStepSent = false;
}

async function helplineNames(lang) {
  const list = (await loadHelplines(lang)) || [];
  return new Map(list.map((h) => [h.id, h.name]));
}

// ---- cool-down -----------------------------------------------------------------------------

function onCooldown(frame) {
  const until = Date.parse(frame.until);
  if (Number.isNaN(until)) return;
  state.cooldownUntil = until;
  state.debriefFor = frame.debrief ? frame.conversation_id : null;
  $("debrief-open").hidden = !state.debriefFor;
  $("debrief-status").textContent = "";
  $("cooldown").hidden = false;
  loadActivity();
  renderCooldown();
  clearInterval(state.cooldownTimer);
  state.cooldownTimer = setInterval(renderCooldown, 15_000);
}

function renderCooldown() {
  const left = state.cooldownUntil - Date.now();
  const inCooldown = left > 0;
  $("take-next").disabled = inCooldown;
  renderAvailabilityControls();
  if (inCooldown) {
    bind($("cooldown-text"), "vol.cooldown_text", { minutes: Math.max(1, Math.ceil(left / 60_000)) });
  } else {
    clearInterval(state.cooldownTimer);
    bind($("cooldown-text"), "vol.cooldown_over");
  }
}

/** "Available" waits for the account and a cool-down; the chats at once and auto-assign for the account. */
function renderAvailabilityControls() {
  $("available").disabled = state.accountLoading || state.cooldownUntil > Date.now();
  $("capacity").disabled = state.accountLoading;
  $("auto-assign").disabled = state.accountLoading;
}

$("cooldown-close").addEventListener("click", () => {
  $("cooldown").hidden = true;
  keepFocusOnPage();
});

// ---- debrief and my activity (docs/protocol.md, Supervision and volunteer wellbeing) --------

$("debrief-open").addEventListener("click", () => {
  $("debrief-form").reset();
  $("debrief-error").textContent = "";
  // A modal dialog hides the rest of the page from screen readers: what the page says while
  // it is open (a whisper, a new chat, a message, the connection) is said from inside it.
  openModal($("debrief-dialog"));
});
$("debrief-cancel").addEventListener("click", () => $("debrief-dialog").close());
$("debrief-form").addEventListener("change", () => { $("debrief-error").textContent = ""; });

$("debrief-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData($("debrief-form"));
  const feeling = form.get("feeling");
  if (!feeling) {
    bind($("debrief-error"), "debrief.choose_feeling");
    $("debrief-form").querySelector('input[name="feeling"]').focus();
    return;
  }
  const body = {
    conversation_id: state.debriefFor,
    feeling,
    wants: form.getAll("wants"),
    note: String(form.get("note") || $("debrief-note").value || "").trim() || null,
  };
  // Emptied while it goes: a second failure is a new text in the alert line, so it is said
  // again (the same text set again was not, and a second Send seemed to do nothing).
  unbind($("debrief-error"));
  const answer = await api("/api/v1/debriefs", { method: "POST", body, token: state.session.access_token });
  const code = answer.data?.error?.code;
  if (!answer.ok && code !== "debrief_given") {
    bind($("debrief-error"), "debrief.failed");
    return;
  }
  $("debrief-dialog").close();
  bind($("debrief-status"), answer.ok ? "debrief.sent" : "debrief.already");
  $("debrief-open").hidden = true;
  $("debrief-status").focus?.();
  loadActivity();
});

const ACTIVITY_ROWS = [
  ["chats", "activity.chats"],
  ["hours", "activity.hours"],
  ["high_risk_chats", "activity.high_risk"],
  ["debriefs", "activity.debriefs"],
];

async function loadActivity() {
  if (!state.session) return;
  const answer = await api("/api/v1/me/activity", { token: state.session.access_token });
  if (!answer.ok || !answer.data?.windows) {
    $("activity-panel").hidden = true;
    return;
  }
  state.activity = answer.data;
  renderActivity();
}

function renderActivity() {
  const windows = state.activity?.windows;
  if (!windows) return;
  $("activity-rows").replaceChildren(...ACTIVITY_ROWS.map(([field, key]) => {
    const row = el("tr", { attrs: { "data-field": field } });
    row.append(el("th", { i18n: key, attrs: { scope: "row" } }));
    row.append(el("td", { text: String(windows["7d"][field]) }), el("td", { text: String(windows["30d"][field]) }));
    return row;
  }));
  $("activity-panel").hidden = false;
}

// ---- frames --------------------------------------------------------------------------------

function onFrame(frame) {
  switch (frame.type) {
    case "availability.ok":
      renderAvailability(frame);
      return;
    case "queue.summary":
      renderQueueSummary(frame);
      return;
    case "conversation.started": {
      if (frame.your_role && frame.your_role !== "volunteer") return;
      // A chat this volunteer handed over and now has again: its old pane is read-only and
      // its messages come again from seq 1, so it starts in a fresh pane.
      const old = state.chats.get(frame.conversation_id);
      if (old && old.status === "ended") dropPane(old);
      const chat = ensureChat(frame);
      chat.status = "active";
      renderChatCount();
      chat.log.note(["vol.started", { name: chat.peerAlias || { key: "role.seeker" } }]);
      if (frame.handover) showHandover(chat, frame.handover);
      if (frame.returning) onReturning(chat, frame.returning);
      announce("sr-alert", t("vol.new_chat", { name: chat.peerAlias || t("role.seeker") }));
      const asked = state.takeAsked && !frame.handover;
      if (asked) state.takeAsked = false;
      if (asked || !state.selected || state.chats.get(state.selected)?.status === "ended") select(chat.id);
      else renderChatHead(chat);
      if (asked) chat.pane.querySelector(".js-text").focus();
      bind($("take-status"), "vol.took", { name: chat.peerAlias || t("role.seeker") });
      state.tookChat = chat.id;
      return;
    }
    case "conversation.resumed": {
      const chat = state.chats.get(frame.conversation_id);
      if (!chat) return;
      if (typeof frame.peer_read_seq === "number") chat.log.peerRead(frame.peer_read_seq);
      if (frame.status === "ended" || frame.status === "abandoned") endChat(chat, { by: "system" });
      sendRead(chat);
      return;
    }
    case "chat.typing": {
      const chat = state.chats.get(frame.conversation_id);
      if (!chat || frame.sender_role === "volunteer") return;
      if (frame.typing === false) hidePeerTyping(chat);
      else showPeerTyping(chat);
      return;
    }
    case "chat.read": {
      const chat = state.chats.get(frame.conversation_id);
      if (chat && frame.reader_role !== "volunteer") chat.log.peerRead(frame.seq);
      return;
    }
    case "conversation.ended": {
      const chat = state.chats.get(frame.conversation_id);
      if (chat) endChat(chat, frame);
      return;
    }
    case "seeker.report.ok": {
      const chat = state.chats.get(frame.conversation_id);
      if (chat) {
        chat.pane.querySelector(".js-report-note").value = "";
        bind(chat.pane.querySelector(".js-report-status"), "vol.report_sent");
        announce("sr-alert", t("vol.report_sent"));
      }
      return;
    }
    case "conversation.transfer.ok": {
      const chat = state.chats.get(frame.conversation_id);
      if (chat) bind(chat.pane.querySelector(".js-transfer-status"), "transfer.sent");
      return;
    }
    case "conversation.transferred": {
      const chat = state.chats.get(frame.conversation_id);
      if (!chat) return;
      if (frame.history) {
        if (frame.to_alias && frame.to_alias === state.session?.alias) showHandover(chat, frame);
        return;
      }
      if (chat.status !== "ended") releaseChat(chat, frame);
      return;
    }
    case "conversation.note.ok": {
      const chat = state.chats.get(frame.conversation_id);
      if (chat) bind(chat.pane.querySelector(".js-note-status"), "vol.note_saved");
      return;
    }
    case "chat.whisper": {
      const chat = state.chats.get(frame.conversation_id);
      // A resume (a reconnect) sends every whisper again: one line and one announcement each.
      if (!chat || chat.log.hasWhisper(frame.whisper_id)) return;
      chat.log.whisper(frame);
      announce("sr-alert", t("whisper.announce", { name: frame.sender_alias || t("role.supervisor") }));
      return;
    }
    case "conversation.joined":
    case "conversation.taken_over": {
      const chat = state.chats.get(frame.conversation_id);
      if (!chat) return;
      if (frame.type === "conversation.taken_over" && chat.status !== "ended") onTakenOver(chat, frame);
      const key = frame.type === "conversation.joined" ? "vol.supervisor_joined" : "vol.supervisor_took_over";
      chat.joinedSeen ??= new Set();
      const seen = `${frame.type}:${frame.staff_alias || ""}`;
      if (chat.joinedSeen.has(seen)) return;
      chat.joinedSeen.add(seen);
      chat.log.note([key, { name: frame.staff_alias || { key: "role.supervisor" } }]);
      return;
    }
    case "referral.card": {
      const chat = state.chats.get(frame.conversation_id);
      if (chat) chat.log.note(["vol.card_shown", { n: (frame.helplines || []).length }]);
      return;
    }
    case "conversation.language": {
      const chat = state.chats.get(frame.conversation_id);
      if (!chat || frame.language === chat.language) return;
      chat.language = frame.language;
      renderChatHead(chat);
      loadPhrases(chat);
      const vars = { name: chat.peerAlias || { key: "role.seeker" }, language: { key: `lang.${frame.language}`, or: frame.language } };
      chat.log.note(["vol.language_changed", vars]);
      announce("sr-alert", t("vol.language_changed", vars));
      return;
    }
    case "referral.updated": {
      const chat = state.chats.get(frame.conversation_id);
      if (!chat) return;
      if (chat.endRefused === "referral_open") chat.endRefused = null;
      renderReferral(chat, frame);
      return;
    }
    case "escalation.updated": {
      const chat = state.chats.get(frame.conversation_id);
      if (!chat) return;
      chat.escalations.set(frame.escalation_id, { status: frame.status, level: frame.level });
      if (chat.endRefused === "escalation_open") chat.endRefused = null;
      // "A supervisor is being paged" stayed after one answered: the volunteer could not tell.
      // The line follows all the chat's escalations, not the last frame: a resume replays
      // them oldest first, and an old resolved one must not say the new one was resolved.
      const status = chat.risk.querySelector(".js-status");
      if (ESCALATE_LINES.includes(status.dataset.i18n)) {
        const all = [...chat.escalations.values()].map((e) => e.status);
        const key = all.includes("open") ? "risk.escalate_sent" : all.includes("acknowledged") ? "risk.escalate_acked" : "risk.escalate_resolved";
        if (status.dataset.i18n !== key) bind(status, key);
      }
      return;
    }
    case "risk.cue":
    case "risk.checklist":
    case "risk.assessed":
      onRiskFrame(frame);
      return;
    case "cue.marked": {
      const chat = state.chats.get(frame.conversation_id);
      if (chat) onCueMarked(chat, frame);
      return;
    }
    case "seeker.returning": {
      const chat = state.chats.get(frame.conversation_id);
      if (chat && !chat.returning) {
        chat.returning = frame;
        renderChatHead(chat);
        chat.log.note(["vol.returning", { n: frame.chats_before }]);
      }
      return;
    }
    case "safety_plan": {
      const chat = state.chats.get(frame.conversation_id);
      if (chat) onPlan(chat, frame);
      return;
    }
    case "volunteer.cooldown":
      onCooldown(frame);
      return;
    case "staff.alert":
      // Alerts about someone else's chat are for supervisors; a quick exit shows in the chat.
      if (frame.conversation_id && !state.chats.has(frame.conversation_id)) return;
      if (frame.code === "quick_exit") return;
      showStaffAlert(frame);
      return;
    case "error":
      onError(frame);
      return;
    default:
  }
}

// ---- safety plan (docs/protocol.md, Safety plan) -----------------------------------------------

function onPlan(chat, frame) {
  if (chat.plan && frame.revision < chat.plan.revision) return;
  const first = !chat.plan;
  chat.plan = frame;
  renderVolunteerPlan(chat);
  const box = chat.risk.querySelector(".js-plan-box");
  box.hidden = false;
  chat.risk.querySelector(".js-plan").hidden = Boolean(chat.takenOver);
  if (first && frame.updated_by_role === "volunteer" && frame.revision === 1) {
    box.querySelector("input")?.focus();
  }
}

/**
 * The seeker came back with a return code (docs/protocol.md, Coming back without an
 * account): say so in the chat, and open the plan the code brought back in the risk panel.
 */
async function onReturning(chat, returning) {
  chat.returning = returning;
  renderChatHead(chat);
  chat.log.note(["vol.returning", { n: returning.chats_before }]);
  const answer = await api(`/api/v1/conversations/${encodeURIComponent(chat.id)}/safety-plan`, { token: state.session.access_token });
  if (answer.ok && (!chat.plan || chat.plan.revision <= answer.data.revision)) onPlan(chat, answer.data);
}

function renderVolunteerPlan(chat) {
  if (!chat.plan) return;
  renderPlan(chat.risk.querySelector(".js-plan-body"), chat.plan, {
    idPrefix: `plan-${chat.id}`,
    onChange: chat.status === "ended" || chat.takenOver ? null : (step, items) => sendRisk(chat, { type: "safety_plan.update", conversation_id: chat.id, step, items }, null),
  });
}

function onError(frame) {
  const ref = frame.ref || "";
  if (ref.startsWith("risk:safety_plan")) {
    const chat = state.chats.get(ref.split(":")[2]);
    if (chat) bind(chat.risk.querySelector(".js-status"), frame.code === "safety_plan_not_offered" ? "plan.not_offered" : "risk.failed");
    return;
  }
  if (frame.code === "unknown_type" && ref.startsWith("risk:")) {
    // The server does not speak the risk frames yet: hide the tools, say so once, quietly.
    if (ref.startsWith("risk:referral.offer")) state.referralSupported = false;
    else state.riskSupported = false;
    for (const chat of state.chats.values()) renderRiskSupport(chat);
    return;
  }
  if (ref === "take") {
    state.takeAsked = false;
    const key = { queue_empty: "vol.err_queue_empty", at_capacity: "vol.err_at_capacity", not_trained: "vol.err_not_trained", cooldown: "vol.err_cooldown" }[frame.code] || "vol.err_generic";
    bind($("take-status"), key);
    state.tookChat = null;
    return;
  }
  if (ref === "availability") {
    if (newerAvailabilityAsked()) return; // the newer change's answer says what was kept
    const asked = state.availability;
    if (frame.code === "invalid_frame" && !state.availabilityRetried) {
      // An admin may have lowered the most chats at once while this socket was down (the
      // server tells the sockets open then, availability.ok without ref): "Away", or the
      // reconnect's "still available", was then
      // refused for a number the account no longer allows. Read the account again, and ask
      // once more within it.
      state.availabilityRetried = true;
      loadAccount().then(() => {
        $("available").checked = asked.available;
        $("auto-assign").checked = asked.auto_assign;
        sendAvailability();
      });
      return;
    }
    state.availabilityRetried = false;
    // Show what the server kept, not what was asked for.
    const kept = state.confirmed;
    $("available").checked = kept.available;
    $("capacity").value = String(kept.capacity);
    $("auto-assign").checked = kept.auto_assign;
    state.availability = { ...kept };
    bind($("availability-status"), frame.code === "not_trained" ? "vol.err_not_trained" : frame.code === "cooldown" ? "vol.err_cooldown" : "vol.err_availability");
    return;
  }
  if (ref.startsWith("end:")) {
    const chat = state.chats.get(ref.slice(4));
    if (chat) {
      const key = { escalation_open: "vol.err_escalation_open", referral_open: "vol.err_referral_open" }[frame.code] || "vol.err_generic";
      // The page was out of date: the next End says why before asking.
      if (key !== "vol.err_generic") chat.endRefused = frame.code;
      // One note, however often End is pressed: the old one moves to the end of the log.
      chat.endBlockedNote?.remove();
      chat.endBlockedNote = chat.log.note([key]);
      // "Yes" hid the confirm that held focus: it lands where the volunteer can act (a
      // referral's next step) or on the note saying why, which a screen reader then reads.
      // Not when the volunteer has moved on meanwhile (typing, another control).
      const lost = !document.activeElement || document.activeElement === document.body
        || chat.pane.querySelector(".js-end-confirm").contains(document.activeElement);
      if (lost) {
        const step = frame.code === "referral_open" ? chat.risk.querySelector(".js-referral-steps button:not([disabled])") : null;
        if (step && step.offsetParent !== null) step.focus();
        else {
          chat.endBlockedNote.tabIndex = -1;
          chat.endBlockedNote.focus();
        }
      }
    }
    return;
  }
  if (ref.startsWith("transfer:")) {
    const chat = state.chats.get(ref.slice(9));
    if (!chat) return;
    const known = ["target_unavailable", "target_language", "target_at_capacity", "same_volunteer", "forbidden", "text_too_long", "text_empty"];
    bind(chat.pane.querySelector(".js-transfer-status"), known.includes(frame.code) ? `transfer.err_${frame.code}` : "transfer.err_generic");
    return;
  }
  if (ref.startsWith("report:")) {
    const chat = state.chats.get(ref.slice(7));
    if (chat) bind(chat.pane.querySelector(".js-report-status"), "vol.report_failed");
    return;
  }
  if (ref.startsWith("note:")) {
    const chat = state.chats.get(ref.slice(5));
    if (chat) bind(chat.pane.querySelector(".js-note-status"), "vol.note_failed");
    return;
  }
  if (ref.startsWith("risk:")) {
    const chat = state.chats.get(ref.split(":")[2]);
    if (chat) bind(chat.risk.querySelector(".js-status"), "risk.failed");
  }
}

/** A risk panel's line for one flagged message (re-rendered when the language changes). */
function cueItemText(item) {
  return t("risk.cue_item", { cue: cueName(item.dataset.cueClass), seq: item.dataset.seq });
}

onLanguageChange(() => {
  for (const chat of state.chats.values()) {
    for (const item of chat.risk.querySelectorAll(".js-cues li")) {
      const label = item.querySelector(".js-cue-text");
      if (label) label.textContent = cueItemText(item);
    }
    renderChatHead(chat);
    chat.log.rerender();
    loadPhrases(chat);
    // The open End question names the level in the page's language (its vars hold words).
    if (!chat.pane.querySelector(".js-end-confirm").hidden) chat.renderEndQuestion?.();
  }
  if (state.cooldownUntil) renderCooldown();
  renderActivity();
  for (const chat of state.chats.values()) renderVolunteerPlan(chat);
  if (state.session) $("who").textContent = t("staff.signed_in_as", { name: state.session.alias || "" });
});

// ---- boot ------------------------------------------------------------------------------------

async function boot() {
  await initLanguage();
  initAlertBanner();
  initLogin({ roles: ["volunteer", "supervisor", "admin"], onSession: start });
}

boot();
