// GC settling for `wlh run` snapshots. wasm-bindgen frees a Rust value from a FinalizationRegistry
// callback once GC collected its JS handle; a snapshot must come after those callbacks, or it counts
// values that are already garbage. Normally they run only on a later task turn (bench/prove-loop.mjs
// awaits timers), but a program that proves in a tight loop never yields between two proofs. With
// V8's `--harmony-weak-refs-with-cleanup-some` (Node 20), FinalizationRegistry.prototype.cleanupSome runs
// them synchronously, so a snapshot can be settled at the very return of a prover call.

const registries = new Set(); // WeakRefs to every registry created after install()

// Must run before o1js loads its glue, after installFinalizerCounter() (so counting stays underneath).
export function installRegistryCollector() {
  const Base = globalThis.FinalizationRegistry;
  class CollectedRegistry extends Base {
    constructor(cleanup) {
      super(cleanup);
      registries.add(new WeakRef(this));
    }
  }
  globalThis.FinalizationRegistry = CollectedRegistry;
}

export const canSettleNow = typeof globalThis.FinalizationRegistry.prototype.cleanupSome === 'function';

function cleanupAll() {
  for (const ref of registries) {
    const r = ref.deref();
    if (r === undefined) registries.delete(ref);
    else r.cleanupSome();
  }
}

// Rounds of GC + every registry's pending callbacks, until a round runs none (freeing one handle can make
// others collectable), at least two rounds, at most maxRounds. Returns callbacks run per round.
export function settleNow(finalizers, maxRounds) {
  const perRound = [];
  for (let i = 0; i < maxRounds; i++) {
    const before = finalizers.finalized;
    globalThis.gc();
    cleanupAll();
    globalThis.gc();
    cleanupAll();
    perRound.push(finalizers.finalized - before);
    if (i >= 1 && perRound[i] === 0) break;
  }
  return perRound;
}

// The same on task turns (where cleanupSome is missing): callbacks run between the awaited timers.
export async function settleLater(finalizers, maxRounds) {
  const perRound = [];
  for (let i = 0; i < maxRounds; i++) {
    const before = finalizers.finalized;
    globalThis.gc();
    await new Promise((r) => setTimeout(r, 0));
    globalThis.gc();
    await new Promise((r) => setTimeout(r, 0));
    perRound.push(finalizers.finalized - before);
    if (i >= 1 && perRound[i] === 0) break;
  }
  return perRound;
}
