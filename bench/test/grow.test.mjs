// memory.grow hooks on small wasm modules the test builds: every grow site found and named, one GROW line
// per grow with exact sizes, the request and export being served, and failed grows logged as failed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import binaryen from 'binaryen';
import { instrument, InstrumentError } from '../instrument/instrument-wasm.mjs';
import { buildModule, GROW_FN } from './wasm-fixtures.mjs';

const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wlh-grow-')), 'trace.log');
process.env.WLH_TRACE_LOG = logFile;
process.env.WLH_TABLE_LOG2 = '12';
const tracer = createRequire(import.meta.url)('../tracer/wlh-tracer.cjs');
const PAGE = 65536;

function grows() {
  return fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.startsWith('@{"ev":"GROW"')).map((l) => JSON.parse(l.slice(1)));
}
// A fresh memory per test (the fixture declares 2 initial pages): grows are then exact.
function load(style, maximum, options = {}) {
  const memory = new WebAssembly.Memory({ initial: 2, maximum, shared: true });
  const { bytes, report } = instrument(buildModule(style, options));
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory }, __wlh: tracer.wasmImports() });
  return { w: tracer.wrapExports(inst.exports), memory, report };
}

for (const style of ['rust', 'dlmalloc', 'dlmalloc-legacy']) {
  test(`${style}: every memory.grow is found, named in the report and hooked; the module validates`, () => {
    const { bytes, report } = instrument(buildModule(style));
    assert.equal(report.grow_site_count, 1);
    assert.deepEqual(report.grow_sites, [GROW_FN]);
    binaryen.setDebugInfo(true);
    const m = binaryen.readBinary(bytes);
    m.setFeatures(binaryen.Features.All);
    assert.ok(m.validate());
    assert.ok(m.getFunction(GROW_FN), 'the function that held the grow keeps its name');
    assert.ok(m.getFunction('wlh$memory_grow'));
    m.dispose();
  });
}

test('a module with allocator names but no memory.grow stops with a clear error', () => {
  assert.throws(() => instrument(buildModule('rust', { grow: false })),
    (e) => e instanceof InstrumentError && /no memory\.grow instruction found/.test(e.message));
});

test('exact GROW lines: bytes, byteLength before/after, request, export, asking function; a failed grow', () => {
  const { w, memory } = load('rust', 10);
  const n0 = grows().length;
  assert.notEqual(w.make(100000), 0); // block 64..100064: fits in the 2 initial pages
  assert.notEqual(w.make(100000), 0); // ends at 200064: +2 pages
  assert.notEqual(w.make(200000), 0); // ends at 400064: +3 pages
  assert.equal(w.make(300000), 0); // would end at 700064: 11 pages > maximum 10, grow fails
  assert.equal(memory.buffer.byteLength, 7 * PAGE);
  const g = grows().slice(n0);
  assert.deepEqual(g.map((e) => [e.bytes, e.before, e.after, e.outcome]), [
    [2 * PAGE, 2 * PAGE, 4 * PAGE, 'grown'],
    [3 * PAGE, 4 * PAGE, 7 * PAGE, 'grown'],
    [4 * PAGE, 7 * PAGE, 7 * PAGE, 'failed'],
  ]);
  assert.deepEqual(g.map((e) => e.req_size), [100000, 200000, 300000]);
  for (const e of g) {
    assert.equal(e.tid, 0);
    assert.equal(e.site, 0);
    assert.equal(e.req_fn, '__rust_alloc');
    assert.equal(e.req_align, 8);
    assert.equal(e.export, 'make');
    assert.equal(e.grow_fn, GROW_FN);
    assert.equal(e.rust_fn, 'make'); // allocator plumbing and the hooks are skipped
    assert.equal(e.stack[0], 'make');
    assert.ok(!('free_bytes' in e) && !('walk_us' in e)); // the fixture exports no memory: no heap walk
  }
});

test('the request of a realloc, and of the outer call when a hooked allocator calls another', () => {
  const { w } = load('rust', 100);
  const n0 = grows().length;
  const p = w.make(1000);
  w.grow(p, 1000, 3 * PAGE); // __rust_realloc to 3 pages: does not fit in the 2 initial pages
  const legacy = load('dlmalloc-legacy', 100).w; // its __rust_realloc frees and mallocs inside
  const q = legacy.make(1000);
  legacy.grow(q, 1000, 3 * PAGE);
  const nested = load('dlmalloc-nested', 100).w; // memalign gets its block from malloc
  nested.make_zeroed(3 * PAGE);
  const g = grows().slice(n0);
  assert.deepEqual(g.map((e) => [e.req_fn, e.req_size, e.req_align, e.export]), [
    ['__rust_realloc', 3 * PAGE, 8, 'grow'],
    ['__rust_realloc', 3 * PAGE, 8, 'grow'],
    ['memalign', 3 * PAGE, 8, 'make_zeroed'],
  ]);
  assert.ok(g.every((e) => e.outcome === 'grown' && e.bytes === 2 * PAGE && e.before === 2 * PAGE));
});

test('a grow outside any hooked allocator call has no request; the request is cleared when the call returns', () => {
  const { w } = load('rust', 100, { direct: true });
  const n0 = grows().length;
  w.direct(3 * PAGE); // block 64.., needs 4 pages: +2
  w.make(2 * PAGE); // +2
  w.direct(2 * PAGE); // +2, after a hooked call returned: no stale request
  const g = grows().slice(n0);
  assert.deepEqual(g.map((e) => [e.bytes, e.req_fn, e.req_size, e.export]), [
    [2 * PAGE, undefined, undefined, 'direct'],
    [2 * PAGE, '__rust_alloc', 2 * PAGE, 'make'],
    [2 * PAGE, undefined, undefined, 'direct'],
  ]);
});
