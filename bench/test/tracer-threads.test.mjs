// Several real worker threads on one shared memory log concurrently through the tracer: ids must be
// unique and contiguous from 0, in file order, and no line torn or interleaved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { instrument } from '../instrument/instrument-wasm.mjs';
import { buildModule } from './wasm-fixtures.mjs';

const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wlh-threads-')), 'trace.log');
process.env.WLH_TRACE_LOG = logFile;
process.env.WLH_TABLE_LOG2 = '16';
const require = createRequire(import.meta.url);
require('../tracer/wlh-tracer.cjs'); // patches worker_threads.Worker so workers get the shared state
const wt = require('node:worker_threads');

const THREADS = 6;
const PER_THREAD = 2000;

test(`${THREADS} worker threads x ${PER_THREAD} objects: ids unique, contiguous, lines whole`, async () => {
  const { bytes } = instrument(buildModule('rust'));
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 1000, shared: true });
  const workerFile = new URL('./tracer-threads.worker.cjs', import.meta.url);
  await Promise.all(Array.from({ length: THREADS }, () => new Promise((resolve, reject) => {
    const w = new wt.Worker(workerFile, { workerData: { memory, bytes, count: PER_THREAD } });
    w.on('error', reject);
    w.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exit ${code}`))));
  })));
  const text = fs.readFileSync(logFile, 'utf8');
  assert.ok(text.endsWith('\n'));
  const lines = text.split('\n').slice(0, -1);
  const events = lines.map((l, i) => {
    assert.ok(l.startsWith('@'), `line ${i + 1} starts with @`);
    return JSON.parse(l.slice(1)); // throws on a torn or interleaved line
  });
  const allocs = events.filter((e) => e.ev === 'ALLOCATE');
  const drops = events.filter((e) => e.ev === 'DROP');
  assert.equal(allocs.length, THREADS * PER_THREAD);
  assert.deepEqual(allocs.map((e) => e.id), [...Array(THREADS * PER_THREAD).keys()], 'contiguous from 0, in file order');
  assert.equal(new Set(drops.map((e) => e.id)).size, drops.length);
  assert.equal(drops.length, allocs.length);
  assert.equal(new Set(allocs.map((e) => e.tid)).size, THREADS, 'every thread logged');
  const sites = events.filter((e) => e.ev === 'SITE').map((e) => e.site);
  assert.deepEqual(sites, [...sites.keys()], 'site numbers contiguous too');
});
