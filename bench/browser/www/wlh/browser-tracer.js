// Browser side of the wasm-leak-hunt tracer (classic script: runs in the page and in every worker).
//
// It runs bench/tracer/wlh-tracer.cjs UNCHANGED (served by server.mjs inside a CommonJS function
// wrapper that defines self.__wlhTracerFactory) with browser shims for what the tracer takes from Node:
//   fs             openSync -> a token; writeSync -> the shared log ring (below); readFileSync -> sync XHR
//   path           posix-style resolve/join/relative that keep an `http://host:port` prefix, so o1jsRoot
//                  becomes `<origin>/o1js` and stack frames of the served bundle count as o1js frames
//   worker_threads isMainThread (a flag we control), workerData.__wlh (the shared state we hand over),
//                  Worker (a stub: the tracer subclasses it; constructing one hands us its shared state)
//   module         syncBuiltinESMExports: no-op
//   process        env (WLH_*), pid, version, on('exit') (kept; call flush() explicitly)
//   Buffer         from(string|bytes) and toString() (UTF-8)
//   Atomics        on the page's main thread only: Atomics.wait is not allowed there, so it spins
//
// Threads in o1js's web build (2.15.0) and what each one gets:
//   main    the page: instantiates the bindings once (WebAssembly.instantiate(bytes, imports)) and runs
//           most small kimchi calls itself; heavy calls (index/proof create, verify, SRS...) are
//           forwarded to the o1js worker while main spin-waits in the export `wait_until_non_zero`.
//           -> creates the tracer state, swaps the wasm bytes for the instrumented ones, wraps exports
//              (tracer.wrapExports), instruments the glue classes of globalThis.kimchi_wasm (the JS
//              handles o1js keeps live on this thread).
//   o1js    a blob worker created by main; it gets {module, memory}, instantiates its own glue and
//           runs the forwarded calls, and starts the rayon pool (initThreadPool).
//           -> tracer as a worker (isMainThread false while loading), but its exports ARE wrapped
//              (isMainThread flipped to true around wrapExports only) so the export boundary
//              ("which Rust function JS called") is the forwarded call, not main's wait_until_non_zero.
//              Its glue classes are NOT instrumented: its handles are transient copies of main's
//              handles (borrowed args) or results it hands to main with __destroy_into_raw.
//   rayon   nested blob workers created by the o1js worker; each instantiates the same module and then
//           blocks inside wbg_rayon_start_worker for ever (no event loop any more).
//           -> tracer as a plain worker (exports not wrapped).
//
// How a worker gets all this: the Worker constructor is patched in every scope. A new worker starts from
// a small bootstrap blob that importScripts() the wrapped tracer and this file, registers a 'message'
// listener, then importScripts() the original (blob) URL. The creator posts {__wlh_init: ...} right
// after construction, i.e. before any message of o1js; the listener takes it (stopImmediatePropagation)
// and loads the tracer with the shared SharedArrayBuffers before o1js's own handler sees any message.
//
// Snapshots (page): in `proof` mode, a baseline just before the first step prover call is forwarded, and one
// after each wrap prover call (the last prover call of a proof), GC settled over task turns first (gc() with
// --js-flags=--expose-gc, FinalizationRegistry callbacks counted until a round runs none); a snapshot still
// pending when the next prover call is forwarded is taken then. In `manual` mode the program calls
// `await globalThis.wlhSnapshot?.(label)`. Each snapshot is the tracer's SNAPSHOT line (trace.log) and a
// sample line (samples.jsonl, schemas/bench-event.schema.json) POSTed to the server.
//
// Log lines: the tracer writes every line under its own global lock; writeSync copies the line into a
// SharedArrayBuffer ring in that order, and one drain worker (drain-worker.js) POSTs the bytes to the
// server with synchronous XHR, in order. So file order = order of the tracer's lock, as in Node, and
// lines keep flowing even if the page's main thread hangs.
(function () {
  'use strict';
  const G = self;
  if (G.__wlhBrowser) return;
  const IS_WINDOW = typeof window !== 'undefined';
  const ORIGIN = G.__wlhOrigin || G.location.origin;
  const WASM_IMPORT_MODULE = '__wlh';
  const SPIN_WAIT_EXPORTS = ['wait_until_non_zero'];

  // ---------------------------------------------------------------- log ring (SharedArrayBuffer)
  // ctl (Int32): [0] spin lock, [1] head (bytes written, mod 2^32), [2] tail (bytes drained, mod 2^32)
  const R_LOCK = 0, R_HEAD = 1, R_TAIL = 2;
  function createLogRing(bytes) {
    if (bytes & (bytes - 1)) throw new Error('log ring size must be a power of two');
    return { buf: new SharedArrayBuffer(bytes), ctl: new SharedArrayBuffer(16 * 4) };
  }
  function ringWriter(ring) {
    const buf = new Uint8Array(ring.buf), ctl = new Int32Array(ring.ctl), size = buf.length;
    const enc = new TextEncoder(); // encodeInto refuses shared views: encode, then copy
    return function write(str) {
      const b = enc.encode(str);
      if (b.length > size) throw new Error(`wlh: log line of ${b.length} B exceeds the log ring`);
      while (Atomics.compareExchange(ctl, R_LOCK, 0, 1) !== 0); // uncontended: callers hold the tracer lock
      try {
        const head = Atomics.load(ctl, R_HEAD) >>> 0;
        for (;;) {
          const tail = Atomics.load(ctl, R_TAIL);
          if (size - ((head - (tail >>> 0)) >>> 0) >= b.length) break;
          if (!IS_WINDOW) Atomics.wait(ctl, R_TAIL, tail, 50); // ring full: wait for the drainer
        }
        const pos = head & (size - 1), first = Math.min(b.length, size - pos);
        buf.set(first === b.length ? b : b.subarray(0, first), pos);
        if (first < b.length) buf.set(b.subarray(first), 0);
        Atomics.store(ctl, R_HEAD, (head + b.length) | 0);
        Atomics.notify(ctl, R_HEAD);
      } finally {
        Atomics.store(ctl, R_LOCK, 0);
      }
    };
  }

  // ---------------------------------------------------------------- Node shims for the tracer
  class BufferShim extends Uint8Array {
    static from(x) {
      const src = typeof x === 'string' ? new TextEncoder().encode(x) : x;
      const b = new BufferShim(src.length);
      b.set(src); // copies out of shared memory too
      return b;
    }
    toString() {
      return new TextDecoder().decode(this);
    }
  }
  // Atomics for the page's main thread: same object, but wait() spins (the browser forbids blocking there).
  const SpinAtomics = Object.create(Atomics, {
    wait: {
      value(ta, i, v, timeout) {
        const t0 = performance.now();
        while (Atomics.load(ta, i) === v) if (timeout !== undefined && performance.now() - t0 >= timeout) return 'timed-out';
        return 'ok';
      },
    },
  });
  const splitOrigin = (p) => {
    const m = /^([a-z][a-z0-9+.-]*:\/\/[^/]*)(.*)$/i.exec(p);
    return m ? [m[1], m[2]] : ['', p];
  };
  function normalize(p) {
    const [o, rest] = splitOrigin(p);
    const parts = [];
    for (const s of rest.split('/')) {
      if (!s || s === '.') continue;
      if (s === '..') parts.pop();
      else parts.push(s);
    }
    return `${o}/${parts.join('/')}`;
  }
  const pathShim = {
    sep: '/',
    resolve(...args) {
      let acc = '';
      for (const a of args) acc = splitOrigin(a)[0] || a.startsWith('/') ? a : `${acc}/${a}`;
      return normalize(acc);
    },
    join: (...args) => normalize(args.join('/')),
    relative: (from, to) => (to.startsWith(from + '/') ? to.slice(from.length + 1) : to),
    basename: (p) => p.slice(p.lastIndexOf('/') + 1),
    dirname: (p) => p.slice(0, p.lastIndexOf('/')) || '/',
  };
  function syncGet(url) {
    const x = new XMLHttpRequest();
    x.open('GET', url, false);
    x.send();
    if (x.status !== 200) throw new Error(`GET ${url}: ${x.status}`);
    return x.responseText;
  }

  // Load the (unchanged) tracer in this thread. role: 'main' | 'o1js' | 'rayon'.
  function loadTracer(role, shared, cfg, logRing) {
    const write = ringWriter(logRing);
    const wtState = { main: role === 'main' };
    let handedShared = null;
    const wt = {
      get isMainThread() {
        return wtState.main;
      },
      workerData: role === 'main' ? undefined : { __wlh: shared },
      // The tracer (main) subclasses this to add workerData.__wlh to each new worker: constructing one
      // is how we get its shared state without changing the tracer.
      Worker: class CaptureWorker {
        constructor(_src, opts) {
          handedShared = opts && opts.workerData && opts.workerData.__wlh;
        }
      },
    };
    const fsShim = {
      openSync: () => 3, // the only descriptor: the log ring
      writeSync: (_fd, s) => write(String(s)),
      readFileSync: (p, enc) => syncGet(p), // package.json for META
    };
    const exitHandlers = [];
    const chrome = /Chrom(?:e|ium)\/([\d.]+)/.exec(G.navigator.userAgent);
    const processShim = {
      env: { WLH_TRACE_LOG: 'trace.log', ...(cfg.env || {}) },
      pid: 0,
      version: chrome ? `chromium-${chrome[1]}` : G.navigator.userAgent,
      on: (ev, fn) => ev === 'exit' && exitHandlers.push(fn),
    };
    const mods = { fs: fsShim, path: pathShim, worker_threads: wt, module: { syncBuiltinESMExports() {} } };
    const require = (name) => {
      const m = mods[String(name).replace(/^node:/, '')];
      if (!m) throw new Error(`wlh shim: no module '${name}'`);
      return m;
    };
    const module = { exports: {} };
    // The tracer's o1jsRoot is 5 levels above its folder in the Node package: make that `<origin>/o1js`.
    const dirname = `${ORIGIN}/o1js/dist/node/bindings/compiled/node_bindings`;
    G.__wlhTracerFactory.call(module.exports, require, module, module.exports, processShim, dirname, BufferShim,
      IS_WINDOW ? SpinAtomics : Atomics);
    const tracer = module.exports;
    if (role === 'main') {
      new wt.Worker('wlh:capture', {}); // TracedWorker -> CaptureWorker: hands over the shared state
      if (!handedShared) throw new Error('wlh: could not obtain the tracer state');
      shared = handedShared;
    }
    return { tracer, shared, wtState, exitHandlers };
  }

  // ---------------------------------------------------------------- WebAssembly hooks
  function fnv1a(bytes) {
    let h = 0x811c9dc5;
    for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
    return h >>> 0;
  }
  const asBytes = (src) => (src instanceof ArrayBuffer ? new Uint8Array(src) : ArrayBuffer.isView(src)
    ? new Uint8Array(src.buffer, src.byteOffset, src.byteLength) : null);

  function patchWebAssembly(ctx) {
    const WA = WebAssembly;
    const { role, tracer, cfg, wtState } = ctx;
    const orig = { instantiate: WA.instantiate, instantiateStreaming: WA.instantiateStreaming, Module: WA.Module, Instance: WA.Instance };
    const isKimchi = (src, imports) => {
      const b = asBytes(src);
      return !!(b && imports && imports.wbg && b.byteLength === cfg.orig_length && fnv1a(b) === cfg.orig_fnv1a);
    };
    const needsWlh = (mod) => orig.Module.imports(mod).some((i) => i.module === WASM_IMPORT_MODULE);
    // The hooks run inside dlmalloc's spin lock (the web build's allocator shims take it before calling
    // the hooked dlmalloc functions): a JS exception thrown by a hook would unwind the wasm without
    // releasing it, and every thread would then spin for ever at its next allocation. So an exception is
    // reported (console, ctx.hookErrors) and the hook's pass-through value returned instead.
    const PASS = { on_alloc: 0, on_alloc_zeroed: 0, on_alloc_aligned: 0, on_realloc_after: 4, on_grow_after: 0 };
    const guard = (name, fn) => function (...args) {
      try {
        return fn(...args);
      } catch (e) {
        if (ctx.hookErrors++ < 5) console.error(`[wlh] ${ctx.role}: hook ${name} threw: ${e && e.stack ? e.stack : e}`);
        return name in PASS ? args[PASS[name]] : undefined;
      }
    };
    const addImports = (imports) => {
      const hooks = tracer.wasmImports();
      for (const k of Object.keys(hooks)) hooks[k] = guard(k, hooks[k]);
      imports[WASM_IMPORT_MODULE] = hooks;
      return imports;
    };
    // After instantiation of the instrumented module: tell the tracer about the exports.
    function finish(instance, imports) {
      const exports = instance.exports;
      ctx.instances++;
      if (role === 'main') {
        ctx.memory = imports.wbg && imports.wbg.memory;
        const wrapped = tracer.wrapExports(exports);
        // Main spin-waits for a forwarded call inside this export. Wrapped, it would start an epoch and
        // set the current export to itself, racing with the o1js worker's wrapper of the forwarded call
        // (seen: the worker entered index_create first, then main's wait overwrote the boundary for the
        // rest of the call). It allocates nothing: leave it unwrapped.
        for (const name of SPIN_WAIT_EXPORTS) if (typeof exports[name] === 'function') wrapped[name] = exports[name];
        // The glue object of this thread (the bundle sets globalThis.kimchi_wasm = WB() before it
        // instantiates): its classes are the handles o1js holds.
        const glue = G.kimchi_wasm;
        ctx.classes = glue ? tracer.instrumentClasses(glue) : 0;
        if (glue) watchNewHandles(glue);
        if (!ctx.classes) console.error('[wlh] no glue classes instrumented (globalThis.kimchi_wasm missing?)');
        startWatchdog(ctx, Object.keys(exports));
        // The glue reads `instance.exports` once (g = c.exports): hand it the wrapped ones.
        return Object.create(instance, { exports: { value: wrapped, enumerable: true } });
      }
      tracer.wrapExports(exports); // export names and this thread's view of memory (GROW heap walks)
      if (role === 'o1js' && cfg.boundary !== 'main') {
        // Wrap here too: this thread runs the forwarded kimchi calls. Same keys in the same order as the
        // real exports (export indices are shared between threads through ctl[CUR_EXPORT]), but memory
        // hidden while wrapping, so that wrapExports neither overwrites the heap base (the size at main's
        // instantiation) nor this thread's memory view; the wrapped getter reads it afterwards.
        const shadow = {};
        for (const k of Object.keys(exports)) shadow[k] = k === 'memory' ? undefined : exports[k];
        wtState.main = true;
        let wrapped;
        try {
          wrapped = tracer.wrapExports(shadow);
        } finally {
          wtState.main = false;
        }
        shadow.memory = exports.memory;
        return Object.create(instance, { exports: { value: wrapped, enumerable: true } });
      }
      return instance;
    }
    async function tracedBytes() {
      if (!ctx.tracedPromise) ctx.tracedPromise = fetch(`${ORIGIN}/wlh/kimchi-traced.wasm`).then((r) => r.arrayBuffer());
      return ctx.tracedPromise;
    }
    WA.instantiate = async function instantiate(source, imports) {
      if (source instanceof orig.Module) {
        if (!imports || !needsWlh(source)) return orig.instantiate.call(WA, source, imports);
        const inst = await orig.instantiate.call(WA, source, addImports(imports));
        return finish(inst, imports);
      }
      if (!isKimchi(source, imports)) return orig.instantiate.call(WA, source, imports);
      ctx.swapped++;
      const r = await orig.instantiate.call(WA, await tracedBytes(), addImports(imports));
      return { module: r.module, instance: finish(r.instance, imports) };
    };
    WA.instantiateStreaming = async function instantiateStreaming(source, imports) {
      if (!imports || !imports.wbg) return orig.instantiateStreaming.call(WA, source, imports);
      return WA.instantiate(await (await source).arrayBuffer(), imports);
    };
    // Synchronous paths (initSync in the glue): same rules. The page prefetches the traced bytes.
    WA.Module = new Proxy(orig.Module, {
      construct(target, [bytes, ...rest]) {
        if (ctx.tracedSync && asBytes(bytes) && asBytes(bytes).byteLength === cfg.orig_length && fnv1a(asBytes(bytes)) === cfg.orig_fnv1a) {
          ctx.swapped++;
          return Reflect.construct(target, [ctx.tracedSync, ...rest]);
        }
        return Reflect.construct(target, [bytes, ...rest]);
      },
    });
    WA.Instance = new Proxy(orig.Instance, {
      construct(target, [mod, imports]) {
        if (!imports || !needsWlh(mod)) return Reflect.construct(target, [mod, imports]);
        return finish(Reflect.construct(target, [mod, addImports(imports)]), imports);
      },
    });
  }

  // ---------------------------------------------------------------- watchdog (diagnostics)
  // A plain worker with an event loop that logs, every 10 s, the tracer's lock word, current export and
  // id counter, and dlmalloc's spin-lock word in linear memory: enough to tell a deadlock (who holds what)
  // from a slow phase, and to see a dlmalloc lock left taken by a trap, even when the page is stuck.
  const OrigWorker = G.Worker;
  function startWatchdog(ctx, exportNames) {
    const lockOffset = ctx.cfg.instrument && ctx.cfg.instrument.naming && ctx.cfg.instrument.naming.dlmalloc_lock_offset;
    const src = `onmessage = (e) => { const { ctl, memory, lockOffset, names } = e.data; const c = new Int32Array(ctl);
      let last = ''; setInterval(() => { const m = new Int32Array(memory.buffer);
        const s = 'tracer_lock=' + c[0] + ' export=' + (names[c[4] - 1] || c[4]) + ' epoch=' + c[3] + ' next_id=' + c[1] +
          ' dlmalloc_lock=' + (lockOffset ? m[lockOffset >> 2] : '?') + ' memory=' + memory.buffer.byteLength;
        if (s !== last) console.log('[wlh watchdog] ' + s); last = s; }, 10000); };`;
    if (!OrigWorker) return;
    const w = new OrigWorker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })), { name: 'wlh-watchdog' });
    w.postMessage({ ctl: ctx.shared.ctl, memory: ctx.memory, lockOffset, names: exportNames });
    ctx.watchdog = w;
  }

  // ---------------------------------------------------------------- Worker constructor patch
  const isTracedHandle = (v) => v !== null && typeof v === 'object' && !Array.isArray(v) && '__wbg_ptr' in v &&
    !Object.prototype.hasOwnProperty.call(v, '__wbg_ptr');
  // Diagnostic for the known hang: pointers of main-thread handles posted to the o1js worker. The worker
  // runs the glue on a copy; a by-value argument (e.g. the witness of proof_create, both arguments of
  // proof_verify) is consumed there (__destroy_into_raw on the copy, Rust drops the value), while main's
  // original handle stays registered in main's FinalizationRegistry, which will free the pointer again.
  // ptr -> {what, name, arg, type, consumed} of a main-thread handle posted to the o1js worker. An entry is
  // dropped when a main-thread handle takes that pointer anew (the block was freed and reused) or the
  // what-if neutralised the handle, so a finalizer free of a pointer still here is the original handle's.
  const postedHandles = new Map();
  // Around the tracer's own `__wbg_ptr` accessor (instrumentClasses): a handle that takes a pointer ends
  // whatever this map said about that pointer.
  function watchNewHandles(glue) {
    for (const C of Object.values(glue)) {
      const d = typeof C === 'function' && C.prototype && Object.getOwnPropertyDescriptor(C.prototype, '__wbg_ptr');
      if (!d || !d.set) continue;
      Object.defineProperty(C.prototype, '__wbg_ptr', { configurable: true, get: d.get, set(v) {
        d.set.call(this, v);
        if (v) postedHandles.delete(v >>> 0);
      } });
    }
  }
  function watchFinalizers() {
    // Installed under the tracer's TracingRegistry (which extends whatever FinalizationRegistry is global
    // when it loads): reports each finalizer free of a pointer that was posted to the o1js worker.
    const Base = G.FinalizationRegistry;
    G.FinalizationRegistry = class WatchedRegistry extends Base {
      constructor(cleanup) {
        super((held) => {
          const p = typeof held === 'number' ? held >>> 0 : null;
          B.finalized++;
          if (p !== null && postedHandles.has(p) && postedHandles.get(p).consumed) {
            B.finalizerFreesOfPosted++;
            const posted = postedHandles.get(p);
            if (B.finalizerFreesOfPosted <= 200) {
              postEvent({ event: 'late_free', ptr: p, posted_as: posted.what, export: posted.name, arg: posted.arg,
                type: posted.type, consumed: posted.consumed, proofs_done: B.wrapCalls });
            }
            if (B.finalizerFreesOfPosted <= 5) console.warn(`[wlh] finalizer on main frees ptr ${p}, which was posted to the o1js worker as ${posted.what}`);
          }
          cleanup(held);
        });
      }
    };
  }
  // The glue's own name of a handle's class (the bundle is minified: constructor.name is e.g. 'hu'), from the
  // export object of the glue (globalThis.kimchi_wasm), whose keys are wasm-bindgen's class names.
  const classNames = new Map();
  function className(C) {
    if (!classNames.size && G.kimchi_wasm) {
      for (const [k, v] of Object.entries(G.kimchi_wasm)) if (typeof v === 'function') classNames.set(v, k);
    }
    return classNames.get(C) || C.name;
  }
  const plainHandle = (v) => (isTracedHandle(v) ? { ...v, __wbg_ptr: v.__wbg_ptr } : v);

  // childRole: the role of workers created from this scope ('o1js' from the page, 'rayon' from workers).
  function patchWorker(childRole, init) {
    const Orig = G.Worker;
    if (!Orig || Orig.__wlhTraced) return;
    const post = Orig.prototype.postMessage;
    class TracedWorker extends Orig {
      constructor(url, opts = {}) {
        if (opts && opts.type === 'module') throw new Error('wlh: module workers are not supported (importScripts)');
        const target = new URL(String(url), G.location.href).href;
        const boot = [
          `self.__wlhOrigin = ${JSON.stringify(ORIGIN)};`,
          `importScripts(${JSON.stringify(`${ORIGIN}/wlh/wlh-tracer.wrapped.js`)}, ${JSON.stringify(`${ORIGIN}/wlh/browser-tracer.js`)});`,
          `self.__wlhBrowser.workerBoot(${JSON.stringify(childRole)});`,
          `importScripts(${JSON.stringify(target)});`,
        ].join('\n');
        const bootUrl = URL.createObjectURL(new Blob([boot], { type: 'text/javascript' }));
        super(bootUrl, { ...opts, name: (opts && opts.name) || `wlh-${childRole}` });
        // First message in the new worker's queue: o1js posts its own only after `new Worker` returned.
        post.call(this, { __wlh_init: { ...init, role: childRole } });
        setTimeout(() => URL.revokeObjectURL(bootUrl), 60000);
      }
    }
    // Structured clone copies own properties only. instrumentClasses (main) moves a handle's pointer
    // behind a `__wbg_ptr` accessor on the class prototype (the value lives under a Symbol), so a handle
    // posted to the o1js worker as an argument of a forwarded call would arrive without __wbg_ptr (the
    // worker would then call Rust with a null pointer and main would spin-wait for ever). Post what an
    // uninstrumented handle clones to: a plain object with its own enumerable properties and __wbg_ptr.
    TracedWorker.prototype.postMessage = function (msg, transfer) {
      if (msg && msg.type === 'run' && msg.message) {
        B.forwarded[msg.message.name] = (B.forwarded[msg.message.name] || 0) + 1;
        if (B.onForward) B.onForward(msg.message.name);
      }
      const args = msg && msg.message && Array.isArray(msg.message.args) ? msg.message.args : null;
      if (args && args.some(isTracedHandle)) {
        const taken = (B.ctx && B.ctx.cfg.consumed_args || {})[msg.message.name] || [];
        args.forEach((v, i) => isTracedHandle(v) && v.__wbg_ptr && postedHandles.set(v.__wbg_ptr >>> 0, {
          what: `${msg.message.name} arg ${i} (${className(v.constructor)})`, name: msg.message.name, arg: i,
          type: className(v.constructor), consumed: taken.includes(i) }));
        msg = { ...msg, message: { ...msg.message, args: args.map(plainHandle) } };
      }
      return transfer === undefined ? post.call(this, msg) : post.call(this, msg, transfer);
    };
    TracedWorker.__wlhTraced = true;
    G.Worker = TracedWorker;
  }

  // ---------------------------------------------------------------- per-thread setup
  // ---------------------------------------------------------------- snapshots and samples (page)
  const STEP_PROVER = 'caml_pasta_fp_plonk_proof_create';
  const WRAP_PROVER = 'caml_pasta_fq_plonk_proof_create';
  const t0 = performance.now();
  function postLine(url, obj) {
    try {
      const x = new XMLHttpRequest();
      x.open('POST', url, false); // few and small; synchronous keeps them in order and survives a later hang
      x.send(JSON.stringify({ ...obj, t: +((performance.now() - t0) / 1000).toFixed(3) }) + '\n');
    } catch (e) {
      console.error(`[wlh] cannot post to ${url}: ${e.message}`);
    }
  }
  const postEvent = (obj) => postLine(`${ORIGIN}/wlh/events`, obj);
  const later = () => new Promise((r) => setTimeout(r, 0));
  // Rounds of gc() and task turns until a round runs no FinalizationRegistry callback (at least 2, at most max).
  async function settle(max = 10) {
    const perRound = [];
    for (let i = 0; i < max; i++) {
      const before = B.finalized;
      G.gc();
      await later();
      G.gc();
      await later();
      perRound.push(B.finalized - before);
      if (i >= 1 && perRound[i] === 0) break;
    }
    return perRound;
  }
  let lastBytes = null;
  function snapshotNow(iteration, phase, extra, perRound) {
    const ctx = B.ctx;
    const bytes = B.memoryBytes();
    G.__wlhSample({ iteration, phase, wasm_memory_bytes: bytes }); // the tracer's SNAPSHOT line
    const num = new Float64Array(ctx.shared.num); // the tracer's counters: [0] live heap bytes, [6] tracked bytes
    const mem = performance.memory || {};
    const sample = { event: 'sample', iteration, phase, wasm_memory_bytes: bytes,
      wasm_memory_delta: lastBytes === null ? null : bytes - lastBytes, js_heap_used: mem.usedJSHeapSize ?? 0,
      js_heap_total: mem.totalJSHeapSize ?? 0, rss: 0, external: 0, handles_live: null, finalized_per_round: perRound,
      settled: perRound.length > 0 && perRound[perRound.length - 1] === 0, live_heap_bytes: num[0],
      tracked_live_bytes: num[6], proofs_done: B.wrapCalls, ...extra };
    lastBytes = bytes;
    postLine(`${ORIGIN}/wlh/samples`, sample);
    console.log(`[wlh] ${phase === 'after_proof' ? `proof ${iteration}` : `${phase} #${iteration}`}: wasm ` +
      `${(bytes / 2 ** 20).toFixed(1)} MiB, live ${(num[0] / 2 ** 20).toFixed(2)} MiB${sample.settled ? '' : ', GC not settled'}`);
    return sample;
  }
  // A snapshot waiting for GC to settle. The web has no synchronous FinalizationRegistry.cleanupSome (Chromium
  // 156 lacks V8's flag for it), so settling needs task turns; a program whose proofs follow each other
  // through promises alone never gives one, and the snapshot is then taken, unsettled, when the next prover
  // call is forwarded. A program can wait for it: `await globalThis.wlhIdle?.()` (bench/browser/www/loop.mjs).
  let pending = null;
  let idleWaiters = [];
  function release() {
    pending = null;
    for (const r of idleWaiters.splice(0)) r();
  }
  function takePendingNow() {
    if (!pending || pending.done) return;
    pending.done = true;
    G.gc();
    snapshotNow(pending.iteration, pending.phase, { ...pending.extra, interrupted: true }, []);
    release();
  }
  function snapshotSoon(iteration, phase, extra = {}) {
    takePendingNow();
    const job = { iteration, phase, extra, done: false };
    pending = job;
    return new Promise((resolve) => setTimeout(async () => {
      const perRound = await settle();
      if (job.done) return resolve(null);
      job.done = true;
      const s = snapshotNow(iteration, phase, extra, perRound);
      release();
      resolve(s);
    }, 0));
  }
  G.wlhIdle = () => (pending ? new Promise((r) => idleWaiters.push(r)) : Promise.resolve());

  function installSnapshots(mode) {
    let baseline = false, proofStart = null, manual = 0;
    B.onForward = (name) => {
      if (name !== STEP_PROVER && name !== WRAP_PROVER) return;
      takePendingNow();
      if (mode === 'proof' && !baseline) {
        baseline = true;
        G.gc();
        snapshotNow(0, 'before_first_proof', { proofs_done: 0 }, []);
      }
      if (name === STEP_PROVER && proofStart === null) proofStart = performance.now();
      if (name !== WRAP_PROVER) return;
      // The forwarded call returns once the worker answered (main spin-waits): the timer runs after that.
      B.wrapCalls++;
      const extra = { proofs_done: B.wrapCalls, prover_seconds: proofStart === null ? null : (performance.now() - proofStart) / 1000 };
      proofStart = null;
      const k = B.wrapCalls;
      if (mode === 'proof') snapshotSoon(k, 'after_proof', extra);
      else console.log(`[wlh] proof ${k} done`);
    };
    // A program may take the baseline itself, settled, before its first proof (loop.mjs does, after compile).
    G.wlhBaseline = async () => {
      if (mode !== 'proof' || baseline) return null;
      baseline = true;
      return snapshotSoon(0, 'before_first_proof', { proofs_done: 0 });
    };
    if (mode === 'manual') {
      G.wlhSnapshot = async (label = '') => snapshotSoon(manual++, 'manual', { label: String(label), proofs_done: B.wrapCalls });
    }
  }

  const B = {
    ctx: null,
    finalizerFreesOfPosted: 0,
    finalized: 0,
    wrapCalls: 0,
    onForward: null,
    forwarded: {}, // calls the page forwarded to the o1js worker, by export
    forgetPosted: (ptr) => postedHandles.delete(ptr >>> 0), // the what-if neutralised that handle
    createLogRing,
    fnv1a,
    // Page: create the state and hooks. Call before the o1js bundle runs (FinalizationRegistry!).
    initPage({ logRingBytes = 32 << 20 } = {}) {
      const cfg = JSON.parse(syncGet(`${ORIGIN}/wlh/config.json`));
      const logRing = createLogRing(logRingBytes);
      // The drainer is a plain worker (not patched, no tracer): created before Worker is patched.
      const drainer = new Worker(`${ORIGIN}/wlh/drain-worker.js`, { name: 'wlh-drain' });
      drainer.postMessage({ ring: logRing, url: `${ORIGIN}/wlh/log` });
      if (cfg.watchFinalizers !== false) watchFinalizers();
      const { tracer, shared, wtState } = loadTracer('main', null, cfg, logRing);
      const ctx = { role: 'main', tracer, shared, cfg, wtState, logRing, drainer, instances: 0, swapped: 0, classes: 0, memory: null, hookErrors: 0 };
      B.ctx = ctx;
      // Prefetch the instrumented bytes (the async instantiate path awaits them; the sync one needs them).
      ctx.tracedPromise = fetch(`${ORIGIN}/wlh/kimchi-traced.wasm`).then((r) => r.arrayBuffer());
      ctx.tracedPromise.then((b) => (ctx.tracedSync = b));
      patchWorker('o1js', { shared, cfg, logRing });
      patchWebAssembly(ctx);
      installSnapshots(cfg.snapshot || 'proof');
      postLine(`${ORIGIN}/wlh/samples`, { event: 'start', scenario: cfg.program || G.location.pathname, iterations: null, o1js_version: null,
        backend: 'wasm', workers: null, cache: 'program', snapshot: cfg.snapshot || 'proof', settle: 'task turns',
        node: null, browser: G.navigator.userAgent, platform: 'browser' });
      return ctx;
    },
    // Worker: called by the bootstrap before the original worker script runs.
    workerBoot(role) {
      G.addEventListener('message', function onInit(e) {
        const init = e.data && e.data.__wlh_init;
        if (!init) return;
        e.stopImmediatePropagation();
        G.removeEventListener('message', onInit);
        const { tracer, wtState } = loadTracer(init.role, init.shared, init.cfg, init.logRing);
        const ctx = { role: init.role, tracer, shared: init.shared, cfg: init.cfg, wtState, logRing: init.logRing, instances: 0, swapped: 0, hookErrors: 0 };
        B.ctx = ctx;
        patchWorker('rayon', { shared: init.shared, cfg: init.cfg, logRing: init.logRing });
        patchWebAssembly(ctx);
      });
    },
    // Page API for the test program.
    memoryBytes() {
      return B.ctx.memory.buffer.byteLength; // never cache the buffer: it is replaced on growth
    },
    sample(iteration, phase) {
      G.__wlhSample({ iteration, phase, wasm_memory_bytes: B.memoryBytes() });
    },
    flush() {
      B.ctx.tracer.flush();
    },
    // Bytes written to the log ring and drained so far (the test waits for them to meet).
    logProgress() {
      const c = new Int32Array(B.ctx.logRing.ctl);
      return { head: Atomics.load(c, R_HEAD) >>> 0, tail: Atomics.load(c, R_TAIL) >>> 0 };
    },
    status() {
      const c = B.ctx;
      return { role: c.role, instances: c.instances, swapped: c.swapped, classes: c.classes, threadId: c.tracer.threadId, hookErrors: c.hookErrors };
    },
  };
  G.__wlhBrowser = B;
})();
