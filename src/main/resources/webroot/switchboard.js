// switchboard.js: the browser client of Switchboard's native protocol (docs/protocol.md), with a
// helper that connects an RTCPeerConnection to every other member of a room.
// An ES module with no dependencies: import it straight from the server.
//   import { SwitchboardClient, Mesh } from '/switchboard.js';
// Documented in docs/client.md.

/** The relayed message types; the server treats them alike and receivers dispatch on them. */
export const RELAYED_TYPES = Object.freeze(['offer', 'answer', 'candidate', 'signal']);

const ROOM_NAME = /^[A-Za-z0-9._:-]{1,128}$/;
// Offered before the token, so that the server can select it without echoing the token.
const TOKEN_SUBPROTOCOL = 'access_token';

// Close codes after which connecting again cannot help (docs/protocol.md, "Close codes").
// 4003: an operator disconnected this client (docs/protocol.md); coming straight back would undo it.
// 4011: this client's session was resumed on another socket, which now owns its peer id.
const FINAL_CLOSE_CODES = new Set([1000, 1009, 4003, 4011]);
// Closes that end the session on the server (docs/protocol.md, "The gap"): a resume could only
// be refused, so the next connection starts a fresh session straight away.
const SESSION_ENDING_CLOSE_CODES = new Set([1002, 1007, 4008, 4010]);
// Acknowledge processed events after this many, or this long after the first unacknowledged one,
// so that the server can drop them from the session's buffer (docs/protocol.md suggests both).
const ACK_EVERY_EVENTS = 16;
const ACK_AFTER_MS = 1000;
// How long after a numbered relay the client asks (a ping) which relays the server has accepted,
// so that the backlog kept for a resume stays short.
const SYNC_AFTER_MS = 1000;
// The most relays kept unacknowledged for a resume; beyond it relays are refused (`backlog-full`)
// rather than dropped, since a dropped offer or candidate breaks a call silently. The server
// buffers at most RESUME_BUFFER_MAX_EVENTS (1000 by default) events per session in the other direction.
export const MAX_UNACKED_RELAYS = 1000;
// How long after `unavailable` (the server could not store a relay) the backlog is sent again.
const RETRY_UNAVAILABLE_MS = 1000;
// A backlog goes out after a resume at most this many relays a second: all at once, more than
// the server's rate limit lets through (RATE_LIMIT_BURST, then RATE_LIMIT_PER_SECOND, 50 by
// default) would be refused, and 100 refusals in a row close the socket as a flood (4008).
const BACKLOG_PER_SECOND = 50;
// The answers to `resume` that end the session for good (docs/protocol.md, "Resuming"); any other
// (`unavailable`: the session store was out of reach) leaves it to be resumed from another socket.
const RESUME_REFUSALS = new Set(['resume-refused', 'resume-expired', 'resume-lost', 'bad-sequence', 'bad-message']);
// The node is shutting down and another will take the client: retry at once, not after a backoff.
const SERVICE_RESTART = 1012;
// A connection that lived this long was healthy, so the next failure starts the backoff afresh;
// one that keeps dying young (refused, flooding) keeps backing off.
const STABLE_AFTER_MS = 10_000;
// How long a Mesh holds the signals of a peer whose peer-joined has not arrived yet.
const UNANNOUNCED_PEER_WAIT_MS = 1000;

/** An error the server sent (its `code` is one of docs/protocol.md's) or one of the client's own. */
export class SwitchboardError extends Error {
  /**
   * @param {string} code a server error code, or `timeout`, `disconnected`, `closed`, `left`
   * @param {string} message
   * @param {object} [details] e.g. `{room}`
   */
  constructor(code, message, details = {}) {
    super(message);
    this.name = 'SwitchboardError';
    this.code = code;
    Object.assign(this, details);
  }
}

/** `true` when `name` is a room name the server accepts. */
export function isValidRoomName(name) {
  return typeof name === 'string' && ROOM_NAME.test(name);
}

/** Minimal event emitter: `on` returns a function that removes the listener. */
class Emitter {
  #listeners = new Map();

  on(type, listener) {
    if (!this.#listeners.has(type)) this.#listeners.set(type, new Set());
    this.#listeners.get(type).add(listener);
    return () => this.off(type, listener);
  }

  once(type, listener) {
    const off = this.on(type, (event) => {
      off();
      listener(event);
    });
    return off;
  }

  off(type, listener) {
    this.#listeners.get(type)?.delete(listener);
  }

  emit(type, event) {
    for (const listener of [...(this.#listeners.get(type) ?? [])]) {
      try {
        listener(event);
      } catch (e) {
        // A throwing listener must not break the client's own bookkeeping or the other listeners.
        reportListenerError(e);
      }
    }
  }
}

function reportListenerError(e) {
  if (typeof globalThis.reportError === 'function') globalThis.reportError(e);
  else setTimeout(() => { throw e; });
}

function defaultUrl() {
  const loc = globalThis.location;
  if (!loc || !/^https?:$/.test(loc.protocol)) return undefined;
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/ws`;
}

/**
 * One connection to a Switchboard server, kept open: after a drop it reconnects with exponential
 * backoff and jitter and resumes its session (same peer id, rooms and events; docs/protocol.md,
 * "Resume"). When the server cannot resume it, the client carries on as a fresh session and joins
 * its rooms again under the new peer id.
 *
 * Events (`client.on(type, listener)`): `state`, `welcome`, `resumed`, `resume-failed`, `joined`,
 * `left`, `peer-joined`, `peer-left`, `peer-reconnecting`, `peer-resumed`, `offer`, `answer`,
 * `candidate`, `signal`, `server-message`, `error`.
 */
export class SwitchboardClient extends Emitter {
  #options;
  #ws = null;
  #state = 'idle';
  #welcome = null;
  #attempt = 0;
  #openedAt = 0;
  #retryTimer = null;
  #heartbeatTimer = null;
  #nextId = 1;
  // Request id -> {type, room?, resolve, reject, timer} for replies that carry the id back.
  #pending = new Map();
  // Rooms this client wants to be in: name -> {meta, joined, requestId, waiters: [{resolve, reject}]}.
  #rooms = new Map();
  #openWaiters = [];
  #urlIndex = 0;
  // The resumable session, from the welcome that started it: {token}, or null.
  #session = null;
  // The welcome of a socket that is presenting the session's token, until the answer comes.
  #resumeWelcome = null;
  // The seq of the last numbered event processed, and of the last one acknowledged.
  #lastSeq = 0;
  #ackedSeq = 0;
  #ackTimer = null;
  // Numbered relays the server has not confirmed (its `acked` is below their n), oldest first;
  // the first #sent of them went out on the current socket.
  #unacked = [];
  #sent = 0;
  #pumpTimer = null;
  #nextN = 1;
  #syncTimer = null;
  #unavailableTimer = null;

  /**
   * @param {object} [options]
   * @param {string | string[] | (() => string | Promise<string>)} [options.url] the WebSocket
   *   URL; a list of URLs, of which each reconnect takes the next (to reach a live node when one
   *   goes away); or a function called before each attempt. Default `/ws` on the page's own host
   * @param {string | (() => string | Promise<string>)} [options.token] a token for a server that
   *   requires one (docs/security.md), or a function called before each attempt to get a fresh
   *   one; sent as the WebSocket subprotocols `access_token` and the token, never in the URL
   * @param {string | string[]} [options.protocols] WebSocket subprotocols to offer (without a token)
   * @param {boolean} [options.reconnect=true] reconnect after the connection drops
   * @param {boolean} [options.resume=true] ask for a resumable session (`?resume=1`) and resume it
   *   after a drop
   * @param {number} [options.minDelayMs=500] first reconnect delay (before jitter)
   * @param {number} [options.maxDelayMs=15000] largest reconnect delay
   * @param {number} [options.requestTimeoutMs=10000] how long join, leave and ping wait for a reply
   * @param {number} [options.heartbeatMs=25000] send a `ping` this often and reconnect when its
   *   `pong` does not come back in time (finds dead connections after sleep or a network
   *   change); 0 turns it off
   * @param {typeof WebSocket} [options.WebSocket] the WebSocket class (e.g. npm `ws` in Node)
   */
  constructor(options = {}) {
    super();
    this.#options = {
      url: defaultUrl(),
      token: undefined,
      protocols: undefined,
      reconnect: true,
      resume: true,
      minDelayMs: 500,
      maxDelayMs: 15_000,
      requestTimeoutMs: 10_000,
      heartbeatMs: 25_000,
      WebSocket: globalThis.WebSocket,
      ...options,
    };
    const { url } = this.#options;
    if (!url || (Array.isArray(url) && url.length === 0)) throw new TypeError('options.url is required outside a web page');
    if (typeof this.#options.WebSocket !== 'function') throw new TypeError('no WebSocket class: pass options.WebSocket');
  }

  /**
   * `idle`, `connecting` (also while a resume is presented), `open` (welcomed or resumed),
   * `reconnecting` (waiting to retry) or `closed`.
   */
  get state() {
    return this.#state;
  }

  /** This session's peer id, or null while not connected. A resumed session keeps its id. */
  get peer() {
    return this.#state === 'open' ? this.#welcome.peer : null;
  }

  /** The ICE servers the server handed out in `welcome` (TURN credentials), or null if none. */
  get iceServers() {
    const servers = this.#welcome?.iceServers;
    return Array.isArray(servers) ? servers : null;
  }

  /** Whether the current session can be resumed after a drop (the server granted a token). */
  get resumable() {
    return this.#session !== null;
  }

  /** How many relays wait for the server's confirmation (sent during a gap, or not acked yet). */
  get backlog() {
    return this.#unacked.length;
  }

  /** The rooms this client is in or joining. */
  get rooms() {
    return [...this.#rooms.keys()];
  }

  /** Connects (if not already) and resolves with the `welcome` message once the server sent it. */
  connect() {
    if (this.#state === 'closed') return Promise.reject(new SwitchboardError('closed', 'the client was closed'));
    const opened = this.#whenOpen();
    if (this.#state === 'idle') this.#open();
    return opened;
  }

  /**
   * Joins `room`, connecting first if needed. Resolves with the `joined` message (`peers` is the
   * roster without you). After a reconnect the client joins again by itself and emits `joined`
   * with `rejoined: true`. Rejects with a SwitchboardError: the server's code (`room-full`,
   * `too-many-rooms`, `bad-message`, `internal`…), or `timeout`, `left`, `closed`.
   */
  join(room, meta = {}) {
    if (this.#state === 'closed') return Promise.reject(new SwitchboardError('closed', 'the client was closed', { room }));
    let entry = this.#rooms.get(room);
    if (!entry) {
      entry = { meta, joined: false, requestId: null, waiters: [] };
      this.#rooms.set(room, entry);
    }
    entry.meta = meta;
    const result = new Promise((resolve, reject) => entry.waiters.push({ resolve, reject }));
    if (this.#state === 'idle') this.#open();
    else if (this.#state === 'open' && entry.requestId === null) this.#sendJoin(room, entry);
    return result;
  }

  /** Leaves `room`; resolves once the server confirmed (at once if not connected or not in it). */
  async leave(room) {
    const entry = this.#rooms.get(room);
    if (!entry) return;
    this.#rooms.delete(room);
    const wasOnServer = entry.joined || entry.requestId !== null;
    for (const w of entry.waiters) w.reject(new SwitchboardError('left', `left ${room} before joining it`, { room }));
    if (this.#state !== 'open' || !wasOnServer) return;
    try {
      await this.#request({ type: 'leave', room });
    } catch (e) {
      // Already out is what was asked for; a dropped connection took us out of every room.
      if (e.code !== 'not-in-room' && e.code !== 'disconnected') throw e;
    }
  }

  /**
   * Relays an offer to peer `to` in `room` (to everyone else in it when `to` is null). In a
   * resumable session it is numbered and kept until the server confirms it, and a relay made
   * while disconnected goes out after the resume; `false` when it could not be sent or kept.
   */
  offer(room, to, data) {
    return this.#relay('offer', room, to, data);
  }

  answer(room, to, data) {
    return this.#relay('answer', room, to, data);
  }

  candidate(room, to, data) {
    return this.#relay('candidate', room, to, data);
  }

  /** Anything else for the other peers (mute state, renegotiation…); `data` is any JSON value. */
  signal(room, to, data) {
    return this.#relay('signal', room, to, data);
  }

  /** Resolves with the round-trip time in milliseconds of an application-level ping. */
  async ping() {
    if (this.#state !== 'open') throw new SwitchboardError('disconnected', 'not connected');
    const started = performance.now();
    await this.#request({ type: 'ping' });
    return performance.now() - started;
  }

  /** Closes the connection for good: no reconnect; pending requests and joins reject with `closed`. */
  close() {
    if (this.#state === 'closed') return;
    clearTimeout(this.#retryTimer);
    const ws = this.#ws;
    this.#ws = null;
    this.#dropConnection(new SwitchboardError('closed', 'the client was closed'));
    this.#end('closed', 'the client was closed', {});
    this.#forgetSession();
    if (ws) {
      detach(ws);
      ws.close(1000);
    }
  }

  /** Enters `closed` for good: whoever waits for a connection or a join is told `code`. */
  #end(code, message, details) {
    for (const [room, entry] of this.#rooms) {
      for (const w of entry.waiters) w.reject(new SwitchboardError(code, message, { room }));
    }
    this.#rooms.clear();
    for (const w of this.#openWaiters.splice(0)) w.reject(new SwitchboardError(code, message));
    this.#setState('closed', details);
  }

  #whenOpen() {
    if (this.#state === 'open') return Promise.resolve(this.#welcome);
    return new Promise((resolve, reject) => this.#openWaiters.push({ resolve, reject }));
  }

  #setState(state, details) {
    const previous = this.#state;
    this.#state = state;
    this.emit('state', { state, previous, ...details });
  }

  async #open() {
    this.#setState('connecting', { attempt: this.#attempt, resuming: this.#session !== null });
    let ws;
    try {
      const url = this.#withResume(await this.#nextUrl());
      const token = await valueOf(this.#options.token);
      if (this.#state !== 'connecting') return; // closed while the token was on its way
      ws = new this.#options.WebSocket(url, token ? [TOKEN_SUBPROTOCOL, token] : this.#options.protocols);
    } catch (e) {
      // A malformed URL or a failed token fetch: a failed attempt like any other, with backoff.
      this.emit('error', new SwitchboardError('connect-failed', e.message));
      this.#scheduleReconnect(0, e.message);
      return;
    }
    this.#ws = ws;
    this.#openedAt = Date.now();
    ws.onmessage = (event) => this.#onMessage(event.data);
    ws.onclose = (event) => {
      if (this.#ws !== ws) return;
      detach(ws);
      this.#ws = null;
      this.#onClosed(event.code, event.reason);
    };
    // Browsers follow every error with a close event, which is where it is handled.
    ws.onerror = () => {};
  }

  #nextUrl() {
    const { url } = this.#options;
    if (!Array.isArray(url)) return valueOf(url);
    return url[this.#urlIndex++ % url.length];
  }

  #withResume(url) {
    if (!this.#options.resume) return url;
    // Relative to the page, as browsers resolve a WebSocket URL.
    const withParam = new URL(url, globalThis.location?.href);
    withParam.searchParams.set('resume', '1');
    return withParam.href;
  }

  #onClosed(code, reason) {
    this.#dropConnection(new SwitchboardError('disconnected', `connection closed (${code})`));
    const stable = this.#welcome !== null && Date.now() - this.#openedAt >= STABLE_AFTER_MS;
    this.#welcome = null;
    this.#resumeWelcome = null;
    if (stable) this.#attempt = 0;
    if (SESSION_ENDING_CLOSE_CODES.has(code)) this.#forgetSession();
    if (!this.#options.reconnect || FINAL_CLOSE_CODES.has(code)) {
      this.#forgetSession();
      this.#end('disconnected', `connection closed (${code})`, { code, reason });
      return;
    }
    this.#scheduleReconnect(code, reason);
  }

  /** Starts numbering afresh: for a new session (`token` from its welcome), or none (null). */
  #startSession(token) {
    this.#forgetSession();
    if (token) this.#session = { token };
  }

  #forgetSession() {
    this.#session = null;
    this.#lastSeq = 0;
    this.#ackedSeq = 0;
    this.#nextN = 1;
    this.#unacked = [];
    this.#clearTimers();
  }

  #clearTimers() {
    this.#sent = 0;
    clearTimeout(this.#ackTimer);
    clearTimeout(this.#syncTimer);
    clearTimeout(this.#unavailableTimer);
    clearTimeout(this.#pumpTimer);
    this.#ackTimer = this.#syncTimer = this.#unavailableTimer = this.#pumpTimer = null;
  }

  /** Forgets what belonged to the connection that ended: its requests, heartbeat and joins. */
  #dropConnection(error) {
    clearInterval(this.#heartbeatTimer);
    // What they would send waits for the next socket: acks and the backlog go out after a resume.
    this.#clearTimers();
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      if (p.type !== 'join') p.reject(error);
    }
    this.#pending.clear();
    for (const entry of this.#rooms.values()) {
      entry.joined = false;
      entry.requestId = null;
    }
  }

  #scheduleReconnect(code, reason) {
    const delayMs = code === SERVICE_RESTART ? Math.random() * this.#options.minDelayMs : this.#backoff();
    this.#attempt++;
    this.#setState('reconnecting', { code, reason, attempt: this.#attempt, delayMs: Math.round(delayMs) });
    this.#retryTimer = setTimeout(() => this.#open(), delayMs);
  }

  // Exponential, capped, with "equal jitter": half the delay is fixed, half random, so that
  // clients dropped together by one failure do not all come back in the same instant.
  #backoff() {
    const { minDelayMs, maxDelayMs } = this.#options;
    const ceiling = Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(this.#attempt, 30));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  #onMessage(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof msg !== 'object' || msg === null) return;
    switch (msg.type) {
      case 'welcome':
        return this.#onWelcome(msg);
      case 'resumed':
        return this.#onResumed(msg);
      case 'joined':
        return this.#onJoined(msg);
      case 'pong':
        this.#confirmRelays(msg.acked);
        return this.#settle(msg.id, (p) => p.resolve(msg));
      case 'left':
        return this.#settle(msg.id, (p) => p.resolve(msg));
      case 'error':
        return this.#onError(msg);
      case 'peer-joined':
      case 'peer-left':
      case 'peer-reconnecting':
      case 'peer-resumed':
      case 'server-message':
        return this.#onEvent(msg);
      default:
        // Unknown types are ignored: the protocol may add server messages (docs/protocol.md).
        if (RELAYED_TYPES.includes(msg.type)) this.#onEvent(msg);
    }
  }

  #onEvent(msg) {
    if (typeof msg.seq !== 'number') {
      this.emit(msg.type, msg);
      return;
    }
    // A replay may repeat what this side processed but had not acknowledged.
    if (msg.seq <= this.#lastSeq) return;
    this.#lastSeq = msg.seq;
    this.emit(msg.type, msg);
    if (this.#lastSeq - this.#ackedSeq >= ACK_EVERY_EVENTS) this.#sendAck();
    else this.#ackTimer ??= setTimeout(() => this.#sendAck(), ACK_AFTER_MS);
  }

  #sendAck() {
    clearTimeout(this.#ackTimer);
    this.#ackTimer = null;
    if (this.#state !== 'open' || this.#lastSeq <= this.#ackedSeq) return;
    if (this.#send({ type: 'ack', seq: this.#lastSeq })) this.#ackedSeq = this.#lastSeq;
  }

  #onWelcome(msg) {
    if (this.#session && typeof msg.resume === 'string') {
      // Resume must be this socket's first message; everything else waits for its answer.
      this.#resumeWelcome = msg;
      const ws = this.#ws;
      this.#request({ type: 'resume', token: this.#session.token, seq: this.#lastSeq }).catch((e) => {
        if (e.code === 'timeout' && this.#ws === ws) this.#abandon(ws, 'no reply to resume');
      });
      return;
    }
    // A node without resume (RESUME_WINDOW_SECONDS=0, or an older server) cannot take the session over.
    if (this.#session) this.emit('resume-failed', new SwitchboardError('resume-unsupported', 'the server does not offer resume'));
    this.#startSession(msg.resume);
    this.#openFresh(msg);
  }

  /** Carries on as the fresh session `msg` announced: joins every room again under its peer id. */
  #openFresh(msg) {
    this.#welcome = msg;
    this.#setState('open', { peer: msg.peer });
    this.emit('welcome', msg);
    for (const w of this.#openWaiters.splice(0)) w.resolve(msg);
    for (const [room, entry] of this.#rooms) this.#sendJoin(room, entry);
    this.#startHeartbeat();
  }

  #onResumed(msg) {
    const p = msg.id !== undefined ? this.#pending.get(msg.id) : undefined;
    if (!p || p.type !== 'resume') return;
    this.#settle(msg.id, (q) => q.resolve(msg));
    this.#session.token = msg.resume;
    this.#welcome = { ...this.#resumeWelcome, peer: msg.peer, resume: msg.resume };
    this.#resumeWelcome = null;
    const held = new Set((msg.rooms ?? []).map((r) => r.room));
    for (const [room, entry] of this.#rooms) {
      // A join made during the gap, or one whose caller still waits for a roster, is sent again.
      if (held.has(room) && entry.waiters.length === 0) entry.joined = true;
      else this.#sendJoin(room, entry);
    }
    // Rooms left while disconnected are left on the server now.
    for (const room of held) if (!this.#rooms.has(room)) this.#send({ type: 'leave', room });
    // Before any listener can relay: a newer n accepted first would make the server drop these.
    this.#confirmRelays(msg.acked);
    this.#pump();
    this.#setState('open', { peer: msg.peer, resumed: true });
    this.emit('resumed', msg);
    for (const w of this.#openWaiters.splice(0)) w.resolve(this.#welcome);
    this.#sendAck();
    this.#startHeartbeat();
  }

  #onResumeRefused(error) {
    if (RESUME_REFUSALS.has(error.code)) {
      this.#resumeFailed(error);
      return;
    }
    // Only a first message may resume, so the next try needs a socket of its own. 1000 ends this
    // socket's own fresh session, not the one to resume.
    const ws = this.#ws;
    detach(ws);
    this.#ws = null;
    ws.close(1000);
    this.emit('error', error);
    this.#onClosed(1011, `resume: ${error.code}`);
  }

  #resumeFailed(error) {
    const welcome = this.#resumeWelcome;
    this.#resumeWelcome = null;
    this.#startSession(welcome.resume);
    this.emit('resume-failed', error);
    this.#openFresh(welcome);
  }

  #startHeartbeat() {
    const every = this.#options.heartbeatMs;
    if (!every) return;
    const ws = this.#ws;
    this.#heartbeatTimer = setInterval(() => {
      this.#request({ type: 'ping' }).catch((e) => {
        // No pong in time: the connection is dead even if the socket has not noticed yet.
        if (e.code === 'timeout' && this.#ws === ws) this.#abandon(ws, 'no pong');
      });
    }, every);
  }

  /** Gives up a socket that stopped answering; its session stays resumable (no 1000 sent). */
  #abandon(ws, reason) {
    detach(ws);
    this.#ws = null;
    ws.close();
    this.#onClosed(4000, reason);
  }

  /** Forgets the relays the server reports it has accepted (`acked`: the highest n). */
  #confirmRelays(acked) {
    if (typeof acked !== 'number') return;
    while (this.#unacked.length && this.#unacked[0].n <= acked) {
      this.#unacked.shift();
      this.#sent = Math.max(0, this.#sent - 1);
    }
  }

  /** Sends the relays not sent on this socket yet, in order, a second's worth now and the rest later. */
  #pump() {
    let budget = BACKLOG_PER_SECOND;
    while (this.#sent < this.#unacked.length && budget-- > 0 && this.#send(this.#unacked[this.#sent])) this.#sent++;
    if (this.#sent < this.#unacked.length) {
      this.#pumpTimer ??= setTimeout(() => {
        this.#pumpTimer = null;
        this.#pump();
      }, 1000);
    }
    if (this.#sent > 0) this.#scheduleSync();
  }

  #scheduleSync() {
    this.#syncTimer ??= setTimeout(() => {
      this.#syncTimer = null;
      if (this.#state === 'open' && this.#unacked.length) this.#request({ type: 'ping' }).catch(() => {});
    }, SYNC_AFTER_MS);
  }

  #sendJoin(room, entry) {
    const rejoin = entry.waiters.length === 0;
    entry.requestId = this.#request({ type: 'join', room, meta: entry.meta }, { room, rejoin }).id;
  }

  #onJoined(msg) {
    const p = msg.id !== undefined ? this.#pending.get(msg.id) : undefined;
    if (p) {
      this.#pending.delete(msg.id);
      clearTimeout(p.timer);
    }
    const entry = this.#rooms.get(msg.room);
    if (!entry) {
      // A reply to a join that was given up on (left or timed out meanwhile): get out again.
      this.#send({ type: 'leave', room: msg.room });
      return;
    }
    entry.joined = true;
    entry.requestId = null;
    const rejoined = p?.rejoin ?? false;
    for (const w of entry.waiters.splice(0)) w.resolve(msg);
    this.emit('joined', { ...msg, rejoined });
  }

  #onError(msg) {
    const error = new SwitchboardError(msg.code, msg.message);
    const relay = typeof msg.id === 'string' ? this.#unacked.find((m) => m.id === msg.id) : undefined;
    if (relay) {
      this.#onRelayRefused(relay, error);
      return;
    }
    const p = msg.id !== undefined ? this.#pending.get(msg.id) : undefined;
    if (!p) {
      this.emit('error', error);
      return;
    }
    this.#pending.delete(msg.id);
    clearTimeout(p.timer);
    if (p.type === 'join') this.#failJoin(p.room, error);
    else if (p.type === 'resume') this.#onResumeRefused(error);
    else p.reject(error);
  }

  #onRelayRefused(relay, error) {
    if (error.code === 'unavailable') {
      // The server could not store it: send the backlog again (same n) once the server recovers;
      // what it did accept meanwhile it drops as a retransmission.
      this.#unavailableTimer ??= setTimeout(() => {
        this.#unavailableTimer = null;
        this.#sent = 0;
        this.#pump();
      }, RETRY_UNAVAILABLE_MS);
      return;
    }
    // Refused for good (the peer left…): sending it again after a resume would only be refused again.
    const index = this.#unacked.indexOf(relay);
    this.#unacked.splice(index, 1);
    if (index < this.#sent) this.#sent--;
    // Not `room`: that names a room the client gave up (a refused rejoin), and a Mesh stops on it.
    error.relay = { type: relay.type, room: relay.room, to: relay.to };
    this.emit('error', error);
  }

  #failJoin(room, error) {
    error.room = room;
    const entry = this.#rooms.get(room);
    this.#rooms.delete(room);
    if (entry?.waiters.length) {
      for (const w of entry.waiters) w.reject(error);
    } else {
      // Nobody awaits a rejoin after a reconnect: its failure (room now full…) is only an event.
      this.emit('error', error);
    }
  }

  #settle(id, action) {
    const p = id !== undefined ? this.#pending.get(id) : undefined;
    if (!p) return;
    this.#pending.delete(id);
    clearTimeout(p.timer);
    action(p);
  }

  /** Sends `msg` with a fresh id; the returned promise settles with the reply (joins excepted). */
  #request(msg, extra = {}) {
    const id = this.#nextId++;
    let resolve;
    let reject;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const timer = setTimeout(() => {
      this.#pending.delete(id);
      const error = new SwitchboardError('timeout', `no reply to ${msg.type} within ${this.#options.requestTimeoutMs} ms`);
      if (msg.type === 'join') this.#failJoin(msg.room, error);
      else reject(error);
    }, this.#options.requestTimeoutMs);
    this.#pending.set(id, { type: msg.type, ...extra, resolve, reject, timer });
    this.#send({ ...msg, id });
    promise.id = id;
    return promise;
  }

  #relay(type, room, to, data) {
    const msg = { type, room, data };
    if (to != null) msg.to = to;
    if (!this.#session) return this.#state === 'open' && this.#send(msg);
    if (this.#unacked.length >= MAX_UNACKED_RELAYS) {
      this.emit('error', new SwitchboardError('backlog-full', `${MAX_UNACKED_RELAYS} relays wait for the server already`,
        { relay: { type, room, to } }));
      return false;
    }
    msg.n = this.#nextN++;
    // A string id cannot collide with the numeric ids of requests; an error for it names the relay.
    msg.id = `n${msg.n}`;
    this.#unacked.push(msg);
    // Behind a backlog still going out, it waits its turn.
    if (this.#state === 'open' && this.#pumpTimer === null) this.#pump();
    return true;
  }

  #send(msg) {
    if (!this.#ws || this.#ws.readyState !== 1) return false;
    this.#ws.send(JSON.stringify(msg));
    return true;
  }
}

function valueOf(option) {
  return typeof option === 'function' ? option() : option;
}

function detach(ws) {
  ws.onmessage = null;
  ws.onclose = null;
  ws.onerror = null;
}

/**
 * One remote peer of a {@link Mesh}: its RTCPeerConnection and what came over it.
 * `polite` is this side's role towards it in perfect negotiation.
 */
export class RemotePeer {
  /** @internal */
  constructor(id, meta, polite, pc) {
    this.id = id;
    this.meta = meta;
    this.polite = polite;
    this.pc = pc;
    /** Data channels by label. */
    this.channels = new Map();
    /** The remote streams whose tracks arrived, by stream id. */
    this.streams = new Map();
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.settingRemoteAnswer = false;
    this.attached = false;
    this.attachTimer = null;
    /** True while the peer's signaling connection is in its gap (peer-reconnecting until peer-resumed). */
    this.reconnecting = false;
  }

  get connectionState() {
    return this.pc.connectionState;
  }
}

/**
 * Connects an RTCPeerConnection to every other member of one room, whatever order they join in,
 * using the "perfect negotiation" pattern: towards each peer one side is polite (rolls back its
 * own offer when offers cross) and the other impolite (ignores the incoming one); the side with
 * the smaller peer id is the polite one, so both ends agree without talking about it.
 *
 * The peer connections outlive a resumed session (either side's): signals made meanwhile wait in
 * the client and go out after the resume. Only a session that could not be resumed (this side
 * rejoins under a new peer id) starts every connection again.
 *
 * Events: `joined`, `peer-joined`, `peer-left`, `peer-state`, `peer-reconnecting`,
 * `peer-resumed`, `track`, `channel-open`, `channel-close`, `message`, `error`.
 */
export class Mesh extends Emitter {
  #client;
  #room;
  #options;
  #peers = new Map();
  #unsubscribe = [];
  #active = false;
  // This side's peer id when it last joined the room.
  #self = null;
  // Signals of peers not announced yet: id -> {messages, timer} (see #onRelay).
  #early = new Map();

  /**
   * @param {SwitchboardClient} client
   * @param {string} room
   * @param {object} [options]
   * @param {MediaStream} [options.localStream] tracks to send to every peer
   * @param {object} [options.meta] shown to the other members (`peer-joined`, rosters)
   * @param {string[]} [options.dataChannels=[]] labels of data channels to open with every peer
   *   (negotiated, so each pair gets exactly one of each whoever connects first)
   * @param {RTCIceServer[]} [options.iceServers=[]] used when the server's welcome has none
   * @param {RTCConfiguration} [options.rtcConfig] other RTCPeerConnection settings
   * @param {number} [options.offerWaitMs=3000] how long to wait for the first offer of a peer
   *   that joined after this side before offering anyway
   * @param {typeof RTCPeerConnection} [options.RTCPeerConnection]
   */
  constructor(client, room, options = {}) {
    super();
    this.#client = client;
    this.#room = room;
    this.#options = {
      localStream: null,
      meta: {},
      dataChannels: [],
      iceServers: [],
      rtcConfig: {},
      offerWaitMs: 3000,
      RTCPeerConnection: globalThis.RTCPeerConnection,
      ...options,
    };
  }

  get room() {
    return this.#room;
  }

  /** The remote peers, connected or not. */
  get peers() {
    return [...this.#peers.values()];
  }

  peer(id) {
    return this.#peers.get(id);
  }

  /** Joins the room and starts connecting to its members; resolves with the `joined` message. */
  async join() {
    if (!this.#active) {
      this.#active = true;
      const c = this.#client;
      this.#unsubscribe = [
        c.on('joined', (m) => m.room === this.#room && this.#onJoined(m)),
        c.on('peer-joined', (m) => m.room === this.#room && this.#onPeerJoined(m)),
        c.on('peer-left', (m) => m.room === this.#room && this.#onPeerLeft(m)),
        c.on('peer-reconnecting', (m) => m.room === this.#room && this.#onPeerGap(m.peer, true)),
        c.on('peer-resumed', (m) => m.room === this.#room && this.#onPeerGap(m.peer, false)),
        // The client gave the room up (a rejoin after a reconnect was refused): so does the call.
        c.on('error', (e) => e.room === this.#room && this.#stop()),
        ...RELAYED_TYPES.map((type) => c.on(type, (m) => m.room === this.#room && this.#onRelay(m))),
      ];
    }
    try {
      return await this.#client.join(this.#room, this.#options.meta);
    } catch (e) {
      this.#stop();
      throw e;
    }
  }

  /** Closes every peer connection and leaves the room. */
  async leave() {
    this.#stop();
    await this.#client.leave(this.#room);
  }

  /**
   * Sends `data` on the open data channel `label` of every peer (or of peer `to` only);
   * returns how many peers it was sent to.
   */
  send(label, data, to = null) {
    let sent = 0;
    for (const peer of this.#peers.values()) {
      const channel = peer.channels.get(label);
      if ((to === null || peer.id === to) && channel?.readyState === 'open') {
        channel.send(data);
        sent++;
      }
    }
    return sent;
  }

  #stop() {
    this.#active = false;
    for (const off of this.#unsubscribe.splice(0)) off();
    for (const id of [...this.#early.keys()]) this.#dropEarly(id);
    for (const id of [...this.#peers.keys()]) this.#removePeer(id, 'stopped');
    this.#self = null;
  }

  #onJoined(msg) {
    // After a session that could not be resumed this side has a new peer id, so the other ends
    // close every connection to the old one: start again. A resumed session keeps its id and
    // a repeated join keeps the connections.
    if (msg.peer !== this.#self) {
      for (const id of [...this.#early.keys()]) this.#dropEarly(id);
      for (const id of [...this.#peers.keys()]) this.#removePeer(id, 'reconnect');
      this.#self = msg.peer;
    }
    for (const p of msg.peers) this.#addPeer(p.peer, p.meta, true);
    this.emit('joined', msg);
  }

  #iceServers() {
    return this.#client.iceServers ?? this.#options.iceServers;
  }

  // Of each pair, the side that found the other in its roster (it joined later) offers first and
  // the other waits for that offer before adding its own tracks, so that their first offers do
  // not cross: after the rollback a crossing forces on the polite side, Chromium 156 sometimes
  // stays "gathering" without producing a single candidate, and the pair never connects. Perfect negotiation still
  // settles any later crossing (ICE restarts, tracks added later).
  #addPeer(id, meta, offerFirst) {
    const existing = this.#peers.get(id);
    if (existing) return existing;
    const pc = new this.#options.RTCPeerConnection({ ...this.#options.rtcConfig, iceServers: this.#iceServers() });
    // #self, not client.peer: a peer may be added while the client is disconnected (its early signals).
    const peer = new RemotePeer(id, meta, (this.#self ?? this.#client.peer) < id, pc);
    this.#peers.set(id, peer);

    pc.ondatachannel = ({ channel }) => this.#wireChannel(peer, channel);
    pc.ontrack = ({ track, streams }) => {
      for (const s of streams) peer.streams.set(s.id, s);
      this.emit('track', { peer, track, streams });
    };
    pc.onicecandidate = ({ candidate }) => {
      // The end-of-candidates null needs no relaying: browsers infer it.
      if (candidate) this.#client.candidate(this.#room, id, candidate.toJSON());
    };
    pc.onnegotiationneeded = async () => {
      try {
        peer.makingOffer = true;
        await pc.setLocalDescription();
        this.#client.offer(this.#room, id, pc.localDescription.toJSON());
      } catch (e) {
        this.#fail(peer, e);
      } finally {
        peer.makingOffer = false;
      }
    };
    // A network change kills the media path: restart ICE over the (resumed) signaling session, on
    // the same connection, whose offer waits in the client if the session is in its gap.
    const restartIfFailed = () => {
      if (pc.iceConnectionState === 'failed' || pc.connectionState === 'failed') pc.restartIce();
    };
    pc.oniceconnectionstatechange = restartIfFailed;
    pc.onconnectionstatechange = () => {
      restartIfFailed();
      this.emit('peer-state', { peer, state: pc.connectionState });
    };
    this.emit('peer-joined', { peer });
    if (offerFirst) this.#attach(peer);
    // A peer with nothing to send never offers; then this side starts once it is clear none comes.
    else peer.attachTimer = setTimeout(() => this.#attach(peer), this.#options.offerWaitMs);
    return peer;
  }

  /** Adds the local tracks and the data channels to the peer's connection (once). */
  #attach(peer) {
    if (peer.attached || peer.pc.signalingState === 'closed') return;
    peer.attached = true;
    clearTimeout(peer.attachTimer);
    const stream = this.#options.localStream;
    for (const track of stream?.getTracks() ?? []) peer.pc.addTrack(track, stream);
    this.#options.dataChannels.forEach((label, index) => {
      this.#wireChannel(peer, peer.pc.createDataChannel(label, { negotiated: true, id: index }));
    });
  }

  #wireChannel(peer, channel) {
    peer.channels.set(channel.label, channel);
    channel.onopen = () => this.emit('channel-open', { peer, channel, label: channel.label });
    channel.onclose = () => this.emit('channel-close', { peer, channel, label: channel.label });
    channel.onmessage = ({ data }) => this.emit('message', { peer, label: channel.label, data });
  }

  #onPeerGap(id, reconnecting) {
    const peer = this.#peers.get(id);
    if (!peer) return;
    peer.reconnecting = reconnecting;
    this.emit(reconnecting ? 'peer-reconnecting' : 'peer-resumed', { peer });
  }

  #onPeerLeft(msg) {
    this.#dropEarly(msg.peer);
    this.#removePeer(msg.peer, msg.reason);
  }

  #removePeer(id, reason) {
    const peer = this.#peers.get(id);
    if (!peer) return;
    this.#peers.delete(id);
    clearTimeout(peer.attachTimer);
    peer.pc.close();
    this.emit('peer-left', { peer, reason });
  }

  // A peer on another node can signal before its peer-joined arrives here. Its messages wait for
  // that announcement (which carries its meta) for a moment; then the peer is added without it.
  #onRelay(msg) {
    const peer = this.#peers.get(msg.from);
    if (peer) {
      this.#deliver(peer, msg);
      return;
    }
    let early = this.#early.get(msg.from);
    if (!early) {
      early = { messages: [], timer: setTimeout(() => this.#admit(msg.from, {}), UNANNOUNCED_PEER_WAIT_MS) };
      this.#early.set(msg.from, early);
    }
    early.messages.push(msg);
  }

  #onPeerJoined(msg) {
    if (this.#early.has(msg.peer)) this.#admit(msg.peer, msg.meta);
    else this.#addPeer(msg.peer, msg.meta, false);
  }

  /** Adds a peer whose signals came first, and hands it those signals in order. */
  #admit(id, meta) {
    const early = this.#early.get(id);
    this.#dropEarly(id);
    const peer = this.#addPeer(id, meta, false);
    for (const msg of early.messages) this.#deliver(peer, msg);
  }

  #dropEarly(id) {
    clearTimeout(this.#early.get(id)?.timer);
    this.#early.delete(id);
  }

  #deliver(peer, msg) {
    if (msg.type === 'offer' || msg.type === 'answer') this.#onDescription(peer, msg.data);
    else if (msg.type === 'candidate') this.#onCandidate(peer, msg.data);
  }

  async #onDescription(peer, description) {
    const pc = peer.pc;
    // Tracks added before the offer is applied answer in its own m-lines: no second round trip.
    if (description?.type === 'offer') this.#attach(peer);
    try {
      const readyForOffer = !peer.makingOffer && (pc.signalingState === 'stable' || peer.settingRemoteAnswer);
      const collision = description.type === 'offer' && !readyForOffer;
      peer.ignoreOffer = !peer.polite && collision;
      if (peer.ignoreOffer) return;
      peer.settingRemoteAnswer = description.type === 'answer';
      await pc.setRemoteDescription(description);
      peer.settingRemoteAnswer = false;
      if (description.type === 'offer') {
        await pc.setLocalDescription();
        this.#client.answer(this.#room, peer.id, pc.localDescription.toJSON());
      }
    } catch (e) {
      this.#fail(peer, e);
    }
  }

  async #onCandidate(peer, candidate) {
    // Read now: by the time a candidate fails, the answer that ends the collision may have reset it.
    const ignoring = peer.ignoreOffer;
    try {
      await peer.pc.addIceCandidate(candidate);
    } catch (e) {
      // Candidates of an offer this side ignored are expected to fail.
      if (!ignoring) this.#fail(peer, e);
    }
  }

  #fail(peer, error) {
    // A connection closed meanwhile (the peer left) makes any pending step fail; that is no error.
    if (peer.pc.signalingState === 'closed') return;
    this.emit('error', { peer, error });
  }
}
