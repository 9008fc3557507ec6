// Applies one "what if" mitigation to o1js at run time, from outside o1js: load with
//   node --require bench/mitigations/preload.cjs ...   and   WLH_MITIGATION=<mitigation file>
// It waits for the wasm-bindgen glue (kimchi_wasm.cjs, or plonk_wasm.cjs before 2.15) to be required,
// hands its exports to the mitigation's apply(), and at exit writes what the mitigation did to
// WLH_MITIGATION_REPORT (JSON), so the pipeline can check that it actually ran.
'use strict';
const fs = require('node:fs');
const Module = require('node:module');
const { isMainThread } = require('node:worker_threads');

const file = process.env.WLH_MITIGATION;
// o1js wraps Rust values on the main thread; worker threads only run rayon jobs.
if (file && isMainThread) {
  const mitigation = require(require('node:path').resolve(file));
  const state = { mitigation: mitigation.name, glue: null, applied: null };
  const load = Module._load;
  Module._load = function (request, parent, isMain) {
    const exports = load.apply(this, arguments);
    if (state.glue === null && /(kimchi_wasm|plonk_wasm)(\.cjs)?$/.test(request)) {
      state.glue = request;
      state.applied = mitigation.apply(exports);
      process.stderr.write(`[mitigation ${mitigation.name}] applied to ${request}: ${JSON.stringify(state.applied)}\n`);
    }
    return exports;
  };
  process.on('exit', () => {
    const out = process.env.WLH_MITIGATION_REPORT;
    const stats = typeof mitigation.stats === 'function' ? mitigation.stats() : {};
    if (out) fs.writeFileSync(out, JSON.stringify({ ...state, stats }, null, 1) + '\n');
  });
}
