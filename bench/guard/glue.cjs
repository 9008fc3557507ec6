// The wasm-bindgen glue o1js loads (kimchi_wasm.cjs in 2.15, plonk_wasm.cjs before), noticed when it is
// first required, so that its prover exports can be wrapped without editing o1js: the guard counts proofs
// and knows which prover is running; `wlh run` takes its snapshots there. o1js calls them through the glue's
// exports object at call time (`kimchi_ffi.caml_pasta_fq_plonk_proof_create(...)`), so replacing a property
// there is seen by every caller. Both ES-module and CommonJS o1js load the glue with require().
'use strict';
const Module = require('node:module');

const GLUE_REQUEST = /(^|[\\/])(kimchi_wasm|plonk_wasm)(\.cjs)?$/;
// A pickles proof ends with one wrap proof (Fq, "tock"), made after one step proof (Fp, "tick").
// Both layouts (kimchi_wasm, plonk_wasm) use these names.
const STEP_PROVER = 'caml_pasta_fp_plonk_proof_create';
const WRAP_PROVER = 'caml_pasta_fq_plonk_proof_create';

// callback(exports, request) once, when the glue is first required (from any module of the program).
function onGlueLoad(callback) {
  const load = Module._load;
  let seen = false;
  Module._load = function (request) {
    const exports = load.apply(this, arguments);
    if (!seen && GLUE_REQUEST.test(request)) {
      seen = true;
      callback(exports, request);
    }
    return exports;
  };
}

// Replace glue[name] by a function that calls before(name) and, once it returned (or its promise
// settled), after(name, seconds). A throw is passed on without after(). Returns false if absent.
function wrapExport(glue, name, { before = () => {}, after = () => {} }) {
  const original = glue[name];
  if (typeof original !== 'function') return false;
  glue[name] = function (...args) {
    before(name);
    const t = performance.now();
    const ret = original.apply(this, args);
    const done = () => after(name, (performance.now() - t) / 1000);
    if (ret && typeof ret.then === 'function') return ret.then((v) => (done(), v));
    done();
    return ret;
  };
  return true;
}

// WASM linear memory of the glue now (never cache the buffer: it is replaced on growth).
function wasmMemory(glue) {
  return glue?.__wasm?.memory ?? glue?.get_memory?.() ?? null;
}

module.exports = { GLUE_REQUEST, STEP_PROVER, WRAP_PROVER, onGlueLoad, wrapExport, wasmMemory };
