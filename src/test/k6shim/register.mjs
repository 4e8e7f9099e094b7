// Lets Node run the k6 scripts in loadtest/ for LoadTestScriptsTest: `k6/...` imports resolve to
// the small stand-ins beside this file, and the scripts load as ES modules (k6 scripts are,
// without a package.json saying so).
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
