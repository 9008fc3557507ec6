// bench/guard/guard.cjs: the memory cap, the record of each way a run can end, the fault that ends a run with
// the guard's exit code, and that a guarded program that does not fault runs as before. Each test runs a small
// node program.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { workdir, run, fakeGlue } from './guard-fixtures.mjs';

const PAGE = 65536;
const crashes = (events) => events.filter((e) => e.event === 'crash');
const REC = { WLH_GUARD_RECORD: 'end.jsonl' };

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

test('the cap lowers the maximum; a trap on the main thread at it is a fault: one line, exit code 86', () => {
  const dir = workdir({ 'main.cjs': glueLike });
  const r = run(dir, 'main.cjs', { env: { WLH_MEMORY_CAP_MIB: '1', ...REC } });
  assert.equal(r.status, 86, r.stderr);
  assert.match(r.stderr, /RuntimeError: unreachable/); // the error itself is still shown
  const line = r.stderr.trim().split('\n').filter((l) => l.startsWith('wlh-guard: '));
  assert.equal(line.length, 1, r.stderr);
  assert.match(line[0], /^wlh-guard: o1js ran out of WebAssembly memory in proof 1 \(on the main thread: RuntimeError: unreachable; memory 0\.8 of 1\.0 MiB\)\. .* exit code 86\. Record: end\.jsonl\./);
  const [pre, cap, crash, exit, done, ...rest] = r.events;
  assert.deepEqual(rest, []);
  assert.deepEqual([pre.event, pre.cap_pages, pre.cap_bytes, pre.exit_code], ['guard', 16, 16 * PAGE, 86]);
  assert.equal(cap.event, 'memory_cap');
  assert.deepEqual([cap.index, cap.initial_pages, cap.requested_maximum_pages, cap.maximum_pages, cap.applied], [0, 2, 65536, 16, true]);
  assert.match(cap.created_at, /main\.cjs:3:/);
  assert.deepEqual([crash.how, crash.error_name, crash.message, crash.cause, crash.fault, crash.proof, crash.ceiling_bytes],
    ['exception', 'RuntimeError', 'unreachable', 'out_of_memory', true, 1, 16 * PAGE]);
  assert.equal(crash.wasm_memory_bytes, 12 * PAGE); // the first grow happened, the second did not
  assert.match(crash.stack, /grow_or_abort/);
  assert.deepEqual([exit.event, exit.via, exit.exit_code], ['guard_exit', 'main', 86]);
  assert.deepEqual([done.event, done.code, done.crashes, done.wasm_memory_bytes], ['exit', 86, 1, 12 * PAGE]);
  for (const e of r.events) assert.ok(e.t >= 0 && e.pid > 0 && e.thread === 0, JSON.stringify(e));
  assert.ok(!JSON.stringify(r.events).includes(dir), 'the record holds no path of this machine');
});

test('a cap above what the program needs changes nothing but the maximum', () => {
  const dir = workdir({ 'main.cjs': glueLike });
  const r = run(dir, 'main.cjs', { env: { WLH_MEMORY_CAP_MIB: '2', ...REC } });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { pages: 22 });
  assert.equal(r.events.find((e) => e.event === 'memory_cap').maximum_pages, 32);
  assert.deepEqual(crashes(r.events), []);
  assert.deepEqual(r.events.at(-1).code, 0);
});

test('WLH_GUARD=0 changes nothing; loaded without settings, a program that does not fault runs as before', () => {
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
  const bare = run(dir, 'probe.cjs', { withGuard: false });
  const off = run(dir, 'probe.cjs', { env: { WLH_GUARD: '0' } });
  assert.equal(off.status, 0, off.stderr);
  assert.deepEqual(JSON.parse(off.stdout), JSON.parse(bare.stdout));
  assert.deepEqual(JSON.parse(off.stdout), { pages: 41, memoryIsNative: true, worker: 'Worker', progress: 'undefined', exitListeners: 0, monitors: 0, t0: null });
  assert.equal(off.stderr, '');
  const on = run(dir, 'main.cjs'); // the ceiling program grows to 22 pages unhindered, and says nothing
  assert.equal(on.status, 0, on.stderr);
  assert.deepEqual(JSON.parse(on.stdout), { pages: 22 });
  assert.equal(on.stderr, '');
  assert.equal(on.events, null); // nothing to say: no record file
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('wlh-guard-')), []);
});

test('a rayon-like worker that dies is recorded once, by itself; the main thread then ends with code 86', () => {
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
  const r = run(dir, 'main.cjs', { env: { WLH_MEMORY_CAP_MIB: '1', ...REC } });
  assert.equal(r.status, 86, r.stderr);
  const c = crashes(r.events);
  assert.deepEqual(c.map((e) => [e.how, e.recorded_by ?? null, e.message, e.fault]),
    [['worker_error', 'worker', 'unreachable', true], ['exception', null, 'unreachable', true]]);
  assert.ok(c[0].thread > 0 && c[0].worker_thread === c[0].thread);
  assert.deepEqual([c[0].wasm_memory_bytes, c[0].ceiling_bytes, c[0].cause], [12 * PAGE, 16 * PAGE, 'out_of_memory']);
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
  const r = run(dir, 'main.cjs', { env: REC });
  assert.equal(r.status, 0, r.stderr);
  // not a prover worker (no shared memory): recorded, not a fault
  assert.deepEqual(crashes(r.events).map((e) => [e.how, e.recorded_by, e.exit_code, e.message, e.fault]),
    [['worker_error', 'main', 7, 'worker exited with code 7', false]]);
  assert.ok(crashes(r.events)[0].worker_thread >= 1);
  assert.deepEqual([r.events.at(-1).event, r.events.at(-1).code, r.events.at(-1).crashes], ['exit', 0, 1]);
});

test('exits without an exception are recorded with their status; other exceptions keep Node\'s status 1', () => {
  for (const [script, text, status] of [['quit.cjs', 'process.exit(3)', 3], ['never.mjs', 'await new Promise(() => {});', 13]]) {
    const dir = workdir({ [script]: text });
    const r = run(dir, script, { env: REC });
    assert.equal(r.status, status, r.stderr);
    assert.deepEqual(crashes(r.events).map((e) => [e.how, e.exit_code]), [['exit', status]], script);
    assert.deepEqual([r.events.at(-1).event, r.events.at(-1).code], ['exit', status]);
  }
  const dir = workdir({ 'bug.cjs': "throw new TypeError('a bug of the program');" });
  const r = run(dir, 'bug.cjs', { env: REC });
  assert.equal(r.status, 1, r.stderr);
  assert.deepEqual(crashes(r.events).map((e) => [e.how, e.fault]), [['exception', false]]);
  assert.doesNotMatch(r.stderr, /wlh-guard:/);
});

test('the guard counts proofs through the glue\'s prover exports and warns once near the ceiling', () => {
  const dir = workdir({
    'kimchi_wasm.cjs': fakeGlue,
    'main.cjs': `
const glue = require('./kimchi_wasm.cjs');
const memory = new WebAssembly.Memory({ initial: 2, maximum: 40, shared: true });
glue.setMemory(memory);
let k = 0;
const timer = setInterval(() => {
  glue.caml_pasta_fp_plonk_proof_create();
  glue.caml_pasta_fq_plonk_proof_create(2);  // +2 pages per proof: 40 pages reached after proof 19
  if (++k === 17) { clearInterval(timer); setTimeout(() => {}, 1500); }
}, 60);
`,
  });
  const r = run(dir, 'main.cjs');
  assert.equal(r.status, 0, r.stderr);
  const warn = r.stderr.trim().split('\n');
  assert.equal(warn.length, 1, r.stderr);
  assert.match(warn[0], /^wlh-guard: WebAssembly memory at 9\d % of its ceiling \(\d\.\d of 2\.5 MiB\) after proof \d+; byteLength grew 0\.1 MiB per proof over the last \d+ proofs: about \d+ more proofs at that pace\./);
  const [w, exit] = r.events; // written only because there was something to say
  assert.equal(w.event, 'near_ceiling');
  assert.equal(w.per_proof_bytes, 2 * PAGE);
  assert.equal(w.proofs_left, Math.floor((40 * PAGE - w.wasm_memory_bytes) / (2 * PAGE)));
  assert.ok(w.share >= 0.9 && w.share < 1);
  assert.deepEqual([exit.event, exit.code, exit.proofs], ['exit', 0, 17]);
});

test('a bad setting stops the run with status 2 and one line', () => {
  const dir = workdir({ 'main.cjs': glueLike });
  for (const env of [{ WLH_MEMORY_CAP_MIB: 'lots' }, { WLH_MEMORY_CAP_MIB: '8192' }, { WLH_WATCHDOG_SECONDS: '-1' },
    { WLH_GUARD_EXIT_CODE: '300' }, { WLH_GUARD_WARN_AT: '1.5' }, { WLH_GUARD_GRACE_SECONDS: 'soon' }]) {
    const r = run(dir, 'main.cjs', { env });
    assert.equal(r.status, 2, JSON.stringify(env));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(Object.keys(env)[0]));
  }
  const below = run(dir, 'main.cjs', { env: { WLH_MEMORY_CAP_MIB: '0.0625', ...REC } });
  assert.equal(below.status, 1);
  assert.match(crashes(below.events)[0].message, /below this memory's initial size \(1 < 2 pages\)/);
});
