// Makes a run reach a lowered WASM memory ceiling and records exactly how it ended, without changing the
// program it runs (bench/prove-loop.mjs or any o1js program). Load with
//   node --require bench/crash/preload.cjs [--expose-gc] bench/prove-loop.mjs ... --out run.jsonl
//
// Environment (all optional; with none set the preload does nothing at all):
//   WLH_MEMORY_CAP_MIB    cap, in MiB (decimals allowed; rounded down to 64 KiB pages), on the maximum of
//                         every shared WebAssembly.Memory the main thread creates with a larger maximum
//                         (o1js's wasm-bindgen glue creates one with maximum 65536 pages = 4 GiB). Each
//                         shared memory gets a "memory_cap" event (pages, whether the cap applied, the JS
//                         frame that created it).
//   WLH_END_RECORD        JSON Lines file the preload appends its events to (schemas/crash-event.schema.json):
//                         "preload" (configuration), "memory_cap", "crash" (how the run ended; the first
//                         one is the cause, later ones its consequences), "watchdog_kill", "exit".
//   WLH_WATCHDOG_SECONDS  end the run when it makes no progress for this many seconds. Progress = the
//                         progress file changes size, or globalThis.wlhCrashProgress() is called.
//   WLH_WATCHDOG_AFTER_CRASH_SECONDS
//                         a shorter limit (at most WLH_WATCHDOG_SECONDS) once a crash was recorded, counted
//                         from the later of the last progress and that crash: when a rayon worker dies, o1js's
//                         main thread waits for it for ever, so waiting out the full limit shows nothing more.
//   WLH_PROGRESS_FILE     the progress file; default: the program's `--out` argument (prove-loop.mjs
//                         writes a line there with writeSync after init, compile and every proof).
//
// How a run ends (process status; the end record says the same in words):
//   0         normal end ("exit" code 0, no crash event)
//   1         uncaught exception in the main thread: crash how "exception" (a wasm trap is a RuntimeError),
//             or "worker_error" first if a worker's error reached the main thread
//   13        Node: the main module's top-level await never settled (crash how "exit", exit_code 13)
//   other n   process.exit(n) without an exception: crash how "exit"
//   signal SIGALRM (shell 142, Python returncode -14): the watchdog fired (crash how "no_answer");
//             signal SIGKILL (137 / -9) only if SIGALRM did not end it within 2 s ("watchdog_kill" event).
//             A SIGKILL without a "no_answer" event came from elsewhere (e.g. the kernel's OOM killer).
//   2         the preload refused its configuration (one line on stderr)
//
// Why progress is the size of the benchmark's own output and not "any wasm export returned": a proof is
// a single wasm call of tens of seconds on the main thread, so export returns give no finer signal where
// a run can hang, and counting them means wrapping the glue's exports. The output file grows only when
// a step has really completed, is written the same way by every release's run, and also catches a main
// thread that is idle (event loop alive) waiting on a promise that never settles. The cost: the limit
// must exceed the longest step (cold compile, one proof plus its GC settling).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const wt = require('node:worker_threads');

const { readConfig, ConfigError, PAGE } = require('./config.cjs');
const { openRecord, describeError } = require('./record.cjs');
const { installMemoryCap } = require('./memory-cap.cjs');
const { patchWorkers, watchThisWorker } = require('./workers.cjs');
const { startWatchdog } = require('./watchdog.cjs');
const S = require('./state.cjs');

function say(text) {
  try { fs.writeSync(2, `[wlh-crash] ${text}\n`); } catch {}
}

function main(cfg) {
  // Every thread measures `t` from this instant (record.cjs reads it; workers inherit the environment).
  process.env.WLH_CRASH_T0 = String(Date.now());
  const emit = openRecord(cfg.endRecord);
  const state = S.create();
  const st = new Int32Array(state);
  const memories = [];
  // byteLength of the first shared memory (o1js creates exactly one); never cache its buffer.
  const memoryBytes = () => (memories.length ? memories[0].buffer.byteLength : null);

  emit({
    event: 'preload',
    cap_pages: cfg.capPages,
    cap_bytes: cfg.capPages === null ? null : cfg.capPages * PAGE,
    watchdog_seconds: cfg.watchdogSeconds,
    watchdog_after_crash_seconds: cfg.afterCrashSeconds,
    progress_file: cfg.progressFile ? path.basename(cfg.progressFile) : null,
    node: process.version,
  });

  const BaseWorker = patchWorkers({ emit, state, memoryBytes });
  const watchdog = cfg.watchdogSeconds === null ? null
    : startWatchdog(BaseWorker, { seconds: cfg.watchdogSeconds, afterCrashSeconds: cfg.afterCrashSeconds, progressFile: cfg.progressFile, recordPath: cfg.endRecord, state });
  globalThis.wlhCrashProgress = () => Atomics.add(st, S.HEARTBEAT, 1);

  installMemoryCap(cfg.capPages, (memory, info) => {
    memories.push(memory);
    if (watchdog && memories.length === 1) watchdog.watchMemory(memory);
    emit({ event: 'memory_cap', ...info, cap_pages: cfg.capPages, cap_bytes: cfg.capPages === null ? null : cfg.capPages * PAGE });
    if (info.applied) say(`shared memory ${info.index}: maximum ${info.requested_maximum_pages} -> ${info.maximum_pages} pages (${(info.maximum_pages * PAGE) / 2 ** 20} MiB), created at ${info.created_at}`);
  });

  // The monitor only observes: Node still prints the error and exits with status 1 as without us.
  process.on('uncaughtExceptionMonitor', (err, origin) => {
    Atomics.add(st, S.CRASHES, 1);
    emit({ event: 'crash', how: 'exception', origin, ...describeError(err), wasm_memory_bytes: memoryBytes() });
  });

  let exited = false;
  function onExit(code) {
    if (exited) return;
    exited = true;
    Atomics.store(st, S.DONE, 1);
    Atomics.notify(st, S.DONE);
    // process.exitCode, when set, is the status the process really ends with (Node sets 13 for an
    // unsettled top-level await in an 'exit' listener of its own; ours is moved after it below).
    const status = process.exitCode ?? code;
    if (status !== 0 && Atomics.load(st, S.CRASHES) === 0) {
      emit({ event: 'crash', how: 'exit', message: `the process exited with code ${status}`, exit_code: status, wasm_memory_bytes: memoryBytes() });
    }
    emit({ event: 'exit', code: status, crashes: Atomics.load(st, S.CRASHES), wasm_memory_bytes: memoryBytes() });
  }
  process.on('exit', onExit);
  // Node adds its own 'exit' listener for an ES main module after the preloads ran; re-adding ours at
  // the first turn of the event loop puts it after that one.
  setImmediate(() => {
    process.removeListener('exit', onExit);
    process.on('exit', onExit);
  }).unref();
}

let cfg;
try {
  cfg = readConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  say(`bad configuration: ${err.message}`);
  process.exit(2);
}
const active = cfg.capPages !== null || cfg.endRecord !== null || cfg.watchdogSeconds !== null;
if (active && !(wt.workerData && wt.workerData.__wlhWatchdog)) {
  if (wt.isMainThread) main(cfg);
  else watchThisWorker({ emit: openRecord(cfg.endRecord) });
}
