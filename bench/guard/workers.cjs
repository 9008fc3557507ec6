// Watches the program's worker threads from the main thread, and from inside each worker.
//
// Main thread: worker_threads.Worker is replaced by a subclass (o1js imports it from ESM, hence
// syncBuiltinESMExports) that hands each worker the shared state and a "recorded" flag through
// workerData, and records a worker's error (errorMonitor: observing it does not change what happens
// next) or a non-zero exit that was not asked for with terminate().
// Worker thread: an uncaughtExceptionMonitor records the error synchronously from the worker itself.
// This matters: when the main thread is blocked in wasm, it never runs the Worker's 'error' event.
// A worker that shares a WebAssembly.Memory (o1js's rayon workers get it in workerData) is part of the
// prover: its death is a fault (FAULT), which the guard thread turns into an exit.
'use strict';
const { errorMonitor } = require('node:events');
const wt = require('node:worker_threads');
const { describeError } = require('./record.cjs');
const S = require('./state.cjs');
const { cause } = require('./fault.cjs');

// A shared WebAssembly.Memory among the worker's data (o1js passes it as workerData.memory).
function memoryIn(data) {
  if (!data || typeof data !== 'object') return null;
  return Object.values(data).find((v) => v instanceof WebAssembly.Memory) ?? null;
}

// The crash event of a worker's error, with what was running (proof, prover export) and its cause.
function workerCrash(state, fields, bytes, isProver) {
  const ceiling = S.ceilingBytes(state);
  const e = { event: 'crash', how: 'worker_error', ...fields, ...S.running(state), wasm_memory_bytes: bytes, ceiling_bytes: ceiling };
  e.cause = cause(e, bytes, ceiling);
  e.fault = isProver;
  return e;
}

function record(state, emit, e) {
  const st = new Int32Array(state.slots);
  Atomics.add(st, S.CRASHES, 1);
  if (e.fault) Atomics.store(st, S.FAULT, 1);
  emit(e);
}

function patchWorkers({ emit, state, memoryBytes }) {
  const Base = wt.Worker;
  class WatchedWorker extends Base {
    constructor(src, opts = {}) {
      const flag = new Int32Array(new SharedArrayBuffer(4)); // 1 once the worker recorded its own error
      const data = opts && opts.workerData;
      const plain = data === undefined || (data !== null && typeof data === 'object' && Object.getPrototypeOf(data) === Object.prototype);
      super(src, plain ? { ...opts, workerData: { ...(data || {}), __wlhGuard: { flag: flag.buffer, state } } } : opts);
      const id = this.threadId; // -1 once the worker has exited
      const prover = memoryIn(data) !== null;
      let errored = false;
      let terminating = false;
      this.on(errorMonitor, (err) => {
        errored = true;
        if (Atomics.load(flag, 0) === 1) return;
        record(state, emit, workerCrash(state, { worker_thread: id, recorded_by: 'main', ...describeError(err) }, memoryBytes(), prover));
      });
      this.on('exit', (code) => {
        if (code === 0 || errored || terminating || Atomics.load(flag, 0) === 1) return;
        record(state, emit, workerCrash(state, { worker_thread: id, recorded_by: 'main', error_name: null, message: `worker exited with code ${code}`, stack: null, exit_code: code }, memoryBytes(), prover));
      });
      const terminate = this.terminate;
      // Older o1js releases tear their pool down on purpose: such exits are not crashes.
      this.terminate = function () {
        terminating = true;
        return terminate.apply(this, arguments);
      };
    }
  }
  wt.Worker = WatchedWorker;
  require('node:module').syncBuiltinESMExports();
  return Base;
}

// In a worker started by a patched Worker.
function watchThisWorker({ emit }) {
  const shared = wt.workerData && wt.workerData.__wlhGuard;
  if (!shared) return false;
  const flag = new Int32Array(shared.flag);
  const memory = memoryIn(wt.workerData);
  process.on('uncaughtExceptionMonitor', (err, origin) => {
    if (Atomics.exchange(flag, 0, 1) === 1) return;
    const bytes = memory ? memory.buffer.byteLength : null;
    record(shared.state, emit, workerCrash(shared.state, { worker_thread: wt.threadId, recorded_by: 'worker', origin, ...describeError(err) }, bytes, memory !== null));
  });
  return true;
}

module.exports = { patchWorkers, watchThisWorker, memoryIn };
