// The what-if preload and the free-wrapped-polycomm mitigation on a fake wasm-bindgen glue: wrappers that
// o1js's wrap() marks are freed once collected, real wasm-bindgen wrappers and unmarked ones are not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const preload = path.join(here, '..', 'mitigations', 'preload.cjs');
const mitigation = path.join(here, '..', 'mitigations', 'free-wrapped-polycomm.cjs');

// A glue with the shape the mitigation relies on: classes on module.exports, free exports on __wasm.
const glue = `
const freed = [];
const wasm = { __wbg_wasmfppolycomm_free: (p) => freed.push(['fp', p]), __wbg_wasmfqpolycomm_free: (p) => freed.push(['fq', p]) };
class WasmFpPolyComm {}
class WasmFqPolyComm {}
module.exports = { WasmFpPolyComm, WasmFqPolyComm, __wasm: wasm, freed };
`;
// What o1js does (conversion-core.js): wrap() = Object.create + __wbg_ptr + the marker, then drops it.
const main = `
const g = require('./kimchi_wasm.cjs');
function wrap(ptr, C, mark) { const o = Object.create(C.prototype); o.__wbg_ptr = ptr; if (mark) o.__o1js_wrapped_ptr = true; return o; }
(function () { for (let i = 1; i <= 5; i++) wrap(8 * i, g.WasmFpPolyComm, true); wrap(800, g.WasmFqPolyComm, true); })();
const kept = wrap(900, g.WasmFpPolyComm, true);   // still referenced: must not be freed
wrap(1000, g.WasmFpPolyComm, false);              // not marked (a wasm-bindgen wrapper): left to wasm-bindgen
(async () => {
  for (let i = 0; i < 4; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 0)); }
  console.log(JSON.stringify({ freed: g.freed.sort((a, b) => a[1] - b[1]), kept: kept.__wbg_ptr }));
})();
`;

function run(env) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wlh-mitigation-'));
  fs.writeFileSync(path.join(dir, 'kimchi_wasm.cjs'), glue);
  fs.writeFileSync(path.join(dir, 'main.cjs'), main);
  const report = path.join(dir, 'report.json');
  const p = spawnSync(process.execPath, ['--expose-gc', '--require', preload, 'main.cjs'],
    { cwd: dir, env: { ...process.env, ...env(report) }, encoding: 'utf8' });
  assert.equal(p.status, 0, p.stderr);
  return { out: JSON.parse(p.stdout.trim().split('\n').pop()), report: fs.existsSync(report) ? JSON.parse(fs.readFileSync(report, 'utf8')) : null, stderr: p.stderr };
}

test('marked wrappers are freed after GC, through the right free export, once each', () => {
  const { out, report, stderr } = run((r) => ({ WLH_MITIGATION: mitigation, WLH_MITIGATION_REPORT: r }));
  assert.deepEqual(out.freed, [['fp', 8], ['fp', 16], ['fp', 24], ['fp', 32], ['fp', 40], ['fq', 800]]);
  assert.equal(out.kept, 900);
  assert.deepEqual(report.applied.types, ['WasmFpPolyComm', 'WasmFqPolyComm']);
  assert.deepEqual(report.stats, { registered: 7, freed: 6 });
  assert.match(stderr, /\[mitigation free-wrapped-polycomm\] applied to \.\/kimchi_wasm\.cjs/);
});

test('without WLH_MITIGATION the preload does nothing', () => {
  const { out, report } = run(() => ({ WLH_MITIGATION: '' }));
  assert.deepEqual(out.freed, []);
  assert.equal(report, null);
});

// keep-one-pool on a fake glue shaped like plonk_wasm.cjs and an o1js backend shaped like 2.10.0's
// node-backend.js: a workers-ready promise that startWorkers() resolves, init and exit around every call.
const poolGlue = `
const calls = [];
module.exports = {
  calls,
  initThreadPool(n, src) { calls.push('init ' + n); return Promise.resolve(globalThis.startWorkers(src, 'memory', { numThreads: () => n, receiver: () => 1, build() { calls.push('build'); } })); },
  exitThreadPool() { calls.push('exit'); return Promise.resolve(); },
};
`;
const poolMain = `
const g = require('./plonk_wasm.cjs');
let ready, resolveReady, started = 0;
globalThis.startWorkers = async (src, memory, builder) => { started += builder.numThreads(); builder.build(); resolveReady(); };
async function withPool(run) {
  ready = new Promise((r) => (resolveReady = r));
  await g.initThreadPool(4, 'worker.js');
  await ready;
  try { return await run(); } finally { await g.exitThreadPool(); }
}
(async () => {
  for (let i = 0; i < 3; i++) await withPool(async () => i);
  console.log(JSON.stringify({ calls: g.calls, started }));
})();
`;

test('keep-one-pool: the first call builds the pool, later calls reuse it and never tear it down', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wlh-mitigation-'));
  fs.writeFileSync(path.join(dir, 'plonk_wasm.cjs'), poolGlue);
  fs.writeFileSync(path.join(dir, 'main.cjs'), poolMain);
  const report = path.join(dir, 'report.json');
  const p = spawnSync(process.execPath, ['--require', preload, 'main.cjs'], {
    cwd: dir, encoding: 'utf8',
    env: { ...process.env, WLH_MITIGATION: path.join(here, '..', 'mitigations', 'keep-one-pool.cjs'), WLH_MITIGATION_REPORT: report },
  });
  assert.equal(p.status, 0, p.stderr);
  const out = JSON.parse(p.stdout.trim().split('\n').pop());
  assert.deepEqual(out.calls, ['init 4', 'build']);
  assert.equal(out.started, 4);
  assert.deepEqual(JSON.parse(fs.readFileSync(report, 'utf8')).stats,
    { init_calls: 3, pools_built: 1, pools_reused: 2, exits_skipped: 3 });
  fs.rmSync(dir, { recursive: true, force: true });
});
