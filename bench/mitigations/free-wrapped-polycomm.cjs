// Mitigation "free-wrapped-polycomm": what if o1js freed the WasmFpPolyComm / WasmFqPolyComm objects
// that its wrap() (bindings/crypto/bindings/conversion-core.js) builds around raw pointers returned by
// Rust, once o1js drops its last reference to the wrapper?
//
// The Step 3 analysis found these objects are never dropped: Rust hands over ownership (Box::into_raw
// per element), wrap() makes a bare wrapper that wasm-bindgen's FinalizationRegistry never sees, and
// polyCommFromRust deliberately skips free() for such wrappers. Here each wrapper wrap() marks with
// `__o1js_wrapped_ptr = true` (o1js >= 2.15) is registered with our own FinalizationRegistry, which frees
// the Rust object after GC collects the wrapper, exactly as wasm-bindgen's registry does for wrappers it made.
// Releases whose wrap() does not set that marker are left untouched (apply() reports it).
'use strict';

const TARGETS = [
  ['WasmFpPolyComm', '__wbg_wasmfppolycomm_free'],
  ['WasmFqPolyComm', '__wbg_wasmfqpolycomm_free'],
];
const stats = { registered: 0, freed: 0 };

function apply(glue) {
  const wasm = glue.__wasm;
  const done = [];
  for (const [cls, freeName] of TARGETS) {
    const C = glue[cls];
    if (!C || !wasm || typeof wasm[freeName] !== 'function') continue;
    const registry = new FinalizationRegistry((ptr) => {
      stats.freed++;
      wasm[freeName](ptr >>> 0, 1);
    });
    const slot = Symbol('o1js_wrapped_ptr');
    Object.defineProperty(C.prototype, '__o1js_wrapped_ptr', {
      configurable: true,
      get() {
        return this[slot];
      },
      set(value) {
        this[slot] = value;
        const ptr = this.__wbg_ptr >>> 0;
        if (value === true && ptr !== 0) {
          registry.register(this, ptr);
          stats.registered++;
        }
      },
    });
    done.push(cls);
  }
  return { types: done };
}

module.exports = {
  name: 'free-wrapped-polycomm',
  apply,
  stats: () => ({ ...stats }),
};
