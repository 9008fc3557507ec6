// The crash preload's watchdog: a run whose main thread is blocked for ever (as o1js's is when a rayon
// worker dies inside a proof) is ended within its limit, with a "no_answer" event and signal SIGALRM;
// a run that makes progress is left alone. spawnSync's own timeout (SIGKILL) keeps a test from hanging.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { workdir, run } from './crash-fixtures.mjs';

const PAGE = 65536;
const crashes = (events) => events.filter((e) => e.event === 'crash');
const block = 'Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);'; // for ever

test('a main thread blocked for ever is ended by the watchdog, with the memory size at the end', () => {
  const dir = workdir({
    'main.cjs': `
const memory = new WebAssembly.Memory({ initial: 3, maximum: 65536, shared: true });
${block}
`,
  });
  const r = run(dir, 'main.cjs', { env: { WLH_WATCHDOG_SECONDS: '1', WLH_END_RECORD: 'end.jsonl' } });
  assert.equal(r.error, undefined, 'the run was ended by the test timeout, not the watchdog');
  assert.equal(r.signal, 'SIGALRM', r.stderr);
  assert.ok(r.seconds < 10, `ended after ${r.seconds} s`);
  assert.match(r.stderr, /watchdog: no progress for 1 s/);
  const c = crashes(r.events);
  assert.equal(c.length, 1);
  assert.equal(c[0].how, 'no_answer');
  assert.equal(c[0].signal, 'SIGALRM');
  assert.equal(c[0].wasm_memory_bytes, 3 * PAGE); // read by the watchdog thread, main thread blocked
  assert.ok(c[0].seconds_without_progress >= 1 && c[0].seconds_without_progress < 3, JSON.stringify(c[0]));
  assert.equal(c[0].progress_file, null);
  const cap = r.events.find((e) => e.event === 'memory_cap');
  assert.deepEqual([cap.applied, cap.maximum_pages, cap.cap_pages], [false, 65536, null]); // no cap: observed only
  assert.equal(r.events.at(-1).event, 'crash'); // killed: no exit event after it
});

test('a worker that hits the cap while the main thread waits for it: its error, then no_answer', () => {
  const dir = workdir({
    'main.cjs': `
const { Worker } = require('node:worker_threads');
const memory = new WebAssembly.Memory({ initial: 2, maximum: 65536, shared: true });
new Worker('./worker.cjs', { workerData: { memory } });
${block} // as the main thread does inside a proof, waiting for the rayon pool
`,
    'worker.cjs': `
const fs = require('node:fs');
const { workerData } = require('node:worker_threads');
const inst = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync('ceiling.wasm')), { env: { memory: workerData.memory } });
inst.exports.grow_or_abort(10);
inst.exports.grow_or_abort(10);
`,
  });
  const r = run(dir, 'main.cjs', { env: { WLH_MEMORY_CAP_MIB: '1', WLH_WATCHDOG_SECONDS: '1', WLH_END_RECORD: 'end.jsonl' } });
  assert.equal(r.signal, 'SIGALRM', r.stderr);
  const c = crashes(r.events);
  assert.deepEqual(c.map((e) => [e.how, e.recorded_by ?? null, e.message.split(' ')[0]]),
    [['worker_error', 'worker', 'unreachable'], ['no_answer', null, 'no']]);
  assert.match(c[0].stack, /grow_or_abort/);
  assert.equal(c[0].wasm_memory_bytes, 12 * PAGE);
  assert.equal(c[1].wasm_memory_bytes, 12 * PAGE);
});

test('once a worker crashed, the shorter after-crash limit ends the hung run', () => {
  const dir = workdir({
    'main.cjs': `
const { Worker } = require('node:worker_threads');
new Worker('./worker.cjs');
${block}
`,
    'worker.cjs': "throw new RangeError('out of memory');",
  });
  const env = { WLH_WATCHDOG_SECONDS: '20', WLH_WATCHDOG_AFTER_CRASH_SECONDS: '1', WLH_END_RECORD: 'end.jsonl' };
  const r = run(dir, 'main.cjs', { env });
  assert.equal(r.signal, 'SIGALRM', r.stderr);
  assert.ok(r.seconds < 10, `ended after ${r.seconds} s: the 20 s limit was used`);
  assert.match(r.stderr, /no progress for 1 s after a crash/);
  const c = crashes(r.events);
  assert.deepEqual(c.map((e) => e.how), ['worker_error', 'no_answer']);
  assert.deepEqual([c[1].limit_seconds, c[1].after_crash], [1, true]);
  assert.equal(r.events[0].watchdog_after_crash_seconds, 1);

  // without a crash the long limit holds (the run ends by itself first)
  const quiet = workdir({ 'main.cjs': 'setTimeout(() => {}, 2500);' });
  const q = run(quiet, 'main.cjs', { env: { ...env, WLH_WATCHDOG_SECONDS: '5' } });
  assert.equal(q.status, 0, q.stderr);
  assert.deepEqual(crashes(q.events), []);
});

test('progress (the --out file growing, or the heartbeat) keeps a slow run alive; its end is then caught', () => {
  const dir = workdir({
    // writes a line every 200 ms for 2 s (twice the limit), then blocks
    'file.cjs': `
const fs = require('node:fs');
const fd = fs.openSync(process.argv[process.argv.indexOf('--out') + 1], 'w');
const start = Date.now();
const timer = setInterval(() => {
  fs.writeSync(fd, 'x\\n');
  if (Date.now() - start > 2000) { clearInterval(timer); ${block} }
}, 200);
`,
    // bumps the heartbeat from a blocked main thread for 2 s, then exits
    'beat.cjs': `
const start = Date.now();
while (Date.now() - start < 2000) { globalThis.wlhCrashProgress(); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100); }
`,
  });
  const r = run(dir, 'file.cjs', { args: ['--out', 'progress.jsonl'], env: { WLH_WATCHDOG_SECONDS: '1', WLH_END_RECORD: 'end.jsonl' } });
  assert.equal(r.signal, 'SIGALRM', r.stderr);
  assert.ok(r.seconds >= 2.5, `ended after ${r.seconds} s: too early, progress was ignored`);
  const [c] = crashes(r.events);
  assert.equal(c.how, 'no_answer');
  assert.equal(c.progress_file, 'progress.jsonl');
  assert.ok(c.progress_bytes >= 2 * 10, JSON.stringify(c));
  assert.equal(r.events[0].progress_file, 'progress.jsonl');

  const b = run(dir, 'beat.cjs', { env: { WLH_WATCHDOG_SECONDS: '1', WLH_END_RECORD: 'beat.jsonl' } });
  assert.equal(b.status, 0, b.stderr);
});

test('if SIGALRM is handled, the watchdog falls back to SIGKILL', () => {
  const dir = workdir({ 'main.cjs': "process.on('SIGALRM', () => {}); setInterval(() => {}, 1000);" });
  const r = run(dir, 'main.cjs', { env: { WLH_WATCHDOG_SECONDS: '0.5', WLH_END_RECORD: 'end.jsonl' } });
  assert.equal(r.error, undefined, 'the run was ended by the test timeout, not the watchdog');
  assert.equal(r.signal, 'SIGKILL');
  assert.deepEqual(r.events.slice(-2).map((e) => [e.event, e.how ?? e.signal]), [['crash', 'no_answer'], ['watchdog_kill', 'SIGKILL']]);
});

test('a run that ends normally is not touched by the watchdog', () => {
  const dir = workdir({ 'main.cjs': 'setTimeout(() => {}, 300);' });
  const r = run(dir, 'main.cjs', { env: { WLH_WATCHDOG_SECONDS: '1', WLH_END_RECORD: 'end.jsonl' } });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.seconds < 5, `took ${r.seconds} s: the watchdog thread kept the process alive`);
  assert.deepEqual(crashes(r.events), []);
  assert.deepEqual([r.events.at(-1).event, r.events.at(-1).code], ['exit', 0]);
});
