// Groundwork for issue 24 (why o1js's web build hangs after proving), replayed in node on o1js 2.15.0's own glue.
// In the web build the main thread forwards some kimchi calls to an "o1js worker" (dist/web/index.js): the
// worker rebuilds each class argument as a fresh object holding the same pointer (Object.create(Class.prototype)
// plus __wbg_ptr) and calls the export; the main thread keeps its own wrapper, registered in its
// FinalizationRegistry. Six forwarded exports take ownership of a class argument (`__destroy_into_raw()`):
// proof_create (witness), proof_verify (verifier index, proof), oracles_create (verifier index, proof), for Fp
// and Fq. The export then neutralises only the worker's copy; the main thread's wrapper still owns the pointer
// and frees it when it is collected. This test replays that pattern with a small export of the same kind
// (caml_pallas_affine_deep_copy consumes its argument) and shows the result: after the main thread's late free,
// two live JS objects own one Rust block.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
// the package's exports map hides the glue: take it by file, from the pinned o1js
const o1js = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', 'o1js');
const glue = require(path.join(o1js, 'dist/node/bindings/compiled/node_bindings/kimchi_wasm.cjs'));

function replay({ lateFree }) {
  const mine = glue.caml_pallas_affine_one();                  // the main thread's wrapper
  const theirs = Object.create(glue.WasmGPallas.prototype);    // the worker's copy of the argument
  theirs.__wbg_ptr = mine.__wbg_ptr;
  const copy = glue.caml_pallas_affine_deep_copy(theirs);      // consumes the copy: Rust drops the block
  if (lateFree) mine.free();                                   // what the main thread's registry does later
  const next = glue.caml_pallas_affine_one();
  const shared = copy.__wbg_ptr === next.__wbg_ptr;
  next.free();
  if (!shared) copy.free();
  return shared;
}

test('without the late free (node\'s own glue path), every live object has its own block', () => {
  assert.equal(replay({ lateFree: false }), false);
});

test('with the main thread\'s late free (the web build\'s forwarding), two live objects own one block', () => {
  assert.equal(replay({ lateFree: true }), true);
});
