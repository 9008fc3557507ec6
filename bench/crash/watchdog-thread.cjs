// Body of the watchdog thread (started by watchdog.cjs). It runs in its own worker thread, whose event
// loop does not depend on the main thread: it keeps working while the main thread is blocked inside
// wasm (e.g. in Atomics.wait for a rayon worker that died). It never yields to its event loop either:
// it sleeps in Atomics.wait and reads messages with receiveMessageOnPort.
//
// Progress = the progress file changed size, or the shared heartbeat counter moved. When neither
// happens for `seconds`, it records a "no_answer" crash event and ends the process with SIGALRM
// (no handler is installed for it, so the process dies at once; status 128+14, Python returncode -14),
// falling back to SIGKILL if the process is still alive `graceSeconds` later.
// Once any thread has recorded a crash (the CRASHES slot), the limit is `afterCrashSeconds` (when set),
// counted from the later of the last progress and the moment the watchdog saw that crash.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { workerData, parentPort, receiveMessageOnPort } = require('node:worker_threads');
const { openRecord } = require('./record.cjs');
const { HEARTBEAT, CRASHES, DONE, FIRED } = require('./state.cjs');

const { seconds, afterCrashSeconds, progressFile, recordPath, state, graceSeconds } = workerData.__wlhWatchdog;
const st = new Int32Array(state);
const emit = openRecord(recordPath);
const pollMs = Math.max(10, Math.min(1000, Math.min(seconds, afterCrashSeconds ?? seconds) * 100));

function sizeOf(file) {
  if (!file) return null;
  try { return fs.statSync(file).size; } catch { return -1; } // not written yet
}

let memory = null;
let lastSize = sizeOf(progressFile);
let lastBeat = Atomics.load(st, HEARTBEAT);
let lastProgress = Date.now();
let crashSeen = null; // when the watchdog first saw a recorded crash

function readMessages() {
  for (let m; (m = receiveMessageOnPort(parentPort)); ) if (m.message && m.message.memory) memory = m.message.memory;
}

function fire(quietMs, limit) {
  Atomics.store(st, FIRED, 1);
  Atomics.add(st, CRASHES, 1);
  const size = sizeOf(progressFile);
  emit({
    event: 'crash',
    how: 'no_answer',
    message: `no progress for ${(quietMs / 1000).toFixed(1)} s (limit ${limit} s${crashSeen === null ? '' : ' once a crash was recorded'})`,
    wasm_memory_bytes: memory ? memory.buffer.byteLength : null,
    seconds_without_progress: +(quietMs / 1000).toFixed(3),
    limit_seconds: limit,
    after_crash: crashSeen !== null,
    progress_file: progressFile ? path.basename(progressFile) : null,
    progress_bytes: size !== null && size >= 0 ? size : null,
    heartbeat: Atomics.load(st, HEARTBEAT),
    signal: 'SIGALRM',
  });
  fs.writeSync(2, `[wlh-crash] watchdog: no progress for ${limit} s${crashSeen === null ? '' : ' after a crash'}, ending the process (SIGALRM)\n`);
  process.kill(process.pid, 'SIGALRM');
  Atomics.wait(st, DONE, 0, graceSeconds * 1000); // still here: someone handles SIGALRM
  emit({ event: 'watchdog_kill', signal: 'SIGKILL', message: `still alive ${graceSeconds} s after SIGALRM` });
  process.kill(process.pid, 'SIGKILL');
}

while (Atomics.load(st, DONE) === 0) {
  Atomics.wait(st, DONE, 0, pollMs);
  readMessages();
  const size = sizeOf(progressFile);
  const beat = Atomics.load(st, HEARTBEAT);
  const now = Date.now();
  if (crashSeen === null && afterCrashSeconds != null && Atomics.load(st, CRASHES) > 0) crashSeen = now;
  const limit = crashSeen === null ? seconds : afterCrashSeconds;
  if (size !== lastSize || beat !== lastBeat) {
    lastSize = size;
    lastBeat = beat;
    lastProgress = now;
  } else if (now - Math.max(lastProgress, crashSeen ?? 0) >= limit * 1000 && Atomics.load(st, DONE) === 0) {
    fire(now - lastProgress, limit);
  }
}
