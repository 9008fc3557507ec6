// Lowers the maximum of shared WebAssembly memories created from JS after install().
// wasm-bindgen's glue creates its shared memory itself (`new WebAssembly.Memory({initial, maximum:
// 65536, shared: true})` in o1js's kimchi_wasm.cjs / plonk_wasm.cjs) and passes it as the module's
// import; an instance accepts a provided memory whose maximum is lower than the import declares, so a
// cap set here is the ceiling the Rust allocator meets (memory.grow returns -1 beyond it).
// A Proxy keeps `x instanceof WebAssembly.Memory` and WebAssembly.Memory.prototype working.
'use strict';
const { scrub } = require('./record.cjs');

// The JS frame that called `new WebAssembly.Memory` (file:line of the glue), for the record.
function creator() {
  const lines = (new Error().stack || '').split('\n').slice(1);
  const frame = lines.find((l) => !l.includes(__filename) && !l.includes('new Proxy') && /\(|at /.test(l));
  return frame ? scrub(frame.trim().replace(/^at\s+/, '')) : null;
}

// capPages: null to observe only. onMemory(memory, info) is called for every shared memory.
function installMemoryCap(capPages, onMemory) {
  const Original = WebAssembly.Memory;
  let count = 0;
  const Capped = new Proxy(Original, {
    construct(target, args, newTarget) {
      const desc = args[0];
      if (!desc || typeof desc !== 'object' || !desc.shared) return Reflect.construct(target, args, newTarget);
      const initial = Number(desc.initial ?? desc.minimum ?? 0);
      const requested = desc.maximum === undefined ? null : Number(desc.maximum);
      const apply = capPages !== null && (requested === null || requested > capPages);
      if (apply && initial > capPages) {
        throw new RangeError(`WLH_MEMORY_CAP_MIB is below this memory's initial size (${capPages} < ${initial} pages)`);
      }
      const memory = Reflect.construct(target, apply ? [{ ...desc, maximum: capPages }, ...args.slice(1)] : args, newTarget);
      onMemory(memory, {
        index: count++,
        initial_pages: initial,
        requested_maximum_pages: requested,
        maximum_pages: apply ? capPages : requested,
        applied: apply,
        created_at: creator(),
      });
      return memory;
    },
  });
  WebAssembly.Memory = Capped;
  return () => { WebAssembly.Memory = Original; };
}

module.exports = { installMemoryCap };
