// Starts the watchdog thread (watchdog-thread.cjs) from the main thread.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

// Worker: the unpatched worker_threads.Worker (the watchdog is not one of the program's workers).
function startWatchdog(Worker, { seconds, afterCrashSeconds = null, progressFile, recordPath, state, graceSeconds = 2 }) {
  const worker = new Worker(path.join(__dirname, 'watchdog-thread.cjs'), {
    // No --require of the preload (or --expose-gc & co) in this thread.
    execArgv: [],
    workerData: { __wlhWatchdog: { seconds, afterCrashSeconds, progressFile: progressFile && path.resolve(progressFile), recordPath, state, graceSeconds } },
  });
  worker.on('error', (err) => {
    // A bug in the watchdog must not end the run it watches.
    try { fs.writeSync(2, `[wlh-crash] watchdog thread failed: ${err && err.message}\n`); } catch {}
  });
  worker.unref(); // never keeps the process alive
  return {
    // The shared memory whose byteLength the no_answer event reports.
    watchMemory(memory) {
      worker.postMessage({ memory });
    },
  };
}

module.exports = { startWatchdog };
