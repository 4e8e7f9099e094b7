// Drives real npm Socket.IO clients through one peer-data signaling session, for the Java tests
// (io.switchboard.support.NodeScript) and by hand.
//
//   node peerdata-clients.mjs '<json config>'     (an argument starting with "{")
//   node peerdata-clients.mjs path/to/config.json
//
// Config:
//   { "room": "r1", "timeoutMs": 15000, "base64Polling": false,
//     "clients": [ { "name": "a", "url": "http://127.0.0.1:PORT",
//                    "transport": "default" | "polling" | "websocket",
//                    "client": "peer-data" | "socketio4" }, ... ] }
// transport defaults to "default" (polling, then upgrade), client to "peer-data", timeoutMs to
// 15000. "peer-data" is peer-data's own SocketChannel + EventDispatcher (socket.io-client 2,
// Engine.IO v3); "socketio4" is a plain socket.io-client 4 (Engine.IO v4) emitting 'message'.
// base64Polling true makes the peer-data clients poll as socket.io-client 2 does under Node, with
// b64=1 on every polling request; by default their XMLHttpRequest is an XHR2, as in every current
// browser, and b64 is never asked for.
//
// A client counts as joined once the server's 'log' event echoes its CONNECT (see connectEchoed).
// Each client sends CONNECT for the room, then acts as a peer-data peer does: OFFER to every peer
// whose CONNECT it receives, ANSWER to every OFFER, and 2 CANDIDATEs to the other side once it has
// sent or received an ANSWER. Every event is peer-data's SignalingEvent, {type, caller: {id:
// participantId}, callee: {id} | null, room: {id}, payload}, and every payload carries the sender's
// name as `from` (and the receiver's as `to`), because caller.id is whatever the server assigns
// and need not be anyone's socket.id. Clients join one at a time: the next one starts only when
// this one is connected and every earlier client has its CONNECT, so each pair exchanges a known
// set of events.
//
// stdout: exactly one JSON line once every pair is done, the time is up or something throws:
//   { "ok": bool, "reason": "complete" | "timeout" | "error: ...", "room": "r1", "elapsedMs": n,
//     "missing": [ "b<-a CANDIDATE 1/2", ... ],
//     "clients": [ { "name", "client", "url", "transportRequested", "participantId",
//                    "connected": bool, "socketId": string|null, "transport": string|null,
//                    "lifecycle": [ "connect", "upgrade:websocket", ... ],
//                    "events": [ { "type", "callerId", "callee", "room", "payload" }, ... ],
//                    "logs": [ [ ...args of a server 'log' event ] | "Server IP address is: ..." ] } ] }
// participantId is the caller.id the client itself put in what it sent, as peer-data's Room does;
// the server is expected to replace it. After the line each client sends DISCONNECT and closes.
// Exit code: 0 complete, 1 not complete (the line is still printed), 2 bad usage (no line).
// Everything else goes to stderr.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';

const require = createRequire(import.meta.url);
const TRANSPORTS = { default: undefined, polling: ['polling'], websocket: ['websocket'] };
const CLIENTS = ['peer-data', 'socketio4'];
const CLOSE_WAIT_MS = 2000;

function log(...args) {
  console.error(new Date().toISOString(), ...args);
}

function usage(message) {
  console.error(`peerdata-clients: ${message}`);
  process.exit(2);
}

function readConfig(arg) {
  if (!arg) usage("usage: node peerdata-clients.mjs '<json config>' | config.json");
  let config;
  try {
    config = JSON.parse(arg.trimStart().startsWith('{') ? arg : readFileSync(arg, 'utf8'));
  } catch (e) {
    usage(`cannot read config: ${e.message}`);
  }
  if (typeof config?.room !== 'string' || !config.room) usage('config.room must be a non-empty string');
  if (!Array.isArray(config.clients) || config.clients.length === 0) usage('config.clients must be a non-empty array');
  const names = new Set();
  for (const c of config.clients) {
    if (typeof c !== 'object' || c === null) usage(`clients must be objects: ${JSON.stringify(c)}`);
    c.transport ??= 'default';
    c.client ??= 'peer-data';
    if (typeof c.name !== 'string' || !c.name || names.has(c.name)) {
      usage(`client names must be unique non-empty strings: ${JSON.stringify(c)}`);
    }
    if (typeof c.url !== 'string' || !/^https?:\/\//.test(c.url)) {
      usage(`client ${c.name}: url must be http(s)://host:port`);
    }
    if (!(c.transport in TRANSPORTS)) usage(`client ${c.name}: transport must be one of ${Object.keys(TRANSPORTS)}`);
    if (!CLIENTS.includes(c.client)) usage(`client ${c.name}: client must be one of ${CLIENTS}`);
    names.add(c.name);
  }
  config.timeoutMs ??= 15000;
  return config;
}

// peer-data's dist is its browser build, socket.io-client 2 bundled in: it takes XMLHttpRequest
// and WebSocket from the globals, and tests them once, when the module loads. So the globals must
// be in place before peer-data is required. ws is a browser-compatible WebSocket on every Node
// version, which keeps runs alike whether or not Node has a WebSocket of its own.
function loadPeerData(base64Polling) {
  const NodeXhr = require('xmlhttprequest-ssl');
  // A browser's XHR2 has responseType (the bundle's binary-support test) and withCredentials (its
  // CORS test); xmlhttprequest-ssl has neither.
  class BrowserXhr extends NodeXhr {
    constructor(opts) {
      super(opts);
      this.responseType = '';
      this.withCredentials = false;
    }
  }
  globalThis.XMLHttpRequest = base64Polling ? NodeXhr : BrowserXhr;
  globalThis.WebSocket = require('ws').WebSocket;
  return require('peer-data');
}

function main() {
  const config = readConfig(process.argv[2]);
  const peerData = config.clients.some((c) => c.client === 'peer-data')
    ? loadPeerData(config.base64Polling === true) : null;
  const { io } = require('socket.io-client');
  const started = Date.now();
  const peers = config.clients.map((c, index) => ({
    ...c, index, participantId: randomUUID(), events: [], logs: [], lifecycle: [],
  }));
  let finished = false;
  // The next joiner waits on joinCondition; the run is complete once all have joined and no
  // exchange is missing. Every received event and lifecycle change re-checks both.
  let joinCondition = null;
  let joinResolve = null;
  let allJoined = false;

  function progress() {
    if (finished) return;
    if (joinCondition?.()) {
      const resolve = joinResolve;
      joinCondition = joinResolve = null;
      resolve();
    }
    if (allJoined && missing().length === 0) finish('complete');
  }

  // The server's 'log' echo of the peer's own CONNECT: the join is done (peer-data-server echoes
  // every message; Switchboard echoes a CONNECT once its join has completed). Without it the
  // first peer's join could still be in flight when the second one joins.
  function connectEchoed(peer) {
    return peer.logs.some((entry) => JSON.stringify(entry).includes('"type":"CONNECT"'));
  }

  // What `to` must have received from `from` when their exchange is over: the later joiner's
  // CONNECT reaches the earlier one, who offers; the answer goes back; each side sends 2 candidates.
  function expected(to, from) {
    const fromLater = from.index > to.index;
    return { CONNECT: fromLater ? 1 : 0, OFFER: fromLater ? 0 : 1, ANSWER: fromLater ? 1 : 0, CANDIDATE: 2 };
  }

  function countFrom(to, fromName, type) {
    return to.events.filter((e) => e.type === type && e.payload?.from === fromName).length;
  }

  function missing() {
    const out = [];
    for (const to of peers) {
      for (const from of peers) {
        if (from === to) continue;
        for (const [type, want] of Object.entries(expected(to, from))) {
          const got = countFrom(to, from.name, type);
          if (got < want) out.push(`${to.name}<-${from.name} ${type} ${got}/${want}`);
        }
      }
    }
    return out;
  }

  function send(peer, type, callee, payload) {
    peer.send({ type, caller: { id: peer.participantId }, callee, room: { id: config.room }, payload });
  }

  // Shaped like an RTCSessionDescriptionInit, which is what peer-data sends.
  function description(type, from, to) {
    return { type, from, to, sdp: `fake ${type} from ${from} to ${to}` };
  }

  function sendCandidates(peer, callee, to) {
    for (let i = 1; i <= 2; i++) {
      const candidate = `candidate:${i} 1 udp 2122260223 192.0.2.${i} 5400${i} typ host (fake, ${peer.name} to ${to})`;
      send(peer, 'CANDIDATE', callee, { from: peer.name, to, candidate, sdpMid: '0', sdpMLineIndex: 0 });
    }
  }

  function onEvent(peer, type, event) {
    peer.events.push({
      type: event?.type ?? type,
      callerId: event?.caller?.id ?? null,
      callee: event?.callee ?? null,
      room: event?.room ?? null,
      payload: event?.payload ?? null,
    });
    const from = event?.payload?.from;
    // A server that echoes to the sender must show up in the report, not start a call with itself.
    if (finished || from === peer.name || !event?.caller?.id) {
      if (!event?.caller?.id) log(peer.name, `received ${type} without caller.id:`, JSON.stringify(event));
      progress();
      return;
    }
    const callee = { id: event.caller.id };
    if (type === 'CONNECT') {
      send(peer, 'OFFER', callee, description('offer', peer.name, from));
    } else if (type === 'OFFER') {
      send(peer, 'ANSWER', callee, description('answer', peer.name, from));
      sendCandidates(peer, callee, from);
    } else if (type === 'ANSWER') {
      sendCandidates(peer, callee, from);
    }
    progress();
  }

  function lifecycle(peer, what) {
    peer.lifecycle.push(what);
    log(peer.name, what);
    progress();
  }

  // Hooks the socket.io Socket of either client version; both keep the engine at socket.io.engine.
  function watch(peer, socket) {
    peer.socket = socket;
    socket.on('connect', () => lifecycle(peer, 'connect'));
    socket.on('connect_error', (e) => lifecycle(peer, `connect_error:${e?.message ?? e}`));
    socket.on('disconnect', (reason) => lifecycle(peer, `disconnect:${reason}`));
    socket.on('error', (e) => lifecycle(peer, `error:${e?.message ?? e}`));
    socket.io.on('reconnect_attempt', (n) => lifecycle(peer, `reconnect_attempt:${n}`));
    socket.io.engine.on('upgrade', (t) => lifecycle(peer, `upgrade:${t?.name ?? t}`));
    socket.io.engine.on('upgradeError', (e) => lifecycle(peer, `upgradeError:${e?.message ?? e}`));
    // Switchboard's refusals; peer-data itself does not listen for them.
    socket.on('signaling-error', (e) => lifecycle(peer, `signaling-error:${JSON.stringify(e)}`));
  }

  // As a browser app does: new SocketChannel(dispatcher, url), then the dispatcher for both ways.
  // SocketChannel takes either a URL or socket.io options, not both; with options socket.io-client
  // connects to the page's location, so the page is taken to be served by the signaling server.
  function startPeerData(peer) {
    const { EventDispatcher, SocketChannel } = peerData;
    const dispatcher = new EventDispatcher();
    for (const type of ['CONNECT', 'DISCONNECT', 'OFFER', 'ANSWER', 'CANDIDATE', 'ERROR']) {
      dispatcher.register(type, (event) => onEvent(peer, type, event));
    }
    dispatcher.register('log', (entry) => { peer.logs.push(entry); progress(); });
    globalThis.location = new URL(peer.url);
    const transports = TRANSPORTS[peer.transport];
    const channel = new SocketChannel(dispatcher, transports ? { transports } : peer.url);
    peer.send = (event) => dispatcher.dispatch('send', event);
    // SocketChannel keeps its socket private and has no close; a page would just go away.
    watch(peer, channel.socket);
  }

  function startSocketIo4(peer) {
    const transports = TRANSPORTS[peer.transport];
    const socket = io(peer.url, { forceNew: true, ...(transports ? { transports } : {}) });
    socket.on('message', (event) => onEvent(peer, event?.type ?? null, event));
    // Logged as peer-data's SocketChannel would pass them to its dispatcher.
    socket.on('log', (...args) => { peer.logs.push(args); progress(); });
    socket.on('ipaddr', (ip) => peer.logs.push(`Server IP address is: ${ip}`));
    peer.send = (event) => socket.emit('message', event);
    watch(peer, socket);
  }

  function report(reason) {
    return {
      ok: reason === 'complete',
      reason,
      room: config.room,
      elapsedMs: Date.now() - started,
      missing: missing(),
      clients: peers.map((p) => ({
        name: p.name,
        client: p.client,
        url: p.url,
        transportRequested: p.transport,
        participantId: p.participantId,
        connected: Boolean(p.socket?.connected),
        socketId: p.socket?.id ?? null,
        transport: p.socket?.io?.engine?.transport?.name ?? null,
        lifecycle: p.lifecycle,
        events: p.events,
        logs: p.logs,
      })),
    };
  }

  function finish(reason) {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    const code = reason === 'complete' ? 0 : 1;
    const line = JSON.stringify(report(reason)) + '\n';
    process.stdout.write(line, () => {
      const closes = peers.filter((p) => p.socket).map((p) => new Promise((resolve) => {
        const engine = p.socket.io.engine;
        engine.on('close', resolve);
        if (p.socket.connected) send(p, 'DISCONNECT', null, { from: p.name });
        p.socket.close();
        if (engine.readyState === 'closed') resolve();
      }));
      const bound = new Promise((resolve) => setTimeout(resolve, CLOSE_WAIT_MS).unref());
      Promise.race([Promise.all(closes), bound]).then(() => process.exit(code));
    });
  }

  const timer = setTimeout(() => {
    log(`timeout after ${config.timeoutMs} ms; missing:`, missing().join(', ') || 'nothing');
    finish('timeout');
  }, config.timeoutMs);
  process.on('uncaughtException', (e) => {
    log('uncaught', e?.stack ?? e);
    finish(`error: ${e?.message ?? e}`);
  });
  process.on('unhandledRejection', (e) => {
    log('unhandled rejection', e?.stack ?? e);
    finish(`error: ${e?.message ?? e}`);
  });

  (async () => {
    for (const peer of peers) {
      log(peer.name, `starting ${peer.client} (${peer.transport}) to ${peer.url}`);
      (peer.client === 'peer-data' ? startPeerData : startSocketIo4)(peer);
      // Sent at once, as peer-data's Room does: socket.io buffers it until the server's CONNECT.
      send(peer, 'CONNECT', null, { from: peer.name });
      await new Promise((resolve) => {
        joinCondition = () => peer.socket.connected && connectEchoed(peer)
          && peers.slice(0, peer.index).every((earlier) => countFrom(earlier, peer.name, 'CONNECT') > 0);
        joinResolve = resolve;
        progress();
      });
    }
    log('all clients joined');
    allJoined = true;
    progress();
  })();
}

main();
