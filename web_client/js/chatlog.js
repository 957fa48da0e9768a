// A message list for staff screens (volunteer console, supervisor transcript): bubbles in seq
// order, my sends shown as sending → sent → read, whispers and system notes between them.
// All text goes in with textContent.

import { bind, formatTime, t, tOr } from "./i18n.js";
import { el } from "./ui.js";

export class ChatLog {
  /**
   * @param {HTMLOListElement} list  the <ol class="messages">
   * @param {string} myRole          the sender_role whose messages are "mine"
   * @param {{alias?: string}} [me]  my alias: a message of my role under another alias is
   *                                 someone else's (the volunteer who handed the chat to me)
   */
  constructor(list, myRole, { alias = "" } = {}) {
    this.list = list;
    this.myRole = myRole;
    this.myAlias = alias;
    this.mine = new Map(); // client_msg_id → bubble
    this.bySeq = new Map(); // seq → bubble
    this.peerReadSeq = 0;
    this.cues = new Map(); // seq → cue_class, for cues that arrive before their message
  }

  place(node) {
    const seq = Number(node.dataset.seq || 0);
    if (seq) {
      for (const other of this.list.children) {
        const otherSeq = Number(other.dataset.seq || 0);
        if ((!otherSeq && other.dataset.pending) || otherSeq > seq) {
          this.list.insertBefore(node, other);
          return;
        }
      }
    }
    this.list.append(node);
  }

  scrollToEnd() {
    this.list.scrollTop = this.list.scrollHeight;
  }

  bubble({ mine, role, alias, text, sentAt, seq }) {
    const classes = ["bubble", mine ? "bubble--mine" : "bubble--peer", `bubble--${role || "peer"}`];
    const node = el("li", { class: classes.join(" ") });
    if (seq) node.dataset.seq = String(seq);
    const name = alias || tOr(`role.${role}`, role || "");
    const who = mine ? t("chat.you") : role === "supervisor" || role === "admin" ? t("chat.supervisor_label", { name }) : name;
    node.append(el("p", { class: "bubble__who", text: who }));
    node.append(el("p", { class: "bubble__text", text }));
    const meta = el("p", { class: "bubble__meta" });
    meta.append(el("time", { class: "bubble__time", text: formatTime(sentAt), attrs: { datetime: sentAt || "" } }));
    if (mine) meta.append(el("span", { class: "bubble__state" }));
    node.append(meta);
    return node;
  }

  /** A message I am sending (no seq yet). */
  addPending(clientMsgId, text) {
    const node = this.bubble({ mine: true, role: this.myRole, text, sentAt: new Date().toISOString() });
    node.dataset.pending = "1";
    this.mine.set(clientMsgId, node);
    this.renderState(node);
    this.list.append(node);
    this.scrollToEnd();
    return node;
  }

  /** A stored message (`chat.message` frame). Returns true when it is from someone else. */
  addMessage(frame) {
    const mine =
      frame.sender_role === this.myRole && (!this.myAlias || !frame.sender_alias || frame.sender_alias === this.myAlias);
    if (this.bySeq.has(frame.seq) && !(mine && frame.client_msg_id && this.mine.has(frame.client_msg_id))) {
      return false; // already shown
    }
    let node = mine && frame.client_msg_id ? this.mine.get(frame.client_msg_id) : null;
    if (!node) {
      node = this.bubble({
        mine,
        role: frame.sender_role,
        alias: frame.sender_alias,
        text: frame.text,
        sentAt: frame.sent_at,
        seq: frame.seq,
      });
      if (mine && frame.client_msg_id) this.mine.set(frame.client_msg_id, node);
    }
    this.stored(node, frame.seq, frame.sent_at);
    const cue = this.cues.get(frame.seq);
    if (cue) this.flag(frame.seq, cue);
    this.scrollToEnd();
    return !mine;
  }

  ack(frame) {
    const node = this.mine.get(frame.client_msg_id);
    if (node) this.stored(node, frame.seq, frame.sent_at);
  }

  failed(clientMsgId) {
    const node = this.mine.get(clientMsgId);
    if (!node) return;
    node.dataset.failed = "1";
    this.renderState(node);
  }

  stored(node, seq, sentAt) {
    const fresh = !node.dataset.seq || node.dataset.pending || !node.isConnected;
    node.dataset.seq = String(seq);
    delete node.dataset.pending;
    this.bySeq.set(seq, node);
    if (fresh) {
      node.remove();
      this.place(node);
    }
    const time = node.querySelector(".bubble__time");
    if (time && sentAt) {
      time.textContent = formatTime(sentAt);
      time.setAttribute("datetime", sentAt);
    }
    this.renderState(node);
  }

  renderState(node) {
    const stateEl = node.querySelector(".bubble__state");
    if (!stateEl) return;
    const seq = Number(node.dataset.seq || 0);
    let key = "chat.state_sending";
    if (node.dataset.failed) key = "chat.state_failed";
    else if (seq && this.peerReadSeq >= seq) key = "chat.state_read";
    else if (seq && !node.dataset.pending) key = "chat.state_sent";
    node.dataset.state = key.replace("chat.state_", "");
    bind(stateEl, key);
  }

  peerRead(seq) {
    if (seq <= this.peerReadSeq) return;
    this.peerReadSeq = seq;
    for (const node of this.mine.values()) this.renderState(node);
  }

  /** Mark the message that triggered a risk cue. */
  flag(seq, cueClass) {
    this.cues.set(seq, cueClass);
    const node = this.bySeq.get(seq);
    if (!node || node.querySelector(".cue")) return;
    node.classList.add("bubble--flagged");
    node.append(el("span", { class: "cue", text: t("risk.cue_label", { cue: cueName(cueClass) }) }));
  }

  /** Whether the log already shows this whisper (a resume sends every whisper again). */
  hasWhisper(whisperId) {
    const id = whisperId == null ? "" : String(whisperId);
    return id !== "" && [...this.list.querySelectorAll(".whisper")].some((node) => node.dataset.whisperId === id);
  }

  /** A whisper between staff; `mine` when I wrote it (to the volunteer, not "only you"). */
  whisper(frame, { mine = false } = {}) {
    const node = el("li", { class: mine ? "whisper whisper--mine" : "whisper" });
    if (frame.whisper_id != null) node.dataset.whisperId = String(frame.whisper_id);
    const label = mine ? t("whisper.label_mine") : t("whisper.label", { name: frame.sender_alias || t("role.supervisor") });
    node.append(el("p", { class: "whisper__label", text: label }));
    node.append(el("p", { class: "bubble__text", text: frame.text }));
    node.append(el("p", { class: "bubble__meta", text: formatTime(frame.sent_at) }));
    this.list.append(node);
    this.scrollToEnd();
    return node;
  }

  /**
   * Add a system note: one or more `[key, vars]` parts, each bound (`bind`), so the note is
   * said again in the page's language when it changes. Returns it (so a caller can replace it
   * instead of repeating it).
   */
  note(...parts) {
    const item = el("li", { class: "system-note" });
    parts.forEach(([key, vars], i) => {
      if (i) item.append(" ");
      item.append(bind(el("span"), key, vars));
    });
    this.list.append(item);
    this.scrollToEnd();
    return item;
  }

  rerender() {
    for (const node of this.mine.values()) this.renderState(node);
  }
}

/** A cue class in the reader's language (falls back to the class name itself). */
export function cueName(cueClass) {
  return tOr(`cue.${cueClass}`, String(cueClass).replace(/_/g, " "));
}
