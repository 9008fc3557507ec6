// Watches the program's worker threads from the main thread, and from inside each worker.
//
// Main thread: worker_threads.Worker is replaced by a subclass (o1js imports it from ESM, hence
// syncBuiltinESMExports) that hands each worker the shared state and a "recorded" flag through
// workerData, and records a worker's error (errorMonitor: observing it does not change what happens
// next) or a non-zero exit that was not asked for with terminate().
// Worker thread: an uncaughtExceptionMonitor records the error synchronously from the worker itself.
// This matters: when the main thread is blocked in wasm, it never runs the Worker's 'error' event.
'use strict';
const { errorMonitor } = require('node:events');
const wt = require('node:worker_threads');
const { describeError } = require('./record.cjs');
const { CRASHES } = require('./state.cjs');

// A shared WebAssembly.Memory among the worker's data (o1js passes it as workerData.memory).
function memoryIn(data) {
  if (!data || typeof data !== 'object') return null;
  return Object.values(data).find((v) => v instanceof WebAssembly.Memory) ?? null;
}

function patchWorkers({ emit, state, memoryBytes }) {
  const st = new Int32Array(state);
  const Base = wt.Worker;
  class WatchedWorker extends Base {
    constructor(src, opts = {}) {
      const flag = new Int32Array(new SharedArrayBuffer(4)); // 1 once the worker recorded its own error
      const data = opts && opts.workerData;
      const plain = data === undefined || (data !== null && typeof data === 'object' && Object.getPrototypeOf(data) === Object.prototype);
      super(src, plain ? { ...opts, workerData: { ...(data || {}), __wlhCrash: { flag: flag.buffer, state } } } : opts);
      const id = this.threadId; // -1 once the worker has exited
      let errored = false;
      let terminating = false;
      this.on(errorMonitor, (err) => {
        errored = true;
        if (Atomics.load(flag, 0) === 1) return;
        Atomics.add(st, CRASHES, 1);
        emit({ event: 'crash', how: 'worker_error', worker_thread: id, recorded_by: 'main', ...describeError(err), wasm_memory_bytes: memoryBytes() });
      });
      this.on('exit', (code) => {
        if (code === 0 || errored || terminating || Atomics.load(flag, 0) === 1) return;
        Atomics.add(st, CRASHES, 1);
        emit({ event: 'crash', how: 'worker_error', worker_thread: id, recorded_by: 'main', error_name: null, message: `worker exited with code ${code}`, stack: null, exit_code: code, wasm_memory_bytes: memoryBytes() });
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
  const shared = wt.workerData && wt.workerData.__wlhCrash;
  if (!shared) return false;
  const flag = new Int32Array(shared.flag);
  const st = new Int32Array(shared.state);
  const memory = memoryIn(wt.workerData);
  process.on('uncaughtExceptionMonitor', (err, origin) => {
    if (Atomics.exchange(flag, 0, 1) === 1) return;
    Atomics.add(st, CRASHES, 1);
    emit({ event: 'crash', how: 'worker_error', worker_thread: wt.threadId, recorded_by: 'worker', origin, ...describeError(err), wasm_memory_bytes: memory ? memory.buffer.byteLength : null });
  });
  return true;
}

module.exports = { patchWorkers, watchThisWorker, memoryIn };
