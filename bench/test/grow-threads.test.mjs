// Grows on several real worker threads: every grow is logged once, as a whole line, with the id of the
// thread that grew, and the sizes add up to the memory's growth.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { instrument } from '../instrument/instrument-wasm.mjs';
import { buildModule, GROW_FN } from './wasm-fixtures.mjs';

const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wlh-grow-threads-')), 'trace.log');
process.env.WLH_TRACE_LOG = logFile;
process.env.WLH_TABLE_LOG2 = '12';
const require = createRequire(import.meta.url);
require('../tracer/wlh-tracer.cjs'); // patches worker_threads.Worker so workers get the shared state
const wt = require('node:worker_threads');

const THREADS = 4;
const PER_THREAD = 12;
const SIZE = 40000; // not a page multiple: some blocks need a grow, some fit in the last one's slack
const PAGE = 65536;

test(`${THREADS} worker threads growing memory: one whole GROW line per grow, right thread ids, exact sizes`, async () => {
  const { bytes } = instrument(buildModule('rust'));
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 1000, shared: true });
  const workerFile = new URL('./tracer-threads.worker.cjs', import.meta.url);
  const seen = await Promise.all(Array.from({ length: THREADS }, () => new Promise((resolve, reject) => {
    const w = new wt.Worker(workerFile, { workerData: { memory, bytes, mode: 'grow', count: PER_THREAD, size: SIZE, initialPages: 2 } });
    let msg = null;
    w.on('message', (m) => (msg = m));
    w.on('error', reject);
    w.on('exit', (code) => (code === 0 ? resolve(msg) : reject(new Error(`worker exit ${code}`))));
  })));
  const text = fs.readFileSync(logFile, 'utf8');
  assert.ok(text.endsWith('\n'));
  const events = text.split('\n').slice(0, -1).map((l, i) => {
    assert.ok(l.startsWith('@'), `line ${i + 1} starts with @`);
    return JSON.parse(l.slice(1)); // throws on a torn or interleaved line
  });
  const g = events.filter((e) => e.ev === 'GROW');
  // what each worker computed from where its blocks landed == what the log says it grew
  const tids = seen.map((s) => s.tid);
  assert.deepEqual([...tids].sort(), [...Array(THREADS).keys()].map((i) => i + 1));
  for (const s of seen) {
    const mine = g.filter((e) => e.tid === s.tid).map((e) => [e.before, e.after]);
    assert.deepEqual(mine, s.grows.map((x) => [x.before, x.after]), `thread ${s.tid}`);
  }
  assert.ok(seen.filter((s) => s.grows.length > 0).length >= 2, 'grows on several threads');
  // one chain of grows from 2 pages to the final size, none lost or doubled
  const chain = [...g].sort((a, b) => a.before - b.before);
  assert.equal(chain[0].before, 2 * PAGE);
  for (let i = 1; i < chain.length; i++) assert.equal(chain[i].before, chain[i - 1].after);
  assert.equal(chain.at(-1).after, memory.buffer.byteLength);
  assert.equal(g.reduce((a, e) => a + e.bytes, 0), memory.buffer.byteLength - 2 * PAGE);
  assert.equal(memory.buffer.byteLength, Math.ceil((64 + THREADS * PER_THREAD * SIZE) / PAGE) * PAGE);
  for (const e of g) {
    assert.equal(e.outcome, 'grown');
    assert.equal(e.req_fn, '__rust_alloc');
    assert.equal(e.req_size, SIZE);
    assert.equal(e.grow_fn, GROW_FN);
    assert.equal(e.rust_fn, 'make');
  }
});
