// Settings shared by the scripts, all from k6's environment (k6 run -e NAME=value or NAME=value k6 run).

/**
 * The servers to spread peers over, from TARGETS: a comma-separated list of WebSocket URLs of the
 * native protocol, e.g. ws://127.0.0.1:8081/ws,ws://127.0.0.1:8082/ws. Name each node (or each
 * pod IP, from inside the cluster) separately: peers of one room are put on different targets, so
 * with two or more targets every relay crosses nodes.
 */
export function targets() {
  const list = (__ENV.TARGETS || 'ws://127.0.0.1:8080/ws')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
  for (const t of list) {
    if (!/^wss?:\/\/[^/\s]+\/\S*$/.test(t)) {
      throw new Error(`TARGETS: not a ws:// or wss:// URL: ${t}`);
    }
  }
  return list.map(withToken);
}

/**
 * With TOKEN set (a JWT the servers accept: AUTH_JWT_* in docs/security.md), `url` with the token
 * as its access_token query parameter, the one way every WebSocket client can present it. k6
 * tags metrics with the URL: use a short-lived token made for the test.
 */
function withToken(url) {
  const token = __ENV.TOKEN;
  if (!token) {
    return url;
  }
  return `${url}${url.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(token)}`;
}

/** The target for peer number `index`: consecutive indexes land on different targets. */
export function targetFor(list, index) {
  return list[index % list.length];
}

/** A positive integer from the environment, or `fallback` when unset. */
export function intEnv(name, fallback) {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') {
    return fallback;
  }
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`${name}: not a non-negative integer: ${raw}`);
  }
  return n;
}

/**
 * A prefix for room names, so that runs against a shared cluster never meet in one room.
 * RUN_ID pins it (e.g. to find a run's rooms in Redis); otherwise it is random per k6 process.
 * Room names allow A-Z a-z 0-9 . _ : - and at most 128 characters (docs/protocol.md).
 */
export const runId = __ENV.RUN_ID || `lt${Math.floor(Math.random() * 1e9).toString(36)}`;

/** `bytes` of filler, standing in for an SDP body of a realistic size. */
export function padding(bytes) {
  return 'x'.repeat(bytes);
}
