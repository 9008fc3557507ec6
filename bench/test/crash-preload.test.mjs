// bench/crash/preload.cjs: the memory cap, the end record of each way a run can end, and that the
// preload changes nothing when it is not configured. Each test runs a small node program.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { workdir, run } from './crash-fixtures.mjs';

const PAGE = 65536;
const crashes = (events) => events.filter((e) => e.event === 'crash');

// Creates its memory the way o1js's glue does, instantiates the ceiling module with it, grows 10 pages
// twice: 12 pages, then 22.
const glueLike = `
const fs = require('node:fs');
const memory = new WebAssembly.Memory({ initial: 2, maximum: 65536, shared: true });
const inst = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync('ceiling.wasm')), { env: { memory } });
inst.exports.grow_or_abort(10);
inst.exports.grow_or_abort(10);
process.stdout.write(JSON.stringify({ pages: memory.buffer.byteLength / ${PAGE} }) + '\\n');
`;

test('the cap lowers the maximum; growing past it traps as in o1js; the crash is recorded', () => {
  const dir = workdir({ 'main.cjs': glueLike });
  const r = run(dir, 'main.cjs', { env: { WLH_MEMORY_CAP_MIB: '1', WLH_END_RECORD: 'end.jsonl' } });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /RuntimeError: unreachable/); // Node still reports the error as usual
  const [pre, cap, crash, exit, ...rest] = r.events;
  assert.deepEqual(rest, []);
  assert.equal(pre.event, 'preload');
  assert.equal(pre.cap_pages, 16);
  assert.equal(pre.cap_bytes, 16 * PAGE);
  assert.equal(cap.event, 'memory_cap');
  assert.deepEqual([cap.index, cap.initial_pages, cap.requested_maximum_pages, cap.maximum_pages, cap.applied], [0, 2, 65536, 16, true]);
  assert.match(cap.created_at, /main\.cjs:3:/);
  assert.equal(crash.how, 'exception');
  assert.equal(crash.error_name, 'RuntimeError');
  assert.equal(crash.message, 'unreachable');
  assert.equal(crash.wasm_memory_bytes, 12 * PAGE); // the first grow happened, the second did not
  assert.match(crash.stack, /grow_or_abort/);
  assert.deepEqual([exit.event, exit.code, exit.crashes, exit.wasm_memory_bytes], ['exit', 1, 1, 12 * PAGE]);
  for (const e of r.events) assert.ok(e.t >= 0 && e.pid > 0 && e.thread === 0, JSON.stringify(e));
  assert.ok(!JSON.stringify(r.events).includes(dir), 'the record holds no path of this machine');
});

test('a cap above what the program needs changes nothing but the maximum', () => {
  const dir = workdir({ 'main.cjs': glueLike });
  const r = run(dir, 'main.cjs', { env: { WLH_MEMORY_CAP_MIB: '2', WLH_END_RECORD: 'end.jsonl' } });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { pages: 22 });
  assert.equal(r.events.find((e) => e.event === 'memory_cap').maximum_pages, 32);
  assert.deepEqual(crashes(r.events), []);
  assert.deepEqual(r.events.at(-1).code, 0);
});

test('without configuration the preload changes nothing', () => {
  const probe = `
const wt = require('node:worker_threads');
const m = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
m.grow(40);
process.stdout.write(JSON.stringify({
  pages: m.buffer.byteLength / ${PAGE},
  memoryIsNative: Object.getOwnPropertyDescriptor(WebAssembly, 'Memory').value === WebAssembly.Memory && !require('node:util').types.isProxy(WebAssembly.Memory),
  worker: wt.Worker.name, progress: typeof globalThis.wlhCrashProgress,
  exitListeners: process.listenerCount('exit'), monitors: process.listenerCount('uncaughtExceptionMonitor'),
  t0: process.env.WLH_CRASH_T0 ?? null,
}) + '\\n');
`;
  const dir = workdir({ 'main.cjs': glueLike, 'probe.cjs': probe });
  const bare = run(dir, 'probe.cjs', { withPreload: false });
  const loaded = run(dir, 'probe.cjs');
  assert.equal(loaded.status, 0, loaded.stderr);
  assert.deepEqual(JSON.parse(loaded.stdout), JSON.parse(bare.stdout));
  assert.deepEqual(JSON.parse(loaded.stdout), { pages: 41, memoryIsNative: true, worker: 'Worker', progress: 'undefined', exitListeners: 0, monitors: 0, t0: null });
  assert.equal(loaded.stderr, '');
  assert.equal(loaded.events, null); // no record file
  const grown = run(dir, 'main.cjs'); // the ceiling program grows to 22 pages unhindered
  assert.equal(grown.status, 0, grown.stderr);
  assert.deepEqual(JSON.parse(grown.stdout), { pages: 22 });
});

test('a worker error is recorded once, by the worker, before the main thread dies of it', () => {
  const dir = workdir({
    'main.cjs': `
const { Worker } = require('node:worker_threads');
const memory = new WebAssembly.Memory({ initial: 2, maximum: 65536, shared: true });
new Worker('./worker.cjs', { workerData: { memory } });
setTimeout(() => {}, 20000);
`,
    'worker.cjs': `
const fs = require('node:fs');
const { workerData } = require('node:worker_threads');
const inst = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync('ceiling.wasm')), { env: { memory: workerData.memory } });
inst.exports.grow_or_abort(10);
inst.exports.grow_or_abort(10);
`,
  });
  const r = run(dir, 'main.cjs', { env: { WLH_MEMORY_CAP_MIB: '1', WLH_END_RECORD: 'end.jsonl' } });
  assert.equal(r.status, 1, r.stderr);
  const c = crashes(r.events);
  assert.deepEqual(c.map((e) => [e.how, e.recorded_by ?? null, e.message]),
    [['worker_error', 'worker', 'unreachable'], ['exception', null, 'unreachable']]);
  assert.ok(c[0].thread > 0 && c[0].worker_thread === c[0].thread);
  assert.equal(c[0].wasm_memory_bytes, 12 * PAGE);
  assert.equal(r.events.at(-1).event, 'exit');
});

test('a worker that exits with a non-zero code is a crash; one ended with terminate() is not', () => {
  const dir = workdir({
    'main.cjs': `
const { Worker } = require('node:worker_threads');
const quitter = new Worker('process.exit(7)', { eval: true });
const sleeper = new Worker('setTimeout(() => {}, 20000)', { eval: true });
let exits = 0;
const done = () => { if (++exits === 2) setTimeout(() => process.exit(0), 50); };
quitter.on('exit', done);
sleeper.on('exit', done);
sleeper.on('online', () => setTimeout(() => sleeper.terminate(), 100));
`,
  });
  const r = run(dir, 'main.cjs', { env: { WLH_END_RECORD: 'end.jsonl' } });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(crashes(r.events).map((e) => [e.how, e.recorded_by, e.exit_code, e.message]),
    [['worker_error', 'main', 7, 'worker exited with code 7']]);
  assert.ok(crashes(r.events)[0].worker_thread >= 1);
  assert.deepEqual([r.events.at(-1).event, r.events.at(-1).code, r.events.at(-1).crashes], ['exit', 0, 1]);
});

test('exits without an exception are recorded with their status', () => {
  for (const [script, text, status] of [['quit.cjs', 'process.exit(3)', 3], ['never.mjs', 'await new Promise(() => {});', 13]]) {
    const dir = workdir({ [script]: text });
    const r = run(dir, script, { env: { WLH_END_RECORD: 'end.jsonl' } });
    assert.equal(r.status, status, r.stderr);
    assert.deepEqual(crashes(r.events).map((e) => [e.how, e.exit_code]), [['exit', status]], script);
    assert.deepEqual([r.events.at(-1).event, r.events.at(-1).code], ['exit', status]);
  }
});

test('a bad setting stops the run with status 2 and one line', () => {
  const dir = workdir({ 'main.cjs': glueLike });
  for (const env of [{ WLH_MEMORY_CAP_MIB: 'lots' }, { WLH_MEMORY_CAP_MIB: '8192' }, { WLH_WATCHDOG_SECONDS: '-1' }, { WLH_WATCHDOG_AFTER_CRASH_SECONDS: '5' }]) {
    const r = run(dir, 'main.cjs', { env });
    assert.equal(r.status, 2, JSON.stringify(env));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(Object.keys(env)[0]));
  }
  const below = run(dir, 'main.cjs', { env: { WLH_MEMORY_CAP_MIB: '0.0625', WLH_END_RECORD: 'end.jsonl' } });
  assert.equal(below.status, 1);
  assert.match(crashes(below.events)[0].message, /below this memory's initial size \(1 < 2 pages\)/);
});
