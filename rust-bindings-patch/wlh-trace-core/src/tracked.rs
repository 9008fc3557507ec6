//! The tracking field and the registration of instrumented values.

use crate::heap::HeapSize;
use crate::log::{log_allocate, log_drop, Site};
use crate::shared;
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

    /// Where the type is defined, as a site name prefix (generated:
    /// `concat!(module_path!(), "::", stringify!(WasmFpSrs))`): the fallback
    /// paths of [`Tracked`] (`Clone`, `Default`, deserialization) log their
    /// SITE as this plus `::clone`, `::default` or `::deserialize`.
    const SITE_BASE: &'static str = Self::TYPE_NAME;
}

/// Bytes of the tracking field itself (`size_of::<Tracked<T>>()`, the same
/// for every `T`): left out of every logged size (see [`own_size_of`](crate::own_size_of)).
pub const TRACKER_BYTES: usize = std::mem::size_of::<Tracked<()>>();

const UNREGISTERED: u64 = u64::MAX;

/// The field embedded in every instrumented struct (`wlh_trace: Tracked<Self>`).
///
/// Paths and the size each one logs:
///
/// | path | id | size logged | site |
/// | --- | --- | --- | --- |
/// | [`track`] / [`track_at`] on a value built with [`Tracked::pending`] (struct literals, tuple-struct constructor calls, constructor fns, and the `Clone`/`Default` impls the generator writes in place of the derives) | fresh | [`Traced::own_size`] of the finished value: **measured** | the construction site given to `track_at` |
/// | `Clone` of the tracker itself (only when a `#[derive(Clone)]` was left in place) | fresh | the size of the source's ALLOCATE line (its heap as it was then; shared blocks it carried counted again): **fallback** | `SITE_BASE::clone` |
/// | `Default` of the tracker itself (a `#[derive(Default)]` left in place) | fresh | `size_of::<T>()` less the tracker (**exact** when the default fields own no heap) | `SITE_BASE::default` |
/// | [`Tracked::deserialized`] (serde `default`, called before the other fields are read) | fresh | `size_of::<T>()` less the tracker: a **lower bound**, the heap filled in by deserialization is not seen | `SITE_BASE::deserialize` |
///
/// `Drop` logs `DROP` once, with the stored size and type, if and only if the
/// tracker was registered. Comparison, hashing and ordering ignore the
/// tracker (it always compares equal), so derived `PartialEq`/`Hash`/`Ord` of
/// the container keep their meaning.
pub struct Tracked<T: ?Sized> {
    id: u64,
    // the logged size; the top bit (CHARGED) marks an object that shared blocks (Rc/Arc) are
    // charged to, to release on drop (a flag there keeps the field at 24 bytes on wasm32)
    size: u64,
    type_name: &'static str,
    _of: PhantomData<fn() -> T>,
}

const CHARGED: u64 = 1 << 63;

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
        self.size & !CHARGED
    }

    /// Whether the ALLOCATE line was written.
    pub fn is_registered(&self) -> bool {
        self.id != UNREGISTERED
    }

    /// Registers a pending tracker: takes an id and writes ALLOCATE. A
    /// tracker that is already registered is left as it is (returns false).
    /// `site`: the construction site (SITE line on first use).
    pub fn register(
        &mut self,
        type_name: &'static str,
        size: usize,
        site: Option<&'static str>,
    ) -> bool {
        self.register_with(
            type_name,
            size,
            site.map_or(Site::None, Site::At),
            Vec::new(),
        )
    }

    fn register_with(
        &mut self,
        type_name: &'static str,
        size: usize,
        site: Site,
        claims: Vec<usize>,
    ) -> bool {
        if self.is_registered() {
            return false;
        }
        let size = size as u64;
        self.id = log_allocate(type_name, size, site);
        self.size = if claims.is_empty() {
            size
        } else {
            size | CHARGED
        };
        self.type_name = type_name;
        shared::commit(self.id, claims);
        true
    }

    fn registered(type_name: &'static str, size: u64, site: Site) -> Self {
        Tracked {
            id: log_allocate(type_name, size, site),
            size,
            type_name,
            _of: PhantomData,
        }
    }
}

/// `size_of::<T>()` without the tracker: the size of a value whose heap is not seen.
fn inline_size<T>() -> u64 {
    std::mem::size_of::<T>().saturating_sub(TRACKER_BYTES) as u64
}

impl<T: Traced> Tracked<T> {
    /// The deserialization hook: a registered tracker with size
    /// `size_of::<T>()` less the tracker (a lower bound, see the table above)
    /// and site `SITE_BASE::deserialize`. Meant for the generated
    /// `#[serde(skip, default = "::wlh_trace_core::Tracked::deserialized")]`.
    pub fn deserialized() -> Self {
        Self::registered(
            T::TYPE_NAME,
            inline_size::<T>(),
            Site::Path(T::SITE_BASE, "::deserialize"),
        )
    }
}

impl<T: Traced> Clone for Tracked<T> {
    /// Fallback for a `#[derive(Clone)]` left in place (the generator replaces
    /// the derive by a measured `Clone`): fresh id, the source's size.
    fn clone(&self) -> Self {
        let size = if self.is_registered() {
            self.size()
        } else {
            inline_size::<T>()
        };
        Self::registered(T::TYPE_NAME, size, Site::Path(T::SITE_BASE, "::clone"))
    }
}

impl<T: Traced> Default for Tracked<T> {
    /// Fallback for a `#[derive(Default)]` left in place: fresh id,
    /// `size_of::<T>()` less the tracker.
    fn default() -> Self {
        Self::registered(
            T::TYPE_NAME,
            inline_size::<T>(),
            Site::Path(T::SITE_BASE, "::default"),
        )
    }
}

impl<T: ?Sized> Drop for Tracked<T> {
    fn drop(&mut self) {
        if self.is_registered() {
            log_drop(self.type_name, self.size(), self.id);
            if self.size & CHARGED != 0 {
                shared::release(self.id);
            }
            // Never twice, even if drop glue were somehow run again.
            self.id = UNREGISTERED;
        }
    }
}

impl<T: ?Sized> fmt::Debug for Tracked<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.id() {
            Some(id) => write!(f, "Tracked(#{id}, {} bytes)", self.size()),
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
/// [`Traced::own_size`] (shared blocks charged once, see [`crate::shared`]),
/// takes an id, writes ALLOCATE, returns the value. A value whose tracker is
/// already registered is returned unchanged.
pub fn track<T: Traced>(value: T) -> T {
    register(value, Site::None)
}

/// [`track`] with a creation site: where the value was built, e.g.
/// `concat!(module_path!(), "::WasmFpSrs::create (kimchi-wasm/src/srs.rs:88)")`.
/// The first use of a site (under the current export context, see
/// [`enter_export`](crate::enter_export)) writes its SITE line; the ALLOCATE
/// line refers to it.
pub fn track_at<T: Traced>(value: T, site: &'static str) -> T {
    register(value, Site::At(site))
}

/// [`track_at`] with the site in two parts, joined when the SITE line is
/// written: `base` (e.g. `<Self as Traced>::SITE_BASE`, the module path and
/// concrete name of a type, which `concat!` cannot take) and `rest` (e.g.
/// `"::from (kimchi-wasm/src/srs.rs:58)"`).
pub fn track_in<T: Traced>(value: T, base: &'static str, rest: &'static str) -> T {
    register(value, Site::Path(base, rest))
}

fn register<T: Traced>(mut value: T, site: Site) -> T {
    if value.tracker_mut().is_registered() {
        return value;
    }
    let (size, claims) = shared::measure(|| value.own_size());
    value
        .tracker_mut()
        .register_with(T::TYPE_NAME, size, site, claims);
    value
}
