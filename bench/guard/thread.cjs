// Starts the guard thread (guard-thread.cjs) from the main thread.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

// Worker: the unpatched worker_threads.Worker (the guard thread is not one of the program's workers).
function startGuardThread(Worker, settings) {
  const worker = new Worker(path.join(__dirname, 'guard-thread.cjs'), {
    // No --require of the guard (or --expose-gc & co) in this thread.
    execArgv: [],
    workerData: { __wlhGuardThread: { ...settings, progressFile: settings.progressFile && path.resolve(settings.progressFile) } },
  });
  worker.on('error', (err) => {
    // A bug in the guard must not end the run it watches.
    try { fs.writeSync(2, `[wlh-guard] guard thread failed: ${err && err.message}\n`); } catch {}
  });
  worker.unref(); // never keeps the process alive
  return {
    // The shared memory whose byteLength the guard watches and records.
    watchMemory(memory) {
      worker.postMessage({ memory });
    },
  };
}

module.exports = { startGuardThread };
