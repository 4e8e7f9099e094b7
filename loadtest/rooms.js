// Group rooms: ROOM_SIZE peers join one room, spread over TARGETS, and each broadcasts a
// `signal` (no `to`: it goes to every other member) RATE times a second. Measures fan-out
// latency and counts every copy that did not arrive. Each VU runs one room at a time.
//
//   k6 run -e TARGETS=ws://127.0.0.1:8081/ws,ws://127.0.0.1:8082/ws -e ROOMS=20 -e ROOM_SIZE=6 loadtest/rooms.js
import { Counter, Trend } from 'k6/metrics';
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'k6/timers';
import { intEnv, padding, runId, targetFor, targets } from './lib/config.js';
import { Peer } from './lib/peer.js';

const TARGETS = targets();
const ROOM_SIZE = intEnv('ROOM_SIZE', 5);
const RATE = intEnv('RATE', 2);
const HOLD_SECONDS = intEnv('HOLD_SECONDS', 20);
const PAYLOAD_BYTES = intEnv('PAYLOAD_BYTES', 200);
const SETTLE_MS = 2000;
const ROOM_TIMEOUT_MS = 15000 + HOLD_SECONDS * 1000 + SETTLE_MS;

if (ROOM_SIZE < 2) {
  throw new Error('ROOM_SIZE: at least 2');
}

export const options = {
  scenarios: {
    rooms: {
      executor: 'constant-vus',
      vus: intEnv('ROOMS', 20),
      duration: __ENV.DURATION || '2m',
      gracefulStop: `${Math.ceil(ROOM_TIMEOUT_MS / 1000) + 5}s`,
    },
  },
  thresholds: {
    fanout_latency: ['p(95)<100', 'p(99)<250'],
    messages_lost: ['count==0'],
    rooms_failed: ['count==0'],
    errors: ['count==0'],
  },
};

const fanoutLatency = new Trend('fanout_latency', true);
const broadcastsSent = new Counter('broadcasts_sent');
const messagesReceived = new Counter('messages_received');
const messagesLost = new Counter('messages_lost');
const roomsCompleted = new Counter('rooms_completed');
const roomsFailed = new Counter('rooms_failed');
const errors = new Counter('errors');

export default function () {
  const room = `${runId}-room-${__VU}-${__ITER}`;
  const onError = (code) => errors.add(1, { code: String(code) });
  const peers = [];
  for (let i = 0; i < ROOM_SIZE; i++) {
    peers.push(new Peer(targetFor(TARGETS, __VU * ROOM_SIZE + i), onError));
  }
  const sent = peers.map(() => 0);
  const received = peers.map(() => 0);
  const intervals = [];
  const timeouts = [];
  let complete = 0; // members that see all the others
  let finished = false;

  function finish(ok) {
    if (finished) {
      return;
    }
    finished = true;
    intervals.forEach(clearInterval);
    timeouts.forEach(clearTimeout);
    // Every broadcast should reach the ROOM_SIZE - 1 other members.
    const expected = sent.reduce((a, b) => a + b, 0) * (ROOM_SIZE - 1);
    messagesLost.add(expected - received.reduce((a, b) => a + b, 0));
    (ok ? roomsCompleted : roomsFailed).add(1);
    peers.forEach((p) => {
      p.leave(room);
      p.close();
    });
  }

  function broadcast() {
    peers.forEach((peer, i) => {
      intervals.push(setInterval(() => {
        sent[i]++;
        broadcastsSent.add(1);
        peer.relay('signal', room, null, { from: i, seq: sent[i], sentAt: Date.now(), pad: padding(PAYLOAD_BYTES) });
      }, Math.max(1, Math.floor(1000 / RATE))));
    });
    timeouts.push(setTimeout(() => {
      intervals.forEach(clearInterval);
      timeouts.push(setTimeout(() => finish(true), SETTLE_MS));
    }, HOLD_SECONDS * 1000));
  }

  peers.forEach((peer, i) => {
    const seen = new Set();
    const count = (id) => {
      seen.add(id);
      if (seen.size === ROOM_SIZE - 1) {
        complete++;
        if (complete === ROOM_SIZE) {
          broadcast();
        }
      }
    };
    peer.on('joined', (m) => {
      m.peers.forEach((p) => count(p.peer));
      // Members join one after another, so the roster is known before the next one arrives.
      if (i + 1 < ROOM_SIZE) {
        peers[i + 1].join(room, { member: i + 1 });
      }
    });
    peer.on('peer-joined', (m) => count(m.peer));
    peer.on('signal', (m) => {
      fanoutLatency.add(Date.now() - m.data.sentAt);
      messagesReceived.add(1);
      received[i]++;
    });
    peer.on('peer-left', () => finish(false));
    peer.onClose(() => {
      if (!peer.closedByUs) {
        finish(false);
      }
    });
  });

  let welcomed = 0;
  peers.forEach((peer) => peer.ready(() => {
    welcomed++;
    if (welcomed === ROOM_SIZE) {
      peers[0].join(room, { member: 0 });
    }
  }));
  timeouts.push(setTimeout(() => finish(false), ROOM_TIMEOUT_MS));
}
