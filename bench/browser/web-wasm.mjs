// The instrumented web bindings wasm for `wlh browser`: o1js's web build inlines the same kimchi_wasm_bg.wasm
// that it ships in dist/web/web_bindings/ (byte-identical, FACTS.md), which has no function names. Name the
// allocator's functions (name-web-wasm.mjs), then instrument with the project's instrumenter, unchanged
// (bench/instrument/instrument-wasm.mjs, its dlmalloc hook set). Cached by the hashes of the original, the
// naming and the instrumenter, in CACHE_DIR (wlh passes $WLH_CACHE/browser).
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { nameWebWasm } from './name-web-wasm.mjs';
import { instrument } from '../instrument/instrument-wasm.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const INSTRUMENTER = path.join(here, '..', 'instrument');
export const WEB_WASM = 'dist/web/web_bindings/kimchi_wasm_bg.wasm';

export class WebWasmError extends Error {}

// FNV-1a 32 over the bytes: what the page computes (synchronously, also in `new WebAssembly.Module`) to
// recognise the bindings module before swapping it.
export function fnv1a(bytes) {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}
export const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');

export function tracedWebWasm(o1jsDir, cacheDir, log = () => {}) {
  const file0 = path.join(o1jsDir, WEB_WASM);
  if (!fs.existsSync(file0)) throw new WebWasmError(`${file0}: missing (an o1js without a web build?)`);
  const orig = fs.readFileSync(file0);
  const tools = [path.join(here, 'name-web-wasm.mjs'), path.join(here, 'web-wasm.mjs'),
    ...fs.readdirSync(INSTRUMENTER).filter((f) => f.endsWith('.mjs')).sort().map((f) => path.join(INSTRUMENTER, f))];
  const key = sha256(Buffer.concat([orig, ...tools.map((f) => fs.readFileSync(f))])).slice(0, 16);
  const file = path.join(cacheDir, `kimchi-web-traced-${key}.wasm`);
  const reportFile = file.replace(/\.wasm$/, '.json');
  if (!fs.existsSync(file) || !fs.existsSync(reportFile)) {
    const t = performance.now();
    const named = nameWebWasm(orig);
    const { bytes, report } = instrument(named.bytes);
    fs.mkdirSync(cacheDir, { recursive: true });
    fs.writeFileSync(reportFile + '.tmp', JSON.stringify({ ...report, naming: { hooks: named.hooks, named: named.named,
      dlmalloc_lock_offset: named.dlmalloc_lock_offset } }, null, 1) + '\n');
    fs.writeFileSync(file + '.tmp', bytes);
    fs.renameSync(file + '.tmp', file); // complete files only: a run killed half way leaves no broken cache
    fs.renameSync(reportFile + '.tmp', reportFile);
    log(`instrumented the web bindings wasm in ${((performance.now() - t) / 1000).toFixed(1)} s (cached)`);
  }
  return { orig, traced: fs.readFileSync(file), report: JSON.parse(fs.readFileSync(reportFile, 'utf8')), cached: key };
}
