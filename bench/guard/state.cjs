// What every thread of a guarded process shares (SharedArrayBuffers handed to workers through workerData):
// an Int32Array of slots, and the byteLength after each of the last RING proofs (for the pace of growth).
'use strict';
const SLOTS = {
  HEARTBEAT: 0, // bumped on progress (globalThis.wlhCrashProgress()); the no-progress watchdog watches it
  CRASHES: 1, // crash events recorded so far, by any thread (the exit record adds "how: exit" only if 0)
  DONE: 2, // 1 once the main thread is exiting: the watchdog stands down
  FIRED: 3, // 1 once the guard decided to end the process
  FAULT: 4, // 1 once a fault o1js cannot recover from was recorded (a rayon worker died, a wasm trap)
  PROOFS: 5, // proofs finished (wrap prover calls returned)
  IN_PROVER: 6, // 0: not in a prover call; 1: step (Fp) prover; 2: wrap (Fq) prover
  WARNED: 7, // 1 once the near-ceiling warning was written
  CEILING_PAGES: 8, // maximum of o1js's shared memory, in 64 KiB pages (0: not created yet)
  COUNT: 9,
};
const RING = 16;

function create() {
  return { slots: new SharedArrayBuffer(4 * SLOTS.COUNT), ring: new SharedArrayBuffer(8 * RING) };
}

// byteLength after proof k goes to ring[k % RING].
function recordProof(state, bytes) {
  const st = new Int32Array(state.slots);
  const k = Atomics.add(st, SLOTS.PROOFS, 1) + 1;
  new Float64Array(state.ring)[k % RING] = bytes;
  return k;
}

// {proofs, per_proof, over} : byteLength growth per proof over the last up to RING-1 proofs (null: < 2 proofs).
function pace(state) {
  const k = Atomics.load(new Int32Array(state.slots), SLOTS.PROOFS);
  const ring = new Float64Array(state.ring);
  const over = Math.min(k - 1, RING - 1);
  if (over < 1) return { proofs: k, per_proof: null, over: 0 };
  return { proofs: k, per_proof: (ring[k % RING] - ring[(k - over) % RING]) / over, over };
}

const PROVERS = [null, 'caml_pasta_fp_plonk_proof_create', 'caml_pasta_fq_plonk_proof_create'];

// What was running, for a record: the prover export in progress and the proof number (the proof in
// progress when in a prover call, else the next one).
function running(state) {
  const st = new Int32Array(state.slots);
  const proofs = Atomics.load(st, SLOTS.PROOFS);
  return { export: PROVERS[Atomics.load(st, SLOTS.IN_PROVER)] ?? null, proof: proofs + 1, proofs_done: proofs };
}

function ceilingBytes(state) {
  const pages = Atomics.load(new Int32Array(state.slots), SLOTS.CEILING_PAGES);
  return pages ? pages * 65536 : null;
}

module.exports = { ...SLOTS, ceilingBytes, SLOTS, RING, PROVERS, create, recordProof, pace, running };
