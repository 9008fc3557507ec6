//! The tracking field and the registration of instrumented values.

use crate::heap::HeapSize;
use crate::log::{log_allocate, log_drop};
use std::fmt;
use std::marker::PhantomData;

/// An instrumented type: implemented by the generated patch for every type
/// that carries a [`Tracked`] field.
pub trait Traced: HeapSize + Sized {
    /// The name written in the `type` field of the log (the wasm-bindgen class
    /// name, i.e. its `js_name` or Rust name). No spaces or quotes.
    const TYPE_NAME: &'static str;

    /// Bytes this value accounts for in its ALLOCATE line: its own
    /// `size_of`, minus the inline bytes of instrumented values nested in it,
    /// plus the heap it owns that no nested instrumented value accounts for.
    /// Generated as `own_size_of::<Self>(&[&self.a, &self.b, ...])`.
    fn own_size(&self) -> usize;

    /// The tracking field of this value.
    fn tracker_mut(&mut self) -> &mut Tracked<Self>;
}

const UNREGISTERED: u64 = u64::MAX;

/// The field embedded in every instrumented struct (`wlh_trace: Tracked<Self>`).
///
/// Paths and the size each one logs:
///
/// | path | id | size logged |
/// | --- | --- | --- |
/// | [`track`] / [`track_at`] on a value built with [`Tracked::pending`] (struct literals, tuple-struct constructor calls, constructor fns) | fresh | [`Traced::own_size`] of the finished value: **measured** |
/// | `Clone` of a registered value | fresh | the size of the source's ALLOCATE line (**exact** for derived `Clone` unless the source was mutated since it was registered; a cloned `Vec` has capacity = length, so a source with spare capacity is slightly over-counted) |
/// | `Clone` of a never-registered value, `Default` | fresh | `size_of::<T>()` (**exact** when the default fields own no heap: `Vec::new()`, `None`, `String::new()`, ...; otherwise a lower bound) |
/// | [`Tracked::deserialized`] (serde `default`, called before the other fields are read) | fresh | `size_of::<T>()`: a **lower bound**, the heap filled in by deserialization is not seen |
///
/// `Drop` logs `DROP` once, with the stored size and type, if and only if the
/// tracker was registered. Comparison, hashing and ordering ignore the
/// tracker (it always compares equal), so derived `PartialEq`/`Hash`/`Ord` of
/// the container keep their meaning.
pub struct Tracked<T: ?Sized> {
    id: u64,
    size: u64,
    type_name: &'static str,
    _of: PhantomData<fn() -> T>,
}

impl<T: ?Sized> Tracked<T> {
    /// A tracker that is not registered yet: the generated construction sites
    /// build the value with it and then pass the value through [`track`].
    /// Dropping a pending tracker logs nothing.
    pub const fn pending() -> Self {
        Tracked {
            id: UNREGISTERED,
            size: 0,
            type_name: "",
            _of: PhantomData,
        }
    }

    /// The id of the ALLOCATE line, once registered.
    pub fn id(&self) -> Option<u64> {
        if self.id == UNREGISTERED {
            None
        } else {
            Some(self.id)
        }
    }

    /// The size logged in the ALLOCATE line (0 while pending).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether the ALLOCATE line was written.
    pub fn is_registered(&self) -> bool {
        self.id != UNREGISTERED
    }

    /// Registers a pending tracker: takes an id and writes ALLOCATE. A
    /// tracker that is already registered is left as it is (returns false).
    pub fn register(
        &mut self,
        type_name: &'static str,
        size: usize,
        site: Option<&'static str>,
    ) -> bool {
        if self.is_registered() {
            return false;
        }
        let size = size as u64;
        self.id = log_allocate(type_name, size, site);
        self.size = size;
        self.type_name = type_name;
        true
    }

    fn registered(type_name: &'static str, size: u64) -> Self {
        Tracked {
            id: log_allocate(type_name, size, None),
            size,
            type_name,
            _of: PhantomData,
        }
    }
}

impl<T: Traced> Tracked<T> {
    /// The deserialization hook: a registered tracker with size
    /// `size_of::<T>()` (a lower bound, see the table above). Meant for the
    /// generated `#[serde(skip, default = "::wlh_trace_core::Tracked::deserialized")]`.
    pub fn deserialized() -> Self {
        Self::registered(T::TYPE_NAME, std::mem::size_of::<T>() as u64)
    }
}

impl<T: Traced> Clone for Tracked<T> {
    /// A clone is a new object: fresh id, ALLOCATE with the source's size.
    fn clone(&self) -> Self {
        let size = if self.is_registered() {
            self.size
        } else {
            std::mem::size_of::<T>() as u64
        };
        Self::registered(T::TYPE_NAME, size)
    }
}

impl<T: Traced> Default for Tracked<T> {
    /// `#[derive(Default)]` of the container: fresh id, `size_of::<T>()`.
    fn default() -> Self {
        Self::registered(T::TYPE_NAME, std::mem::size_of::<T>() as u64)
    }
}

impl<T: ?Sized> Drop for Tracked<T> {
    fn drop(&mut self) {
        if self.is_registered() {
            log_drop(self.type_name, self.size, self.id);
            // Never twice, even if drop glue were somehow run again.
            self.id = UNREGISTERED;
        }
    }
}

impl<T: ?Sized> fmt::Debug for Tracked<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.id() {
            Some(id) => write!(f, "Tracked(#{id}, {} bytes)", self.size),
            None => f.write_str("Tracked(pending)"),
        }
    }
}

impl<T: ?Sized> PartialEq for Tracked<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl<T: ?Sized> Eq for Tracked<T> {}
impl<T: ?Sized> PartialOrd for Tracked<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T: ?Sized> Ord for Tracked<T> {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}
impl<T: ?Sized> std::hash::Hash for Tracked<T> {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

impl<T: ?Sized> HeapSize for Tracked<T> {
    /// The tracker owns no heap; its inline bytes belong to the container.
    fn heap_size(&self) -> usize {
        0
    }
}

/// Registers a value built with a pending tracker: measures it with
/// [`Traced::own_size`], takes an id, writes ALLOCATE, returns the value.
/// A value whose tracker is already registered is returned unchanged.
pub fn track<T: Traced>(mut value: T) -> T {
    let size = value.own_size();
    value.tracker_mut().register(T::TYPE_NAME, size, None);
    value
}

/// [`track`] with a creation site: the Rust function that built the value
/// (e.g. `concat!(module_path!(), "::caml_fp_srs_create")`). The first use
/// of a site writes its SITE line; the ALLOCATE line refers to it.
pub fn track_at<T: Traced>(mut value: T, site: &'static str) -> T {
    let size = value.own_size();
    value.tracker_mut().register(T::TYPE_NAME, size, Some(site));
    value
}
