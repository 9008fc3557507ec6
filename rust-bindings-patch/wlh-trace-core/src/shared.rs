//! Shared blocks (`Rc`/`Arc`) are charged to one tracked owner at a time.
//!
//! An object's size is logged once, when it is registered, and its DROP
//! repeats it. Splitting a shared block by the strong count at that moment
//! cannot keep the sum over live objects right: an SRS created alone logs the
//! whole block, and a clone made later logs half of it again (1.5 blocks for
//! one block in memory). So while an object is being measured for
//! registration, each shared block it reaches is looked up here by address:
//!
//! * not charged to any live tracked object: the block is charged to this one
//!   (its bytes are counted in this object's size);
//! * already charged (to a live object, or claimed by a registration under
//!   way on another thread): it counts 0 here.
//!
//! The charge is released when the charged object is dropped; the next
//! object measured that reaches the block is charged again. Summed over live
//! objects, a block therefore counts at most once. It counts **zero** times
//! between the drop of the object that carried it and the next registration
//! that reaches it (an under-count, never a double count), and a block whose
//! owner replaced it by mutation keeps its address charged until that owner
//! is dropped.
//!
//! Outside a registration (plain [`HeapSize`](crate::HeapSize) calls) shared
//! pointers keep the documented estimate: the block divided by the current
//! strong count.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

/// Owner value of a block claimed by a registration that has no id yet.
const CLAIMED: u64 = u64::MAX;

struct Registry {
    /// block address -> id of the tracked object it is charged to (or CLAIMED)
    owner_of: BTreeMap<usize, u64>,
    /// tracked object id -> the block addresses charged to it
    charged_to: BTreeMap<u64, Vec<usize>>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    owner_of: BTreeMap::new(),
    charged_to: BTreeMap::new(),
});

thread_local! {
    // Some(addresses claimed so far) while this thread measures an object for registration.
    static CLAIMS: RefCell<Option<Vec<usize>>> = const { RefCell::new(None) };
}

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `measure` in charging mode; returns its result and the blocks it claimed.
pub(crate) fn measure(measure: impl FnOnce() -> usize) -> (usize, Vec<usize>) {
    let outer = CLAIMS.with(|c| c.borrow_mut().replace(Vec::new()));
    let size = measure();
    let claims = CLAIMS.with(|c| std::mem::replace(&mut *c.borrow_mut(), outer));
    (size, claims.unwrap_or_default())
}

/// Charging mode: true if this measurement claimed `addr` now (count it),
/// false if it is already charged or claimed (count 0). None outside a
/// measurement.
fn claim(addr: usize) -> Option<bool> {
    let charging = CLAIMS.with(|c| c.borrow().is_some());
    if !charging {
        return None;
    }
    let fresh = match registry().owner_of.entry(addr) {
        std::collections::btree_map::Entry::Occupied(_) => false,
        std::collections::btree_map::Entry::Vacant(v) => {
            v.insert(CLAIMED);
            true
        }
    };
    if fresh {
        CLAIMS.with(|c| {
            if let Some(v) = c.borrow_mut().as_mut() {
                v.push(addr)
            }
        });
    }
    Some(fresh)
}

/// The registration that claimed `claims` got id `id`.
pub(crate) fn commit(id: u64, claims: Vec<usize>) {
    if claims.is_empty() {
        return;
    }
    let mut r = registry();
    for &a in &claims {
        r.owner_of.insert(a, id);
    }
    r.charged_to.insert(id, claims);
}

/// Object `id` was dropped: the blocks charged to it are free to be charged again.
pub(crate) fn release(id: u64) {
    let mut r = registry();
    if let Some(addrs) = r.charged_to.remove(&id) {
        for a in addrs {
            if r.owner_of.get(&a) == Some(&id) {
                r.owner_of.remove(&a);
            }
        }
    }
}

/// Bytes an owner of a shared block is charged. `addr` identifies the block
/// (e.g. `Arc::as_ptr(p) as *const () as usize`), `strong` is its strong
/// count, `block` computes its bytes (counters, value and what the value
/// owns); `block` is only called when the bytes are counted.
///
/// During a registration: the whole block if this owner is the first live
/// tracked owner to reach it, else 0 (see the module documentation).
/// Otherwise: `block / strong`, rounded up.
pub fn shared_charge(addr: usize, strong: usize, block: impl FnOnce() -> usize) -> usize {
    match claim(addr) {
        Some(true) => block(),
        Some(false) => 0,
        None => block().div_ceil(strong.max(1)),
    }
}
