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
const t0 = performance.now();
const fd = fs.openSync(args.out, 'w');
function emit(obj) {
  // writeSync: the line is in the kernel before we go on, so a crash cannot lose it.
  fs.writeSync(fd, JSON.stringify({ ...obj, t: +((performance.now() - t0) / 1000).toFixed(3) }) + '\n');
}

// Before o1js loads: count FinalizationRegistry activity (measures whether GC settling is enough)
// and force the WASM backend (2.15 can pick a native one that has no WASM memory).
const finalizers = installFinalizerCounter();
process.env.O1JS_BACKEND = 'wasm';

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
function wasmMemoryBytes() {
  const glue = wasmGlue();
  if (!glue) return null;
  const memory = glue.mod.__wasm?.memory ?? glue.mod.get_memory?.();
  return memory ? memory.buffer.byteLength : null; // never cache the buffer: it is replaced on growth
}

async function settle() {
  // Rounds of GC, a task turn (FinalizationRegistry callbacks run only then), GC, task turn; repeated
  // until a round runs no callback (freeing one handle can make others collectable), at least two
  // rounds and at most --settle-turns. `settled` records whether the last round was quiet.
  const perRound = [];
  for (let i = 0; i < settleTurns; i++) {
    const before = finalizers.finalized;
    globalThis.gc();
    await new Promise((r) => setTimeout(r, 0));
    globalThis.gc();
    await new Promise((r) => setTimeout(r, 0));
    perRound.push(finalizers.finalized - before);
    if (i >= 1 && perRound[i] === 0) break;
  }
  return perRound;
}

let lastWasm = null;
async function sample(iteration, phase, extra = {}) {
  const finalizedPerRound = await settle();
  const mem = process.memoryUsage();
  const wasmBytes = wasmMemoryBytes();
  const s = {
    event: 'sample',
    iteration,
    phase,
    wasm_memory_bytes: wasmBytes,
    wasm_memory_delta: wasmBytes !== null && lastWasm !== null ? wasmBytes - lastWasm : null,
    js_heap_used: mem.heapUsed,
    js_heap_total: mem.heapTotal,
    rss: mem.rss,
    external: mem.external,
    array_buffers: mem.arrayBuffers,
    handles_live: finalizers.live,
    finalized_per_round: finalizedPerRound,
    settled: finalizedPerRound[finalizedPerRound.length - 1] === 0,
    ...extra,
  };
  if (wasmBytes !== null) lastWasm = wasmBytes;
  emit(s);
  globalThis.__wlhSample?.(s); // hook for the Step 2 tracer: heap snapshot at the same boundary
  const mib = (b) => (b === null ? 'n/a' : (b / 2 ** 20).toFixed(1));
  const delta = s.wasm_memory_delta === null ? '' : ` (${s.wasm_memory_delta >= 0 ? '+' : ''}${mib(s.wasm_memory_delta)})`;
  const prove = extra.prove_seconds !== undefined ? ` prove ${extra.prove_seconds.toFixed(1)} s,` : '';
  process.stderr.write(
    `[${label}] ${phase}${iteration > 0 ? ` ${iteration}/${iterations}` : ''}:${prove} wasm ${mib(wasmBytes)} MiB${delta},` +
      ` rss ${mib(mem.rss)} MiB, js heap ${mib(mem.heapUsed)} MiB, live handles ${finalizers.live}\n`
  );
  return s;
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
  fs.closeSync(fd);
  if (cacheDir) fs.rmSync(cacheDir, { recursive: true, force: true });
}
// The rayon pool keeps the process alive in some releases.
process.exit(0);
