// The wasm-bindgen glue o1js loads (kimchi_wasm.cjs in 2.15, plonk_wasm.cjs before): noticed when it is
// first required, so that `wlh run` can wrap a few of its exports without editing o1js. o1js calls them
// through the glue's exports object at call time (`kimchi_ffi.caml_pasta_fq_plonk_proof_create(...)`),
// so replacing a property there is seen by every caller.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

const GLUE_REQUEST = /(^|[\\/])(kimchi_wasm|plonk_wasm)(\.cjs)?$/;
// A pickles proof ends with one wrap proof (Fq, "tock"), made after one step proof (Fp, "tick").
// Both layouts (kimchi_wasm, plonk_wasm) use these names.
export const STEP_PROVER = 'caml_pasta_fp_plonk_proof_create';
export const WRAP_PROVER = 'caml_pasta_fq_plonk_proof_create';

export function onGlueLoad(callback) {
  const Module = require('node:module');
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
export function wrapExport(glue, name, { before = () => {}, after = () => {} }) {
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

// The rayon pool size: o1js passes max(1, cores - 1) unless the program called setNumberOfWorkers.
// Tells `seen` what the program asked for and passes `workers` instead (null: the program's choice).
export function overrideThreads(glue, workers, seen) {
  const original = glue.initThreadPool;
  if (typeof original !== 'function') return false;
  glue.initThreadPool = function (numThreads, ...rest) {
    seen(numThreads);
    return original.call(this, workers ?? numThreads, ...rest);
  };
  return true;
}

// WASM linear memory size now (never cache the buffer: it is replaced on growth).
export function wasmMemoryBytes(glue) {
  const memory = glue?.__wasm?.memory ?? glue?.get_memory?.();
  return memory ? memory.buffer.byteLength : null;
}
