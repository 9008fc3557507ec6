// Rewrite a wasm-bindgen binary of o1js so that its allocator calls back into JS.
//
// Each hooked function F keeps its name and signature; its original body moves to a new function
// `F$wlh_orig`, and F becomes a thin wrapper that calls the original and a new import from module
// `__wlh`. Names are found in the `name` section; nothing is guessed from indices.
//
// Two hook sets, chosen by what the binary has:
//   rust:     __rust_alloc / __rust_dealloc / __rust_realloc / __rust_alloc_zeroed (kimchi_wasm, o1js 2.15)
//   dlmalloc: Dlmalloc::malloc / free / realloc / memalign (older plonk_wasm binaries, where
//             __rust_alloc may be inlined into its callers)
//
// Every `memory.grow` (whatever function holds it) becomes a call that tells the tracer before and after
// the real grow, and the hooked allocator entry points record the request they serve (grow-hooks.mjs).
//
// Usage: node instrument-wasm.mjs IN.wasm OUT.wasm [--report OUT.json] [--hooks auto|rust|dlmalloc]
import fs from 'node:fs';
import crypto from 'node:crypto';
import binaryen from 'binaryen';
import { addRequestGlobals, countGrows, GROW_FUNCTION, hookGrows, requestTracker } from './grow-hooks.mjs';
import { UnknownExpressionError } from './walk-expressions.mjs';

const RUST = {
  alloc: /^__rustc(\[[0-9a-f]+\])?::__rust_alloc$|^__rust_alloc$/,
  dealloc: /^__rustc(\[[0-9a-f]+\])?::__rust_dealloc$|^__rust_dealloc$/,
  realloc: /^__rustc(\[[0-9a-f]+\])?::__rust_realloc$|^__rust_realloc$/,
  alloc_zeroed: /^__rustc(\[[0-9a-f]+\])?::__rust_alloc_zeroed$|^__rust_alloc_zeroed$/,
};
// dlmalloc's methods: malloc(self, size), free(self, ptr), realloc(self, ptr, size), memalign(self, align,
// size); `self` may be optimized away (a static), so only the trailing parameters are relied on. Names come
// in the v0 form (`<dlmalloc[..]::dlmalloc::Dlmalloc<..>>::malloc`) or the legacy one
// (`dlmalloc::dlmalloc::Dlmalloc<A>::malloc::h<hash>`). Where Dlmalloc::realloc was inlined into
// `__rust_realloc` (o1js 2.10), that shim is the realloc hook.
const dl = (method) => new RegExp(`^(<dlmalloc(\\[[0-9a-f]+\\])?::dlmalloc::Dlmalloc(<.*>)?>::${method}|dlmalloc::dlmalloc::Dlmalloc(<.*>)?::${method}::h[0-9a-f]+)$`);
const DLMALLOC = { malloc: dl('malloc'), free: dl('free'), realloc: dl('realloc'), memalign: dl('memalign') };

export class InstrumentError extends Error {}

function listFunctions(m) {
  const out = [];
  for (let i = 0; i < m.getNumFunctions(); i++) {
    const ref = m.getFunctionByIndex(i);
    const info = binaryen.getFunctionInfo(ref);
    out.push({ ref, ...info, paramTypes: binaryen.expandType(info.params) });
  }
  return out;
}

function findHooks(funcs, patterns, label) {
  const found = {};
  const missing = [];
  for (const [role, re] of Object.entries(patterns)) {
    const hits = funcs.filter((f) => re.test(f.name) && !f.module);
    if (hits.length === 1) found[role] = hits[0];
    else if (hits.length > 1) throw new InstrumentError(`${label}: ${hits.length} functions match the ${role} hook: ${hits.map((h) => h.name).join(', ')}`);
    else missing.push(role);
  }
  return { found, missing };
}

// Move F's body into `F$wlh_orig` and return the new name. The body is read again: hookGrows may
// have replaced it.
function moveBody(m, f) {
  const origName = `${f.name}$wlh_orig`;
  m.addFunction(origName, f.params, f.results, f.vars, binaryen.Function.getBody(f.ref));
  return origName;
}

// Move F's body and return the name to call instead of it: the original behind a request tracker.
function moveBodyTracked(m, f, kind, sizeIdx, alignIdx) {
  return requestTracker(m, f, moveBody(m, f), kind, sizeIdx, alignIdx);
}

const i32 = binaryen.i32;
const none = binaryen.none;

function addImport(m, name, params, result) {
  m.addFunctionImport(`__wlh_${name}`, '__wlh', name, binaryen.createType(params), result);
  return `__wlh_${name}`;
}

function replaceBody(m, f, body) {
  binaryen.Function.setBody(f.ref, body);
}

function checkSignature(f, params, result, role) {
  if (f.paramTypes.length !== params || (result === none ? f.results !== none : f.results !== i32)) {
    throw new InstrumentError(`hook ${role} (${f.name}) has an unexpected signature: ${f.paramTypes.length} params`);
  }
}

function instrumentRust(m, h) {
  const g = (i) => m.local.get(i, i32);
  // alloc(size, align) -> ptr   ==>  on_alloc(orig(size, align), size, align) -> ptr
  for (const role of ['alloc', 'alloc_zeroed']) {
    const f = h[role];
    checkSignature(f, 2, i32, role);
    const orig = moveBodyTracked(m, f, `__rust_${role}`, 0, 1);
    const imp = addImport(m, `on_${role}`, [i32, i32, i32], i32);
    replaceBody(m, f, m.call(imp, [m.call(orig, [g(0), g(1)], i32), g(0), g(1)], i32));
  }
  {
    // dealloc(ptr, size, align): tell JS first, while the block still belongs to this thread.
    const f = h.dealloc;
    checkSignature(f, 3, none, 'dealloc');
    const orig = moveBody(m, f);
    const imp = addImport(m, 'on_dealloc', [i32, i32, i32], none);
    replaceBody(m, f, m.block(null, [m.call(imp, [g(0), g(1), g(2)], none), m.call(orig, [g(0), g(1), g(2)], none)]));
  }
  {
    // realloc(ptr, old_size, align, new_size) -> ptr: forget the old block before it may be freed,
    // record the new one after.
    const f = h.realloc;
    checkSignature(f, 4, i32, 'realloc');
    const orig = moveBodyTracked(m, f, '__rust_realloc', 3, 2);
    const before = addImport(m, 'on_realloc_before', [i32, i32, i32, i32], none);
    const after = addImport(m, 'on_realloc_after', [i32, i32, i32, i32, i32], i32);
    replaceBody(m, f, m.block(null, [
      m.call(before, [g(0), g(1), g(2), g(3)], none),
      m.call(after, [g(0), g(1), g(2), g(3), m.call(orig, [g(0), g(1), g(2), g(3)], i32)], i32),
    ], i32));
  }
}

function instrumentDlmalloc(m, h) {
  const g = (i) => m.local.get(i, i32);
  const all = (f) => f.paramTypes.map((_, i) => g(i)); // pass every parameter through, `self` included
  const last = (f, k) => g(f.paramTypes.length - k); // k-th parameter from the end
  const expect = (f, role, min, result) => {
    if (f.paramTypes.length < min || f.paramTypes.length > min + 1 || (result === none) !== (f.results === none)) {
      throw new InstrumentError(`hook ${role} (${f.name}) has an unexpected signature: ${f.paramTypes.length} params`);
    }
  };
  {
    const f = h.malloc; // ([self,] size) -> ptr
    expect(f, 'malloc', 1, i32);
    const orig = moveBodyTracked(m, f, 'malloc', f.paramTypes.length - 1, null);
    const imp = addImport(m, 'on_alloc', [i32, i32, i32], i32);
    replaceBody(m, f, m.call(imp, [m.call(orig, all(f), i32), last(f, 1), m.i32.const(0)], i32));
  }
  {
    const f = h.memalign; // ([self,] align, size) -> ptr
    expect(f, 'memalign', 2, i32);
    const orig = moveBodyTracked(m, f, 'memalign', f.paramTypes.length - 1, f.paramTypes.length - 2);
    const imp = addImport(m, 'on_alloc_aligned', [i32, i32, i32], i32);
    replaceBody(m, f, m.call(imp, [m.call(orig, all(f), i32), last(f, 1), last(f, 2)], i32));
  }
  {
    const f = h.free; // ([self,] ptr): the size is not passed here, the tracer looks it up
    expect(f, 'free', 1, none);
    const orig = moveBody(m, f);
    const imp = addImport(m, 'on_dealloc', [i32, i32, i32], none);
    replaceBody(m, f, m.block(null, [m.call(imp, [last(f, 1), m.i32.const(0), m.i32.const(0)], none), m.call(orig, all(f), none)]));
  }
  {
    // ([self,] ptr, size) -> ptr, or the __rust_realloc shim (ptr, old, align, new) -> ptr. It may call
    // malloc/free itself: the tracer ignores allocator calls nested in a realloc.
    const f = h.realloc;
    const ptr = f.rustShim ? g(0) : last(f, 2);
    const size = f.rustShim ? g(3) : last(f, 1);
    if (f.rustShim) checkSignature(f, 4, i32, 'realloc');
    else expect(f, 'realloc', 2, i32);
    const n = f.paramTypes.length;
    const orig = f.rustShim ? moveBodyTracked(m, f, '__rust_realloc', 3, 2) : moveBodyTracked(m, f, 'realloc', n - 1, null);
    const before = addImport(m, 'on_realloc_before', [i32, i32, i32, i32], none);
    const after = addImport(m, 'on_realloc_after', [i32, i32, i32, i32, i32], i32);
    replaceBody(m, f, m.block(null, [
      m.call(before, [ptr, m.i32.const(0), m.i32.const(0), size], none),
      m.call(after, [ptr, m.i32.const(0), m.i32.const(0), size, m.call(orig, all(f), i32)], i32),
    ], i32));
  }
}

export function instrument(inputBytes, { hooks = 'auto' } = {}) {
  binaryen.setDebugInfo(true); // keep the name section
  const m = binaryen.readBinary(inputBytes);
  // A binary without a target_features section reads as MVP; allow what wasm-bindgen threads use.
  m.setFeatures(m.getFeatures() | binaryen.Features.Atomics | binaryen.Features.BulkMemory |
    binaryen.Features.MutableGlobals | binaryen.Features.SignExt | binaryen.Features.NontrappingFPToInt);
  const funcs = listFunctions(m);
  const exportsBefore = [];
  for (let i = 0; i < m.getNumExports(); i++) exportsBefore.push(binaryen.getExportInfo(m.getExportByIndex(i)).name);

  const rust = findHooks(funcs, RUST, 'rust allocator shims');
  const dl = findHooks(funcs, DLMALLOC, 'dlmalloc');
  if (dl.missing.includes('realloc') && rust.found.realloc) {
    dl.found.realloc = rust.found.realloc; // Dlmalloc::realloc inlined into the shim
    dl.found.realloc.rustShim = true;
    dl.missing = dl.missing.filter((r) => r !== 'realloc');
  }
  let set = hooks;
  if (set === 'auto') set = rust.missing.length === 0 ? 'rust' : dl.missing.length === 0 ? 'dlmalloc' : null;
  if (set === null || (set === 'rust' && rust.missing.length) || (set === 'dlmalloc' && dl.missing.length)) {
    throw new InstrumentError(
      'cannot find the allocator hook points by name: ' +
        `rust shims missing [${rust.missing.join(', ')}], dlmalloc methods missing [${dl.missing.join(', ')}]` +
        (funcs.filter((f) => f.name && !/^\$?\d+$/.test(f.name)).length < 10 ? ' (the binary seems to have no name section)' : '')
    );
  }
  const chosen = set === 'rust' ? rust.found : dl.found;
  // Grows first, on the functions as read: a grow inlined into a hooked allocator function is then
  // named after that function, and its body moves to `F$wlh_orig` already hooked.
  let growSites;
  try {
    growSites = hookGrows(m, funcs);
  } catch (e) {
    if (e instanceof UnknownExpressionError) throw new InstrumentError(`looking for memory.grow: ${e.message}`);
    throw e;
  }
  if (growSites.length === 0) {
    throw new InstrumentError('no memory.grow instruction found: the growth of WebAssembly memory cannot be traced');
  }
  addRequestGlobals(m);
  if (set === 'rust') instrumentRust(m, chosen);
  else instrumentDlmalloc(m, chosen);

  if (!m.validate()) throw new InstrumentError('the instrumented module does not validate');
  const out = m.emitBinary();
  // Re-read to check that names and exports survived.
  const check = binaryen.readBinary(out);
  const exportsAfter = new Set();
  for (let i = 0; i < check.getNumExports(); i++) exportsAfter.add(binaryen.getExportInfo(check.getExportByIndex(i)).name);
  const lost = exportsBefore.filter((e) => !exportsAfter.has(e));
  if (lost.length) throw new InstrumentError(`exports lost by instrumentation: ${lost.slice(0, 5).join(', ')}`);
  for (const name of [...Object.values(chosen).map((f) => f.name), ...growSites, GROW_FUNCTION]) {
    if (!check.getFunction(name)) throw new InstrumentError(`name section lost function name ${name}`);
  }
  // The only memory.grow left is the one inside the hook function.
  const left = countGrows(check);
  if (left.length !== 1 || left[0] !== GROW_FUNCTION) {
    throw new InstrumentError(`memory.grow left outside the hook after instrumentation: ${left.join(', ')}`);
  }
  const dropGlue = funcs.filter((f) => /drop_in_place::</.test(f.name)).length;
  check.dispose();
  m.dispose();
  return {
    bytes: out,
    report: {
      hook_set: set,
      hooks: Object.fromEntries(Object.entries(chosen).map(([role, f]) => [role, f.name])),
      functions: funcs.length,
      exports: exportsBefore.length,
      drop_in_place_functions: dropGlue,
      grow_site_count: growSites.length,
      grow_sites: growSites, // index = the `site` of GROW lines
      input_sha256: crypto.createHash('sha256').update(inputBytes).digest('hex'),
      output_sha256: crypto.createHash('sha256').update(out).digest('hex'),
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [input, output, ...rest] = process.argv.slice(2);
  if (!input || !output) {
    console.error('usage: instrument-wasm.mjs IN.wasm OUT.wasm [--report OUT.json] [--hooks auto|rust|dlmalloc]');
    process.exit(2);
  }
  const opt = (k) => (rest.includes(k) ? rest[rest.indexOf(k) + 1] : undefined);
  try {
    const { bytes, report } = instrument(fs.readFileSync(input), { hooks: opt('--hooks') ?? 'auto' });
    fs.writeFileSync(output, bytes);
    if (opt('--report')) fs.writeFileSync(opt('--report'), JSON.stringify(report, null, 1) + '\n');
    console.error(`instrumented ${input}: hook set ${report.hook_set}, ${Object.keys(report.hooks).length} hooks, ` +
      `${report.grow_site_count} memory.grow site(s) in ${[...new Set(report.grow_sites)].join(', ')}`);
  } catch (e) {
    console.error(`${input}: ${e.message}`);
    process.exit(1);
  }
}
