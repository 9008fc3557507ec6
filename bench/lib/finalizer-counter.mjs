// Counts wasm-bindgen handle lifecycles through the global FinalizationRegistry.
//
// Every wasm-bindgen class registers each JS handle it creates (constructor and __wrap) and
// unregisters it when the Rust value is freed or consumed; the registry's callback frees handles
// that were garbage-collected. So registered - unregistered - finalized = JS handles that still own
// a Rust value. It also tells whether our GC settling let every pending callback run.
// Must be installed before o1js loads its glue.
export function installFinalizerCounter() {
  const stats = {
    registered: 0,
    unregistered: 0,
    finalized: 0,
    get live() {
      return this.registered - this.unregistered - this.finalized;
    },
  };
  const Base = globalThis.FinalizationRegistry;
  if (Base.__wlhCounting) return Base.__wlhCounting;
  class CountingRegistry extends Base {
    constructor(cleanup) {
      super((held) => {
        stats.finalized++;
        cleanup(held);
      });
    }
    register(target, held, token) {
      stats.registered++;
      return super.register(target, held, token);
    }
    unregister(token) {
      const removed = super.unregister(token);
      if (removed) stats.unregistered++;
      return removed;
    }
  }
  CountingRegistry.__wlhCounting = stats;
  globalThis.FinalizationRegistry = CountingRegistry;
  return stats;
}
