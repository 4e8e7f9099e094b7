// Drives the demo page (served by Switchboard at /) in real headless Chromium pages through
// playwright-core, for io.switchboard.client.BrowserCallTest and by hand.
//
//   node browser-call.mjs '<json config>'
//
// Config:
//   { "case": "pair" | "mesh" | "close" | "resume",
//     "pages": [ "http://10.213.7.2:PORT_A/", "http://10.213.7.2:PORT_B/", ... ],
//     "room": "r1", "executablePath": "/path/to/chromium-or-wrapper",
//     "timeoutMs": 40000, "screenshot": "/path/to/demo.png" (optional, "pair" only),
//     "servers": [ [ "ws://...", ... ], ... ] (optional: per page, the nodes its client goes
//       through in turn, as window.switchboardServers),
//     "drainPid": n, "killPid": n ("resume" only: node processes the script stops) }
// Each page is its own browser context (no shared storage) opened at its URL; "pages" decides
// which node each one talks to. The browser gets fake camera and microphone and may treat the
// pages' plain-http origins as secure, so that getUserMedia works there.
//
// Cases (every wait is bounded by timeoutMs overall):
//   pair:  both pages join at once; each must get one connected peer connection; a chat line
//          goes each way over the data channel; each page's inbound video framesDecoded is
//          sampled twice, a second apart; then a screenshot of page 0.
//   mesh:  page 0 joins, then the others at once; every page must get pages-1 connected peers.
//   close: all join and connect; the last page is closed; the others must drop its tile and
//          say in the chat that it left.
//   resume: two pages connect and chat; then, one after the other, the script sends SIGTERM to
//          drainPid and SIGKILL to killPid (page 0's node each time: its servers list moves it
//          on to a live one). After each, page 0 must resume its session (same peer id) and
//          the call carry on on the same peer connections; the report's "events" entry per
//          stop records, for each page, the longest stall of inbound framesDecoded (sampled
//          every 100 ms from just before the stop to 2 s after the resume), remote tracks that
//          ended, offers sent or received after the stop, what the pages showed and when page
//          0 resumed; chat goes both ways over the data channel after each.
//
// stdout: one JSON line:
//   { "ok": bool, "case", "reason": "complete" | "timeout: <step>" | "error: ..." |
//     "browser-unavailable: ...", "elapsedMs", "steps": [ "<step> <ms>", ... ],
//     "pages": [ { "url", "peer", "serverStatus", "peerStates": [..], "tiles": n,
//                  "peerDetails": [ { "peer", "polite", "signaling", "ice", "gathering", "local",
//                  "remote" } ], "chat": [ "line", ... ], "framesDecoded": [first, second],
//                  "candidatePairs": [ "local -> remote", ... ], "notice": string|null,
//                  "consoleErrors": [..] } ],
//     "events": [ { "signal", "peerBefore", "resumedAfterMs", "pages": [ { "name", "peer",
//                  "stall": { "longestMs", "samples" }, "offersAfter", "endedTracks", "liveTracks",
//                  "resumes": [ { "at", "peer" } ], "failedResumes", "gaps": [ { "type", "at",
//                  "tile" } ], "states": [ { "at", "state", "code", "status" } ],
//                  "connectionStates" } ] } ] ("resume" only) }
// Exit code: 0 complete, 1 a step failed or timed out, 2 bad usage, 3 the browser did not start.

import { chromium } from 'playwright-core';

const CASES = ['pair', 'mesh', 'close', 'resume'];
// The names the pages join with, in the order of config.pages.
const NAMES = ['Alice', 'Bob', 'Carol', 'Dave'];
const STATS_INTERVAL_MS = 1000;
const STALL_SAMPLE_MS = 100;
// How long the video keeps being watched after a resume: frames stuck behind the gap show there.
const WATCH_AFTER_RESUME_MS = 2000;
const LAUNCH_TIMEOUT_MS = 20_000;

function log(...args) {
  console.error(new Date().toISOString(), ...args);
}

function usage(message) {
  console.error(`browser-call: ${message}`);
  process.exit(2);
}

function readConfig(arg) {
  let config;
  try {
    config = JSON.parse(arg ?? '');
  } catch (e) {
    usage(`usage: node browser-call.mjs '<json config>' (${e.message})`);
  }
  if (!CASES.includes(config.case)) usage(`case must be one of ${CASES.join(', ')}`);
  if (!Array.isArray(config.pages) || config.pages.length < 2 || config.pages.length > NAMES.length) {
    usage(`pages must list 2 to ${NAMES.length} URLs`);
  }
  if (typeof config.room !== 'string' || !config.room) usage('room must be a non-empty string');
  if (typeof config.executablePath !== 'string') usage('executablePath is required (never a downloaded browser)');
  config.timeoutMs ??= 40_000;
  return config;
}

const config = readConfig(process.argv[2]);
const started = Date.now();
const steps = [];
const pages = [];
// "resume": what each node stop did to the call.
const events = [];
let browser;

function step(name) {
  steps.push(`${name} ${Date.now() - started}`);
  log(name);
}

function remaining() {
  return Math.max(1, config.timeoutMs - (Date.now() - started));
}

/** Waits (bounded by what is left of the run) until `fn(arg)` is truthy in `page`. */
async function until(page, what, fn, arg) {
  try {
    await page.waitForFunction(fn, arg, { timeout: remaining(), polling: 100 });
  } catch (e) {
    throw new StepFailed(`timeout: ${what}`, e);
  }
}

class StepFailed extends Error {
  constructor(reason, cause) {
    super(reason, { cause });
    this.reason = reason;
  }
}

async function launch() {
  const origins = [...new Set(config.pages.map((u) => new URL(u).origin))];
  return chromium.launch({
    executablePath: config.executablePath,
    headless: true,
    timeout: LAUNCH_TIMEOUT_MS,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic',
      '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
      '--autoplay-policy=no-user-gesture-required',
      // Host candidates behind mDNS names would need a resolver nothing here runs.
      '--disable-features=WebRtcHideLocalIpsWithMdns',
      `--unsafely-treat-insecure-origin-as-secure=${origins.join(',')}`,
    ],
  });
}

async function openPage(url, index) {
  const name = NAMES[index];
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const servers = config.servers?.[index];
  if (servers) await context.addInitScript((urls) => { window.switchboardServers = urls; }, servers);
  const page = await context.newPage();
  const entry = { url, name, page, consoleErrors: [] };
  page.on('console', (m) => m.type() === 'error' && entry.consoleErrors.push(m.text()));
  page.on('pageerror', (e) => entry.consoleErrors.push(String(e)));
  await page.goto(url, { timeout: remaining() });
  await until(page, `${name}: connected to the server`, () => window.demo?.client.state === 'open');
  pages[index] = entry;
  return entry;
}

async function join(entry) {
  await entry.page.fill('#room', config.room);
  await entry.page.fill('#name', entry.name);
  await entry.page.click('#join');
}

/** Waits until `entry` shows `n` remote tiles, all connected, backed by n connected peer connections. */
async function connected(entry, n) {
  await until(entry.page, `${entry.name}: ${n} connected peer(s)`, (count) => {
    const peers = window.demo.mesh?.peers ?? [];
    const tiles = document.querySelectorAll('.tile.remote[data-state="connected"]').length;
    return peers.length === count && tiles === count && peers.every((p) => p.connectionState === 'connected');
  }, n);
}

async function chat(from, to, text) {
  await until(from.page, `${from.name}: chat input enabled`, () => !document.querySelector('#chat-input').disabled);
  await from.page.fill('#chat-input', text);
  await from.page.click('#chat-send');
  const line = `${from.name}:${text}`;
  await until(to.page, `${to.name}: received "${text}"`, (l) =>
    [...document.querySelectorAll('#chat-log li')].some((li) => li.textContent === l), line);
}

function framesDecoded(page) {
  return page.evaluate(async () => {
    let frames = 0;
    for (const peer of window.demo.mesh.peers) {
      (await peer.pc.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded ?? 0;
      });
    }
    return frames;
  });
}

async function describe(entry) {
  if (entry.page.isClosed()) return { url: entry.url, name: entry.name, closed: true, consoleErrors: entry.consoleErrors };
  const state = await entry.page.evaluate(async () => {
    const pairs = [];
    for (const peer of window.demo.mesh?.peers ?? []) {
      const stats = await peer.pc.getStats();
      stats.forEach((s) => {
        if (s.type === 'transport' && s.selectedCandidatePairId) {
          const pair = stats.get(s.selectedCandidatePairId);
          const local = stats.get(pair.localCandidateId);
          const remote = stats.get(pair.remoteCandidateId);
          pairs.push(`${local.address} -> ${remote.address}`);
        }
      });
    }
    const notice = document.querySelector('#notice');
    return {
      peer: window.demo.client.peer,
      serverStatus: document.querySelector('#server-status').textContent,
      peerStates: (window.demo.mesh?.peers ?? []).map((p) => p.connectionState),
      // For failure messages: where each connection got stuck.
      peerDetails: (window.demo.mesh?.peers ?? []).map((p) => ({
        peer: p.id,
        polite: p.polite,
        signaling: p.pc.signalingState,
        ice: p.pc.iceConnectionState,
        gathering: p.pc.iceGatheringState,
        local: p.pc.localDescription?.type ?? null,
        remote: p.pc.remoteDescription?.type ?? null,
      })),
      tiles: document.querySelectorAll('.tile.remote').length,
      chat: [...document.querySelectorAll('#chat-log li')].map((li) => li.textContent),
      candidatePairs: pairs,
      notice: notice.hidden ? null : notice.textContent,
    };
  });
  return { url: entry.url, name: entry.name, ...state, framesDecoded: entry.framesDecoded, consoleErrors: entry.consoleErrors };
}

async function runPair() {
  const [a, b] = await Promise.all(config.pages.slice(0, 2).map(openPage));
  step('pages loaded');
  await Promise.all([join(a), join(b)]);
  await Promise.all([connected(a, 1), connected(b, 1)]);
  step('connected');
  await chat(a, b, 'hello from Alice');
  await chat(b, a, 'hi Alice, Bob here');
  step('chatted');
  for (const entry of [a, b]) entry.framesDecoded = [await framesDecoded(entry.page)];
  await new Promise((r) => setTimeout(r, STATS_INTERVAL_MS));
  for (const entry of [a, b]) entry.framesDecoded.push(await framesDecoded(entry.page));
  step('stats sampled');
  if (config.screenshot) {
    await a.page.screenshot({ path: config.screenshot, timeout: remaining() });
    step('screenshot taken');
  }
}

async function runMesh() {
  const all = await Promise.all(config.pages.map(openPage));
  step('pages loaded');
  await join(all[0]);
  await until(all[0].page, `${all[0].name}: joined`, () => window.demo.mesh?.peers !== undefined
    && document.querySelector('#chat-log').textContent.includes('You joined'));
  await Promise.all(all.slice(1).map(join));
  await Promise.all(all.map((e) => connected(e, all.length - 1)));
  step('mesh connected');
}

async function runClose() {
  const all = await Promise.all(config.pages.map(openPage));
  step('pages loaded');
  await Promise.all(all.map(join));
  await Promise.all(all.map((e) => connected(e, all.length - 1)));
  step('connected');
  const leaver = all.at(-1);
  await leaver.page.context().close();
  step(`${leaver.name} closed`);
  for (const e of all.slice(0, -1)) {
    await until(e.page, `${e.name}: saw ${leaver.name} leave`, ({ name, left }) => {
      const lines = [...document.querySelectorAll('#chat-log li')].map((li) => li.textContent);
      return lines.some((l) => l.startsWith(`${name} left`))
        && document.querySelectorAll('.tile.remote').length === left
        && window.demo.mesh.peers.length === left;
    }, { name: leaver.name, left: all.length - 2 });
  }
  step('leave seen');
}

/**
 * From now on, in the page: offers sent and received, remote tracks that end, the session's
 * resumes, the peers' gaps (with what their tile said), and, every 100 ms, the time since
 * inbound video framesDecoded last went up.
 */
function instrument(entry) {
  return entry.page.evaluate((sampleMs) => {
    const { client, mesh } = window.demo;
    const w = {
      offersSent: 0, offersReceived: 0, endedTracks: [], resumes: [], failedResumes: 0, states: [],
      gaps: [], stall: null,
    };
    window.watch = w;
    const offer = client.offer.bind(client);
    client.offer = (...args) => { w.offersSent++; return offer(...args); };
    client.on('offer', () => w.offersReceived++);
    client.on('state', (e) => w.states.push({ at: Date.now(), state: e.state, code: e.code,
      status: document.querySelector('#server-status').textContent }));
    client.on('resumed', (m) => w.resumes.push({ at: Date.now(), peer: m.peer }));
    client.on('resume-failed', () => w.failedResumes++);
    for (const type of ['peer-reconnecting', 'peer-resumed']) {
      mesh.on(type, ({ peer }) => w.gaps.push({ type, at: Date.now(),
        tile: document.querySelector(`.tile.remote[data-peer="${CSS.escape(peer.id)}"] .state`)?.textContent }));
    }
    for (const peer of mesh.peers) {
      for (const stream of peer.streams.values()) {
        for (const track of stream.getTracks()) track.addEventListener('ended', () => w.endedTracks.push(track.kind));
      }
    }
    w.startStall = () => {
      const s = { frames: -1, changedAt: performance.now(), longestMs: 0, samples: 0 };
      w.stall = s;
      s.timer = setInterval(async () => {
        let frames = 0;
        for (const peer of mesh.peers) {
          (await peer.pc.getStats()).forEach((r) => {
            if (r.type === 'inbound-rtp' && r.kind === 'video') frames += r.framesDecoded ?? 0;
          });
        }
        const now = performance.now();
        s.samples++;
        if (frames !== s.frames) {
          s.longestMs = Math.max(s.longestMs, now - s.changedAt);
          s.frames = frames;
          s.changedAt = now;
        }
      }, sampleMs);
    };
    w.stopStall = () => {
      const s = w.stall;
      clearInterval(s.timer);
      return { longestMs: Math.round(Math.max(s.longestMs, performance.now() - s.changedAt)), samples: s.samples };
    };
  }, STALL_SAMPLE_MS);
}

/** Stops page 0's node with `signal`, waits for page 0's resume, and reports what both pages saw. */
async function stopNodeOf(a, b, pid, signal) {
  const peerBefore = await a.page.evaluate(() => window.demo.client.peer);
  const marks = await Promise.all([a, b].map((e) => e.page.evaluate(() => {
    const w = window.watch;
    w.startStall();
    return { offers: w.offersSent + w.offersReceived, resumes: w.resumes.length, gaps: w.gaps.length, states: w.states.length };
  })));
  await new Promise((r) => setTimeout(r, 3 * STALL_SAMPLE_MS));
  const stoppedAt = Date.now();
  process.kill(pid, signal);
  step(`${signal} to ${pid}`);
  await until(a.page, `${a.name}: resumed after ${signal}`, (n) => window.watch.resumes.length > n
    && window.demo.client.state === 'open', marks[0].resumes);
  step(`${a.name} resumed`);
  await new Promise((r) => setTimeout(r, WATCH_AFTER_RESUME_MS));
  const event = { signal, pages: [] };
  for (const [i, entry] of [a, b].entries()) {
    const seen = await entry.page.evaluate((mark) => {
      const w = window.watch;
      return {
        stall: w.stopStall(),
        offersAfter: w.offersSent + w.offersReceived - mark.offers,
        endedTracks: w.endedTracks,
        liveTracks: window.demo.mesh.peers.flatMap((p) => [...p.streams.values()].flatMap((s) => s.getTracks()))
          .filter((t) => t.readyState === 'live').length,
        resumes: w.resumes.slice(mark.resumes),
        failedResumes: w.failedResumes,
        gaps: w.gaps.slice(mark.gaps),
        states: w.states.slice(mark.states),
        peer: window.demo.client.peer,
        connectionStates: window.demo.mesh.peers.map((p) => p.connectionState),
      };
    }, marks[i]);
    event.pages.push({ name: entry.name, ...seen });
  }
  event.peerBefore = peerBefore;
  event.resumedAfterMs = event.pages[0].resumes[0] ? event.pages[0].resumes[0].at - stoppedAt : null;
  await chat(a, b, `after ${signal}, from Alice`);
  await chat(b, a, `after ${signal}, from Bob`);
  step(`chatted after ${signal}`);
  return event;
}

async function runResume() {
  const [a, b] = await Promise.all(config.pages.slice(0, 2).map(openPage));
  step('pages loaded');
  await Promise.all([join(a), join(b)]);
  await Promise.all([connected(a, 1), connected(b, 1)]);
  await chat(a, b, 'hello from Alice');
  await chat(b, a, 'hi Alice, Bob here');
  step('connected and chatted');
  await Promise.all([a, b].map(instrument));
  events.push(await stopNodeOf(a, b, config.drainPid, 'SIGTERM'));
  events.push(await stopNodeOf(a, b, config.killPid, 'SIGKILL'));
}

async function finish(ok, reason) {
  const report = { ok, case: config.case, reason, elapsedMs: Date.now() - started, steps, events, pages: [] };
  for (const entry of pages.filter(Boolean)) {
    try {
      report.pages.push(await describe(entry));
    } catch (e) {
      report.pages.push({ url: entry.url, name: entry.name, error: String(e) });
    }
  }
  await browser?.close().catch((e) => log('closing the browser failed:', e));
  process.stdout.write(`${JSON.stringify(report)}\n`, () => process.exit(ok ? 0 : 1));
}

const watchdog = setTimeout(() => {
  // A step that ignores its own timeout (a hung browser): report what is known and stop.
  process.stdout.write(`${JSON.stringify({ ok: false, case: config.case, reason: 'timeout: watchdog', steps })}\n`,
    () => process.exit(1));
}, config.timeoutMs + 10_000);
watchdog.unref();

try {
  browser = await launch();
} catch (e) {
  process.stdout.write(`${JSON.stringify({ ok: false, case: config.case, reason: `browser-unavailable: ${e.message}` })}\n`,
    () => process.exit(3));
}
if (browser) {
  step(`browser ${browser.version()} started`);
  try {
    await { pair: runPair, mesh: runMesh, close: runClose, resume: runResume }[config.case]();
    await finish(true, 'complete');
  } catch (e) {
    log(e);
    await finish(false, e instanceof StepFailed ? e.reason : `error: ${e.message}`);
  }
}
