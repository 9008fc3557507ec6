// The wasm-bindgen glue o1js loads (kimchi_wasm.cjs in 2.15, plonk_wasm.cjs before): noticed when it is
// first required, so that `wlh run` can wrap a few of its exports without editing o1js. o1js calls them
// through the glue's exports object at call time (`kimchi_ffi.caml_pasta_fq_plonk_proof_create(...)`),
// so replacing a property there is seen by every caller.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// One implementation with the guard: finding the glue and wrapping its prover exports.
const shared = require('../guard/glue.cjs');

export const { STEP_PROVER, WRAP_PROVER, onGlueLoad, wrapExport } = shared;

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
