// Appends events to the guard's record (JSON Lines) from any thread of the process.
// Each line is one writeSync on an O_APPEND descriptor: it reaches the kernel before the call returns
// (so a SIGKILL right after cannot lose it) and lines from several threads never interleave.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { threadId } = require('node:worker_threads');

// The main thread's guard sets WLH_CRASH_T0 (ms since the epoch) before any worker starts; workers
// inherit the environment, so every thread measures `t` from the same instant.
const loaded = Date.now();

// Paths of this machine must not reach a record that may be committed: the repository root, the home
// and temporary folders are replaced by placeholders in every text we record.
const root = path.resolve(__dirname, '..', '..');
const replacements = [[root, '<repo>'], [os.tmpdir(), '<tmp>'], [os.homedir(), '~']].filter(([p]) => p && p !== '/');
function scrub(text) {
  let s = String(text);
  for (const [p, r] of replacements) s = s.split(p).join(r);
  return s;
}

// Name, message and the first lines of the stack of anything thrown.
function describeError(err, maxLines = 40) {
  if (err instanceof Error || (err && typeof err === 'object' && 'message' in err)) {
    const stack = typeof err.stack === 'string' ? err.stack.split('\n').slice(0, maxLines).join('\n') : null;
    return { error_name: String(err.name ?? 'Error'), message: scrub(err.message), stack: stack === null ? null : scrub(stack) };
  }
  return { error_name: typeof err, message: scrub(String(err)), stack: null };
}

function seconds() {
  const t0 = Number(process.env.WLH_CRASH_T0) || loaded;
  return +((Date.now() - t0) / 1000).toFixed(3);
}

// Events a guard writes even when the record is kept only for when there is something to say (eager false).
const ALWAYS = new Set(['crash', 'near_ceiling', 'guard_exit', 'guard_kill']);

// emit(obj, force): writes one line; with eager false only ALWAYS events and forced ones are written.
function openRecord(file, eager = true) {
  let fd = null;
  return function emit(obj, force = false) {
    const line = JSON.stringify({ ...obj, t: seconds(), pid: process.pid, thread: threadId }) + '\n';
    if (!file || !(eager || force || ALWAYS.has(obj.event))) return line;
    try {
      if (fd === null) fd = fs.openSync(file, 'a');
      fs.writeSync(fd, line);
    } catch (err) {
      // The record is a by-product: never turn a failing write into a second crash.
      try { fs.writeSync(2, `[wlh-guard] cannot write the record: ${err.message}\n`); } catch {}
    }
    return line;
  };
}

module.exports = { openRecord, describeError, scrub, seconds };
