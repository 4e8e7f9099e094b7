// Runs one iteration of a k6 script the way one k6 VU would, then prints the script's options
// and what its metrics recorded as one JSON object:
// {"options": {...}, "samples": {"metric": [{"value": v, "tags": {...}}, ...], ...}}.
//   node --experimental-websocket --import ./register.mjs run.mjs SCRIPT VU ITER
// Environment variables are the script's __ENV. Node, like k6, ends the iteration when no
// socket or timer is left.
import { pathToFileURL } from 'node:url';
import { samples } from './metrics.mjs';

const [script, vu, iter] = process.argv.slice(2);
globalThis.__ENV = { ...process.env };
globalThis.__VU = Number(vu);
globalThis.__ITER = Number(iter);

const module = await import(pathToFileURL(script).href);
if (!module.options || typeof module.default !== 'function') {
  throw new Error(`${script} must export options and a default function`);
}
let printed = false;
process.on('beforeExit', () => {
  if (!printed) {
    printed = true;
    process.stdout.write(`${JSON.stringify({ options: module.options, samples })}\n`);
  }
});
module.default();
