//! A counting global allocator: live heap bytes as the allocator sees them,
//! for the `SNAPSHOT` lines.
//!
//! The embedding crate installs it around the allocator it would use anyway
//! (on wasm32 that is std's `System`, i.e. dlmalloc):
//!
//! ```ignore
//! #[global_allocator]
//! static WLH_ALLOC: wlh_trace_core::CountingAlloc<std::alloc::System> =
//!     wlh_trace_core::CountingAlloc::new(std::alloc::System);
//! ```
//!
//! Counts are *requested* sizes (`Layout::size()`), the same quantity the
//! binary route's allocator hooks sum up, so the two routes' `live_heap_bytes`
//! mean the same thing. Four relaxed atomic adds per call: no lock, so it can
//! never deadlock with the log lock (the log itself allocates).

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

static LIVE_BYTES: AtomicU64 = AtomicU64::new(0);
static LIVE_BLOCKS: AtomicU64 = AtomicU64::new(0);
static ALLOC_CALLS: AtomicU64 = AtomicU64::new(0);
static FREE_CALLS: AtomicU64 = AtomicU64::new(0);
// Set by the first counted call: a SNAPSHOT says whether its heap figures
// are real or the allocator was never installed (then they are all 0).
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Wraps a [`GlobalAlloc`] and counts live bytes, live blocks and calls.
pub struct CountingAlloc<A>(A);

impl<A> CountingAlloc<A> {
    /// Wraps `inner` (usable in a `static`).
    pub const fn new(inner: A) -> Self {
        CountingAlloc(inner)
    }
}

fn counted_alloc(size: usize) {
    INSTALLED.store(true, Relaxed);
    LIVE_BYTES.fetch_add(size as u64, Relaxed);
    LIVE_BLOCKS.fetch_add(1, Relaxed);
    ALLOC_CALLS.fetch_add(1, Relaxed);
}

fn counted_free(size: usize) {
    LIVE_BYTES.fetch_sub(size as u64, Relaxed);
    LIVE_BLOCKS.fetch_sub(1, Relaxed);
    FREE_CALLS.fetch_add(1, Relaxed);
}

// SAFETY: every call is forwarded unchanged to the inner allocator, which
// upholds the GlobalAlloc contract; the counters have no effect on memory.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAlloc<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { self.0.alloc(layout) };
        if !p.is_null() {
            counted_alloc(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { self.0.alloc_zeroed(layout) };
        if !p.is_null() {
            counted_alloc(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { self.0.dealloc(ptr, layout) };
        counted_free(layout.size());
    }

    /// Counted as one free of the old block and one allocation of the new
    /// one (as a realloc that moves the block is), when it succeeds.
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { self.0.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            counted_free(layout.size());
            counted_alloc(new_size);
        }
        p
    }
}

/// What the counting allocator has seen so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeapCounts {
    /// Σ requested sizes of blocks allocated and not freed.
    pub live_bytes: u64,
    /// Number of such blocks.
    pub live_blocks: u64,
    /// Allocation calls (realloc counts as one allocation and one free).
    pub alloc_calls: u64,
    /// Free calls.
    pub free_calls: u64,
    /// False when no allocation went through [`CountingAlloc`]: it is not
    /// installed as the global allocator and the other fields are 0.
    pub installed: bool,
}

/// The counters now (each read on its own: other threads may be allocating).
pub fn heap_counts() -> HeapCounts {
    HeapCounts {
        live_bytes: LIVE_BYTES.load(Relaxed),
        live_blocks: LIVE_BLOCKS.load(Relaxed),
        alloc_calls: ALLOC_CALLS.load(Relaxed),
        free_calls: FREE_CALLS.load(Relaxed),
        installed: INSTALLED.load(Relaxed),
    }
}

/// Bytes of linear memory (wasm32: `memory.size` of memory 0 × 64 KiB, the
/// same figure as JS's `memory.buffer.byteLength`); 0 natively, where there
/// is no linear memory.
pub fn wasm_memory_bytes() -> u64 {
    #[cfg(target_arch = "wasm32")]
    {
        core::arch::wasm32::memory_size::<0>() as u64 * 65536
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        0
    }
}
