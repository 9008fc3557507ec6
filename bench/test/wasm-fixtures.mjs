// Small wasm modules built by the tests themselves, with functions named like the allocator entry
// points of the real binaries. Their allocator is a bump allocator on a shared, imported memory
// (address 0 holds the bump offset, address 4 a spin lock, address 8 the memory size it grew to), so
// several threads can use one module.
// Like dlmalloc, it takes its lock and grows memory (memory.grow, in a function named like dlmalloc's
// `System::alloc`) by just the pages a block needs when the block does not fit; a failed grow (memory
// at its maximum) returns a null pointer. Block k of size s starts at 64 + the sum of the earlier sizes
// (rounded up to 8).
import binaryen from 'binaryen';

const i32 = binaryen.i32;
const none = binaryen.none;
const T = (...ts) => binaryen.createType(ts);

export const GROW_FN = '<dlmalloc[0123456789abcdef]::sys::System as dlmalloc[0123456789abcdef]::Allocator>::alloc';
const BUMP = GROW_FN;

// The allocator: BUMP(size) -> ptr (0 when memory cannot grow). Locals: 0 size, 1 ptr, 2 end, 3 have,
// 4 pages. It keeps the size it grew to (as dlmalloc knows its segments from memory.grow's result):
// memory.size read during a wasm call can lag behind a grow another thread made meanwhile (seen with
// V8 on shared memory), which made the fixture grow too much.
// grow false: no memory.grow at all (blocks past the end are handed out, never touched by the tests).
function addBump(m, grow) {
  const l = (i) => m.local.get(i, i32);
  const unlock = m.i32.atomic.store(4, m.i32.const(0), m.i32.const(0));
  m.addFunction(BUMP, T(i32), i32, [i32, i32, i32, i32], m.block(null, [
    // spin until the lock word goes 0 -> 1
    m.loop('spin', m.br('spin', m.i32.atomic.rmw.cmpxchg(4, m.i32.const(0), m.i32.const(0), m.i32.const(1)))),
    m.local.set(1, m.i32.add(m.i32.atomic.load(0, m.i32.const(0)), m.i32.const(64))),
    m.local.set(2, m.i32.add(l(1), m.i32.and(m.i32.add(l(0), m.i32.const(7)), m.i32.const(-8)))),
    m.local.set(3, m.i32.atomic.load(8, m.i32.const(0))),
    m.if(m.i32.eqz(l(3)), m.local.set(3, m.i32.shl(m.memory.size(), m.i32.const(16)))), // not grown yet
    grow ? m.if(m.i32.gt_u(l(2), l(3)),
      // grow by ceil((end - have) / 64 KiB) pages; -1: give up
      m.block(null, [
        m.local.set(4, m.i32.shr_u(m.i32.add(m.i32.sub(l(2), l(3)), m.i32.const(65535)), m.i32.const(16))),
        m.if(m.i32.eq(m.memory.grow(l(4)), m.i32.const(-1)), m.block(null, [unlock, m.return(m.i32.const(0))])),
        m.i32.atomic.store(8, m.i32.const(0), m.i32.add(l(3), m.i32.shl(l(4), m.i32.const(16)))),
      ])) : m.nop(),
    m.i32.atomic.store(0, m.i32.const(0), m.i32.sub(l(2), m.i32.const(64))),
    m.i32.atomic.store(4, m.i32.const(0), m.i32.const(0)),
    l(1),
  ], i32));
}
const bump = (m, sizeExpr) => m.call(BUMP, [sizeExpr], i32);

// style 'rust': __rustc[..]::__rust_alloc & co (o1js 2.15); 'dlmalloc': Dlmalloc methods with `self`
// first; 'dlmalloc-legacy': as in o1js 2.10's plonk_wasm ('dlmalloc-nested': with memalign calling malloc); 'none': no allocator names at all.
// direct: also export `direct(size)`, which calls the allocator's core without a hooked entry point
// (as std's thread bookkeeping calls dlmalloc directly).
export function buildModule(style = 'rust', { grow = true, direct = false } = {}) {
  binaryen.setDebugInfo(true);
  const m = new binaryen.Module();
  m.setFeatures(binaryen.Features.All);
  m.setMemory(2, 1000, null, [], true, false, '0');
  m.addMemoryImport('0', 'env', 'memory', true); // turns the memory above into an import: shared by threads
  const g = (i) => m.local.get(i, i32);
  addBump(m, grow);
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
  if (direct) m.addFunction('direct', T(i32), i32, [], bump(m, g(0)));
  for (const name of ['make', 'make_zeroed', 'release', 'grow', 'direct']) if (m.getFunction(name)) m.addFunctionExport(name, name);
  if (!m.validate()) throw new Error('fixture module does not validate');
  const bytes = m.emitBinary();
  m.dispose();
  return bytes;
}
