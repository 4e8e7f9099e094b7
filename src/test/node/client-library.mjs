// Runs switchboard.js, as a node serves it at /switchboard.js, in Node with npm `ws` as its
// WebSocket, for io.switchboard.client.ClientLibraryTest and by hand.
//
//   node client-library.mjs '<json config>'
//
// Config: { "case": "protocol" | "failover" | "resume" | "resume-failed" | "resume-retried" | "secured" | "operated",
//           "library": "http://127.0.0.1:PORT/switchboard.js",
//           "urls": [ "ws://127.0.0.1:PORT_A/ws", "ws://127.0.0.1:PORT_B/ws" ], "timeoutMs": 15000,
//           "token": "<jwt>" (secured only), "admin": "http://127.0.0.1:ADMIN_PORT", "key": "<key>" (operated only) }
// protocol: client a on urls[0] and b on urls[1] go through join (roster, meta), the four relayed
//   types to one peer and to all, refused joins and relays, ping, leave and close.
// failover: a's url option alternates between urls[0] and urls[1]; once a and b are in one room
//   the test stops node A (a gets 1012), and a must come back on node B at once. With
//   "resume": false, a rejoins under a new peer id, and b must see the old id leave and the new
//   one join; with "resume": true, a resumes its session there: same peer id, no rejoin, and b
//   sees peer-reconnecting then peer-resumed. The script does not stop anything itself: once it
//   listens for all that, it says "stop node A now" on stderr, and waits (bounded).
// resume: a (on urls[0], then urls[1]) and b (on urls[1]) in one room exchange numbered signals;
//   the script cuts a's socket without a close frame and holds a's reconnect until b, told
//   peer-reconnecting, has signalled a and a has signalled b in the gap (more than the server's
//   rate limit lets through at once); then a must resume with
//   its peer id and rooms, and each side get every signal exactly once, in order, the old and
//   the gap's; no one leaves, nobody rejoins. Both join through a Mesh: each keeps its one peer
//   connection, b's reports a's gap, and a failed connection gets an ICE restart.
// resume-failed: as resume, on nodes whose RESUME_WINDOW_SECONDS is 1, holding the reconnect past
//   the window: a's resume is refused (resume-expired), a carries on as a fresh session, joins
//   its room again under a new peer id, b sees the old id leave (expired) and the new one join,
//   and what a signalled in the gap is dropped, not sent from the new id; a's Mesh replaces its
//   peer connection.
// resume-retried: a and b on urls[0], a node whose test fails the first resume's claim on the
//   session store: a hears `unavailable`, resumes from a new socket, keeps its peer id and never
//   starts a fresh session.
// secured: urls[0] is a node that requires a token and hands out TURN credentials. A client with
//   the token (from an async token function) connects, gets the credentials in welcome, and a
//   Mesh gives them to its peer connections; a client without one never gets in.
// operated: a client in a room gets a server-message that the script sends through the node's
//   server API, then the script disconnects it there: it ends closed with 4003, no reconnect.
// The Mesh cases use a stand-in RTCPeerConnection that only records its configuration and ICE
// restarts: Node has no WebRTC, and what is checked is which ICE servers the mesh hands over,
// which connections it keeps or replaces across a resume, and that it restarts ICE on failure.
//
// stdout: one JSON line { "ok": bool, "case", "failures": [ "..." ], "states": [ "..." ],
//   "elapsedMs", ... case details }. Exit code: 0 all checks passed, 1 some failed, 2 bad usage.

import { isDeepStrictEqual } from 'node:util';
import WebSocket from 'ws';

const config = (() => {
  try {
    return JSON.parse(process.argv[2] ?? '');
  } catch (e) {
    console.error(`usage: node client-library.mjs '<json config>' (${e.message})`);
    process.exit(2);
  }
})();
config.timeoutMs ??= 15_000;
const started = Date.now();
const failures = [];
const report = { case: config.case };
const clients = [];

function check(ok, what) {
  if (!ok) failures.push(what);
}

/** The first `type` event of `emitter` for which `accept` holds, or a rejection after the time left. */
function next(emitter, type, accept = () => true) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${type} event in time`));
    }, Math.max(1, config.timeoutMs - (Date.now() - started)));
    const off = emitter.on(type, (event) => {
      if (!accept(event)) return;
      clearTimeout(timer);
      off();
      resolve(event);
    });
  });
}

async function loadLibrary() {
  const response = await fetch(config.library, { signal: AbortSignal.timeout(config.timeoutMs) });
  report.contentType = response.headers.get('content-type');
  // A data: URL is an ES module for Node, as the served file is for a browser.
  return import(`data:text/javascript,${encodeURIComponent(await response.text())}`);
}

async function protocol({ SwitchboardClient, SwitchboardError, Mesh }) {
  const a = client(SwitchboardClient, config.urls[0]);
  const b = client(SwitchboardClient, config.urls[1]);
  const states = [];
  a.on('state', (e) => states.push(e.state));

  const welcome = await a.connect();
  check(typeof welcome.peer === 'string' && welcome.peer === a.peer, `welcome carries a's peer id: ${JSON.stringify(welcome)}`);
  const aJoined = await a.join('lobby', { name: 'a' });
  check(aJoined.peer === a.peer && isDeepStrictEqual(aJoined.peers, []), `a's join: ${JSON.stringify(aJoined)}`);

  const peerJoined = next(a, 'peer-joined');
  const bJoined = await b.join('lobby', { name: 'b' });
  check(isDeepStrictEqual(bJoined.peers, [{ peer: a.peer, meta: { name: 'a' } }]), `b's roster: ${JSON.stringify(bJoined.peers)}`);
  const joinedEvent = await peerJoined;
  check(joinedEvent.room === 'lobby' && joinedEvent.peer === b.peer && joinedEvent.meta.name === 'b',
    `a's peer-joined: ${JSON.stringify(joinedEvent)}`);

  for (const type of ['offer', 'answer', 'candidate', 'signal']) {
    const received = next(a, type);
    check(b[type]('lobby', a.peer, { type, n: 1 }) === true, `b.${type} sent`);
    const m = await received;
    check(m.from === b.peer && m.room === 'lobby' && isDeepStrictEqual(m.data, { type, n: 1 }), `${type} relayed: ${JSON.stringify(m)}`);
  }
  const broadcast = next(a, 'signal');
  b.signal('lobby', null, [1, 'two', null]);
  check(isDeepStrictEqual((await broadcast).data, [1, 'two', null]), 'a signal without to reaches the room');

  try {
    await a.join('no spaces allowed');
    check(false, 'a join with a bad room name must reject');
  } catch (e) {
    check(e instanceof SwitchboardError && e.code === 'bad-message' && e.room === 'no spaces allowed',
      `a refused join rejects with the server's code: ${e.code} ${e.message}`);
  }
  check(isDeepStrictEqual(a.rooms, ['lobby']), `a refused room is forgotten: ${a.rooms}`);

  const refusedRelay = next(a, 'error');
  a.signal('elsewhere', null, {});
  check((await refusedRelay).code === 'not-in-room', 'a refused relay arrives as an error event');

  check((await a.ping()) >= 0, 'ping resolves with a round-trip time');

  const fallback = [{ urls: 'stun:stun.invalid:3478' }];
  check(a.iceServers === null, 'no iceServers without TURN settings on the server');
  check(isDeepStrictEqual(await meshIceServers(Mesh, a, b, 'call', { iceServers: fallback }), fallback),
    "without the server's iceServers a Mesh uses its own");

  const peerLeft = next(a, 'peer-left');
  await b.leave('lobby');
  const leftEvent = await peerLeft;
  check(leftEvent.peer === b.peer && leftEvent.reason === 'leave', `a's peer-left: ${JSON.stringify(leftEvent)}`);
  await b.leave('lobby');

  const pending = b.join('later');
  b.close();
  try {
    await pending;
    check(false, 'a join pending at close must reject');
  } catch (e) {
    check(e.code === 'closed', `a join pending at close rejects with closed: ${e.code}`);
  }
  check(b.state === 'closed' && b.peer === null, `b is closed: ${b.state}`);
  a.close();
  report.states = states;
  check(isDeepStrictEqual(states, ['connecting', 'open', 'closed']), `a's states: ${states}`);
}

/**
 * Records the configuration each connection was made with, and its ICE restarts; enough for a
 * peer that never negotiates. `fail()` plays a network change that kills its media path.
 */
class RecordingPeerConnection {
  static configs = [];

  signalingState = 'stable';
  connectionState = 'connected';
  iceConnectionState = 'connected';
  restarts = 0;
  closed = false;

  constructor(config) {
    RecordingPeerConnection.configs.push(config);
  }

  restartIce() {
    this.restarts++;
  }

  fail() {
    this.connectionState = 'failed';
    this.iceConnectionState = 'failed';
    this.oniceconnectionstatechange?.();
    this.onconnectionstatechange?.();
  }

  close() {
    this.closed = true;
    this.signalingState = 'closed';
  }
}

/** The ICE servers a Mesh gives the connection to a peer that joins after it. */
async function meshIceServers(Mesh, client, joiner, room, options = {}) {
  const call = new Mesh(client, room, { RTCPeerConnection: RecordingPeerConnection, ...options });
  await call.join();
  const added = next(call, 'peer-joined');
  await joiner.join(room);
  await added;
  await call.leave();
  await joiner.leave(room);
  return RecordingPeerConnection.configs.at(-1).iceServers;
}

async function failover({ SwitchboardClient }) {
  const resume = config.resume === true;
  const a = client(SwitchboardClient, [config.urls[0], config.urls[1]], { resume });
  const b = client(SwitchboardClient, config.urls[1], { resume });
  const states = [];
  a.on('state', (e) => states.push(e.state + (e.code ? ` ${e.code}` : '') + (e.delayMs !== undefined ? ` after ${e.delayMs} ms` : '')));
  await a.join('call', { name: 'a' });
  await b.join('call', { name: 'b' });
  const oldPeer = a.peer;
  if (resume) {
    const rejoins = [];
    a.on('joined', (m) => m.rejoined && rejoins.push(m));
    const lefts = [];
    b.on('peer-left', (m) => lefts.push(m));
    const gap = next(b, 'peer-reconnecting', (m) => m.peer === oldPeer);
    const back = next(b, 'peer-resumed', (m) => m.peer === oldPeer);
    const resumed = next(a, 'resumed');
    console.error('a and b are in the room: stop node A now');
    const r = await resumed;
    report.states = states;
    check(r.peer === oldPeer && a.peer === oldPeer, `a resumed with its peer id: ${JSON.stringify(r)}`);
    check(isDeepStrictEqual(r.rooms, [{ room: 'call', meta: { name: 'a' } }]), `a's rooms: ${JSON.stringify(r.rooms)}`);
    await gap;
    await back;
    await roundTrip(a, b, 'call');
    check(rejoins.length === 0 && lefts.length === 0, `no rejoin, nobody left: ${JSON.stringify({ rejoins, lefts })}`);
  } else {
    const rejoined = next(a, 'joined', (m) => m.rejoined);
    const oldLeft = next(b, 'peer-left', (m) => m.peer === oldPeer);
    const newJoined = next(b, 'peer-joined', (m) => m.peer !== oldPeer);
    console.error('a and b are in the room: stop node A now');

    const again = await rejoined;
    report.states = states;
    check(a.peer !== null && a.peer !== oldPeer, 'a rejoined under a new peer id');
    check(isDeepStrictEqual(again.peers, [{ peer: b.peer, meta: { name: 'b' } }]), `a's new roster: ${JSON.stringify(again.peers)}`);
    check((await oldLeft).reason === 'disconnect', "b saw a's old id leave");
    const seen = await newJoined;
    check(seen.peer === a.peer && seen.meta.name === 'a', `b saw a come back with its meta: ${JSON.stringify(seen)}`);
  }
  const reconnecting = states.find((s) => s.startsWith('reconnecting'));
  check(/^reconnecting 1012 after \d+ ms$/.test(reconnecting ?? '') && Number(reconnecting.split(' ')[3]) < 500,
    `after 1012 a reconnects at once (within the first backoff step): ${states}`);

  if (!resume) await roundTrip(a, b, 'call');
}

/** A signal each way between a and b in `room`, each arriving from the right peer. */
async function roundTrip(a, b, room) {
  const toA = next(a, 'signal', (m) => m.data === 'to a');
  b.signal(room, a.peer, 'to a');
  check((await toA).from === b.peer, 'b reaches a');
  const toB = next(b, 'signal', (m) => m.data === 'from a');
  a.signal(room, b.peer, 'from a');
  check((await toB).from === a.peer, 'a reaches b');
}

/**
 * A WebSocket class that remembers its sockets, so that the script can cut one as a network
 * would (no close frame), and a gate that holds the reconnect of a client using `urls`.
 */
function cuttable(urls) {
  const sockets = [];
  class Tracked extends WebSocket {
    constructor(...args) {
      super(...args);
      sockets.push(this);
    }
  }
  let attempt = 0;
  let open = () => {};
  let gate = Promise.resolve();
  return {
    WebSocket: Tracked,
    url: async () => {
      await gate;
      return urls[attempt++ % urls.length];
    },
    /** Cuts the newest socket and holds the next attempt until `release()`. */
    cut() {
      gate = new Promise((resolve) => { open = resolve; });
      sockets.at(-1).terminate();
    },
    release: () => open(),
  };
}

/** Records the `data` of every signal `c` receives from `from`. */
function signalsFrom(c, from) {
  const seen = [];
  c.on('signal', (m) => m.from === from() && seen.push(m.data));
  return seen;
}

const A_SIGNALS = 140;

async function resumeAfterCut({ SwitchboardClient, Mesh }) {
  const net = cuttable([config.urls[0], config.urls[1]]);
  const a = client(SwitchboardClient, net.url, { WebSocket: net.WebSocket });
  const b = client(SwitchboardClient, config.urls[1]);
  const states = [];
  a.on('state', (e) => states.push(e.state + (e.code ? ` ${e.code}` : '')));
  const aCall = new Mesh(a, 'call', { RTCPeerConnection: RecordingPeerConnection, meta: { name: 'a' } });
  const bCall = new Mesh(b, 'call', { RTCPeerConnection: RecordingPeerConnection, meta: { name: 'b' } });
  const meshEvents = [];
  for (const [name, call] of [['a', aCall], ['b', bCall]]) {
    for (const type of ['peer-left', 'peer-reconnecting', 'peer-resumed']) {
      call.on(type, ({ peer, reason }) => meshEvents.push(`${name} ${type} ${peer.reconnecting}${reason ? ` ${reason}` : ''}`));
    }
  }
  await aCall.join();
  await bCall.join();
  await waitFor(() => aCall.peer(b.peer), "a's mesh has b");
  const aPc = aCall.peer(b.peer).pc;
  const bPc = bCall.peer(a.peer).pc;
  check(a.resumable && b.resumable, 'the server granted resumable sessions');
  const peerA = a.peer;
  const atA = signalsFrom(a, () => b.peer);
  const atB = signalsFrom(b, () => peerA);
  const rejoins = [];
  a.on('joined', (m) => m.rejoined && rejoins.push(m));
  const lefts = [];
  for (const c of [a, b]) c.on('peer-left', (m) => lefts.push(m));

  for (let i = 1; i <= 20; i++) b.signal('call', peerA, `b${i}`);
  for (let i = 1; i <= 20; i++) a.signal('call', b.peer, `a${i}`);
  await waitFor(() => atA.includes('b20') && atB.includes('a20'), 'the first signals arrive');

  const gap = next(b, 'peer-reconnecting', (m) => m.peer === peerA);
  net.cut();
  await gap;
  // The server may tell b before a's own socket reports the cut.
  await waitFor(() => a.state !== 'open', 'a notices its socket is gone');
  check(a.state !== 'open' && a.peer === null, `a is disconnected: ${a.state}`);
  for (let i = 21; i <= 40; i++) b.signal('call', peerA, `b${i}`);
  // More than the server's RATE_LIMIT_BURST (100): sent at once after the resume, some would be refused.
  for (let i = 21; i <= A_SIGNALS; i++) check(a.signal('call', b.peer, `a${i}`) === true, `a's gap signal a${i} is kept`);
  report.backlogInGap = a.backlog;
  check(a.backlog >= A_SIGNALS - 20, `a keeps its gap signals: ${a.backlog}`);

  const resumed = next(a, 'resumed');
  const back = next(b, 'peer-resumed', (m) => m.peer === peerA);
  const gapStarted = Date.now();
  net.release();
  const r = await resumed;
  report.resumeMs = Date.now() - gapStarted;
  check(r.peer === peerA && a.peer === peerA, `a resumed with its peer id: ${JSON.stringify(r)}`);
  check(isDeepStrictEqual(r.rooms, [{ room: 'call', meta: { name: 'a' } }]), `a's rooms: ${JSON.stringify(r.rooms)}`);
  await back;
  await waitFor(() => atA.includes('b40') && atB.includes(`a${A_SIGNALS}`), 'the gap signals arrive');
  await roundTrip(a, b, 'call');
  const expect = (prefix, n) => [...Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`), prefix === 'b' ? 'to a' : 'from a'];
  check(isDeepStrictEqual(atA, expect('b', 40)), `a got b's signals once each, in order: ${atA}`);
  check(isDeepStrictEqual(atB, expect('a', A_SIGNALS)), `b got a's signals once each, in order: ${atB}`);
  check(rejoins.length === 0 && lefts.length === 0, `no rejoin, nobody left: ${JSON.stringify({ rejoins, lefts })}`);
  check(aCall.peer(b.peer)?.pc === aPc && bCall.peer(peerA)?.pc === bPc && !aPc.closed && !bPc.closed,
    'both meshes keep their peer connection');
  check(isDeepStrictEqual(meshEvents, ['b peer-reconnecting true', 'b peer-resumed false']),
    `b's mesh saw a's gap, nothing else happened: ${meshEvents}`);
  aPc.fail();
  check(aPc.restarts >= 1, 'a failed connection gets an ICE restart');
  // The sync after the relays (a ping within a second) empties the backlog.
  await waitFor(() => a.backlog === 0, 'a backlog confirmed by the server');
  report.states = states;
}

async function resumeFailed({ SwitchboardClient, Mesh }) {
  const net = cuttable([config.urls[0], config.urls[1]]);
  const a = client(SwitchboardClient, net.url, { WebSocket: net.WebSocket });
  const b = client(SwitchboardClient, config.urls[1]);
  const aCall = new Mesh(a, 'call', { RTCPeerConnection: RecordingPeerConnection, meta: { name: 'a' } });
  await aCall.join();
  await b.join('call', { name: 'b' });
  await waitFor(() => aCall.peer(b.peer), "a's mesh has b");
  const oldPc = aCall.peer(b.peer).pc;
  const rebuilt = next(aCall, 'peer-left', (e) => e.reason === 'reconnect');
  const oldPeer = a.peer;
  const gap = next(b, 'peer-reconnecting', (m) => m.peer === oldPeer);
  const expired = next(b, 'peer-left', (m) => m.peer === oldPeer);
  net.cut();
  await gap;
  a.signal('call', b.peer, 'from the old a');
  const left = await expired;
  check(left.reason === 'expired', `b saw a's old id expire: ${JSON.stringify(left)}`);

  const failed = next(a, 'resume-failed');
  const rejoined = next(a, 'joined', (m) => m.rejoined);
  const newJoined = next(b, 'peer-joined', (m) => m.peer !== oldPeer);
  const stray = [];
  b.on('signal', (m) => stray.push(m));
  net.release();
  const error = await failed;
  check(error.code === 'resume-expired', `a's resume is refused as expired: ${error.code} ${error.message}`);
  const again = await rejoined;
  check(a.peer !== null && a.peer !== oldPeer && again.peer === a.peer, 'a rejoined under a new peer id');
  check(isDeepStrictEqual(again.peers, [{ peer: b.peer, meta: { name: 'b' } }]), `a's new roster: ${JSON.stringify(again.peers)}`);
  check(a.resumable && a.backlog === 0, `a has a fresh resumable session and no backlog: ${a.backlog}`);
  const seen = await newJoined;
  check(seen.peer === a.peer && seen.meta.name === 'a', `b saw a come back with its meta: ${JSON.stringify(seen)}`);
  await roundTrip(a, b, 'call');
  check(stray.every((m) => m.data !== 'from the old a'), `the old session's gap signal was dropped: ${JSON.stringify(stray)}`);
  await rebuilt;
  check(oldPc.closed && aCall.peer(b.peer) && aCall.peer(b.peer).pc !== oldPc, "a's mesh replaced its peer connection");
}

async function resumeRetried({ SwitchboardClient }) {
  const net = cuttable([config.urls[0]]);
  const a = client(SwitchboardClient, net.url, { WebSocket: net.WebSocket });
  const b = client(SwitchboardClient, config.urls[0]);
  await a.join('call', { name: 'a' });
  await b.join('call', { name: 'b' });
  const peerA = a.peer;
  const gap = next(b, 'peer-reconnecting', (m) => m.peer === peerA);
  net.cut();
  await gap;
  const unavailable = next(a, 'error', (e) => e.code === 'unavailable');
  const resumed = next(a, 'resumed');
  const failed = [];
  a.on('resume-failed', (e) => failed.push(e.code));
  net.release();
  await unavailable;
  const r = await resumed;
  check(r.peer === peerA && a.peer === peerA, `a resumed with its peer id at the second try: ${JSON.stringify(r)}`);
  check(failed.length === 0, `no fresh session: ${failed}`);
  await roundTrip(a, b, 'call');
}

/** Polls `condition` until it holds, within the time left. */
async function waitFor(condition, what) {
  while (!condition()) {
    if (Date.now() - started > config.timeoutMs) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function secured({ SwitchboardClient, Mesh }) {
  const a = client(SwitchboardClient, config.urls[0], { token: async () => config.token });
  const b = client(SwitchboardClient, config.urls[0], { token: config.token });
  const welcome = await a.connect();
  const turn = welcome.iceServers?.find((s) => [s.urls].flat().some((u) => u.startsWith('turn:')));
  check(turn && typeof turn.username === 'string' && typeof turn.credential === 'string',
    `welcome carries TURN credentials: ${JSON.stringify(welcome.iceServers)}`);
  check(isDeepStrictEqual(a.iceServers, welcome.iceServers), 'client.iceServers is the welcome\'s');
  check(isDeepStrictEqual(await meshIceServers(Mesh, a, b, 'call', { iceServers: [] }), welcome.iceServers),
    "a Mesh uses the server's iceServers over its own");

  const stranger = client(SwitchboardClient, config.urls[0]);
  const states = [];
  stranger.on('state', (e) => states.push(e.state));
  const refused = next(stranger, 'state', (e) => e.state === 'reconnecting');
  stranger.connect().catch(() => {});
  await refused;
  stranger.close();
  check(!states.includes('open'), `a client without a token is refused: ${states}`);
}

async function operated({ SwitchboardClient }) {
  const a = client(SwitchboardClient, config.urls[0]);
  const states = [];
  a.on('state', (e) => states.push(e.state + (e.code ? ` ${e.code}` : '')));
  await a.join('ops', { name: 'a' });
  const notice = next(a, 'server-message');
  await admin(`/api/v1/rooms/ops/messages`, { data: { notice: 'maintenance' } });
  const message = await notice;
  check(message.room === 'ops' && isDeepStrictEqual(message.data, { notice: 'maintenance' }),
    `a server-message event: ${JSON.stringify(message)}`);

  const closed = next(a, 'state', (e) => e.state === 'closed');
  await admin(`/api/v1/peers/${a.peer}/disconnect`, {});
  check((await closed).code === 4003, `closed with 4003: ${states}`);
  report.states = states;
  check(!states.some((s) => s.startsWith('reconnecting')), `no reconnect after an operator's disconnect: ${states}`);
}

/** POSTs `body` to the node's server API; a refusal is a failure. */
async function admin(path, body) {
  const response = await fetch(config.admin + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${config.key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(config.timeoutMs),
  });
  if (!response.ok) failures.push(`POST ${path}: ${response.status} ${await response.text()}`);
}

function client(SwitchboardClient, url, options = {}) {
  const c = new SwitchboardClient({ url, WebSocket, requestTimeoutMs: config.timeoutMs, minDelayMs: 500, ...options });
  clients.push(c);
  return c;
}

let ok = false;
try {
  const library = await loadLibrary();
  await { protocol, failover, resume: resumeAfterCut, 'resume-failed': resumeFailed, 'resume-retried': resumeRetried, secured, operated }[config.case](library);
  ok = failures.length === 0;
} catch (e) {
  failures.push(`threw: ${e.stack ?? e}`);
} finally {
  clients.forEach((c) => c.close());
}
process.stdout.write(`${JSON.stringify({ ok, ...report, failures, elapsedMs: Date.now() - started })}\n`,
  () => process.exit(ok ? 0 : 1));
