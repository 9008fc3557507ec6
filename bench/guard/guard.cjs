// wlh-guard: keeps an o1js process from hanging silently when its WebAssembly memory runs out. Load it into
// any node program, without Python and without tracing:
//   node --require <wasm-leak-hunt>/bench/guard/guard.cjs app.js
//   NODE_OPTIONS="--require <wasm-leak-hunt>/bench/guard/guard.cjs" npm start
// What it does (README "Keep a service from hanging"):
//  - when o1js cannot go on (a rayon worker dies, typically of an allocation failure at the memory ceiling,
//    while the main thread waits for it for ever; or a wasm trap on the main thread), it writes one JSON
//    record (which prover export and proof were running, byteLength and the ceiling, the error), prints one
//    line on stderr, and ends the process with exit code 86 within WLH_GUARD_GRACE_SECONDS (5 s), so that a
//    supervisor restarts it instead of waiting on a process that never answers;
//  - once WASM memory passes WLH_GUARD_WARN_AT (0.9) of its ceiling, it writes one record and one stderr line
//    with the growth per proof and the proofs left at that pace;
//  - it costs nothing per allocation: it wraps o1js's two prover exports (to count proofs) and watches from a
//    thread of its own that sleeps between one-second looks.
//
// Environment (all optional):
//   WLH_GUARD=0                 do nothing at all
//   WLH_GUARD_RECORD            JSON Lines file for every event (schemas/crash-event.schema.json); without it,
//                               wlh-guard-<pid>.jsonl in the current folder, written only for a warning or fault
//   WLH_GUARD_EXIT_CODE         exit code when the guard ends the process (86)
//   WLH_GUARD_GRACE_SECONDS     how long after a fault the program may still end by itself (5)
//   WLH_GUARD_WARN_AT           share of the ceiling at which to warn (0.9)
//   WLH_MEMORY_CAP_MIB          lower the ceiling: the maximum of every shared WebAssembly.Memory the main thread
//                               creates with a larger one (o1js's glue asks for 65536 pages = 4 GiB)
//   WLH_WATCHDOG_SECONDS        also end a run that makes no progress for this long (the pipeline's benchmark
//                               runs: progress = the file WLH_PROGRESS_FILE, default the program's --out
//                               argument, changes size, or globalThis.wlhCrashProgress() is called)
//
// How a guarded process ends (status; the record says the same in words):
//   0          normal end
//   86         the guard ended it (a fault, or no progress): events "crash" then "guard_exit"
//   1          an uncaught exception that is not a WebAssembly fault (Node's own behaviour, recorded)
//   other n    process.exit(n) by the program
//   2          the guard refused its configuration (one line on stderr)
//   SIGKILL    the process was still alive 3 s after the guard asked it to exit ("guard_kill")
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const wt = require('node:worker_threads');

const { readConfig, ConfigError, PAGE } = require('./config.cjs');
const { openRecord, describeError, scrub } = require('./record.cjs');
const { installMemoryCap } = require('./memory-cap.cjs');
const { patchWorkers, watchThisWorker } = require('./workers.cjs');
const { startGuardThread } = require('./thread.cjs');
const { onGlueLoad, wrapExport, STEP_PROVER, WRAP_PROVER } = require('./glue.cjs');
const { cause, isWasmTrap, faultLine } = require('./fault.cjs');
const S = require('./state.cjs');

function say(text) {
  try { fs.writeSync(2, `${text}\n`); } catch {}
}

function main(cfg) {
  // Every thread measures `t` from this instant (record.cjs reads it; workers inherit the environment).
  process.env.WLH_CRASH_T0 = String(Date.now());
  const emit = openRecord(cfg.record, cfg.eager);
  const state = S.create();
  const st = new Int32Array(state.slots);
  const memories = [];
  // byteLength of the first shared memory (o1js creates exactly one); never cache its buffer.
  const memoryBytes = () => (memories.length ? memories[0].buffer.byteLength : null);
  const recordName = cfg.eager ? scrub(cfg.record) : path.basename(cfg.record);

  emit({
    event: 'guard', cap_pages: cfg.capPages, cap_bytes: cfg.capPages === null ? null : cfg.capPages * PAGE,
    exit_code: cfg.exitCode, grace_seconds: cfg.graceSeconds, warn_share: cfg.warnShare,
    watchdog_seconds: cfg.watchdogSeconds, progress_file: cfg.progressFile ? path.basename(cfg.progressFile) : null,
    node: process.version,
  });

  const BaseWorker = patchWorkers({ emit, state, memoryBytes });
  const guard = startGuardThread(BaseWorker, {
    state, record: cfg.record, eager: cfg.eager, exitCode: cfg.exitCode, graceSeconds: cfg.graceSeconds,
    graceKillSeconds: 3, warnShare: cfg.warnShare, seconds: cfg.watchdogSeconds, progressFile: cfg.progressFile,
  });
  globalThis.wlhCrashProgress = () => Atomics.add(st, S.HEARTBEAT, 1);

  installMemoryCap(cfg.capPages, (memory, info) => {
    memories.push(memory);
    if (memories.length === 1) {
      if (info.maximum_pages) Atomics.store(st, S.CEILING_PAGES, info.maximum_pages);
      guard.watchMemory(memory);
    }
    emit({ event: 'memory_cap', ...info, cap_pages: cfg.capPages, cap_bytes: cfg.capPages === null ? null : cfg.capPages * PAGE });
    if (info.applied) say(`[wlh-guard] shared memory ${info.index}: maximum ${info.requested_maximum_pages} -> ${info.maximum_pages} pages (${(info.maximum_pages * PAGE) / 2 ** 20} MiB), created at ${info.created_at}`);
  });

  // Count proofs and know which prover runs: two wrapped exports, nothing per allocation.
  onGlueLoad((glue) => {
    const prover = { [STEP_PROVER]: 1, [WRAP_PROVER]: 2 };
    for (const name of [STEP_PROVER, WRAP_PROVER]) {
      wrapExport(glue, name, {
        before: () => Atomics.store(st, S.IN_PROVER, prover[name]),
        after: () => {
          Atomics.store(st, S.IN_PROVER, 0);
          if (name === WRAP_PROVER) S.recordProof(state, memoryBytes() ?? 0);
        },
      });
    }
  });

  let exiting = false;
  // A wasm trap on the main thread (or any exception after a worker's fault) is a fault: recorded, one line,
  // and the guard's exit code instead of Node's 1. Other exceptions: recorded; Node ends the process as usual.
  process.on('uncaughtExceptionMonitor', (err, origin) => {
    Atomics.add(st, S.CRASHES, 1);
    const fault = isWasmTrap(err) || Atomics.load(st, S.FAULT) === 1;
    const bytes = memoryBytes();
    const ceiling = S.ceilingBytes(state);
    const e = { event: 'crash', how: 'exception', origin, ...describeError(err), ...S.running(state), wasm_memory_bytes: bytes, ceiling_bytes: ceiling };
    e.cause = cause(e, bytes, ceiling);
    e.fault = fault;
    emit(e);
    if (!fault) return;
    Atomics.store(st, S.FAULT, 1);
    Atomics.store(st, S.FIRED, 1);
    say(String(err && err.stack ? err.stack.split('\n').slice(0, 8).join('\n') : err));
    say(faultLine(e, { exitCode: cfg.exitCode, record: cfg.record }));
    emit({ event: 'guard_exit', reason: 'fault', exit_code: cfg.exitCode, via: 'main', wasm_memory_bytes: bytes });
    process.exit(cfg.exitCode);
  });

  function onExit(code) {
    if (exiting) return;
    exiting = true;
    Atomics.store(st, S.DONE, 1);
    Atomics.notify(st, S.DONE);
    // process.exitCode, when set, is the status the process really ends with (Node sets 13 for an
    // unsettled top-level await in an 'exit' listener of its own; ours is moved after it below).
    const status = process.exitCode ?? code;
    const said = Atomics.load(st, S.CRASHES) > 0 || Atomics.load(st, S.WARNED) === 1;
    if (status !== 0 && Atomics.load(st, S.CRASHES) === 0) {
      emit({ event: 'crash', how: 'exit', message: `the process exited with code ${status}`, exit_code: status, wasm_memory_bytes: memoryBytes() });
    }
    emit({ event: 'exit', code: status, crashes: Atomics.load(st, S.CRASHES), proofs: Atomics.load(st, S.PROOFS), wasm_memory_bytes: memoryBytes() }, said);
  }
  process.on('exit', onExit);
  // Node adds its own 'exit' listener for an ES main module after the preloads ran; re-adding ours at
  // the first turn of the event loop puts it after that one.
  setImmediate(() => {
    process.removeListener('exit', onExit);
    process.on('exit', onExit);
  }).unref();
  return recordName;
}

let cfg;
try {
  cfg = readConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  say(`[wlh-guard] bad configuration: ${err.message}`);
  process.exit(2);
}
if (cfg.enabled && !(wt.workerData && wt.workerData.__wlhGuardThread)) {
  if (wt.isMainThread) main(cfg);
  else watchThisWorker({ emit: openRecord(cfg.record, cfg.eager) });
}
