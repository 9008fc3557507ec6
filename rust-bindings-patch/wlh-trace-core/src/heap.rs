//! Sizes: how many bytes a value owns.
//!
//! `HeapSize` has three methods so that nested instrumented values are
//! counted once:
//! * [`HeapSize::heap_size`]: every heap byte the value owns, transitively
//!   (inclusive).
//! * [`HeapSize::untracked_heap_size`]: the heap bytes it owns that no
//!   instrumented value inside it accounts for (equal to `heap_size` for
//!   values that contain no instrumented value; 0 for an instrumented value
//!   itself, which accounts for everything it owns in its own line).
//! * [`HeapSize::tracked_inline_size`]: the bytes *inside*
//!   `size_of_val(self)` that belong to instrumented values (their own
//!   `size_of`); `size_of::<T>()` for an instrumented value, 0 for a leaf.
//!
//! An instrumented value's ALLOCATE size is then
//! `size_of::<Self>() - TRACKER_BYTES - Σ field.tracked_inline_size() + Σ field.untracked_heap_size()`
//! ([`own_size_of`]), and the sizes of all live instrumented values in a tree
//! add up to its inclusive size exactly once, less the tracking fields' own
//! bytes.
//!
//! Exact: primitives, `String`, `Vec`, `VecDeque`, `Box`, `Option`, `Result`,
//! tuples, arrays, slices in a `Box`. The size of a heap block is the
//! *requested* size (capacity × element size), not what the allocator
//! rounds it up to. `Rc`/`Arc`: charged once to one live tracked owner
//! (see [`crate::shared`]). Estimates (documented on each impl):
//! `HashMap`/`HashSet`, `BTreeMap`/`BTreeSet`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::mem::size_of;
use std::rc::Rc;
use std::sync::Arc;

use crate::shared::shared_charge;
use crate::tracked::TRACKER_BYTES;

/// Bytes a value owns; see the module documentation.
pub trait HeapSize {
    /// Heap bytes owned by this value, transitively (not counting
    /// `size_of_val(self)`).
    fn heap_size(&self) -> usize;

    /// Heap bytes owned by this value that no instrumented value inside it
    /// accounts for. Containers override it; leaves keep the default.
    fn untracked_heap_size(&self) -> usize {
        self.heap_size()
    }

    /// Bytes within `size_of_val(self)` that belong to instrumented values.
    fn tracked_inline_size(&self) -> usize {
        0
    }

    /// `size_of_val(self) + heap_size()`: everything this value occupies.
    fn total_size(&self) -> usize {
        std::mem::size_of_val(self) + self.heap_size()
    }
}

/// Σ `heap_size` of the fields (for generated `HeapSize::heap_size` impls).
pub fn heap_of_fields(fields: &[&dyn HeapSize]) -> usize {
    fields.iter().map(|f| (**f).heap_size()).sum()
}

/// The ALLOCATE size of an instrumented `T` with these fields:
/// `size_of::<T>() - TRACKER_BYTES - Σ tracked_inline_size + Σ untracked_heap_size`.
/// The tracking field's own bytes (`TRACKER_BYTES`, the `Tracked<T>` inside
/// `T`) are left out: they exist only because of the instrumentation.
pub fn own_size_of<T>(fields: &[&dyn HeapSize]) -> usize {
    let inline: usize = fields.iter().map(|f| (**f).tracked_inline_size()).sum();
    let heap: usize = fields.iter().map(|f| (**f).untracked_heap_size()).sum();
    size_of::<T>().saturating_sub(TRACKER_BYTES + inline) + heap
}

macro_rules! leaf {
    ($($t:ty),* $(,)?) => {$(
        impl HeapSize for $t {
            #[inline]
            fn heap_size(&self) -> usize { 0 }
        }
    )*};
}

leaf!(
    (),
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    std::num::NonZeroU32,
    std::num::NonZeroU64,
    std::num::NonZeroUsize,
    std::time::Duration,
);

/// A shared reference owns nothing. (Only `&str` and `&[T]`: a blanket
/// `impl for &T` would also match `&&dyn HeapSize` and hide the real impl.)
impl HeapSize for &str {
    fn heap_size(&self) -> usize {
        0
    }
}
impl<T> HeapSize for &[T] {
    fn heap_size(&self) -> usize {
        0
    }
}

impl<T: ?Sized> HeapSize for std::marker::PhantomData<T> {
    fn heap_size(&self) -> usize {
        0
    }
}

/// `capacity` bytes (exact).
impl HeapSize for String {
    fn heap_size(&self) -> usize {
        self.capacity()
    }
}

/// The buffer (`capacity × size_of::<T>()`) plus what the elements own (exact).
impl<T: HeapSize> HeapSize for Vec<T> {
    fn heap_size(&self) -> usize {
        self.capacity() * size_of::<T>() + self.iter().map(HeapSize::heap_size).sum::<usize>()
    }
    fn untracked_heap_size(&self) -> usize {
        let buffer = self.capacity() * size_of::<T>();
        let claimed: usize = self.iter().map(HeapSize::tracked_inline_size).sum();
        buffer - claimed
            + self
                .iter()
                .map(HeapSize::untracked_heap_size)
                .sum::<usize>()
    }
}

/// Like `Vec` (exact).
impl<T: HeapSize> HeapSize for VecDeque<T> {
    fn heap_size(&self) -> usize {
        self.capacity() * size_of::<T>() + self.iter().map(HeapSize::heap_size).sum::<usize>()
    }
    fn untracked_heap_size(&self) -> usize {
        let buffer = self.capacity() * size_of::<T>();
        let claimed: usize = self.iter().map(HeapSize::tracked_inline_size).sum();
        buffer - claimed
            + self
                .iter()
                .map(HeapSize::untracked_heap_size)
                .sum::<usize>()
    }
}

/// The boxed value (`size_of_val`) plus what it owns (exact).
impl<T: HeapSize + ?Sized> HeapSize for Box<T> {
    fn heap_size(&self) -> usize {
        std::mem::size_of_val(&**self) + (**self).heap_size()
    }
    fn untracked_heap_size(&self) -> usize {
        std::mem::size_of_val(&**self) - (**self).tracked_inline_size()
            + (**self).untracked_heap_size()
    }
}

/// A boxed slice: `len × size_of::<T>()` plus what the elements own (exact).
impl<T: HeapSize> HeapSize for [T] {
    fn heap_size(&self) -> usize {
        self.iter().map(HeapSize::heap_size).sum()
    }
    fn untracked_heap_size(&self) -> usize {
        self.iter().map(HeapSize::untracked_heap_size).sum()
    }
    fn tracked_inline_size(&self) -> usize {
        self.iter().map(HeapSize::tracked_inline_size).sum()
    }
}

/// `str` inside a `Box<str>`: its bytes are its `size_of_val`, no further heap.
impl HeapSize for str {
    fn heap_size(&self) -> usize {
        0
    }
}

impl<T: HeapSize, const N: usize> HeapSize for [T; N] {
    fn heap_size(&self) -> usize {
        self.iter().map(HeapSize::heap_size).sum()
    }
    fn untracked_heap_size(&self) -> usize {
        self.iter().map(HeapSize::untracked_heap_size).sum()
    }
    fn tracked_inline_size(&self) -> usize {
        self.iter().map(HeapSize::tracked_inline_size).sum()
    }
}

impl<T: HeapSize> HeapSize for Option<T> {
    fn heap_size(&self) -> usize {
        self.as_ref().map_or(0, HeapSize::heap_size)
    }
    fn untracked_heap_size(&self) -> usize {
        self.as_ref().map_or(0, HeapSize::untracked_heap_size)
    }
    fn tracked_inline_size(&self) -> usize {
        self.as_ref().map_or(0, HeapSize::tracked_inline_size)
    }
}

impl<T: HeapSize, E: HeapSize> HeapSize for Result<T, E> {
    fn heap_size(&self) -> usize {
        match self {
            Ok(v) => v.heap_size(),
            Err(e) => e.heap_size(),
        }
    }
    fn untracked_heap_size(&self) -> usize {
        match self {
            Ok(v) => v.untracked_heap_size(),
            Err(e) => e.untracked_heap_size(),
        }
    }
    fn tracked_inline_size(&self) -> usize {
        match self {
            Ok(v) => v.tracked_inline_size(),
            Err(e) => e.tracked_inline_size(),
        }
    }
}

macro_rules! tuple {
    ($($n:tt $t:ident),+) => {
        impl<$($t: HeapSize),+> HeapSize for ($($t,)+) {
            fn heap_size(&self) -> usize { 0 $(+ self.$n.heap_size())+ }
            fn untracked_heap_size(&self) -> usize { 0 $(+ self.$n.untracked_heap_size())+ }
            fn tracked_inline_size(&self) -> usize { 0 $(+ self.$n.tracked_inline_size())+ }
        }
    };
}
tuple!(0 A);
tuple!(0 A, 1 B);
tuple!(0 A, 1 B, 2 C);
tuple!(0 A, 1 B, 2 C, 3 D);
tuple!(0 A, 1 B, 2 C, 3 D, 4 E);
tuple!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F);
tuple!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G);
tuple!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H);

/// Bytes of the shared `Rc`/`Arc` block: two counters, the value and what
/// it owns.
fn shared_block<T: HeapSize + ?Sized>(v: &T) -> usize {
    2 * size_of::<usize>() + std::mem::size_of_val(v) + v.heap_size()
}

/// **Shared ownership.** While an object is measured for its ALLOCATE line,
/// the shared block (two counters, the value, what the value owns) is charged
/// to the first live tracked owner that reaches it and counts 0 for the
/// others (see [`shared_charge`]), so a block counts once however many clones
/// share it. Outside a registration this is an **estimate**: the block divided
/// by the current strong count, rounded up (owners measured at the same moment
/// add up to the block).
impl<T: HeapSize + ?Sized> HeapSize for Arc<T> {
    fn heap_size(&self) -> usize {
        let addr = Arc::as_ptr(self) as *const () as usize;
        shared_charge(addr, Arc::strong_count(self), || shared_block(&**self))
    }
}

/// **Shared ownership**, as for `Arc`.
impl<T: HeapSize + ?Sized> HeapSize for Rc<T> {
    fn heap_size(&self) -> usize {
        let addr = Rc::as_ptr(self) as *const () as usize;
        shared_charge(addr, Rc::strong_count(self), || shared_block(&**self))
    }
}

/// Estimated number of buckets of a `hashbrown` table (std's `HashMap`) with
/// this usable capacity: 0 for 0; 4 up to 3; 8 up to 7; else the next power of
/// two of `capacity × 8 / 7`.
fn hash_buckets(capacity: usize) -> usize {
    match capacity {
        0 => 0,
        1..=3 => 4,
        4..=7 => 8,
        c => (c.saturating_mul(8) / 7).next_power_of_two(),
    }
}

/// **Estimate.** std's `HashMap` is a SwissTable: `buckets × size_of::<(K, V)>()`
/// for the slots plus `buckets + 16` control bytes (16 = the widest SIMD group;
/// 8 or 4 on targets without SSE2), buckets from [`capacity`](HashMap::capacity)
/// as in `hash_buckets`; plus what keys and values own (exact).
impl<K: HeapSize, V: HeapSize, S> HeapSize for HashMap<K, V, S> {
    fn heap_size(&self) -> usize {
        let b = hash_buckets(self.capacity());
        let table = if b == 0 {
            0
        } else {
            b * size_of::<(K, V)>() + b + 16
        };
        table
            + self
                .iter()
                .map(|(k, v)| k.heap_size() + v.heap_size())
                .sum::<usize>()
    }
    fn untracked_heap_size(&self) -> usize {
        let b = hash_buckets(self.capacity());
        let table = if b == 0 {
            0
        } else {
            b * size_of::<(K, V)>() + b + 16
        };
        let claimed: usize = self
            .iter()
            .map(|(k, v)| k.tracked_inline_size() + v.tracked_inline_size())
            .sum();
        table - claimed
            + self
                .iter()
                .map(|(k, v)| k.untracked_heap_size() + v.untracked_heap_size())
                .sum::<usize>()
    }
}

/// **Estimate**, as `HashMap<K, ()>`.
impl<K: HeapSize, S> HeapSize for HashSet<K, S> {
    fn heap_size(&self) -> usize {
        let b = hash_buckets(self.capacity());
        let table = if b == 0 {
            0
        } else {
            b * size_of::<K>() + b + 16
        };
        table + self.iter().map(HeapSize::heap_size).sum::<usize>()
    }
}

/// Estimated bytes of the nodes of a B-tree with `len` entries of `entry`
/// bytes: std's B = 6, a node holds up to 11 entries; nodes are assumed 2/3
/// full (8 entries), each node carrying its 11 slots plus 16 bytes of header
/// (parent pointer, index, length); internal nodes (about 1 in 8 of the
/// nodes, with 12 edge pointers each) are added as 12 pointers per 8 leaves.
fn btree_bytes(len: usize, entry: usize) -> usize {
    if len == 0 {
        return 0;
    }
    let leaves = (len + 7) / 8;
    let internal = leaves / 8;
    leaves * (11 * entry + 16) + internal * (11 * entry + 16 + 12 * size_of::<usize>())
}

/// **Estimate** (`btree_bytes`) plus what keys and values own (exact).
impl<K: HeapSize, V: HeapSize> HeapSize for BTreeMap<K, V> {
    fn heap_size(&self) -> usize {
        btree_bytes(self.len(), size_of::<K>() + size_of::<V>())
            + self
                .iter()
                .map(|(k, v)| k.heap_size() + v.heap_size())
                .sum::<usize>()
    }
}

/// **Estimate** (`btree_bytes`) plus what the keys own (exact).
impl<K: HeapSize> HeapSize for BTreeSet<K> {
    fn heap_size(&self) -> usize {
        btree_bytes(self.len(), size_of::<K>())
            + self.iter().map(HeapSize::heap_size).sum::<usize>()
    }
}
