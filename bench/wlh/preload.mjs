// `wlh run` preload (node --import): runs the user's program unchanged against the chosen o1js copy and
// takes GC-settled heap snapshots. Configured by the environment `wlh run` sets:
//   WLH_O1JS_ANCHOR  folder whose node_modules/o1js is the traced copy ('o1js' resolves there, see resolve.mjs)
//   WLH_SAMPLES      JSON Lines file for the samples (schemas/bench-event.schema.json)
//   WLH_SNAPSHOT     proof (default) | every:SECONDS | manual
//   WLH_WORKERS      rayon worker threads to use instead of the program's choice (optional)
//   WLH_SETTLE_TURNS at most this many GC rounds per snapshot (default 10)
//   WLH_TRACE_LOG    read by the tracer itself (the copy's glue loads it)
//   WLH_RUN_DIR      the run directory: each process that loads o1js gets its own instance (instance.mjs)
// Node must run with --expose-gc (and --harmony-weak-refs-with-cleanup-some where V8 has it).
// Snapshot modes (the iteration numbers are what the Step 3 report calls "proofs"):
//   proof:   iteration 0 just before the first prover call, iteration k as the k-th wrap proof (the last
//            prover call of a pickles proof) returns; GC settled there with cleanupSome (settle.mjs).
//   every:S: one snapshot every S seconds once the WASM glue is loaded (iteration 0 is the first).
//   manual:  the program calls `await globalThis.wlhSnapshot?.(label)`; the first call is iteration 0.
//            (Optional chaining keeps the program runnable without wlh.)
// Worker threads inherit --import; this does nothing there. Child processes get it through NODE_OPTIONS
// (wlh run) or execArgv (fork): each one that loads o1js records into its own instance (instance.mjs).
import { isMainThread } from 'node:worker_threads';
import path from 'node:path';
import { installFinalizerCounter } from '../lib/finalizer-counter.mjs';
import { redirectO1js } from './resolve.mjs';
import { onGlueLoad, wrapExport, overrideThreads, STEP_PROVER, WRAP_PROVER } from './glue.mjs';
import { createSampler } from './sampler.mjs';
import { markRoot, claimInstance, beforeGlueLoad } from './instance.mjs';
import { installRegistryCollector, canSettleNow, settleNow, settleLater } from './settle.mjs';

function parseMode(text) {
  if (text === 'proof' || text === 'manual') return { kind: text };
  const m = /^every:(\d+(\.\d+)?)$/.exec(text);
  if (m && Number(m[1]) > 0) return { kind: 'every', seconds: Number(m[1]) };
  throw new Error(`WLH_SNAPSHOT='${text}': expected proof, every:SECONDS or manual`);
}

function main(env) {
  if (typeof globalThis.gc !== 'function') throw new Error('wlh preload: run node with --expose-gc');
  const mode = parseMode(env.WLH_SNAPSHOT || 'proof');
  const workers = env.WLH_WORKERS ? Number(env.WLH_WORKERS) : null;
  const maxRounds = Number(env.WLH_SETTLE_TURNS || 10);
  // Before o1js loads: count handle lifecycles, collect registries (settle.mjs), keep o1js on WASM.
  const finalizers = installFinalizerCounter();
  installRegistryCollector();
  process.env.O1JS_BACKEND = 'wasm';
  redirectO1js(env.WLH_O1JS_ANCHOR);

  const state = { glue: null, glueFile: null, proverExports: [], threadsAskedByProgram: null, stepCalls: 0,
    wrapCalls: 0, proofStart: null, pending: null, baseline: false, iteration: 0, instance: null };
  // The sampler starts when this process claims its instance, just before it loads o1js's glue: a process
  // of the program that never loads o1js writes nothing.
  let sampler = null;
  markRoot(env);
  beforeGlueLoad(() => {
    state.instance = claimInstance(env);
    // In aggregate mode the tracer writes into a pipe; its SNAPSHOT lines reach the log file a moment later.
    sampler = createSampler({ samplesPath: env.WLH_SAMPLES, logPath: env.WLH_TRACE_FILE || env.WLH_TRACE_LOG,
      readBackMs: env.WLH_TRACE_FILE ? 5000 : 0, finalizers,
      getGlue: () => state.glue, tag: state.instance.root ? 'wlh' : `wlh ${state.instance.name}` });
    sampler.emit({ event: 'start', scenario: env.WLH_LABEL || path.basename(process.argv[1] || 'program'), iterations: null,
      o1js_version: null, backend: 'wasm', workers, cache: 'program', snapshot: env.WLH_SNAPSHOT || 'proof',
      settle: canSettleNow ? 'cleanupSome' : 'task turns', node: process.version,
      platform: `${process.platform}-${process.arch}`, argv: process.argv.slice(2),
      instance: { number: state.instance.instance, name: state.instance.name, pid: process.pid, root: state.instance.root } });
  });

  // Settled here and now (cleanupSome), or GC only (settled: false) where V8 lacks cleanupSome.
  function snapshotNow(iteration, phase, extra) {
    const rounds = canSettleNow ? settleNow(finalizers, maxRounds) : (globalThis.gc(), []);
    return sampler.take(iteration, phase, extra, rounds);
  }
  // From the event loop (interval, manual): the same, or settled over task turns without cleanupSome.
  // A prover call that starts meanwhile takes the waiting snapshot at once (takePendingNow).
  async function snapshotSoon(iteration, phase, extra) {
    if (canSettleNow) return snapshotNow(iteration, phase, extra);
    const job = { iteration, phase, extra, done: false };
    state.pending = job;
    const rounds = await settleLater(finalizers, maxRounds);
    if (job.done) return null;
    job.done = true;
    state.pending = null;
    return sampler.take(iteration, phase, extra, rounds);
  }
  function takePendingNow() {
    const job = state.pending;
    if (!job || job.done) return;
    job.done = true;
    state.pending = null;
    snapshotNow(job.iteration, job.phase, { ...job.extra, interrupted: true });
  }

  onGlueLoad((glue, request) => {
    state.glue = glue;
    state.glueFile = request;
    overrideThreads(glue, workers, (n) => (state.threadsAskedByProgram = n));
    const counting = {
      before(name) {
        takePendingNow();
        if (mode.kind === 'proof' && !state.baseline) {
          state.baseline = true;
          snapshotNow(0, 'before_first_proof', { proofs_done: 0 });
        }
        if (name === STEP_PROVER && state.proofStart === null) state.proofStart = performance.now();
      },
      after(name) {
        if (name === STEP_PROVER) state.stepCalls++;
        if (name !== WRAP_PROVER) return;
        state.wrapCalls++;
        const extra = { proofs_done: state.wrapCalls };
        if (state.proofStart !== null) extra.prover_seconds = (performance.now() - state.proofStart) / 1000;
        state.proofStart = null;
        if (mode.kind === 'proof') {
          if (canSettleNow) snapshotNow(state.wrapCalls, 'after_proof', extra);
          else snapshotSoon(state.wrapCalls, 'after_proof', extra);
        } else process.stderr.write(`[wlh] proof ${state.wrapCalls} done\n`);
      },
    };
    state.proverExports = [STEP_PROVER, WRAP_PROVER].filter((n) => wrapExport(glue, n, counting));
    if (state.proverExports.length < 2) {
      process.stderr.write(`[wlh] warning: ${request} lacks prover export(s) ` +
        `${[STEP_PROVER, WRAP_PROVER].filter((n) => !state.proverExports.includes(n)).join(', ')}: proofs are not counted\n`);
    }
  });

  if (mode.kind === 'every') {
    let busy = false;
    setInterval(() => {
      if (busy || state.glue === null) return; // nothing to measure before the glue loads
      busy = true;
      snapshotSoon(state.iteration++, 'interval', { proofs_done: state.wrapCalls }).finally(() => (busy = false));
    }, mode.seconds * 1000).unref();
  }
  if (mode.kind === 'manual') {
    globalThis.wlhSnapshot = async (label = '') => {
      if (state.glue === null) return null; // o1js has not loaded its WASM glue yet: nothing to measure
      return snapshotSoon(state.iteration++, 'manual', { label: String(label), proofs_done: state.wrapCalls });
    };
  }

  process.on('exit', (code) => {
    if (sampler === null) return; // o1js never loaded here: no instance, nothing to close
    takePendingNow();
    sampler.emit({ event: 'end', ok: code === 0, exit_code: code, proofs: state.wrapCalls, step_prover_calls: state.stepCalls,
      wrap_prover_calls: state.wrapCalls, glue: state.glueFile, prover_exports: state.proverExports,
      threads_asked_by_program: state.threadsAskedByProgram,
      threads_used: workers ?? state.threadsAskedByProgram, glue_loaded: state.glue !== null });
    sampler.close();
  });
}

if (isMainThread && process.env.WLH_O1JS_ANCHOR) {
  try {
    main(process.env);
  } catch (e) {
    process.stderr.write(`wlh preload: ${e.message}\n`);
    process.exit(2);
  }
}
