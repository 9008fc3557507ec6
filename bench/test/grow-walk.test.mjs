// Heap walks on a synthetic dlmalloc heap (chunk headers written by the test): fragmentation figures in
// SNAPSHOT lines, and the free space a GROW line reports from a walk just before the grow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { instrument } from '../instrument/instrument-wasm.mjs';
import { buildModule } from './wasm-fixtures.mjs';

const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wlh-grow-walk-')), 'trace.log');
process.env.WLH_TRACE_LOG = logFile;
process.env.WLH_TABLE_LOG2 = '12';
const tracer = createRequire(import.meta.url)('../tracer/wlh-tracer.cjs');
const PAGE = 65536;
const FOOT = 40; // dlmalloc's top foot on wasm32: a header without flags after the top chunk

function events(ev) {
  return fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.startsWith(`@{"ev":"${ev}"`)).map((l) => JSON.parse(l.slice(1)));
}
// Write chunk headers (at chunk + 4: size | PINUSE 1 | CINUSE 2) from `base`; a final free chunk of
// `top` bytes (0: none) is followed by the top foot, ending exactly at `end`.
function layHeap(buffer, base, end, chunks, top = true) {
  const u32 = new Uint32Array(buffer);
  let p = base;
  for (const [size, free] of chunks) {
    u32[(p + 4) >>> 2] = size | (free ? 1 : 3);
    p += size;
  }
  if (top) {
    const size = end - FOOT - p;
    u32[(p + 4) >>> 2] = size | 1;
    p += size;
    u32[(p + 4) >>> 2] = FOOT;
    p += FOOT;
  }
  assert.equal(p, end, 'synthetic heap fills the memory');
}
const CHUNKS = [[32, false], [48, true], [64, false], [1000, true], [4096, false], [200, true], [16, true], [24, false]];

test('walkChunks: free chunks by power-of-two class, top chunk apart from the free space below it', () => {
  const buffer = new SharedArrayBuffer(3 * PAGE);
  const base = PAGE;
  layHeap(buffer, base, 3 * PAGE, CHUNKS);
  const top = 3 * PAGE - FOOT - (base + CHUNKS.reduce((a, [s]) => a + s, 0));
  const w = tracer.walkChunks(buffer, base);
  assert.equal(w.free_chunks, 5);
  assert.equal(w.free_bytes, 48 + 1000 + 200 + 16 + top);
  assert.equal(w.largest_free, top);
  assert.equal(w.top_free_bytes, top);
  assert.equal(w.free_below_top_bytes, 48 + 1000 + 200 + 16);
  assert.equal(w.largest_free_below_top, 1000);
  assert.equal(w.inuse_bytes, 32 + 64 + 4096 + 24 + FOOT);
  assert.equal(w.unparsed_bytes, 0);
  const k = 31 - Math.clz32(top);
  assert.deepEqual(w.free_classes, [
    { log2: 4, chunks: 1, bytes: 16 }, { log2: 5, chunks: 1, bytes: 48 }, { log2: 7, chunks: 1, bytes: 200 },
    { log2: 9, chunks: 1, bytes: 1000 }, { log2: k, chunks: 1, bytes: top },
  ].sort((a, b) => a.log2 - b.log2));
});

test('walkChunks: no top chunk when the heap ends in use (top exhausted)', () => {
  const buffer = new SharedArrayBuffer(2 * PAGE);
  const rest = PAGE - CHUNKS.reduce((a, [s]) => a + s, 0);
  layHeap(buffer, PAGE, 2 * PAGE, [...CHUNKS, [rest, false]], false);
  const w = tracer.walkChunks(buffer, PAGE);
  assert.equal(w.top_free_bytes, 0);
  assert.equal(w.free_below_top_bytes, w.free_bytes);
  assert.equal(w.largest_free_below_top, 1000);
});

test('SNAPSHOT heap_walk and GROW free space come from the heap as it was just before the grow', () => {
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 100, shared: true });
  tracer.wrapExports({ memory }); // as the glue does at instantiation: the heap starts here (2 pages)
  memory.grow(2); // the "allocator" got 2 pages and laid out chunks there
  layHeap(memory.buffer, 2 * PAGE, 4 * PAGE, CHUNKS);
  const top = 4 * PAGE - FOOT - (2 * PAGE + CHUNKS.reduce((a, [s]) => a + s, 0));
  tracer.snapshot(1, 'test', memory.buffer.byteLength);
  const s = events('SNAPSHOT').at(-1);
  assert.equal(s.heap_walk.top_free_bytes, top);
  assert.equal(s.heap_walk.free_classes.reduce((a, c) => a + c.bytes, 0), s.heap_walk.free_bytes);
  assert.equal(s.heap_walk.free_classes.reduce((a, c) => a + c.chunks, 0), s.heap_walk.free_chunks);
  // The fixture's bump allocator lives below the heap (its state at address 0); move its next block to
  // the end of memory so that the next allocation must grow.
  new Int32Array(memory.buffer)[0] = 4 * PAGE - 64;
  const { bytes } = instrument(buildModule('rust'));
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory }, __wlh: tracer.wasmImports() });
  const w = tracer.wrapExports(inst.exports);
  assert.equal(w.make(1000), 4 * PAGE);
  const g = events('GROW').at(-1);
  assert.deepEqual([g.bytes, g.before, g.after, g.outcome], [PAGE, 4 * PAGE, 5 * PAGE, 'grown']);
  assert.equal(g.free_bytes, s.heap_walk.free_bytes);
  assert.equal(g.free_chunks, 5);
  assert.equal(g.largest_free, top);
  assert.equal(g.top_free_bytes, top);
  assert.equal(g.unparsed_bytes, 0);
  assert.ok(Number.isInteger(g.walk_us) && g.walk_us >= 0);
});
