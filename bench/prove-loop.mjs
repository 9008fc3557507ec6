// Step 0: prove a small ZkProgram N times and sample memory after each proof.
//
// Writes one JSON object per line (schemas/bench-event.schema.json) to --out, synchronously, so
// that a crash at the 4 GiB ceiling keeps every iteration written before it. One progress line
// per iteration goes to stderr.
//
// Run with `node --expose-gc bench/prove-loop.mjs --scenario trivial --iterations 10 --out x.jsonl`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { installFinalizerCounter } from './lib/finalizer-counter.mjs';
import { defineScenario } from './lib/scenarios.mjs';
import { createSampler } from './wlh/sampler.mjs';
import { settleLater } from './wlh/settle.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'trivial' },
    iterations: { type: 'string', default: '10' },
    workers: { type: 'string', default: '1' },
    cache: { type: 'string', default: 'none' },
    rows: { type: 'string', default: '8' },
    'settle-turns': { type: 'string', default: '10' },
    'o1js-dir': { type: 'string', default: path.join(here, 'node_modules', 'o1js') },
    out: { type: 'string' },
    label: { type: 'string', default: '' },
    meta: { type: 'string', default: '{}' }, // recorded as-is (config, overrides) in the start event
  },
});
if (!args.out) throw new Error('--out is required');
if (typeof globalThis.gc !== 'function') throw new Error('run node with --expose-gc');

const iterations = Number(args.iterations);
const workers = Number(args.workers);
const rows = Number(args.rows);
const settleTurns = Number(args['settle-turns']);
const label = args.label || args.scenario;
// Before o1js loads: count FinalizationRegistry activity (measures whether GC settling is enough)
// and force the WASM backend (2.15 can pick a native one that has no WASM memory).
const finalizers = installFinalizerCounter();
process.env.O1JS_BACKEND = 'wasm';
// One sampler with `wlh run` (bench/wlh/sampler.mjs): the same sample line, and in a traced run the
// tracer's heap snapshot at the same boundary (WLH_TRACE_LOG is the tracer's log, absent when untraced).
const sampler = createSampler({ samplesPath: args.out, logPath: process.env.WLH_TRACE_LOG || null, finalizers,
  getGlue: () => wasmGlue()?.mod, tag: label, total: iterations });
const emit = sampler.emit;

const o1jsDir = path.resolve(args['o1js-dir']);
const o1jsVersion = JSON.parse(fs.readFileSync(path.join(o1jsDir, 'package.json'), 'utf8')).version;
const o1js = await import(pathToFileURL(path.join(o1jsDir, 'dist', 'node', 'index.js')).href);
if (typeof o1js.setBackend === 'function') o1js.setBackend('wasm');
o1js.setNumberOfWorkers(workers);

// The glue module o1js loaded (kimchi_wasm.cjs in 2.15, plonk_wasm.cjs before): found in the
// CommonJS cache so we read the very instance o1js uses, whatever the release.
function wasmGlue() {
  const cache = createRequire(import.meta.url).cache;
  const key = Object.keys(cache).find((k) => /[\\/](kimchi_wasm|plonk_wasm)\.cjs$/.test(k) && k.startsWith(o1jsDir));
  return key ? { file: path.relative(o1jsDir, key), mod: cache[key].exports } : undefined;
}
// GC settled over task turns (FinalizationRegistry callbacks run only then): bench/wlh/settle.mjs.
async function sample(iteration, phase, extra = {}) {
  return sampler.take(iteration, phase, extra, await settleLater(finalizers, settleTurns));
}

const scenario = defineScenario(o1js, args.scenario, { rows });
let cacheDir = null;
const cache = args.cache === 'none' ? o1js.Cache.None : o1js.Cache.FileSystem((cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wlh-cache-'))));

emit({
  event: 'start',
  label,
  scenario: args.scenario,
  iterations,
  o1js_version: o1jsVersion,
  o1js_dir_name: path.basename(path.dirname(o1jsDir)) === 'node_modules' ? 'installed' : path.basename(o1jsDir),
  backend: typeof o1js.getBackendPreference === 'function' ? o1js.getBackendPreference() : 'wasm',
  workers,
  cache: args.cache,
  circuit_rows_requested: rows,
  settle_turns: settleTurns,
  node: process.version,
  platform: `${os.platform()}-${os.arch()}`,
  cpus: os.availableParallelism?.() ?? os.cpus().length,
  meta: JSON.parse(args.meta),
});

try {
  await o1js.initializeBindings();
  await sample(-1, 'after_init');
  const analysis = await scenario.program.analyzeMethods();
  const methodRows = Object.fromEntries(Object.entries(analysis).map(([k, v]) => [k, v.rows]));
  let tc = performance.now();
  await scenario.program.compile({ cache, forceRecompile: true });
  const compileSeconds = (performance.now() - tc) / 1000;
  const glue = wasmGlue();
  if (!glue) throw new Error('o1js did not load its WASM glue: the WASM backend is not in use');
  await sample(0, 'after_compile', { compile_seconds: compileSeconds, method_rows: methodRows, glue: glue.file });

  let proof;
  for (let i = 1; i <= iterations; i++) {
    const tp = performance.now();
    proof = await scenario.prove(i, proof);
    await sample(i, 'after_proof', { prove_seconds: (performance.now() - tp) / 1000 });
  }
  const tv = performance.now();
  const ok = await scenario.program.verify(proof);
  emit({ event: 'verify', ok, verify_seconds: (performance.now() - tv) / 1000 });
  if (!ok) throw new Error('verification of the last proof failed');
  emit({ event: 'end', ok: true });
} catch (err) {
  emit({ event: 'error', message: String(err?.stack ?? err) });
  throw err;
} finally {
  sampler.close();
  if (cacheDir) fs.rmSync(cacheDir, { recursive: true, force: true });
}
// The rayon pool keeps the process alive in some releases.
process.exit(0);
