// Worker of tracer-threads.test.mjs and grow-threads.test.mjs: instantiate the instrumented fixture on
// the shared memory, then
//   mode 'objects' (default): create/drop objects as fast as possible;
//   mode 'grow': allocate `count` blocks of `size` bytes and report, for each block, the byteLength
//                before the grow it needed (if any), computed from where the block landed.
const { workerData, isMainThread, parentPort } = require('node:worker_threads');

if (isMainThread) return; // `node --test bench/test/` loads every file: nothing to do outside a worker

const tracer = require('../tracer/wlh-tracer.cjs');

const inst = new WebAssembly.Instance(new WebAssembly.Module(workerData.bytes), {
  env: { memory: workerData.memory },
  __wlh: tracer.wasmImports(),
});
const w = inst.exports;
if (workerData.mode === 'grow') {
  // The fixture allocator places each block right after the previous one (under its lock) and grows
  // memory to just cover it: before block at `ptr`, memory had max(initial, ceil(ptr / 64 KiB)) pages.
  const page = 65536;
  const grows = [];
  for (let i = 0; i < workerData.count; i++) {
    const ptr = w.make(workerData.size);
    if (ptr === 0) throw new Error('fixture allocation failed');
    const before = Math.max(workerData.initialPages, Math.ceil(ptr / page)) * page;
    const after = Math.ceil((ptr + workerData.size) / page) * page;
    if (after > before) grows.push({ before, after });
  }
  parentPort.postMessage({ tid: tracer.threadId, grows });
} else {
  for (let i = 0; i < workerData.count; i++) {
    const block = w.make(32 + (i % 5) * 8);
    tracer.trackObject('ThreadObj', block + 8);
    w.release(block, 32 + (i % 5) * 8);
  }
}
