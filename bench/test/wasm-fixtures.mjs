// Small wasm modules built by the tests themselves, with functions named like the allocator entry
// points of the real binaries. Their allocator is a bump allocator on a shared, imported memory
// (address 0 holds the bump pointer), so several threads can use one module.
import binaryen from 'binaryen';

const i32 = binaryen.i32;
const none = binaryen.none;
const T = (...ts) => binaryen.createType(ts);

function bump(m, sizeExpr) {
  // atomic bump by size rounded up to 8; first block at 64
  const rounded = m.i32.and(m.i32.add(sizeExpr, m.i32.const(7)), m.i32.const(-8));
  return m.i32.add(m.i32.atomic.rmw.add(0, m.i32.const(0), rounded), m.i32.const(64));
}

// style 'rust': __rustc[..]::__rust_alloc & co (o1js 2.15); 'dlmalloc': Dlmalloc methods with `self`
// first; 'dlmalloc-legacy': as in o1js 2.10's plonk_wasm ('dlmalloc-nested': with memalign calling malloc); 'none': no allocator names at all.
export function buildModule(style = 'rust') {
  binaryen.setDebugInfo(true);
  const m = new binaryen.Module();
  m.setFeatures(binaryen.Features.All);
  m.setMemory(2, 1000, null, [], true, false, '0');
  m.addMemoryImport('0', 'env', 'memory', true); // turns the memory above into an import: shared by threads
  const g = (i) => m.local.get(i, i32);
  if (style === 'rust') {
    const p = '__rustc[0123456789abcdef]::';
    m.addFunction(`${p}__rust_alloc`, T(i32, i32), i32, [], bump(m, g(0)));
    m.addFunction(`${p}__rust_alloc_zeroed`, T(i32, i32), i32, [], bump(m, g(0)));
    m.addFunction(`${p}__rust_dealloc`, T(i32, i32, i32), none, [], m.nop());
    m.addFunction(`${p}__rust_realloc`, T(i32, i32, i32, i32), i32, [], bump(m, g(3)));
    m.addFunction('make', T(i32), i32, [], m.call(`${p}__rust_alloc`, [g(0), m.i32.const(8)], i32));
    m.addFunction('make_zeroed', T(i32), i32, [], m.call(`${p}__rust_alloc_zeroed`, [g(0), m.i32.const(8)], i32));
    m.addFunction('release', T(i32, i32), none, [], m.call(`${p}__rust_dealloc`, [g(0), g(1), m.i32.const(8)], none));
    m.addFunction('grow', T(i32, i32, i32), i32, [], m.call(`${p}__rust_realloc`, [g(0), g(1), m.i32.const(8), g(2)], i32));
  } else if (style === 'dlmalloc') {
    const D = '<dlmalloc[0123456789abcdef]::dlmalloc::Dlmalloc<dlmalloc[0123456789abcdef]::sys::System>>::';
    m.addFunction(`${D}malloc`, T(i32, i32), i32, [], bump(m, g(1)));
    m.addFunction(`${D}memalign`, T(i32, i32, i32), i32, [], bump(m, g(2)));
    m.addFunction(`${D}free`, T(i32, i32), none, [], m.nop());
    // realloc that moves: calls malloc itself (as dlmalloc does), which the tracer must not count twice
    m.addFunction(`${D}realloc`, T(i32, i32, i32), i32, [], m.call(`${D}malloc`, [g(0), g(2)], i32));
    m.addFunction('make', T(i32), i32, [], m.call(`${D}malloc`, [m.i32.const(0), g(0)], i32));
    m.addFunction('make_zeroed', T(i32), i32, [], m.call(`${D}memalign`, [m.i32.const(0), m.i32.const(8), g(0)], i32));
    m.addFunction('release', T(i32, i32), none, [], m.call(`${D}free`, [m.i32.const(0), g(0)], none));
    m.addFunction('grow', T(i32, i32, i32), i32, [], m.call(`${D}realloc`, [m.i32.const(0), g(0), g(2)], i32));
  } else if (style === 'dlmalloc-legacy' || style === 'dlmalloc-nested') {
    // o1js 2.10: legacy mangling, `self` optimized away, Dlmalloc::realloc inlined into __rust_realloc.
    // 'dlmalloc-nested': memalign gets its block from malloc, as dlmalloc's does (both hooks see one pointer)
    const D = 'dlmalloc::dlmalloc::Dlmalloc<A>::';
    const H = '::h0123456789abcdef';
    m.addFunction(`${D}malloc${H}`, T(i32), i32, [], bump(m, g(0)));
    m.addFunction(`${D}memalign${H}`, T(i32, i32), i32, [],
      style === 'dlmalloc-nested' ? m.call(`${D}malloc${H}`, [g(1)], i32) : bump(m, g(1)));
    m.addFunction(`${D}free${H}`, T(i32), none, [], m.nop());
    m.addFunction('__rust_realloc', T(i32, i32, i32, i32), i32, [], m.block(null, [
      m.call(`${D}free${H}`, [g(0)], none), m.call(`${D}malloc${H}`, [g(3)], i32)], i32));
    m.addFunction('make', T(i32), i32, [], m.call(`${D}malloc${H}`, [g(0)], i32));
    m.addFunction('make_zeroed', T(i32), i32, [], m.call(`${D}memalign${H}`, [m.i32.const(8), g(0)], i32));
    m.addFunction('release', T(i32, i32), none, [], m.call(`${D}free${H}`, [g(0)], none));
    m.addFunction('grow', T(i32, i32, i32), i32, [], m.call('__rust_realloc', [g(0), g(1), m.i32.const(8), g(2)], i32));
  } else {
    m.addFunction('make', T(i32), i32, [], bump(m, g(0)));
  }
  for (const name of ['make', 'make_zeroed', 'release', 'grow']) if (m.getFunction(name)) m.addFunctionExport(name, name);
  if (!m.validate()) throw new Error('fixture module does not validate');
  const bytes = m.emitBinary();
  m.dispose();
  return bytes;
}
