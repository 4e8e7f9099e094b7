// Connection ramp and hold: CONNECTIONS sockets opened over RAMP, held for HOLD, each joined to
// a room of two (partners on different TARGETS) and sending an application ping every
// PING_SECONDS. Shows memory and CPU per idle connection on the dashboards, and how clients
// fare through a rolling upgrade: a drained socket (1012) just reconnects, as real clients do,
// and is counted in server_closes.
//
//   k6 run -e TARGETS=ws://127.0.0.1:8081/ws,ws://127.0.0.1:8082/ws -e CONNECTIONS=5000 loadtest/soak.js
import { Counter, Rate, Trend } from 'k6/metrics';
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'k6/timers';
import { intEnv, runId, targetFor, targets } from './lib/config.js';
import { Peer } from './lib/peer.js';

const TARGETS = targets();
const CONNECTIONS = intEnv('CONNECTIONS', 1000);
const PING_SECONDS = intEnv('PING_SECONDS', 15);
// How long one connection lives before it closes and the VU opens a new one.
const SESSION_SECONDS = intEnv('SESSION_SECONDS', 600);
// A pong that takes longer than this counts as missing.
const PONG_TIMEOUT_MS = 5000;

export const options = {
  scenarios: {
    soak: {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: [
        { duration: __ENV.RAMP || '5m', target: CONNECTIONS },
        { duration: __ENV.HOLD || '30m', target: CONNECTIONS },
        { duration: '1m', target: 0 },
      ],
      gracefulRampDown: '10s',
    },
  },
  thresholds: {
    connected: ['rate>0.99'],
    pong_rtt: ['p(99)<200'],
    pongs_missing: ['count==0'],
    errors: ['count==0'],
  },
};

const connected = new Rate('connected');
const pongRtt = new Trend('pong_rtt', true);
const pongsMissing = new Counter('pongs_missing');
const serverCloses = new Counter('server_closes');
const errors = new Counter('errors');

export default function () {
  const room = `${runId}-soak-${Math.floor((__VU - 1) / 2)}`;
  const peer = new Peer(targetFor(TARGETS, __VU), (code) => errors.add(1, { code: String(code) }));
  const pending = new Map(); // ping id -> send time
  let pings = 0;
  let welcomed = false;
  let ticker = null;
  let ended = false;

  const connectTimeout = setTimeout(() => {
    if (!welcomed) {
      end();
    }
  }, 10000);
  const sessionEnd = setTimeout(() => end(), SESSION_SECONDS * 1000);

  function end() {
    if (ended) {
      return;
    }
    ended = true;
    clearTimeout(connectTimeout);
    clearTimeout(sessionEnd);
    if (ticker !== null) {
      clearInterval(ticker);
    }
    pongsMissing.add(pending.size);
    pending.clear();
    peer.leave(room);
    peer.close();
  }

  peer.ready(() => {
    welcomed = true;
    connected.add(true);
    peer.join(room, {});
  });
  peer.on('joined', () => {
    ticker = setInterval(() => {
      const now = Date.now();
      for (const [id, at] of pending) {
        if (now - at > PONG_TIMEOUT_MS) {
          pending.delete(id);
          pongsMissing.add(1);
        }
      }
      const id = `p${pings++}`;
      pending.set(id, now);
      peer.ping(id);
    }, PING_SECONDS * 1000);
  });
  peer.on('pong', (m) => {
    const at = pending.get(m.id);
    if (at !== undefined) {
      pending.delete(m.id);
      pongRtt.add(Date.now() - at);
    }
  });
  peer.onClose((event) => {
    if (!welcomed) {
      connected.add(false);
    } else if (!peer.closedByUs) {
      // A drain (1012) or a lost node: end this session; the next iteration reconnects.
      serverCloses.add(1, { code: String(event && event.code !== undefined ? event.code : 'unknown') });
    }
    end();
  });
}
