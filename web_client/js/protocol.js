// Peerline wire protocol (docs/protocol.md) for the browser.
//
// A `Connection` owns one WebSocket at a time and hides drops from the pages. It follows the
// reliability rules of the Python client (app/client/) one for one:
//   1. `auth` is the first frame on every socket;
//   2. close 4401 (bad token) or 4409 (too many sockets) is final: it stops and says
//      `unauthorized`; any other close (1012 restart, 1011, 4429, a dead network) reconnects;
//   3. reconnects wait uniform(0, min(cap, base * 2^attempt)) ("full jitter"); 4429 starts at
//      attempt 3;
//   4. after every `auth.ok` it resumes each known conversation from the highest contiguous
//      seq it holds, then resends every unacknowledged `chat.send` with the SAME client_msg_id;
//   5. a send without `chat.ack` within ACK_TIMEOUT_MS is resent on the current socket; an
//      `error` `unavailable`/`rate_limited` resends it after a backoff; any other error fails it;
//   6. `chat.message` frames are deduplicated by seq; a gap asks for a resume to fill it;
//   7. each `conversation.started` is followed and resumed from what it holds.
// Browsers cannot see protocol pings, so an app-level `ping` goes out every 15 s and a missing
// `pong` is treated as a dead link (and the browser's offline/online events are heeded).

/** App-level heartbeat: a little under the server's 20 s ping so we notice first. */
export const PING_INTERVAL_MS = 15_000;
/** How long a `ping` may wait for its `pong` before we call the link dead. */
export const PONG_TIMEOUT_MS = 10_000;
/** Backoff: first retry within 0.5 s, growing to at most 15 s between tries. */
export const BACKOFF_BASE_MS = 300;
export const BACKOFF_CAP_MS = 8_000;
/** An unacknowledged chat.send is sent again on the same socket after this long (rule 5). */
export const ACK_TIMEOUT_MS = 5_000;
/** 4429 (flooding) starts the backoff further along, as the Python client does. */
const FLOOD_START_ATTEMPT = 3;
export const CLOSE_FLOODING = 4429;
/** A socket that has not answered auth within this time is abandoned and retried. */
export const AUTH_REPLY_TIMEOUT_MS = 12_000;

export const CLOSE_UNAUTHENTICATED = 4401;
export const CLOSE_TOO_MANY_SOCKETS = 4409;

/** Status values emitted with the `status` event. */
export const Status = Object.freeze({
  CONNECTING: "connecting",
  OPEN: "open",
  RECONNECTING: "reconnecting",
  CLOSED: "closed",
});

let idCounter = 0;

/** A client_msg_id that is unique per sender and conversation (protocol: 1–64 chars). */
export function newClientMsgId() {
  idCounter += 1;
  const random = crypto.getRandomValues(new Uint32Array(2));
  return `w${Date.now().toString(36)}${idCounter.toString(36)}${random[0].toString(36)}${random[1].toString(36)}`.slice(0, 64);
}

/** Full-jitter backoff: a uniform delay in [0, min(cap, base * 2^attempt)]. */
export function backoffDelay(attempt, base = BACKOFF_BASE_MS, cap = BACKOFF_CAP_MS) {
  const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 16));
  return Math.floor(Math.random() * ceiling);
}

/** The WebSocket URL of this origin's `/ws`. */
export function socketUrl(loc = window.location) {
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${loc.host}/ws`;
}

/**
 * What the client holds of one conversation: the seqs it has seen and the highest
 * contiguous one (the value to resume from).
 */
class ConversationLedger {
  constructor(conversationId) {
    this.conversationId = conversationId;
    this.contiguousSeq = 0;
    this.ahead = new Set(); // seqs seen above a gap
    /** client_msg_id → {text, conversationId} not yet acknowledged. */
    this.pending = new Map();
    this.resuming = false;
    this.ended = false;
  }

  has(seq) {
    return seq <= this.contiguousSeq || this.ahead.has(seq);
  }

  add(seq) {
    if (this.has(seq)) return false;
    this.ahead.add(seq);
    while (this.ahead.has(this.contiguousSeq + 1)) {
      this.contiguousSeq += 1;
      this.ahead.delete(this.contiguousSeq);
    }
    return true;
  }
}

/**
 * One logical connection to Peerline that survives drops.
 *
 * Events (all `CustomEvent`, data in `event.detail`):
 *   status        {status, attempt}
 *   authenticated the `auth.ok` frame
 *   message       a new `chat.message` (never twice for one seq)
 *   ack           a `chat.ack` for one of our sends
 *   frame         every other server frame (errors included)
 *   sendfailed    an `error` that means one of our chat.sends can never be stored
 *   unauthorized  {code} — close 4401 (or 4409): the caller must get a new token
 */
export class Connection extends EventTarget {
  /**
   * @param {object} options
   * @param {string} options.token     bearer token (seeker or staff)
   * @param {string} [options.url]     WebSocket URL, default this origin's /ws
   * @param {number} [options.pingIntervalMs]
   * @param {number} [options.pongTimeoutMs]
   */
  constructor({ token, url, pingIntervalMs, pongTimeoutMs } = {}) {
    super();
    this.token = token;
    this.url = url || socketUrl();
    this.pingIntervalMs = pingIntervalMs || PING_INTERVAL_MS;
    this.pongTimeoutMs = pongTimeoutMs || PONG_TIMEOUT_MS;
    this.ws = null;
    this.status = Status.CLOSED;
    this.authenticated = false;
    this.stopped = true;
    this.attempt = 0;
    this.ledgers = new Map();
    this.timers = { reconnect: null, ping: null, pong: null, auth: null, ack: null };
    this.onOnline = () => this.checkLink();
    this.onOffline = () => this.markDown();
  }

  /** Open the connection (idempotent). */
  start() {
    if (!this.stopped) return;
    this.stopped = false;
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
    this.open();
  }

  /** Close for good (logout, quick exit, token gone). Nothing is retried after this. */
  stop(code = 1000) {
    this.stopped = true;
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    this.clearTimers();
    const ws = this.ws;
    this.ws = null;
    this.authenticated = false;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try { ws.close(code); } catch { /* already closed */ }
    }
    this.setStatus(Status.CLOSED);
  }

  /** The conversation ledger, created on first use. */
  ledger(conversationId) {
    let ledger = this.ledgers.get(conversationId);
    if (!ledger) {
      ledger = new ConversationLedger(conversationId);
      this.ledgers.set(conversationId, ledger);
    }
    return ledger;
  }

  /** Start following a conversation: resume it now if connected, else after the next auth. */
  follow(conversationId, { resume = true } = {}) {
    const ledger = this.ledger(conversationId);
    if (resume && this.authenticated) this.resume(ledger);
    return ledger;
  }

  /** Stop following a conversation (it ended): nothing more is resumed or resent for it. */
  forget(conversationId) {
    const ledger = this.ledgers.get(conversationId);
    if (ledger) {
      ledger.ended = true;
      ledger.pending.clear();
    }
  }

  /** Record a message the page got elsewhere (a REST transcript), so it is not delivered twice. */
  markHeld(conversationId, seq) {
    this.ledger(conversationId).add(seq);
  }

  /** Highest contiguous seq held for a conversation. */
  lastSeq(conversationId) {
    return this.ledgers.get(conversationId)?.contiguousSeq ?? 0;
  }

  /** Send one frame if the socket is authenticated; returns whether it went out. */
  send(frame) {
    if (!this.ws || !this.authenticated || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /**
   * Send a chat message reliably. It is kept until acknowledged and resent with the same
   * client_msg_id after every reconnect. Returns the client_msg_id.
   */
  sendChat(conversationId, text, clientMsgId = newClientMsgId()) {
    const ledger = this.ledger(conversationId);
    ledger.pending.set(clientMsgId, { conversationId, text, sentAt: 0 });
    this.sendPending(ledger, clientMsgId);
    return clientMsgId;
  }

  /** Frames not yet acknowledged, per conversation (for the UI's "sending" state). */
  pendingCount() {
    let count = 0;
    for (const ledger of this.ledgers.values()) count += ledger.pending.size;
    return count;
  }

  // ---- internals -------------------------------------------------------------------------

  setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this.emit("status", { status, attempt: this.attempt });
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  clearTimers() {
    for (const key of Object.keys(this.timers)) {
      clearTimeout(this.timers[key]);
      clearInterval(this.timers[key]);
      this.timers[key] = null;
    }
  }

  open() {
    if (this.stopped) return;
    this.clearTimers();
    this.authenticated = false;
    this.setStatus(this.attempt === 0 ? Status.CONNECTING : Status.RECONNECTING);
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: "auth", token: this.token }));
      this.timers.auth = setTimeout(() => this.drop(ws), AUTH_REPLY_TIMEOUT_MS);
    };
    ws.onmessage = (event) => this.receive(ws, event.data);
    ws.onclose = (event) => this.closed(ws, event.code);
    ws.onerror = () => { /* onclose follows */ };
  }

  /** Rule 5: resend, on this socket, every send still unacknowledged after ACK_TIMEOUT_MS. */
  resendOverdue() {
    const now = Date.now();
    for (const ledger of this.ledgers.values()) {
      for (const [id, item] of ledger.pending) {
        if (now - item.sentAt >= ACK_TIMEOUT_MS) this.sendPending(ledger, id);
      }
    }
  }

  /** Give up on a socket that looks dead and reconnect. */
  drop(ws) {
    if (ws !== this.ws) return;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try { ws.close(4000); } catch { /* ignore */ }
    this.closed(ws, 4000);
  }

  closed(ws, code) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.authenticated = false;
    this.clearTimers();
    if (this.stopped) return;
    if (code === CLOSE_UNAUTHENTICATED || code === CLOSE_TOO_MANY_SOCKETS) {
      this.stop();
      this.emit("unauthorized", { code });
      return;
    }
    if (code === CLOSE_FLOODING) this.attempt = Math.max(this.attempt, FLOOD_START_ATTEMPT);
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    if (this.stopped) return;
    this.setStatus(Status.RECONNECTING);
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    this.timers.reconnect = setTimeout(() => this.open(), delay);
  }

  /** The browser says the network is back: make sure the socket really works. */
  checkLink() {
    if (this.stopped) return;
    if (!this.ws) {
      clearTimeout(this.timers.reconnect);
      this.attempt = 0;
      this.open();
      return;
    }
    this.ping();
  }

  /**
   * The browser says the network is gone: show it at once and probe the socket, so a link
   * that is really dead is dropped after one pong timeout instead of a whole ping interval.
   */
  markDown() {
    if (this.stopped) return;
    this.setStatus(Status.RECONNECTING);
    this.ping();
  }

  ping() {
    if (!this.send({ type: "ping" })) return;
    if (this.timers.pong) return;
    const ws = this.ws;
    this.timers.pong = setTimeout(() => this.drop(ws), this.pongTimeoutMs);
  }

  receive(ws, raw) {
    if (ws !== this.ws) return;
    let frame;
    try {
      frame = JSON.parse(raw);
    } catch {
      return;
    }
    if (!frame || typeof frame.type !== "string") return;
    // Any frame proves the link is alive.
    clearTimeout(this.timers.pong);
    this.timers.pong = null;
    if (this.authenticated && this.status !== Status.OPEN) this.setStatus(Status.OPEN);

    switch (frame.type) {
      case "auth.ok":
        this.authenticated = true;
        this.role = frame.role;
        this.attempt = 0;
        clearTimeout(this.timers.auth);
        this.timers.ping = setInterval(() => this.ping(), this.pingIntervalMs);
        this.timers.ack = setInterval(() => this.resendOverdue(), ACK_TIMEOUT_MS / 2);
        this.setStatus(Status.OPEN);
        for (const conv of frame.active_conversations || []) {
          const ledger = this.ledger(conv.conversation_id);
          ledger.ended = false;
        }
        this.emit("authenticated", frame);
        // Rule 4: resume everything, then resend everything unacknowledged.
        for (const ledger of this.ledgers.values()) if (!ledger.ended) this.resume(ledger);
        for (const ledger of this.ledgers.values()) {
          for (const id of ledger.pending.keys()) this.sendPending(ledger, id);
        }
        return;
      case "pong":
        return;
      case "chat.message": {
        const ledger = this.ledger(frame.conversation_id);
        if (!ledger.add(frame.seq)) return; // a duplicate: already shown
        if (frame.client_msg_id && frame.sender_role && frame.sender_role === this.role) {
          ledger.pending.delete(frame.client_msg_id);
        }
        // Rule 6: a seq above a gap means we missed some; ask for them.
        if (ledger.ahead.size && !ledger.resuming) this.resume(ledger);
        this.emit("message", frame);
        return;
      }
      case "chat.ack": {
        const ledger = this.ledgers.get(frame.conversation_id);
        if (ledger) ledger.pending.delete(frame.client_msg_id);
        this.emit("ack", frame);
        return;
      }
      case "conversation.resumed": {
        const ledger = this.ledgers.get(frame.conversation_id);
        if (ledger) ledger.resuming = false;
        this.emit("frame", frame);
        return;
      }
      case "conversation.started": {
        // Rule 7: follow it and fetch what we do not hold (for a volunteer, everything). A
        // conversation this page had let go (handed over, then back to it from the queue or
        // by another hand-over) starts from nothing: the page shows it afresh.
        let ledger = this.ledger(frame.conversation_id);
        if (ledger.ended) {
          ledger = new ConversationLedger(frame.conversation_id);
          this.ledgers.set(frame.conversation_id, ledger);
        }
        this.resume(ledger);
        this.emit("frame", frame);
        return;
      }
      case "conversation.ended": {
        const ledger = this.ledgers.get(frame.conversation_id);
        if (ledger) {
          ledger.ended = true;
          ledger.pending.clear();
        }
        this.emit("frame", frame);
        return;
      }
      case "error":
        if (this.failPending(frame)) return;
        this.emit("frame", frame);
        return;
      default:
        this.emit("frame", frame);
    }
  }

  resume(ledger) {
    ledger.resuming = true;
    this.send({
      type: "conversation.resume",
      conversation_id: ledger.conversationId,
      after_seq: ledger.contiguousSeq,
    });
  }

  sendPending(ledger, clientMsgId) {
    const item = ledger.pending.get(clientMsgId);
    if (!item) return;
    item.sentAt = Date.now();
    this.send({
      type: "chat.send",
      conversation_id: item.conversationId,
      client_msg_id: clientMsgId,
      text: item.text,
      ref: clientMsgId,
    });
  }

  /**
   * An error answering one of our `chat.send`s (rule 5). `unavailable` and `rate_limited` are
   * retried with the same id after a backoff; any other means the message was not stored and
   * will not be, so it is dropped and reported as `sendfailed`.
   */
  failPending(frame) {
    if (!frame.ref) return false;
    for (const ledger of this.ledgers.values()) {
      if (!ledger.pending.has(frame.ref)) continue;
      if (RETRYABLE_SEND_ERRORS.has(frame.code)) {
        setTimeout(() => this.sendPending(ledger, frame.ref), 1000 + backoffDelay(2));
      } else {
        ledger.pending.delete(frame.ref);
        this.emit("sendfailed", { ...frame, conversation_id: ledger.conversationId, client_msg_id: frame.ref });
      }
      return true;
    }
    return false;
  }
}

const RETRYABLE_SEND_ERRORS = new Set(["unavailable", "rate_limited"]);
