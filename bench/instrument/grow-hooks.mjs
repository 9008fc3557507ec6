// Hooks on memory growth: WebAssembly memory (memory.buffer.byteLength) grows only through
// `memory.grow` instructions, so every one of them in the module is replaced by a call to an added
// function `wlh$memory_grow(delta, site)` that tells the tracer before and after the real grow.
//
// The tracer also wants the allocation request being served when the allocator grows memory. The
// allocator hooks (instrument-wasm.mjs) call the original through `F$wlh_req`, which records
// kind/size/align in mutable globals before calling it. Globals that are neither shared nor
// exported belong to one instance, and every thread instantiates the module itself, so they are
// per-thread state at no cost (no JS call). Only the outermost hooked call records its request
// (dlmalloc's memalign/realloc call malloc inside: the caller's request is the one that matters),
// and the request is cleared when that call returns, so a grow outside any hooked call (std paths
// that call dlmalloc directly) is seen as such.
import binaryen from 'binaryen';
import { walkFunction } from './walk-expressions.mjs';

const i32 = binaryen.i32;
const none = binaryen.none;
const G = { kind: 'wlh$req_kind', size: 'wlh$req_size', align: 'wlh$req_align', depth: 'wlh$req_depth' };
// Request kinds as the tracer names them (index = value of wlh$req_kind; 0 = no hooked call in progress).
export const REQUEST_KINDS = [null, '__rust_alloc', '__rust_alloc_zeroed', '__rust_realloc', 'malloc', 'memalign', 'realloc'];
export const GROW_FUNCTION = 'wlh$memory_grow';

export function addRequestGlobals(m) {
  for (const name of Object.values(G)) m.addGlobal(name, i32, true, m.i32.const(0));
}

// A function `${f.name}$wlh_req` with f's signature that records the request and calls `orig`.
// sizeIdx/alignIdx: parameter indices (alignIdx null: no alignment argument, recorded as 0).
export function requestTracker(m, f, orig, kind, sizeIdx, alignIdx) {
  const k = REQUEST_KINDS.indexOf(kind);
  if (k < 1) throw new Error(`unknown request kind ${kind}`);
  const name = `${f.name}$wlh_req`;
  const nParams = f.paramTypes.length;
  const g = (i) => m.local.get(i, f.paramTypes[i]);
  const gget = (n) => m.global.get(n, i32);
  const args = f.paramTypes.map((_, i) => g(i));
  const hasResult = f.results !== none;
  const depthIs0 = m.i32.eqz(gget(G.depth));
  const body = [
    m.if(depthIs0, m.block(null, [
      m.global.set(G.kind, m.i32.const(k)),
      m.global.set(G.size, g(sizeIdx)),
      m.global.set(G.align, alignIdx === null ? m.i32.const(0) : g(alignIdx)),
    ])),
    m.global.set(G.depth, m.i32.add(gget(G.depth), m.i32.const(1))),
    hasResult ? m.local.set(nParams, m.call(orig, args, f.results)) : m.call(orig, args, none),
    m.global.set(G.depth, m.i32.sub(gget(G.depth), m.i32.const(1))),
    m.if(m.i32.eqz(gget(G.depth)), m.global.set(G.kind, m.i32.const(0))),
  ];
  if (hasResult) body.push(m.local.get(nParams, f.results));
  m.addFunction(name, f.params, f.results, hasResult ? [f.results] : [], m.block(null, body, hasResult ? f.results : none));
  return name;
}

// Replace every memory.grow by a call to wlh$memory_grow(delta, site). Returns the grow sites
// (index = site number passed to the tracer): the name of the function that held each one.
export function hookGrows(m, funcs) {
  const sites = [];
  for (const f of funcs) {
    if (f.module) continue; // an import has no body
    walkFunction(f.ref, (expr, id, replace) => {
      if (id !== binaryen.MemoryGrowId) return undefined;
      const site = sites.length;
      sites.push(f.name);
      const call = m.call(GROW_FUNCTION, [binaryen.MemoryGrow.getDelta(expr), m.i32.const(site)], i32);
      replace(call);
      return call;
    });
  }
  if (sites.length === 0) return sites;
  const before = 'wlh_on_grow_before';
  const after = 'wlh_on_grow_after';
  m.addFunctionImport(before, '__wlh', 'on_grow_before', binaryen.createType([i32, i32, i32, i32, i32]), none);
  m.addFunctionImport(after, '__wlh', 'on_grow_after', binaryen.createType([i32, i32, i32, i32]), i32);
  const gget = (n) => m.global.get(n, i32);
  const delta = m.local.get(0, i32);
  const site = m.local.get(1, i32);
  // before(delta, site, request kind, size, align); r = memory.grow(delta); after(r, delta, site, memory.size)
  m.addFunction(GROW_FUNCTION, binaryen.createType([i32, i32]), i32, [], m.block(null, [
    m.call(before, [delta, site, gget(G.kind), gget(G.size), gget(G.align)], none),
    m.call(after, [m.memory.grow(m.local.get(0, i32)), m.local.get(0, i32), m.local.get(1, i32), m.memory.size()], i32),
  ], i32));
  return sites;
}

// Names of the functions holding a memory.grow, once per instruction (to check a module).
export function countGrows(m) {
  const found = [];
  for (let i = 0; i < m.getNumFunctions(); i++) {
    const ref = m.getFunctionByIndex(i);
    walkFunction(ref, (_e, id) => {
      if (id === binaryen.MemoryGrowId) found.push(binaryen.getFunctionInfo(ref).name);
    });
  }
  return found;
}
