'use strict';
// Step 2 tracer runtime (binary route). Loaded by the patched glue (kimchi_wasm.cjs / plonk_wasm.cjs)
// of an instrumented o1js copy, in the main thread and in every rayon worker thread.
//
// What it does:
//  - provides the `__wlh` imports the instrumented wasm calls on every alloc/dealloc/realloc and keeps
//    a table of live heap blocks (address -> size, epoch, site, owning object) in SharedArrayBuffers,
//    so that all threads see one heap;
//  - sees every wasm-bindgen JS handle come to exist through the glue's FinalizationRegistry
//    (`register` is called by constructors and by `__wrap`, including values returned in vectors) and
//    logs ALLOCATE; logs DROP when the handle's heap block is deallocated, whatever the path
//    (free(), the FinalizationRegistry, consumption by value into Rust);
//  - writes '@' + JSON lines (schemas/trace-event.schema.json) with fs.writeSync under one lock shared
//    by all threads, which also guards the id counter: ids are contiguous and lines never torn;
//  - logs GROW for every memory.grow (the only way memory.buffer.byteLength grows): which request,
//    export and Rust function forced it, and the allocator's free space just before.
// Log file: env WLH_TRACE_LOG (opened by the main thread; workers receive the descriptor).
const fs = require('fs');
const path = require('path');
const wt = require('worker_threads');

const CAPACITY_LOG2 = Number(process.env.WLH_TABLE_LOG2 || 21); // live-block table slots (2^21 = 2M; overflow is counted as table_full)
const BIG_BLOCK = Number(process.env.WLH_BIG_BLOCK || 65536); // blocks this large get a full stack site
const SITES = process.env.WLH_CREATION_SITES !== '0';
const HANDLE_OFFSETS = [8, 0, 4, 16]; // handle pointer minus block start; 8 in wasm-bindgen 0.2.100

// ctl (Int32): lock, next id, next site, epoch, current export + 1, next thread id, handle offset + 1,
// heap base (linear memory size at instantiation, set by the main thread; 0 = unknown)
const L = 0, NEXT_ID = 1, NEXT_SITE = 2, EPOCH = 3, CUR_EXPORT = 4, NEXT_TID = 5, HOFF = 6, HEAP_BASE = 7;
// num (Float64): live bytes, live blocks, alloc calls, free calls, epoch live bytes, tracked live objects,
// tracked live bytes, table full, unknown frees, stale entries replaced, shared handles, unmatched handles,
// epoch bytes claimed
const LIVE = 0, BLOCKS = 1, ALLOCS = 2, FREES = 3, OBJS = 5, OBJ_BYTES = 6, FULL = 7,
  UNKNOWN_FREE = 8, STALE = 9, SHARED_HANDLES = 10, UNMATCHED = 11;
// Per outer-call ("epoch") live bytes of the last RING calls, so a handle wrapped a few calls after its
// value was built (o1js frees the pointer array in between) still gets the bytes of the call that built it.
const RING = 1 << 20;
const W = 8; // table slot: ptr, size, epoch, site, object id + 1, type index, object size, export + 1 at allocation
const TYPE_SLOTS = 512, TYPE_BYTES = 96;

function createShared() {
  const cap = 1 << CAPACITY_LOG2;
  return {
    ctl: new SharedArrayBuffer(16 * 4),
    num: new SharedArrayBuffer(16 * 8),
    table: new SharedArrayBuffer(cap * W * 4),
    types: new SharedArrayBuffer(TYPE_SLOTS * TYPE_BYTES),
    ring: new SharedArrayBuffer(RING * 8 * 2), // live bytes, claimed bytes per epoch slot
    ringEpoch: new SharedArrayBuffer(RING * 4), // which epoch a slot holds
    fd: -1,
  };
}

let shared;
if (wt.isMainThread) {
  shared = createShared();
  const logPath = process.env.WLH_TRACE_LOG;
  shared.fd = logPath ? fs.openSync(logPath, 'w') : 2;
  // Workers cannot receive messages once inside the rayon pool: hand them the shared state when they
  // are constructed. o1js imports Worker from 'worker_threads' (ESM), hence syncBuiltinESMExports.
  const Base = wt.Worker;
  class TracedWorker extends Base {
    constructor(src, opts = {}) {
      super(src, { ...opts, workerData: { ...(opts.workerData || {}), __wlh: shared } });
    }
  }
  wt.Worker = TracedWorker;
  require('module').syncBuiltinESMExports();
} else {
  shared = wt.workerData && wt.workerData.__wlh;
  if (!shared) throw new Error('wlh-tracer: worker started without tracer state (was Worker patched?)');
}

const ctl = new Int32Array(shared.ctl);
const num = new Float64Array(shared.num);
const table = new Uint32Array(shared.table);
const typeBytes = new Uint8Array(shared.types);
const ring = new Float64Array(shared.ring);
const ringEpoch = new Int32Array(shared.ringEpoch);
const MASK = (1 << CAPACITY_LOG2) - 1;
const SHIFT = 32 - CAPACITY_LOG2;
const fd = shared.fd;
const tid = wt.isMainThread ? 0 : Atomics.add(ctl, NEXT_TID, 1) + 1;
const o1jsRoot = path.resolve(__dirname, '..', '..', '..', '..', '..');

// --- the one lock (Drepper's three-state mutex on ctl[0]) ---
function lock() {
  let c = Atomics.compareExchange(ctl, L, 0, 1);
  if (c === 0) return;
  do {
    if (c === 2 || Atomics.compareExchange(ctl, L, 1, 2) !== 0) Atomics.wait(ctl, L, 2);
  } while ((c = Atomics.compareExchange(ctl, L, 0, 2)) !== 0);
}
function unlock() {
  if (Atomics.sub(ctl, L, 1) !== 1) {
    Atomics.store(ctl, L, 0);
    Atomics.notify(ctl, L, 1);
  }
}
// Under the lock only.
function writeLine(obj) {
  const s = '@' + JSON.stringify(obj) + '\n';
  fs.writeSync(fd, s);
}

// --- live block table: open addressing, linear probing, backward-shift deletion (no tombstones) ---
function slotOf(ptr) {
  return (Math.imul(ptr, 0x9e3779b1) >>> SHIFT) & MASK;
}
function find(ptr) {
  let i = slotOf(ptr);
  for (;;) {
    const k = table[i * W];
    if (k === ptr) return i;
    if (k === 0) return -1;
    i = (i + 1) & MASK;
  }
}
function insert(ptr, size, site) {
  let i = slotOf(ptr);
  for (let n = 0; n <= MASK; n++) {
    const k = table[i * W];
    if (k === 0 || k === ptr) {
      if (k === ptr) {
        // A block we never saw freed (freed by a path we do not hook), or the same block recorded by two
        // nested hooks (dlmalloc's memalign calls malloc, which returns the pointer memalign returns):
        // forget the old entry, in the live totals and in its call's live bytes (the handles' shares).
        num[STALE]++;
        num[LIVE] -= table[i * W + 1];
        num[BLOCKS]--;
        const oe = table[i * W + 2], orr = oe & (RING - 1);
        if (ringEpoch[orr] === oe) ring[2 * orr] -= table[i * W + 1];
      }
      const b = i * W;
      table[b] = ptr; table[b + 1] = size; table[b + 2] = ctl[EPOCH]; table[b + 3] = site;
      table[b + 4] = 0; table[b + 5] = 0; table[b + 6] = 0; table[b + 7] = ctl[CUR_EXPORT];
      num[LIVE] += size; num[BLOCKS]++;
      const e = ctl[EPOCH], r = e & (RING - 1);
      if (ringEpoch[r] !== e) {
        ringEpoch[r] = e; ring[2 * r] = 0; ring[2 * r + 1] = 0;
      }
      ring[2 * r] += size;
      return;
    }
    i = (i + 1) & MASK;
  }
  num[FULL]++;
}
function removeAt(i) {
  // backward-shift deletion keeps probe chains intact
  let j = i;
  for (;;) {
    j = (j + 1) & MASK;
    const k = table[j * W];
    if (k === 0) break;
    const home = slotOf(k);
    // move j back to i if its home is not in (i, j] cyclically
    if (i <= j ? home <= i || home > j : home <= i && home > j) {
      table.copyWithin(i * W, j * W, j * W + W);
      i = j;
    }
  }
  table.fill(0, i * W, i * W + W);
}

// --- sites: per-thread cache key -> global site id; SITE line written once per key per thread ---
const siteIds = new Map();
let exportNames = [];
function siteFor(key, make) {
  let id = siteIds.get(key);
  if (id !== undefined) return id;
  const def = make();
  lock();
  try {
    id = ctl[NEXT_SITE]++;
    writeLine({ ev: 'SITE', site: id, ...def });
  } finally {
    unlock();
  }
  siteIds.set(key, id);
  return id;
}
function captureStack(limit = 40) {
  const old = Error.stackTraceLimit;
  Error.stackTraceLimit = limit;
  const s = new Error().stack || '';
  Error.stackTraceLimit = old;
  return s.split('\n').slice(1).map((l) => l.trim().replace(/^at /, ''));
}
const ALLOC_INTERNAL = /^(alloc|core|std|dlmalloc)\[|__rust_|\$wlh_|^wlh\$|^__wlh|wlh-tracer|^<alloc\[|^<core\[|^<dlmalloc\[|^<std\[|raw_vec|^wasm-function/;
function frameName(f) {
  const m = /^(.*?) \((.*)\)$/.exec(f);
  return m ? { fn: m[1], loc: m[2] } : { fn: '', loc: f };
}
function currentExport() {
  const e = ctl[CUR_EXPORT];
  return e > 0 ? exportNames[e - 1] || `export#${e - 1}` : null;
}
function allocSite(size) {
  const exp = ctl[CUR_EXPORT];
  if (!SITES || size < BIG_BLOCK) {
    return siteFor(`x${exp}`, () => ({ rust: currentExport(), alloc_fn: null, js: null }));
  }
  const frames = captureStack().map(frameName).filter((f) => f.loc.startsWith('wasm') && !ALLOC_INTERNAL.test(f.fn));
  const names = frames.slice(0, 8).map((f) => f.fn);
  return siteFor(`b${exp}|${names.join('|')}`, () => ({ rust: currentExport(), alloc_fn: names[0] || null, js: null, stack: names }));
}

// --- allocator hooks (called from wasm, any thread) ---
let reallocDepth = 0; // dlmalloc hook set: realloc may call malloc/free itself
let freedAcc = 0; // bytes freed on this thread since the current export call began
function onAlloc(ptr, size) {
  if (ptr === 0 || reallocDepth > 0) return ptr;
  const site = allocSite(size);
  lock();
  try {
    num[ALLOCS]++;
    insert(ptr, size, site);
  } finally {
    unlock();
  }
  return ptr;
}
function forget(ptr) {
  // Under the lock. Returns the removed block's size, logs DROP if it was a handle's block.
  const i = find(ptr);
  if (i < 0) {
    num[UNKNOWN_FREE]++;
    return 0;
  }
  const b = i * W;
  if (pendingBlocks.has(ptr)) flushHandleAlone(ptr); // its ALLOCATE line must come first
  const size = table[b + 1];
  num[LIVE] -= size; num[BLOCKS]--; num[FREES]++;
  const e = table[b + 2], r = e & (RING - 1);
  if (ringEpoch[r] === e) ring[2 * r] -= size;
  const obj = table[b + 4];
  if (obj !== 0) {
    const objSize = table[b + 6];
    num[OBJS]--; num[OBJ_BYTES] -= objSize;
    const ev = { ev: 'DROP', size: objSize, type: typeName(table[b + 5]), id: obj - 1 };
    if (tid === 0) {
      ev.freed = freedAcc + size;
      ev.how = inFinalizer ? 'finalizer' : /^__wbg_.*_free$/.test(currentExport() || '') ? 'free' : 'consumed';
    } else ev.how = 'rust';
    ev.tid = tid;
    writeLine(ev);
  }
  removeAt(i);
  return size;
}
function onDealloc(ptr) {
  if (ptr === 0 || reallocDepth > 0) return;
  lock();
  try {
    freedAcc += forget(ptr);
  } finally {
    unlock();
  }
}
function onReallocBefore(ptr) {
  reallocDepth++;
  lock();
  try {
    if (ptr !== 0) forget(ptr);
  } finally {
    unlock();
  }
}
function onReallocAfter(oldPtr, _oldSize, _align, newSize, newPtr) {
  reallocDepth--;
  if (newPtr !== 0) {
    const site = allocSite(newSize);
    lock();
    try {
      num[ALLOCS]++;
      insert(newPtr, newSize, site);
    } finally {
      unlock();
    }
  }
  return newPtr;
}

// --- type names shared across threads (workers log DROPs too) ---
const typeIndex = new Map();
const typeCache = [];
function typeId(name) {
  // Under the lock.
  let i = typeIndex.get(name);
  if (i !== undefined) return i;
  for (i = 1; i < TYPE_SLOTS; i++) {
    const b = i * TYPE_BYTES;
    if (typeBytes[b] === 0) {
      const enc = Buffer.from(name.slice(0, TYPE_BYTES - 1));
      typeBytes.set(enc, b);
      break;
    }
    if (typeName(i) === name) break;
  }
  typeIndex.set(name, i);
  return i;
}
function typeName(i) {
  if (typeCache[i]) return typeCache[i];
  const b = i * TYPE_BYTES;
  let e = b;
  while (e < b + TYPE_BYTES && typeBytes[e] !== 0) e++;
  const s = Buffer.from(typeBytes.subarray(b, e)).toString() || `type#${i}`;
  typeCache[i] = s;
  return s;
}

// --- handles: ALLOCATE for every JS handle that takes ownership of a Rust value ---
// Seen through an accessor for `__wbg_ptr` on every glue class prototype: the glue's constructors
// and `__wrap` assign it, and so does o1js's own `wrap(ptr, Class)` for values it receives inside
// vectors of raw pointers (which never pass through `__wrap` nor the FinalizationRegistry).
let depth = 0;
let inFinalizer = false;
const SKIP_JS = /(kimchi_wasm|plonk_wasm)\.cjs|wlh-tracer\.cjs|finalizer-counter/;
const CONVERSION_JS = /[\\/]conversion[^\\/]*\.js:/;
// The current stack as V8's CallSite objects, never formatted: reading `new Error().stack` as text
// formats every frame (each wasm frame's Rust name included), which was most of what tracing cost in
// compile, where a handle is wrapped for almost every call. Same frames as captureStack(limit).
const asCallSites = (_err, callSites) => callSites;
function callSites(limit) {
  const oldLimit = Error.stackTraceLimit, oldPrepare = Error.prepareStackTrace;
  Error.stackTraceLimit = limit;
  Error.prepareStackTrace = asCallSites;
  const sites = new Error().stack;
  Error.prepareStackTrace = oldPrepare;
  Error.stackTraceLimit = oldLimit;
  return Array.isArray(sites) ? sites : [];
}
const relFiles = new Map(); // V8 file name -> path below o1js's root, or null for frames not taken
function relFile(name) {
  let rel = relFiles.get(name);
  if (rel === undefined) {
    const file = name.replace(/^file:\/\//, '');
    rel = file.startsWith(o1jsRoot) && !SKIP_JS.test(file) ? path.relative(o1jsRoot, file) : null;
    relFiles.set(name, rel);
  }
  return rel;
}
// The JS caller of a handle's creation: "nearest o1js frame < the first frame outside the conversion helpers
// (the code that asked for the value, e.g. srs.js) < the first frame outside the bindings layer (the library
// code)", without repeats. A short stack first: most callers reach library code within a few dozen frames;
// only when the walk does not get there is the stack taken again, as deep as before (the same result).
const SHORT_STACK = 24, DEEP_STACK = 81; // 81: the 80 frames below onHandle taken before, plus jsCaller's own
function jsCaller() {
  const short = callSites(SHORT_STACK);
  const r = callerOf(short);
  return r.complete || short.length < SHORT_STACK ? r.text : callerOf(callSites(DEEP_STACK)).text;
}
function callerOf(sites) {
  const picked = [];
  let asker = false;
  for (const cs of sites) {
    const name = cs.getFileName(); // most frames are wasm or outside o1js: the cheap tests first
    if (!name) continue;
    const file = relFile(name);
    if (file === null) continue;
    // V8 prints an anonymous async frame as `async file:...`, which the text form's parser never took
    // for a location: skipped here too, so creation sites stay those of the runs made before.
    if (cs.isAsync() && !cs.getFunctionName()) continue;
    const rel = `${file}:${cs.getLineNumber()}`;
    if (picked.length === 0) picked.push(rel);
    if (!asker && !CONVERSION_JS.test(rel)) {
      asker = true;
      if (!picked.includes(rel)) picked.push(rel);
    }
    if (!rel.includes('/bindings/')) {
      if (!picked.includes(rel)) picked.push(rel);
      return { text: picked.join(' < '), complete: true };
    }
  }
  return { text: picked.length ? picked.join(' < ') : null, complete: false };
}
// Handles wait here, grouped by the outer call that built their values, so that the call's bytes can
// be shared among all of them (o1js wraps a returned vector of pointers one by one, with other calls in
// between). A group is written (with ids) before any of its blocks is freed, at a snapshot, at exit,
// or when its call is about to leave the epoch ring.
const groups = new Map(); // epoch -> Map(block address -> handle)
const pendingBlocks = new Map(); // block address -> epoch of its group
function writeHandle(h, epoch, size) {
  // Under the lock: the ALLOCATE line of one handle, and its mark on the block.
  pendingBlocks.delete(h.blockPtr);
  const i = find(h.blockPtr);
  const ev = { ev: 'ALLOCATE', size, type: h.type, id: ctl[NEXT_ID]++ };
  if (h.site !== undefined) ev.site = h.site;
  ev.tid = tid;
  ev.ptr = h.ptr;
  writeLine(ev);
  const b = i * W;
  if (i >= 0 && table[b + 2] === epoch && table[b + 1] === h.block && table[b + 4] === 0) {
    table[b + 4] = ev.id + 1; table[b + 5] = typeId(h.type); table[b + 6] = size;
    num[OBJS]++; num[OBJ_BYTES] += size;
  } else {
    // The block was freed before the handle was written (another thread dropped the value): the
    // object existed and is gone.
    writeLine({ ev: 'DROP', size, type: h.type, id: ev.id, how: 'unknown', tid });
  }
}
function flushGroup(epoch) {
  // Under the lock. Size of each = its own heap block + an equal share of the other bytes that the
  // call that built them allocated and that are still live (apportioned, see STEP_2.md).
  const group = groups.get(epoch);
  if (!group) return;
  groups.delete(epoch);
  const pending = [...group.values()];
  let own = 0;
  for (const h of pending) own += h.block;
  const r = epoch & (RING - 1);
  const known = ringEpoch[r] === epoch;
  const rest = known ? Math.max(0, ring[2 * r] - ring[2 * r + 1] - own) : 0;
  const share = Math.floor(rest / pending.length);
  let extra = rest - share * pending.length;
  if (known) ring[2 * r + 1] += rest + own;
  for (const h of pending) {
    writeHandle(h, epoch, h.block + share + extra);
    extra = 0;
  }
}
function flushHandleAlone(blockPtr) {
  // Under the lock, before a pending handle's block is freed: written with its own block only, so the
  // rest of its call's bytes stay for the other handles of that call.
  const epoch = pendingBlocks.get(blockPtr);
  const group = groups.get(epoch);
  const h = group.get(blockPtr);
  group.delete(blockPtr);
  if (group.size === 0) groups.delete(epoch);
  const r = epoch & (RING - 1);
  if (ringEpoch[r] === epoch) ring[2 * r + 1] += h.block;
  writeHandle(h, epoch, h.block);
}
function flushPending() {
  for (const epoch of [...groups.keys()]) flushGroup(epoch);
}
function flushOldGroups(current) {
  for (const epoch of [...groups.keys()]) if (epoch <= current - RING / 2) flushGroup(epoch);
}
function onHandle(type, ptr) {
  const js = SITES ? jsCaller() : null;
  lock();
  let site;
  try {
    let i = -1;
    const known = ctl[HOFF];
    for (const off of known ? [HANDLE_OFFSETS[known - 1]] : HANDLE_OFFSETS) {
      i = find(ptr - off);
      if (i >= 0) {
        if (!known) ctl[HOFF] = HANDLE_OFFSETS.indexOf(off) + 1;
        break;
      }
    }
    if (i < 0) {
      num[UNMATCHED]++; // not the start of a heap block we saw: a borrowed pointer, not an object we can track
      return;
    }
    const b = i * W;
    if (table[b + 4] !== 0 || pendingBlocks.has(table[b])) {
      num[SHARED_HANDLES]++; // another JS handle on the same Rust value: the same object
      return;
    }
    // The Rust function at the boundary: the export JS had called when the value's block was allocated
    // (o1js's wrap() runs after that call returned, so the current call would be the wrong one).
    const exp = table[b + 7];
    const epoch = table[b + 2];
    site = { type, ptr, blockPtr: table[b], block: table[b + 1], exp };
    pendingBlocks.set(table[b], epoch);
    if (!groups.has(epoch)) groups.set(epoch, new Map());
    groups.get(epoch).set(table[b], site);
  } finally {
    unlock();
  }
  if (site && SITES) {
    const rust = site.exp > 0 ? exportNames[site.exp - 1] || null : null;
    site.site = siteFor(`h${type}|${rust}|${js}`, () => ({ rust, js, alloc_fn: null }));
  }
}

function instrumentClasses(exportsObj) {
  let n = 0;
  for (const [name, C] of Object.entries(exportsObj)) {
    if (typeof C !== 'function' || !C.prototype || typeof C.prototype.free !== 'function') continue;
    const slot = Symbol(`${name}.__wbg_ptr`);
    Object.defineProperty(C.prototype, '__wbg_ptr', {
      configurable: true,
      get() {
        return this[slot];
      },
      set(v) {
        this[slot] = v;
        if (v) onHandle(name, v >>> 0);
      },
    });
    n++;
  }
  return n;
}

function installRegistry() {
  // Only to tell a drop by the FinalizationRegistry from an explicit free().
  const Base = globalThis.FinalizationRegistry;
  if (!Base || Base.__wlhTracing) return;
  class TracingRegistry extends Base {
    constructor(cleanup) {
      super((held) => {
        inFinalizer = true;
        try {
          cleanup(held);
        } finally {
          inFinalizer = false;
        }
      });
    }
  }
  TracingRegistry.__wlhTracing = true;
  globalThis.FinalizationRegistry = TracingRegistry;
}

// --- exports: remember which Rust function JS called (the boundary), start an epoch per outer call ---
let wasmMemory = null; // this thread's view of the (shared) memory, for heap walks
let heapBase = null; // linear memory size at instantiation: static data + main stack; the heap is above
function wrapExports(exports) {
  exportNames = Object.keys(exports);
  wasmMemory = exports.memory || wasmMemory; // workers too: a grow on a worker walks the heap there
  if (!wt.isMainThread) return exports;
  if (exports.memory) {
    heapBase = exports.memory.buffer.byteLength;
    ctl[HEAP_BASE] = heapBase;
  }
  const wrapped = {};
  exportNames.forEach((name, idx) => {
    const fn = exports[name];
    if (typeof fn !== 'function') {
      Object.defineProperty(wrapped, name, { get: () => exports[name], enumerable: true });
      return;
    }
    wrapped[name] = function (...args) {
      if (depth++ === 0) {
        freedAcc = 0;
        lock();
        ctl[EPOCH]++;
        if (groups.size) flushOldGroups(ctl[EPOCH]);
        ctl[CUR_EXPORT] = idx + 1;
        unlock();
      }
      try {
        return fn.apply(this, args);
      } finally {
        depth--;
      }
    };
  });
  return wrapped;
}

function wasmImports() {
  return {
    on_alloc: onAlloc,
    on_alloc_zeroed: onAlloc,
    on_alloc_aligned: onAlloc,
    on_dealloc: onDealloc,
    on_realloc_before: onReallocBefore,
    on_realloc_after: onReallocAfter,
    on_grow_before: onGrowBefore,
    on_grow_after: onGrowAfter,
  };
}

// --- heap walk: measure the allocator's free space from dlmalloc's own chunk headers ---
// dlmalloc (wasm32) keeps a 4-byte header before each chunk's payload at chunk+4: size | flags
// (PINUSE 1, CINUSE 2). Rust's wasm allocator gets all its memory from memory.grow, so the heap is
// [heapBase, byteLength). Walking it chunk by chunk gives in-use and free bytes measured independently
// of the hooks. Chunks with neither flag are dlmalloc "mmapped" chunks (in use); the "top foot" dlmalloc
// writes after its top chunk (40 bytes on wasm32, header without flags) is counted so. Where a header makes
// no sense (segment records, fenceposts, alignment gaps) the walk skips to the next 64 KiB page and
// counts the bytes as unparsed. Only valid while no thread is allocating: snapshots are taken after the
// benchmark settled, with the rayon workers idle; a GROW walk runs on the thread that holds dlmalloc's
// lock, before dlmalloc changes anything for the request (see onGrowBefore).
//
// Fragmentation: free chunks by power-of-two size class ([2^log2, 2^(log2+1)), count and bytes), and the
// top chunk apart: dlmalloc's top is the free chunk at the end of its segment, followed only by the top
// foot; a grow adds to it. Free space below the top is what fragmentation leaves unused.
const TOP_FOOT_MAX = 64; // at most this many bytes (the top foot) between the top chunk and the end
function walkChunks(buffer, base) {
  const end = buffer.byteLength;
  const u32 = new Uint32Array(buffer, 0, end >>> 2);
  const r = { heap_base: base, heap_bytes: end - base, inuse_bytes: 0, inuse_chunks: 0, free_bytes: 0,
    free_chunks: 0, largest_free: 0, fencepost_bytes: 0, unparsed_bytes: 0 };
  const classes = new Map(); // log2 -> [chunks, bytes]
  let lastFree = -1, lastFreeSize = 0, largestBelow = 0;
  let p = base;
  while (p + 8 <= end) {
    const head = u32[(p + 4) >>> 2];
    const size = head & ~7;
    if (size === 4 && (head & 3) === 3) {
      r.fencepost_bytes += 4;
      p += 4;
      continue;
    }
    if (size < 16 || p + size > end) {
      const next = Math.min(end, (Math.floor(p / 65536) + 1) * 65536);
      r.unparsed_bytes += next - p;
      p = next;
      continue;
    }
    if ((head & 2) !== 0 || (head & 3) === 0) {
      r.inuse_bytes += size;
      r.inuse_chunks++;
    } else {
      r.free_bytes += size;
      r.free_chunks++;
      if (size > r.largest_free) r.largest_free = size;
      if (lastFree >= 0 && lastFreeSize > largestBelow) largestBelow = lastFreeSize;
      lastFree = p;
      lastFreeSize = size;
      const k = 31 - Math.clz32(size);
      let c = classes.get(k);
      if (!c) classes.set(k, (c = [0, 0]));
      c[0]++;
      c[1] += size;
    }
    p += size;
  }
  r.unparsed_bytes += end - p;
  const isTop = lastFree >= 0 && end - (lastFree + lastFreeSize) <= TOP_FOOT_MAX;
  if (!isTop && lastFreeSize > largestBelow) largestBelow = lastFreeSize;
  r.top_free_bytes = isTop ? lastFreeSize : 0;
  r.free_below_top_bytes = r.free_bytes - r.top_free_bytes;
  r.largest_free_below_top = largestBelow;
  r.free_classes = [...classes].sort((a, b) => a[0] - b[0]).map(([log2, [chunks, bytes]]) => ({ log2, chunks, bytes }));
  return r;
}
function walkHeap() {
  const base = heapBase ?? (ctl[HEAP_BASE] || null);
  if (!wasmMemory || base === null) return null;
  return walkChunks(wasmMemory.buffer, base);
}

// --- memory growth: one GROW line per memory.grow (instrumented: wlh$memory_grow) ---
// The grow runs inside dlmalloc's sys_alloc (in System::alloc in kimchi_wasm, inlined into Dlmalloc::malloc
// in plonk_wasm), on whatever thread is allocating,
// holding dlmalloc's global lock (std's wasm allocator takes it around every call): no other thread can
// change the heap meanwhile, and sys_alloc grows before touching any chunk, so the heap is walkable here.
// The tracer lock is only taken to write the line; whoever holds it never waits for dlmalloc's lock (no
// tracer code calls into wasm), so taking it from inside the allocator cannot deadlock.
const REQUEST_KINDS = [null, '__rust_alloc', '__rust_alloc_zeroed', '__rust_realloc', 'malloc', 'memalign', 'realloc'];
// Plumbing skipped when naming the Rust function that asked: the allocator frames of ALLOC_INTERNAL (as
// for allocation sites) plus the shims behind __rust_alloc (`__rustc[..]::__rdl_alloc`), std/core/alloc
// and hashbrown (std's hash tables) in both manglings (`alloc[..]::` v0, `alloc::` legacy as in
// plonk_wasm), and rayon's parallel collect, so that a Vec, HashMap or collected iterator that grows is
// charged to the code that filled it.
const GROW_PLUMBING = new RegExp(`${ALLOC_INTERNAL.source}|^<?(alloc|core|std|dlmalloc|hashbrown)(\\[[0-9a-f]+\\])?::` +
  `|^__rustc\\[|^__rdl_|^rayon(\\[[0-9a-f]+\\])?::iter::collect::`);
const GROW_FN = 'wlh$memory_grow';
const GROW_STACK = 6; // frames kept in a GROW line (Rust names with generics can be a kilobyte each)
let growPending = null; // this thread: what onGrowBefore saw, for the line onGrowAfter writes
function growFrames() {
  // V8 names a wasm frame `<module name>.<function>` when the module has a name ("kimchi_wasm.wasm."):
  // the innermost frame is our hook function, which gives the prefix; an unnamed function shows as the
  // module name alone.
  const names = captureStack(64).map(frameName).filter((f) => f.loc.startsWith('wasm')).map((f) => f.fn);
  const i = names.findIndex((n) => n.endsWith(GROW_FN));
  if (i < 0) return names;
  const prefix = names[i].slice(0, -GROW_FN.length);
  // A hooked allocator function keeps its body in `F$wlh_orig` (plonk_wasm's grow is inside
  // Dlmalloc::malloc): named as F, as in the instrument report.
  return names.slice(i + 1).map((n) => (prefix && n === prefix.slice(0, -1) ? '(unnamed)' : n.startsWith(prefix) ? n.slice(prefix.length) : n)
    .replace(/\$wlh_(orig|req)$/, ''));
}
function onGrowBefore(_delta, site, kind, size, align) {
  // innermost first: the function that held the memory.grow, then its callers
  const names = growFrames();
  const asking = names.filter((n) => !GROW_PLUMBING.test(n));
  const t = performance.now();
  const walk = walkHeap();
  growPending = {
    site, walk, walkMs: performance.now() - t, held: names[0] || null,
    rustFn: asking.find((n) => n !== '(unnamed)') || null, stack: asking.slice(0, GROW_STACK),
    kind: REQUEST_KINDS[kind] || null, size: size >>> 0, align: align >>> 0,
  };
}
function onGrowAfter(result, delta, site, pagesNow) {
  const g = growPending && growPending.site === site ? growPending : { site, walk: null, walkMs: 0, held: null, rustFn: null,
    stack: [], kind: null, size: 0, align: 0 };
  growPending = null;
  const failed = result === -1;
  const bytes = (delta >>> 0) * 65536;
  // On success memory.grow returned the old size in pages: before/after are exact even if another
  // thread grew right after. On failure the size is unchanged: read from JS, because memory.size inside
  // a wasm call can lag behind a grow another thread made during that call (V8, shared memory; seen
  // in a test), while memory.buffer is current.
  const before = !failed ? (result >>> 0) * 65536 : wasmMemory ? wasmMemory.buffer.byteLength : (pagesNow >>> 0) * 65536;
  // Types kept to what the parser's schema checks compile (integers, strings, string enums, string or
  // null): the outcome is a string, and what is unknown is left out (no request in progress, no walk).
  const ev = { ev: 'GROW', tid, site, bytes, before, after: failed ? before : before + bytes, outcome: failed ? 'failed' : 'grown' };
  if (g.kind) {
    ev.req_fn = g.kind;
    ev.req_size = g.size;
    ev.req_align = g.align;
  }
  ev.export = currentExport();
  ev.rust_fn = g.rustFn;
  ev.grow_fn = g.held;
  const w = g.walk;
  if (w) {
    ev.free_bytes = w.free_bytes;
    ev.free_chunks = w.free_chunks;
    ev.largest_free = w.largest_free;
    ev.top_free_bytes = w.top_free_bytes;
    ev.unparsed_bytes = w.unparsed_bytes; // 0: every byte of the heap parsed as a chunk (the walk was sound)
    ev.walk_us = Math.round(g.walkMs * 1000);
  }
  ev.stack = g.stack;
  lock();
  try {
    writeLine(ev);
  } finally {
    unlock();
  }
  return result;
}

// --- heap snapshot at benchmark iteration boundaries (main thread) ---
function snapshot(iteration, phase, memoryBytes) {
  lock();
  try {
    flushPending();
    const perSite = new Map();
    const cap = MASK + 1;
    for (let i = 0; i < cap; i++) {
      const b = i * W;
      if (table[b] === 0) continue;
      const s = table[b + 3];
      let e = perSite.get(s);
      if (!e) perSite.set(s, (e = [0, 0]));
      e[0] += table[b + 1];
      e[1]++;
    }
    writeLine({
      ev: 'SNAPSHOT', iteration, phase, memory_bytes: memoryBytes, live_heap_bytes: num[LIVE], live_blocks: num[BLOCKS],
      tracked_live_objects: num[OBJS], tracked_live_bytes: num[OBJ_BYTES], alloc_calls: num[ALLOCS], free_calls: num[FREES],
      unknown_frees: num[UNKNOWN_FREE], table_full: num[FULL], stale_blocks_replaced: num[STALE],
      shared_handles: num[SHARED_HANDLES], unmatched_handles: num[UNMATCHED],
      handle_offset: ctl[HOFF] ? HANDLE_OFFSETS[ctl[HOFF] - 1] : null, sites: ctl[NEXT_SITE],
      heap_walk: walkHeap(),
    });
    for (const [site, [bytes, blocks]] of [...perSite].sort((a, b) => b[1][0] - a[1][0])) {
      writeLine({ ev: 'SITE_LIVE', iteration, site, bytes, blocks });
    }
  } finally {
    unlock();
  }
}

if (wt.isMainThread) {
  installRegistry();
  let version = null;
  try {
    version = JSON.parse(fs.readFileSync(path.join(o1jsRoot, 'package.json'), 'utf8')).version;
  } catch {}
  lock();
  writeLine({ ev: 'META', route: 'binary', o1js_version: version, pid: process.pid, node: process.version,
    table_slots: MASK + 1, big_block_bytes: BIG_BLOCK, creation_sites: SITES, time: new Date().toISOString() });
  unlock();
  globalThis.__wlhSample = (s) => snapshot(s.iteration, s.phase, s.wasm_memory_bytes ?? 0);
}

// trackObject/flush: the same path as a handle assignment, for tests of the id/lock machinery.
function trackObject(type, ptr) {
  onHandle(type, ptr >>> 0);
}
function flush() {
  lock();
  try {
    flushPending();
  } finally {
    unlock();
  }
}
process.on('exit', flush);
// threadId: this thread's `tid` in the log (tests compare it with what a worker saw).
module.exports = { wasmImports, wrapExports, snapshot, instrumentClasses, trackObject, flush, walkChunks, threadId: tid };
