//! wasm-leak-hunt instrumentation support (generated file; template:
//! rust-bindings-patch/templates/wlh_trace.rs of wasm-leak-hunt).
//!
//! `WlhHeap` is a *local* copy of `wlh_trace_core::HeapSize`: the orphan rule
//! forbids implementing the core's trait for types of other crates (field
//! elements, curve points, `PolyComm`, `CircuitGate`, ...), but a trait of this
//! crate may be implemented for any type. Instrumented types implement both:
//! `WlhHeap` (used when they are nested in other values) and the core's
//! `HeapSize` + `Traced` (used to log them).
//!
//! Sizes are requested bytes (capacity × element size), as in the core.
//! Foreign types that are *not* listed below are not measured: the generator
//! leaves such fields out of the size and lists them in its summary.
#![allow(dead_code)]

use std::mem::size_of;

/// Bytes a value owns; same contract as `wlh_trace_core::HeapSize`.
pub trait WlhHeap {
    /// Heap bytes owned, transitively.
    fn wlh_heap(&self) -> usize;
    /// Heap bytes owned that no instrumented value inside accounts for.
    fn wlh_untracked_heap(&self) -> usize {
        self.wlh_heap()
    }
    /// Bytes within `size_of_val(self)` that belong to instrumented values.
    fn wlh_tracked_inline(&self) -> usize {
        0
    }
}

/// Σ heap of the fields.
pub fn heap_of(fields: &[&dyn WlhHeap]) -> usize {
    fields.iter().map(|f| (**f).wlh_heap()).sum()
}

/// ALLOCATE size of an instrumented `T` with these (measured) fields, without
/// the bytes of its tracking field (`::wlh_trace_core::TRACKER_BYTES`).
pub fn own_size_of<T>(fields: &[&dyn WlhHeap]) -> usize {
    let inline: usize = fields.iter().map(|f| (**f).wlh_tracked_inline()).sum();
    let heap: usize = fields.iter().map(|f| (**f).wlh_untracked_heap()).sum();
    size_of::<T>().saturating_sub(::wlh_trace_core::TRACKER_BYTES + inline) + heap
}

/// Whether the `Debug` output of `v` starts with `prefix`. Formatting stops
/// as soon as the answer is known (the writer returns an error), so probing a
/// value with a huge `Debug` output costs a few bytes. Used where a type's
/// only non-computing read is its `Debug` impl (see `LazyCache` below).
pub fn debug_starts_with(v: &dyn std::fmt::Debug, prefix: &str) -> bool {
    struct Probe<'a> {
        rest: &'a str,
        ok: bool,
    }
    impl std::fmt::Write for Probe<'_> {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            let n = s.len().min(self.rest.len());
            if s.as_bytes()[..n] != self.rest.as_bytes()[..n] {
                self.ok = false;
                return Err(std::fmt::Error);
            }
            self.rest = &self.rest[n..];
            if self.rest.is_empty() {
                return Err(std::fmt::Error); // matched: stop formatting
            }
            Ok(())
        }
    }
    let mut p = Probe { rest: prefix, ok: true };
    let _ = std::fmt::write(&mut p, format_args!("{:?}", v));
    p.ok && p.rest.is_empty()
}

macro_rules! wlh_no_heap {
    ($($t:ty),* $(,)?) => {$(
        impl WlhHeap for $t {
            #[inline]
            fn wlh_heap(&self) -> usize { 0 }
        }
    )*};
}

// Primitives (the rules for the dependencies' types, when present, follow at the end).
wlh_no_heap!(
    (), bool, char, u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64,
);

impl WlhHeap for String {
    fn wlh_heap(&self) -> usize {
        self.capacity()
    }
}

impl<T: WlhHeap> WlhHeap for Vec<T> {
    fn wlh_heap(&self) -> usize {
        self.capacity() * size_of::<T>() + self.iter().map(WlhHeap::wlh_heap).sum::<usize>()
    }
    fn wlh_untracked_heap(&self) -> usize {
        let claimed: usize = self.iter().map(WlhHeap::wlh_tracked_inline).sum();
        self.capacity() * size_of::<T>() - claimed
            + self.iter().map(WlhHeap::wlh_untracked_heap).sum::<usize>()
    }
}

impl<T: WlhHeap + ?Sized> WlhHeap for Box<T> {
    fn wlh_heap(&self) -> usize {
        std::mem::size_of_val(&**self) + (**self).wlh_heap()
    }
    fn wlh_untracked_heap(&self) -> usize {
        std::mem::size_of_val(&**self) - (**self).wlh_tracked_inline() + (**self).wlh_untracked_heap()
    }
}

impl<T: WlhHeap> WlhHeap for [T] {
    fn wlh_heap(&self) -> usize {
        self.iter().map(WlhHeap::wlh_heap).sum()
    }
    fn wlh_untracked_heap(&self) -> usize {
        self.iter().map(WlhHeap::wlh_untracked_heap).sum()
    }
    fn wlh_tracked_inline(&self) -> usize {
        self.iter().map(WlhHeap::wlh_tracked_inline).sum()
    }
}

impl<T: WlhHeap, const N: usize> WlhHeap for [T; N] {
    fn wlh_heap(&self) -> usize {
        self.iter().map(WlhHeap::wlh_heap).sum()
    }
    fn wlh_untracked_heap(&self) -> usize {
        self.iter().map(WlhHeap::wlh_untracked_heap).sum()
    }
    fn wlh_tracked_inline(&self) -> usize {
        self.iter().map(WlhHeap::wlh_tracked_inline).sum()
    }
}

impl<T: WlhHeap> WlhHeap for Option<T> {
    fn wlh_heap(&self) -> usize {
        self.as_ref().map_or(0, WlhHeap::wlh_heap)
    }
    fn wlh_untracked_heap(&self) -> usize {
        self.as_ref().map_or(0, WlhHeap::wlh_untracked_heap)
    }
    fn wlh_tracked_inline(&self) -> usize {
        self.as_ref().map_or(0, WlhHeap::wlh_tracked_inline)
    }
}

/// The `Ok` value's heap; an error counts 0 (errors are small and rare here).
impl<T: WlhHeap, E> WlhHeap for Result<T, E> {
    fn wlh_heap(&self) -> usize {
        self.as_ref().map_or(0, WlhHeap::wlh_heap)
    }
    fn wlh_untracked_heap(&self) -> usize {
        self.as_ref().map_or(0, WlhHeap::wlh_untracked_heap)
    }
    fn wlh_tracked_inline(&self) -> usize {
        self.as_ref().map_or(0, WlhHeap::wlh_tracked_inline)
    }
}

impl<A: WlhHeap, B: WlhHeap> WlhHeap for (A, B) {
    fn wlh_heap(&self) -> usize {
        self.0.wlh_heap() + self.1.wlh_heap()
    }
    fn wlh_untracked_heap(&self) -> usize {
        self.0.wlh_untracked_heap() + self.1.wlh_untracked_heap()
    }
    fn wlh_tracked_inline(&self) -> usize {
        self.0.wlh_tracked_inline() + self.1.wlh_tracked_inline()
    }
}

/// **Shared ownership**: the `Arc` block (two counters, the value, what it
/// owns) is charged once, to the first live tracked owner that reaches it,
/// as in the core (`wlh_trace_core::shared_charge`).
impl<T: WlhHeap + ?Sized> WlhHeap for std::sync::Arc<T> {
    fn wlh_heap(&self) -> usize {
        let addr = std::sync::Arc::as_ptr(self) as *const () as usize;
        ::wlh_trace_core::shared_charge(addr, std::sync::Arc::strong_count(self), || {
            2 * size_of::<usize>() + std::mem::size_of_val(&**self) + (**self).wlh_heap()
        })
    }
}

impl<T: WlhHeap + ?Sized> WlhHeap for std::rc::Rc<T> {
    fn wlh_heap(&self) -> usize {
        let addr = std::rc::Rc::as_ptr(self) as *const () as usize;
        ::wlh_trace_core::shared_charge(addr, std::rc::Rc::strong_count(self), || {
            2 * size_of::<usize>() + std::mem::size_of_val(&**self) + (**self).wlh_heap()
        })
    }
}

/// Measures only the block that a `Box`, `Arc` or `Vec` allocates for values of a
/// type without a size rule (e.g. `Box<ProverIndex<..>>`): `size_of` of the
/// value(s), not the heap they own, which is **not counted**. The generator uses
/// it for such fields and lists them as "shallow" in its summary.
pub struct Shallow<'a, T: ?Sized>(pub &'a T);

impl<T> WlhHeap for Shallow<'_, Box<T>> {
    fn wlh_heap(&self) -> usize {
        size_of::<T>()
    }
}

impl<T> WlhHeap for Shallow<'_, std::sync::Arc<T>> {
    fn wlh_heap(&self) -> usize {
        let addr = std::sync::Arc::as_ptr(self.0) as *const () as usize;
        ::wlh_trace_core::shared_charge(addr, std::sync::Arc::strong_count(self.0), || {
            2 * size_of::<usize>() + size_of::<T>()
        })
    }
}

impl<T> WlhHeap for Shallow<'_, Vec<T>> {
    fn wlh_heap(&self) -> usize {
        self.0.capacity() * size_of::<T>()
    }
}
