// Worker of tracer-threads.test.mjs: instantiate the instrumented fixture on the shared memory and
// create/drop objects as fast as possible.
const { workerData } = require('node:worker_threads');
const tracer = require('../tracer/wlh-tracer.cjs');

const inst = new WebAssembly.Instance(new WebAssembly.Module(workerData.bytes), {
  env: { memory: workerData.memory },
  __wlh: tracer.wasmImports(),
});
const w = inst.exports;
for (let i = 0; i < workerData.count; i++) {
  const block = w.make(32 + (i % 5) * 8);
  tracer.trackObject('ThreadObj', block + 8);
  w.release(block, 32 + (i % 5) * 8);
}
