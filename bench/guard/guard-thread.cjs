// Body of the guard thread (started by thread.cjs). It runs in its own worker thread, whose event loop does
// not depend on the main thread: it keeps working while the main thread is blocked inside wasm (as o1js's is
// in Atomics.wait for a rayon worker that died). It never yields to its event loop either: it sleeps in
// Atomics.wait and reads messages with receiveMessageOnPort. Each round it:
//  - warns once when WASM memory passes `warnShare` of its ceiling (record + one stderr line);
//  - once a fault was recorded (FAULT) and the process has not ended by itself `graceSeconds` later, ends it;
//  - with `seconds` set (the pipeline's no-progress watchdog): ends a run whose progress file and heartbeat
//    have not moved for that long ("no_answer").
// Ending the process: Node's inspector, from this thread, runs `process.exit(exitCode)` on the main thread
// (the inspector interrupts even a main thread blocked in wasm, and 'exit' listeners run); if the process is
// still alive `graceKillSeconds` later, SIGKILL.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { workerData, parentPort, receiveMessageOnPort } = require('node:worker_threads');
const { openRecord } = require('./record.cjs');
const { faultLine, warnLine } = require('./fault.cjs');
const S = require('./state.cjs');

const cfg = workerData.__wlhGuardThread;
const { state } = cfg;
const st = new Int32Array(state.slots);
const emit = openRecord(cfg.record, cfg.eager);
const pollMs = Math.max(10, Math.min(1000, Math.min(cfg.graceSeconds, cfg.seconds ?? Infinity) * 100));

function sizeOf(file) {
  if (!file) return null;
  try { return fs.statSync(file).size; } catch { return -1; } // not written yet
}

let memory = null;
let lastSize = sizeOf(cfg.progressFile);
let lastBeat = Atomics.load(st, S.HEARTBEAT);
let lastProgress = Date.now();
let faultSeen = null; // when this thread first saw a recorded fault

function readMessages() {
  for (let m; (m = receiveMessageOnPort(parentPort)); ) if (m.message && m.message.memory) memory = m.message.memory;
}
const bytes = () => (memory ? memory.buffer.byteLength : null);
const say = (text) => { try { fs.writeSync(2, text + '\n'); } catch {} };

function end(reason) {
  Atomics.store(st, S.FIRED, 1);
  emit({ event: 'guard_exit', reason, exit_code: cfg.exitCode, via: 'inspector', wasm_memory_bytes: bytes() });
  try {
    const inspector = require('node:inspector');
    const session = new inspector.Session();
    session.connectToMainThread();
    session.post('Runtime.evaluate', { expression: `process.exit(${cfg.exitCode})` });
  } catch (err) {
    emit({ event: 'guard_kill', signal: 'SIGKILL', message: `the inspector could not end the main thread: ${err.message}` });
    process.kill(process.pid, 'SIGKILL');
  }
  // When the process exits, this thread ends with it; if it is still here, an 'exit' listener (or anything
  // else) holds the process: nothing short of SIGKILL will end it.
  Atomics.wait(st, S.FIRED, 1, cfg.graceKillSeconds * 1000);
  emit({ event: 'guard_kill', signal: 'SIGKILL', message: `still alive ${cfg.graceKillSeconds} s after process.exit was asked for` });
  process.kill(process.pid, 'SIGKILL');
}

function warnIfNear() {
  const b = bytes();
  const ceiling = S.ceilingBytes(state);
  // after a fault the fault's own line says it all
  if (b === null || !ceiling || b < cfg.warnShare * ceiling || Atomics.load(st, S.FAULT) === 1) return;
  if (Atomics.exchange(st, S.WARNED, 1) === 1) return;
  const p = S.pace(state);
  const perProof = p.per_proof;
  const e = { event: 'near_ceiling', share: b / ceiling, warn_share: cfg.warnShare, wasm_memory_bytes: b, ceiling_bytes: ceiling,
    proofs_done: p.proofs, per_proof_bytes: perProof, pace_proofs: p.over,
    proofs_left: perProof > 0 ? Math.floor((ceiling - b) / perProof) : null };
  emit(e);
  say(warnLine(e));
}

function noAnswer(quietMs) {
  Atomics.add(st, S.CRASHES, 1);
  const size = sizeOf(cfg.progressFile);
  emit({
    event: 'crash', how: 'no_answer', ...S.running(state),
    message: `no progress for ${(quietMs / 1000).toFixed(1)} s (limit ${cfg.seconds} s)`,
    wasm_memory_bytes: bytes(), ceiling_bytes: S.ceilingBytes(state),
    seconds_without_progress: +(quietMs / 1000).toFixed(3), limit_seconds: cfg.seconds,
    progress_file: cfg.progressFile ? path.basename(cfg.progressFile) : null,
    progress_bytes: size !== null && size >= 0 ? size : null, heartbeat: Atomics.load(st, S.HEARTBEAT),
  });
  say(`wlh-guard: no progress for ${cfg.seconds} s: the guard ends the process with exit code ${cfg.exitCode}. Record: ${cfg.record}.`);
  end('no_answer');
}

while (Atomics.load(st, S.DONE) === 0 && Atomics.load(st, S.FIRED) === 0) {
  Atomics.wait(st, S.DONE, 0, pollMs);
  if (Atomics.load(st, S.DONE) !== 0 || Atomics.load(st, S.FIRED) !== 0) break;
  readMessages();
  warnIfNear();
  const now = Date.now();
  if (faultSeen === null && Atomics.load(st, S.FAULT) === 1) faultSeen = now;
  if (faultSeen !== null && now - faultSeen >= cfg.graceSeconds * 1000) {
    // the fault's own line comes from the thread that recorded it, read back from the record
    say(faultLine(lastFault() ?? { message: 'a fault was recorded', proof: S.running(state).proof }, cfg));
    end('fault');
    break;
  }
  if (cfg.seconds == null) continue;
  const size = sizeOf(cfg.progressFile);
  const beat = Atomics.load(st, S.HEARTBEAT);
  if (size !== lastSize || beat !== lastBeat) {
    lastSize = size;
    lastBeat = beat;
    lastProgress = now;
  } else if (now - lastProgress >= cfg.seconds * 1000) {
    noAnswer(now - lastProgress);
    break;
  }
}

// The first fault's crash event, from the record (every thread appends to it; faults are always written).
function lastFault() {
  try {
    const lines = fs.readFileSync(cfg.record, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    return lines.find((e) => e.event === 'crash' && e.fault) ?? null;
  } catch {
    return null;
  }
}
