// The guard thread: a process whose main thread is blocked for ever after a fault (as o1js's is when a rayon
// worker dies inside a proof) is ended within the grace time with exit code 86, through Node's inspector;
// the pipeline's no-progress watchdog likewise; a run that makes progress, or ends by itself, is left alone.
// spawnSync's own timeout (SIGKILL) keeps a test from hanging.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { workdir, run, fakeGlue } from './guard-fixtures.mjs';

const PAGE = 65536;
const crashes = (events) => events.filter((e) => e.event === 'crash');
const block = 'Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);'; // for ever
const REC = { WLH_GUARD_RECORD: 'end.jsonl' };

test('a worker at the cap while the main thread waits for it inside a proof: the record names the proof; exit 86 within the grace time', () => {
  const dir = workdir({
    'kimchi_wasm.cjs': fakeGlue,
    'main.cjs': `
const { Worker } = require('node:worker_threads');
const glue = require('./kimchi_wasm.cjs');
const memory = new WebAssembly.Memory({ initial: 2, maximum: 65536, shared: true });
glue.setMemory(memory);
glue.caml_pasta_fq_plonk_proof_create(1); // proof 1
glue.caml_pasta_fq_plonk_proof_create(1); // proof 2
// proof 3: the prover's worker hits the cap while the main thread waits for it, as o1js's does
glue.caml_pasta_fq_plonk_proof_create(0, () => {
  new Worker('./worker.cjs', { workerData: { memory } });
  ${block}
});
`,
    'worker.cjs': `
const fs = require('node:fs');
const { workerData } = require('node:worker_threads');
const inst = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync('ceiling.wasm')), { env: { memory: workerData.memory } });
inst.exports.grow_or_abort(10);
inst.exports.grow_or_abort(10);
`,
  });
  const r = run(dir, 'main.cjs', { env: { WLH_MEMORY_CAP_MIB: '1', WLH_GUARD_GRACE_SECONDS: '1', ...REC } });
  assert.equal(r.error, undefined, 'the run was ended by the test timeout, not the guard');
  assert.equal(r.status, 86, r.stderr);
  assert.ok(r.seconds < 8, `ended after ${r.seconds} s`);
  const c = crashes(r.events);
  assert.deepEqual(c.map((e) => [e.how, e.recorded_by, e.cause, e.fault]), [['worker_error', 'worker', 'out_of_memory', true]]);
  assert.match(c[0].stack, /grow_or_abort/);
  assert.deepEqual([c[0].wasm_memory_bytes, c[0].ceiling_bytes, c[0].proofs_done], [14 * PAGE, 16 * PAGE, 2]);
  const ended = r.events.find((e) => e.event === 'guard_exit');
  assert.deepEqual([ended.reason, ended.via, ended.exit_code], ['fault', 'inspector', 86]);
  assert.ok(ended.t - c[0].t >= 1 && ended.t - c[0].t < 4, `${ended.t - c[0].t} s between the fault and the end`);
  assert.deepEqual([r.events.at(-1).event, r.events.at(-1).code], ['exit', 86]); // 'exit' listeners ran
  const line = r.stderr.split('\n').find((l) => l.startsWith('wlh-guard: '));
  assert.match(line, /^wlh-guard: o1js ran out of WebAssembly memory in proof 3 \(caml_pasta_fq_plonk_proof_create on a rayon worker: RuntimeError: unreachable; memory 0\.9 of 1\.0 MiB\)\. o1js cannot recover from this: the guard ends the process with exit code 86\. Record: end\.jsonl\./);
});

test('without any setting a blocked process is ended too (production use), and the record is written', () => {
  const dir = workdir({
    'main.cjs': `
const { Worker } = require('node:worker_threads');
const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
new Worker('./worker.cjs', { workerData: { memory } });
${block}
`,
    'worker.cjs': "throw new RangeError('out of memory');",
  });
  const r = run(dir, 'main.cjs', { env: { WLH_GUARD_GRACE_SECONDS: '0.5' } });
  assert.equal(r.status, 86, r.stderr);
  assert.ok(r.seconds < 6, `ended after ${r.seconds} s`);
  assert.deepEqual(r.events.map((e) => e.event), ['crash', 'guard_exit', 'exit']);
  assert.deepEqual([r.events[0].cause, r.events[0].error_name], ['error', 'RangeError']);
  assert.match(r.stderr, /wlh-guard: a worker thread of o1js died in proof 1 \(on a rayon worker: RangeError: out of memory;/);
});

test('a main thread blocked for ever without a fault is ended by the no-progress watchdog, with the memory size', () => {
  const dir = workdir({
    'main.cjs': `
const memory = new WebAssembly.Memory({ initial: 3, maximum: 65536, shared: true });
${block}
`,
  });
  const r = run(dir, 'main.cjs', { env: { WLH_WATCHDOG_SECONDS: '1', ...REC } });
  assert.equal(r.error, undefined, 'the run was ended by the test timeout, not the watchdog');
  assert.equal(r.status, 86, r.stderr);
  assert.ok(r.seconds < 10, `ended after ${r.seconds} s`);
  assert.match(r.stderr, /wlh-guard: no progress for 1 s/);
  const c = crashes(r.events);
  assert.equal(c.length, 1);
  assert.equal(c[0].how, 'no_answer');
  assert.equal(c[0].wasm_memory_bytes, 3 * PAGE); // read by the guard thread, main thread blocked
  assert.ok(c[0].seconds_without_progress >= 1 && c[0].seconds_without_progress < 3, JSON.stringify(c[0]));
  assert.equal(c[0].progress_file, null);
  const cap = r.events.find((e) => e.event === 'memory_cap');
  assert.deepEqual([cap.applied, cap.maximum_pages, cap.cap_pages], [false, 65536, null]); // no cap: observed only
  assert.deepEqual(r.events.slice(-2).map((e) => e.event), ['guard_exit', 'exit']);
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
  const r = run(dir, 'file.cjs', { args: ['--out', 'progress.jsonl'], env: { WLH_WATCHDOG_SECONDS: '1', ...REC } });
  assert.equal(r.status, 86, r.stderr);
  assert.ok(r.seconds >= 2.5, `ended after ${r.seconds} s: too early, progress was ignored`);
  const [c] = crashes(r.events);
  assert.equal(c.how, 'no_answer');
  assert.equal(c.progress_file, 'progress.jsonl');
  assert.ok(c.progress_bytes >= 2 * 10, JSON.stringify(c));
  assert.equal(r.events[0].progress_file, 'progress.jsonl');

  const b = run(dir, 'beat.cjs', { env: { WLH_WATCHDOG_SECONDS: '1', WLH_GUARD_RECORD: 'beat.jsonl' } });
  assert.equal(b.status, 0, b.stderr);
});

test('if the process does not exit when asked (an exit listener that hangs), the guard falls back to SIGKILL', () => {
  const dir = workdir({ 'main.cjs': `process.on('exit', () => { ${block} }); ${block}` });
  const r = run(dir, 'main.cjs', { env: { WLH_WATCHDOG_SECONDS: '0.5', ...REC } });
  assert.equal(r.error, undefined, 'the run was ended by the test timeout, not the guard');
  assert.equal(r.signal, 'SIGKILL');
  // the exit listeners started (ours wrote 'exit'), one of them never returned
  assert.deepEqual(r.events.slice(-4).map((e) => [e.event, e.how ?? e.signal ?? e.via ?? e.code]),
    [['crash', 'no_answer'], ['guard_exit', 'inspector'], ['exit', 86], ['guard_kill', 'SIGKILL']]);
});

test('a run that ends normally is not touched by the guard thread', () => {
  const dir = workdir({ 'main.cjs': 'setTimeout(() => {}, 300);' });
  const r = run(dir, 'main.cjs', { env: { WLH_WATCHDOG_SECONDS: '1', ...REC } });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.seconds < 5, `took ${r.seconds} s: the guard thread kept the process alive`);
  assert.deepEqual(crashes(r.events), []);
  assert.deepEqual([r.events.at(-1).event, r.events.at(-1).code], ['exit', 0]);
});
