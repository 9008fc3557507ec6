// wlh candidate fix "free-wrapped-polycomm": inserted into o1js's wrap() by make.py (this folder).
// wrap() builds bare wrappers around pointers whose ownership Rust handed over (Box::into_raw per
// element of a WasmVector); wasm-bindgen's FinalizationRegistry never sees them and polyCommFromRust
// skips free() for them, so every WasmFpPolyComm / WasmFqPolyComm value o1js receives this way leaks.
// Here each such wrapper is registered with a FinalizationRegistry that frees the Rust value once GC
// collects the wrapper, as wasm-bindgen's registry does for the wrappers it makes itself.
// A wrapper whose value goes back to Rust (intoRaw -> __destroy_into_raw) or is freed explicitly
// leaves the registry first, so no value is freed twice.
// A function declaration (hoisted, state kept on the function): usable before the line it is on runs.
function __wlhFreeOnCollect(obj, Class) {
  const name = Class && Class.name;
  if (name !== 'WasmFpPolyComm' && name !== 'WasmFqPolyComm') return;
  if (typeof FinalizationRegistry === 'undefined' || (obj.__wbg_ptr >>> 0) === 0) return;
  const self = __wlhFreeOnCollect;
  // The held value is a stand-in with the same prototype and pointer (it must not reference obj, or obj
  // would never be collected); its free() runs the class's wasm free export on that pointer.
  self.registry ??= new FinalizationRegistry((standIn) => standIn.free());
  const standIn = Object.create(Class.prototype);
  standIn.__wbg_ptr = obj.__wbg_ptr;
  self.registry.register(obj, standIn, obj);
  Object.defineProperty(obj, '__destroy_into_raw', {
    configurable: true,
    writable: true,
    value() {
      self.registry.unregister(this);
      return Class.prototype.__destroy_into_raw.call(this);
    },
  });
}
