// Give the nameless web build of the o1js bindings (dist/web's inlined kimchi_wasm_bg.wasm, 5.4 MB, no
// `name` section: wasm-opt stripped it) just enough function names for the project's unchanged
// instrumenter (bench/instrument/instrument-wasm.mjs), which finds its hook points by name.
//
// What the web binary looks like (o1js 2.15.0), checked structurally below, never by index:
//   - The Rust shims are inlined: `__wbindgen_malloc` calls one function F_alloc(size, align) that takes
//     dlmalloc's global spin lock and calls memalign(align, size) if align > 8, else malloc(size).
//   - `__wbindgen_free` calls F_dealloc(ptr, size): wasm-opt dropped the unused `align` parameter, so the
//     "rust" hook set (which wants __rust_dealloc(ptr, size, align)) does not apply. F_dealloc calls
//     dlmalloc's free(ptr).
//   - `__wbindgen_realloc` calls F_realloc(ptr, old, align, new), which calls dlmalloc's realloc(ptr, new)
//     when align <= 8.
// So we name dlmalloc's own malloc / memalign / free / realloc and the instrumenter picks its "dlmalloc"
// hook set (the one it uses for older plonk_wasm binaries). The locked wrappers get names that start with
// `__rust_` (so the tracer filters them out of stacks) but do not match the instrumenter's shim regexes.
// Exported functions are named after their export (so wasm frames in stacks read e.g.
// `caml_pasta_fp_plonk_proof_create` instead of `wasm-function[1234]`).
import binaryen from 'binaryen';

export class NamingError extends Error {}

function uleb(n) {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}
function str(s) {
  const b = Buffer.from(s, 'utf8');
  return [...uleb(b.length), ...b];
}

// A `name` custom section with a function-names subsection (id 1), indices ascending.
export function nameSection(names /* Map index -> name */) {
  const entries = [...names].sort((a, b) => a[0] - b[0]);
  const sub = [...uleb(entries.length)];
  for (const [idx, name] of entries) sub.push(...uleb(idx), ...str(name));
  const payload = [...str('name'), 1, ...uleb(sub.length), ...sub];
  return Buffer.from([0, ...uleb(payload.length), ...payload]);
}

// Calls in a function body, in text order, as [callee, [args...]] with args as local indices or null.
function callsOf(m, fname) {
  const f = m.getFunction(String(fname));
  if (!f) throw new NamingError(`function ${fname} not found`);
  const text = binaryen.emitText(binaryen.getFunctionInfo(f).body);
  const calls = [];
  // (call $N\n (local.get $a)\n (local.get $b) ...) -- only direct local.get arguments are recorded
  const re = /\(call \$(\S+)((?:\s*\(local\.get \$\d+\))*)/g;
  let mm;
  while ((mm = re.exec(text))) calls.push([mm[1], [...mm[2].matchAll(/\$(\d+)/g)].map((x) => Number(x[1]))]);
  return { text, calls };
}

const LOCK_RE = /i32\.atomic\.rmw\.xchg \$\S+ offset=(\d+)/;

export function nameWebWasm(bytes) {
  binaryen.setDebugInfo(true);
  const m = binaryen.readBinary(bytes);
  try {
    const exp = new Map();
    for (let i = 0; i < m.getNumExports(); i++) {
      const e = binaryen.getExportInfo(m.getExportByIndex(i));
      if (e.kind === binaryen.ExternalFunction) exp.set(e.name, e.value);
    }
    for (let i = 0; i < m.getNumFunctions(); i++) {
      const n = binaryen.getFunctionInfo(m.getFunctionByIndex(i)).name;
      if (!/^\d+$|^fimport\$\d+$/.test(n)) throw new NamingError(`the binary already has function names (${n}): use it as is`);
    }
    const only = (fn, what, pred) => {
      const c = callsOf(m, fn).calls.filter(pred);
      if (c.length !== 1) throw new NamingError(`${what}: expected 1 matching call in ${fn}, found ${c.length}`);
      return c[0];
    };
    const lockOf = (fn) => {
      const l = LOCK_RE.exec(callsOf(m, fn).text);
      if (!l) throw new NamingError(`${fn} does not take dlmalloc's spin lock`);
      return l[1];
    };
    // __wbindgen_malloc(size, align) -> F_alloc(size, align)
    const [fAlloc] = only(exp.get('__wbindgen_malloc'), 'malloc shim', ([, a]) => a.join() === '0,1');
    // F_alloc: memalign(align=$1, size=$0) and malloc(size=$0)
    const [memalign] = only(fAlloc, 'memalign', ([, a]) => a.join() === '1,0');
    const [malloc] = only(fAlloc, 'malloc', ([, a]) => a.join() === '0');
    // __wbindgen_free(ptr, size, align) -> F_dealloc(ptr, size) -> free(ptr)
    const [fDealloc] = only(exp.get('__wbindgen_free'), 'free shim', ([, a]) => a.join() === '0,1');
    const [free] = only(fDealloc, 'free', ([, a]) => a.join() === '0');
    // __wbindgen_realloc(ptr, old, new, align) -> F_realloc(ptr, old, align, new) -> realloc(ptr, new=$3)
    const [fRealloc] = only(exp.get('__wbindgen_realloc'), 'realloc shim', ([, a]) => a.join() === '0,1,3,2');
    const [realloc] = only(fRealloc, 'realloc', ([, a]) => a.join() === '0,3');
    const locks = new Set([fAlloc, fDealloc, fRealloc].map(lockOf));
    if (locks.size !== 1) throw new NamingError(`allocator shims use different locks: ${[...locks]}`);
    if ([fAlloc, fDealloc, fRealloc].some((f) => !/^\d+$/.test(f))) throw new NamingError('shim is an import?');
    const ids = [malloc, memalign, free, realloc, fAlloc, fDealloc, fRealloc];
    if (new Set(ids).size !== ids.length) throw new NamingError(`allocator functions not distinct: ${ids}`);

    // keyed by binaryen's name for a nameless function: its index among the *defined* functions
    const names = new Map();
    for (const [name, fn] of exp) names.set(fn, name);
    names.set(malloc, '<dlmalloc::dlmalloc::Dlmalloc>::malloc');
    names.set(memalign, '<dlmalloc::dlmalloc::Dlmalloc>::memalign');
    names.set(free, '<dlmalloc::dlmalloc::Dlmalloc>::free');
    names.set(realloc, '<dlmalloc::dlmalloc::Dlmalloc>::realloc');
    names.set(fAlloc, '__rust_alloc(web,inlined)');
    names.set(fDealloc, '__rust_dealloc(web,inlined)');
    names.set(fRealloc, '__rust_realloc(web,inlined)');
    // the name section counts in the function index space, where imported functions come first
    let imported = 0;
    for (let i = 0; i < m.getNumFunctions(); i++) if (binaryen.getFunctionInfo(m.getFunctionByIndex(i)).module) imported++;
    const byIndex = new Map([...names].map(([fn, name]) => [Number(fn) + imported, name]));
    const out = Buffer.concat([Buffer.from(bytes), nameSection(byIndex)]);
    // Check that reading the result back gives each new name the body we identified.
    const check = binaryen.readBinary(out);
    try {
      for (const [idx, name] of names) {
        const a = m.getFunction(idx), b = check.getFunction(name);
        // call targets print by name, which we just changed: compare bodies without them
        const body = (f) => binaryen.emitText(binaryen.getFunctionInfo(f).body).replace(/call \$("[^"]*"|\S+)/g, 'call');
        if (!a || !b || body(a) !== body(b)) {
          throw new NamingError(`name ${name} did not land on function ${idx}`);
        }
      }
    } finally {
      check.dispose();
    }
    return {
      bytes: out,
      hooks: { malloc, memalign, free, realloc, alloc_shim: fAlloc, dealloc_shim: fDealloc, realloc_shim: fRealloc },
      dlmalloc_lock_offset: Number([...locks][0]),
      named: names.size,
    };
  } finally {
    m.dispose();
  }
}
