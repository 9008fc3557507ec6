// The instrumenter and the tracer on small wasm modules the test builds: exact event counts and sizes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import binaryen from 'binaryen';
import { instrument, InstrumentError } from '../instrument/instrument-wasm.mjs';
import { patchGlue } from '../instrument/make-traced-copy.mjs';
import { buildModule } from './wasm-fixtures.mjs';

const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wlh-test-')), 'trace.log');
process.env.WLH_TRACE_LOG = logFile;
process.env.WLH_TABLE_LOG2 = '12';
const tracer = createRequire(import.meta.url)('../tracer/wlh-tracer.cjs');

function events() {
  return fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.startsWith('@')).map((l) => JSON.parse(l.slice(1)));
}
function lastSnapshot() {
  return events().filter((e) => e.ev === 'SNAPSHOT').at(-1);
}
// One memory for every instance in this file: addresses never repeat, as in one real process.
const memory = new WebAssembly.Memory({ initial: 2, maximum: 1000, shared: true });
function load(style) {
  const { bytes, report } = instrument(buildModule(style));
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory }, __wlh: tracer.wasmImports() });
  return { exports: tracer.wrapExports(inst.exports), report, bytes };
}

test('rust allocator shims are found and keep names, exports and validity', () => {
  const { bytes, report } = instrument(buildModule('rust'));
  assert.equal(report.hook_set, 'rust');
  assert.deepEqual(Object.keys(report.hooks).sort(), ['alloc', 'alloc_zeroed', 'dealloc', 'realloc']);
  binaryen.setDebugInfo(true);
  const m = binaryen.readBinary(bytes);
  m.setFeatures(binaryen.Features.All); // the fixture has no target_features section
  assert.ok(m.validate());
  assert.ok(m.getFunction('__rustc[0123456789abcdef]::__rust_alloc'), 'name kept');
  assert.ok(m.getFunction('__rustc[0123456789abcdef]::__rust_alloc$wlh_orig'), 'original body kept');
  assert.equal(m.getNumExports(), 4);
  m.dispose();
});

test('exact live bytes, blocks and calls after allocs, frees and a realloc (rust hooks)', () => {
  const { exports: w } = load('rust');
  const before = (tracer.snapshot(100, 'test', 0), lastSnapshot());
  const sizes = [10, 20, 30, 40, 1000];
  const ptrs = sizes.map((s) => w.make(s));
  w.make_zeroed(16);
  w.release(ptrs[0], 10);
  w.release(ptrs[1], 20);
  const moved = w.grow(ptrs[2], 30, 300); // old 30 gone, new 300 live
  assert.notEqual(moved, ptrs[2]);
  tracer.snapshot(101, 'test', 0);
  const s = lastSnapshot();
  assert.equal(s.live_heap_bytes - before.live_heap_bytes, 40 + 1000 + 16 + 300);
  assert.equal(s.live_blocks - before.live_blocks, 4);
  assert.equal(s.alloc_calls - before.alloc_calls, 7); // 5 make + 1 zeroed + 1 realloc
  assert.equal(s.free_calls - before.free_calls, 3); // 2 release + realloc's old block
  assert.equal(s.unknown_frees, 0);
  const live = events().filter((e) => e.ev === 'SITE_LIVE' && e.iteration === 101);
  assert.equal(live.reduce((a, e) => a + e.bytes, 0), s.live_heap_bytes);
});

test('every handle that owns a block gets one ALLOCATE; the block dealloc a DROP of the same id and size', () => {
  const { exports: w } = load('rust');
  class WasmThing {
    static __wrap(ptr) {
      const o = Object.create(WasmThing.prototype);
      o.__wbg_ptr = ptr; // the glue's __wrap and o1js's own wrap() both assign this
      return o;
    }
    free() {}
  }
  assert.equal(tracer.instrumentClasses({ WasmThing, notAClass: 3 }), 1);
  const block = w.make(84); // wasm-bindgen keeps the value in a block; JS holds block + 8
  const other = w.make(40); // allocated by the same call, still live: apportioned to the handle
  const handle = WasmThing.__wrap(block + 8);
  assert.equal(handle.__wbg_ptr, block + 8);
  WasmThing.__wrap(block + 8); // a second handle on the same value: no second object
  tracer.flush(); // pending handles are written at a snapshot, at exit, or when needed first
  const alloc = events().filter((e) => e.ev === 'ALLOCATE' && e.ptr === block + 8);
  assert.equal(alloc.length, 1);
  assert.equal(alloc[0].type, 'WasmThing');
  assert.equal(alloc[0].size, 84); // own block; `other` was allocated by another outer call
  WasmThing.__wrap(other + 8);
  w.release(other, 40); // dropped before any flush: its ALLOCATE still comes first
  const ev = events();
  const a2 = ev.findIndex((e) => e.ev === 'ALLOCATE' && e.ptr === other + 8);
  const d2 = ev.findIndex((e) => e.ev === 'DROP' && e.id === ev[a2].id);
  assert.ok(a2 >= 0 && d2 > a2);
  assert.equal(ev[d2].size, 40);
  w.release(block, 84);
  const drops = events().filter((e) => e.ev === 'DROP' && e.id === alloc[0].id);
  assert.equal(drops.length, 1);
  assert.equal(drops[0].size, alloc[0].size);
  assert.equal(drops[0].type, 'WasmThing');
  assert.equal(drops[0].how, 'consumed'); // freed by an export that is not a __wbg_*_free
  WasmThing.__wrap(12345); // not the start of a block: a borrowed pointer, no object
  tracer.flush();
  assert.equal(events().filter((e) => e.ev === 'ALLOCATE' && e.ptr === 12345).length, 0);
});

test('bytes a call leaves live are apportioned to the handles it returned', () => {
  const { exports: w } = load('rust');
  class WasmVec { free() {} }
  tracer.instrumentClasses({ WasmVec });
  // One outer call that allocates two handle blocks and 100 other live bytes (simulated by
  // calling through a wrapped export that does all of it).
  const wrapped = tracer.wrapExports({
    build() {
      const a = w.make(16), b = w.make(16);
      w.make(100);
      const x = Object.create(WasmVec.prototype); x.__wbg_ptr = a + 8;
      const y = Object.create(WasmVec.prototype); y.__wbg_ptr = b + 8;
      return [a, b];
    },
  });
  const [a, b] = wrapped.build();
  tracer.flush();
  const ev = events().filter((e) => e.ev === 'ALLOCATE' && (e.ptr === a + 8 || e.ptr === b + 8));
  assert.deepEqual(ev.map((e) => e.size), [16 + 50, 16 + 50]);
});

// alloc, zeroed alloc, a realloc that moves (dlmalloc's calls malloc/free itself), free of the moved block;
// returns the snapshot before and after.
function reallocRoundTrip(w, size, iteration) {
  tracer.snapshot(iteration, 'test', 0);
  const before = lastSnapshot();
  const a = w.make(size);
  w.make_zeroed(24);
  const b = w.grow(a, size, size * 10);
  w.release(b, 0);
  tracer.snapshot(iteration + 1, 'test', 0);
  return [before, lastSnapshot()];
}

test('dlmalloc hook set: nested malloc inside realloc is not counted twice', () => {
  const { exports: w, report } = load('dlmalloc');
  assert.equal(report.hook_set, 'dlmalloc');
  const [before, s] = reallocRoundTrip(w, 50, 200);
  assert.equal(s.live_heap_bytes - before.live_heap_bytes, 24);
  assert.equal(s.alloc_calls - before.alloc_calls, 3);
  assert.equal(s.free_calls - before.free_calls, 2);
});

test('a handle wrapped calls after its value was built still gets that call\'s bytes', () => {
  const { exports: w } = load('rust');
  class WasmLater { free() {} }
  tracer.instrumentClasses({ WasmLater });
  const api = tracer.wrapExports({
    build() { const blocks = [w.make(24), w.make(24)]; w.make(200); w.make(200); return blocks; }, // 2 values + what they own
    other() { return w.make(1000); }, // unrelated work between building and wrapping
  });
  const [a, b] = api.build();
  const unrelated = api.other();
  const x = Object.create(WasmLater.prototype); x.__wbg_ptr = a + 8;
  // between the two wraps, another call builds a value that is wrapped and freed (o1js reads a vector of
  // points from each wrapped value): its handle is written alone and does not split the first group
  const point = api.other();
  const p = Object.create(WasmLater.prototype); p.__wbg_ptr = point + 8;
  w.release(point, 1000);
  const y = Object.create(WasmLater.prototype); y.__wbg_ptr = b + 8;
  tracer.flush();
  const ev = events().filter((e) => e.ev === 'ALLOCATE' && e.type === 'WasmLater');
  assert.deepEqual(ev.map((e) => e.size).sort((m, n) => m - n), [24 + 200, 24 + 200, 1000]);
  assert.ok(unrelated);
});

test('legacy dlmalloc names with `self` optimized away and realloc in __rust_realloc (o1js 2.10)', () => {
  const { exports: w, report } = load('dlmalloc-legacy');
  assert.equal(report.hook_set, 'dlmalloc');
  assert.equal(report.hooks.realloc, '__rust_realloc');
  const [before, s] = reallocRoundTrip(w, 40, 300); // its realloc frees and mallocs inside: counted once
  assert.equal(s.live_heap_bytes - before.live_heap_bytes, 24);
  assert.equal(s.alloc_calls - before.alloc_calls, 3);
  assert.equal(s.free_calls - before.free_calls, 2);
  assert.equal(s.unknown_frees, before.unknown_frees);
});

test('a block that memalign and its inner malloc both report counts once, in live bytes and in shares', () => {
  const { exports: w } = load('dlmalloc-nested');
  class WasmAligned { free() {} }
  tracer.instrumentClasses({ WasmAligned });
  const api = tracer.wrapExports({ build() { const a = w.make(16); w.make_zeroed(1000); return a; } });
  tracer.snapshot(400, 'test', 0);
  const before = lastSnapshot();
  const a = api.build();
  const x = Object.create(WasmAligned.prototype); x.__wbg_ptr = a + 8;
  tracer.flush();
  tracer.snapshot(401, 'test', 0);
  const s = lastSnapshot();
  assert.equal(s.live_heap_bytes - before.live_heap_bytes, 16 + 1000);
  assert.equal(s.stale_blocks_replaced - before.stale_blocks_replaced, 1);
  const ev = events().filter((e) => e.ev === 'ALLOCATE' && e.type === 'WasmAligned');
  assert.deepEqual(ev.map((e) => e.size), [16 + 1000]); // not 16 + 2000
});

test('a binary without allocator names stops with an error naming what is missing', () => {
  assert.throws(() => instrument(buildModule('none')), (e) => e instanceof InstrumentError && /__rust|alloc/.test(e.message) && /dlmalloc/.test(e.message));
});

test('glue patch applies exactly once or fails clearly', () => {
  const glue = "let imports = {};\nconst wasmModule = new WebAssembly.Module(bytes);\nconst wasmInstance = new WebAssembly.Instance(wasmModule, imports);\nwasm = wasmInstance.exports;\n";
  const out = patchGlue(glue, 'x.cjs');
  assert.match(out, /^const __wlh = require\('\.\/wlh-tracer\.cjs'\);/);
  assert.match(out, /__wlh\.instrumentClasses\(module\.exports\); \/\/ wasm-leak-hunt\n$/);
  assert.ok(out.indexOf('imports.__wlh') < out.indexOf('new WebAssembly.Module'));
  assert.ok(out.indexOf('__wlh.wrapExports(wasm)') > out.indexOf('wasm = wasmInstance.exports'));
  assert.throws(() => patchGlue('let imports = {};', 'y.cjs'), /y\.cjs: glue edit 'pass __wlh imports' matched 0 times/);
});
