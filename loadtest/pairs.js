// Two-party calls: a caller and a callee join a room of two, exchange an offer and an answer,
// trickle ICE candidates and keep signalling for a while, as browsers setting up a WebRTC call
// do. Each VU runs one call at a time, caller and callee on different TARGETS, so every relay
// crosses nodes when two or more targets are given.
//
//   k6 run -e TARGETS=ws://127.0.0.1:8081/ws,ws://127.0.0.1:8082/ws -e PAIRS=100 loadtest/pairs.js
//
// Every relayed `data` carries its send time; the receiver records the difference as
// relay_latency (sender and receiver share one clock: both run in the same VU).
import { Counter, Trend } from 'k6/metrics';
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'k6/timers';
import { intEnv, padding, runId, targetFor, targets } from './lib/config.js';
import { Peer } from './lib/peer.js';

const TARGETS = targets();
const CANDIDATES = intEnv('CANDIDATES', 10);
const CANDIDATE_INTERVAL_MS = intEnv('CANDIDATE_INTERVAL_MS', 50);
const HOLD_SECONDS = intEnv('HOLD_SECONDS', 10);
const SDP_BYTES = intEnv('SDP_BYTES', 2000);
// Time for the last relays to arrive before the unanswered ones count as lost.
const SETTLE_MS = 2000;
// A call that has not finished by then is counted failed and torn down.
const CALL_TIMEOUT_MS = 15000 + CANDIDATES * CANDIDATE_INTERVAL_MS + HOLD_SECONDS * 1000 + SETTLE_MS;

export const options = {
  scenarios: {
    calls: {
      executor: 'constant-vus',
      vus: intEnv('PAIRS', 50),
      duration: __ENV.DURATION || '2m',
      gracefulStop: `${Math.ceil(CALL_TIMEOUT_MS / 1000) + 5}s`,
    },
  },
  thresholds: {
    relay_latency: ['p(95)<50', 'p(99)<100'],
    call_setup: ['p(95)<500'],
    messages_lost: ['count==0'],
    calls_failed: ['count==0'],
    errors: ['count==0'],
  },
};

const relayLatency = new Trend('relay_latency', true);
const callSetup = new Trend('call_setup', true);
const messagesSent = new Counter('messages_sent');
const messagesReceived = new Counter('messages_received');
const messagesLost = new Counter('messages_lost');
const callsCompleted = new Counter('calls_completed');
const callsFailed = new Counter('calls_failed');
const errors = new Counter('errors');

export default function () {
  const room = `${runId}-pair-${__VU}-${__ITER}`;
  const onError = (code) => errors.add(1, { code: String(code) });
  const caller = new Peer(targetFor(TARGETS, __VU * 2), onError);
  const callee = new Peer(targetFor(TARGETS, __VU * 2 + 1), onError);
  // Per direction: sequence numbers sent, and those received (a Set, so duplicates show).
  const sentBy = new Map([[caller, 0], [callee, 0]]);
  const receivedBy = new Map([[caller, new Set()], [callee, new Set()]]);
  const intervals = [];
  const timeouts = [];
  let setupStarted = 0;
  let finished = false;

  const other = (peer) => (peer === caller ? callee : caller);

  function stamp(peer, kind, extra) {
    const seq = sentBy.get(peer);
    sentBy.set(peer, seq + 1);
    messagesSent.add(1, { type: kind });
    return Object.assign({ seq: seq, sentAt: Date.now() }, extra);
  }

  function receive(peer, message) {
    const data = message.data;
    if (message.from !== other(peer).id || typeof data !== 'object' || data === null) {
      onError('client-misrouted');
      return;
    }
    relayLatency.add(Date.now() - data.sentAt, { type: message.type });
    messagesReceived.add(1, { type: message.type });
    receivedBy.get(peer).add(data.seq);
  }

  function finish(ok) {
    if (finished) {
      return;
    }
    finished = true;
    intervals.forEach(clearInterval);
    timeouts.forEach(clearTimeout);
    let lost = 0;
    for (const peer of [caller, callee]) {
      lost += sentBy.get(other(peer)) - receivedBy.get(peer).size;
    }
    messagesLost.add(lost);
    (ok ? callsCompleted : callsFailed).add(1);
    for (const peer of [caller, callee]) {
      peer.leave(room);
      peer.close();
    }
  }

  // Both sides trickle candidates, then exchange a signal a second for the rest of the call.
  function talk(peer) {
    let candidates = 0;
    const trickle = setInterval(() => {
      if (candidates >= CANDIDATES) {
        clearInterval(trickle);
        return;
      }
      candidates++;
      peer.relay('candidate', room, other(peer).id,
        stamp(peer, 'candidate', { candidate: `candidate:${candidates} 1 udp 2122260223 10.0.0.${candidates} 50000 typ host`, sdpMid: '0', sdpMLineIndex: 0 }));
    }, CANDIDATE_INTERVAL_MS);
    const keepTalking = setInterval(() => peer.relay('signal', room, other(peer).id, stamp(peer, 'signal', { muted: false })), 1000);
    intervals.push(trickle, keepTalking);
  }

  caller.on('joined', () => callee.join(room, { role: 'callee' }));
  caller.on('peer-joined', (m) => {
    if (m.peer !== callee.id) {
      onError('client-stranger');
      return;
    }
    setupStarted = Date.now();
    caller.relay('offer', room, callee.id, stamp(caller, 'offer', { type: 'offer', sdp: padding(SDP_BYTES) }));
  });
  callee.on('offer', (m) => {
    receive(callee, m);
    callee.relay('answer', room, caller.id, stamp(callee, 'answer', { type: 'answer', sdp: padding(SDP_BYTES) }));
    talk(callee);
  });
  caller.on('answer', (m) => {
    receive(caller, m);
    callSetup.add(Date.now() - setupStarted);
    talk(caller);
    timeouts.push(setTimeout(() => {
      intervals.forEach(clearInterval);
      timeouts.push(setTimeout(() => finish(true), SETTLE_MS));
    }, CANDIDATES * CANDIDATE_INTERVAL_MS + HOLD_SECONDS * 1000));
  });
  for (const peer of [caller, callee]) {
    peer.on('candidate', (m) => receive(peer, m));
    peer.on('signal', (m) => receive(peer, m));
    peer.on('peer-left', () => finish(false));
    peer.onClose(() => {
      if (!peer.closedByUs) {
        finish(false);
      }
    });
  }

  let welcomed = 0;
  const bothReady = () => {
    welcomed++;
    if (welcomed === 2) {
      caller.join(room, { role: 'caller' });
    }
  };
  caller.ready(bothReady);
  callee.ready(bothReady);
  timeouts.push(setTimeout(() => finish(false), CALL_TIMEOUT_MS));
}
