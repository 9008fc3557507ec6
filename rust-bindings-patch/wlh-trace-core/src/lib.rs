//! # wlh-trace-core
//!
//! The logging core of the wasm-leak-hunt *source route*: every instrumented
//! bindings object writes one `ALLOCATE` line when it comes to exist and one
//! `DROP` line when it is dropped, in the log format of
//! `schemas/trace-event.schema.json`:
//!
//! ```text
//! @{"ev":"ALLOCATE","size":120,"type":"WasmFpPolyComm","id":7}
//! @{"ev":"DROP","size":120,"type":"WasmFpPolyComm","id":7}
//! ```
//!
//! ## Guarantees
//! * **One lock.** The id counter, the site table and the sink live in one
//!   `Mutex`. Taking an id and writing its line happen in the same critical
//!   section, so ids appear in the log in increasing order, are unique and
//!   contiguous from 0 in the whole process, and lines are never torn or
//!   interleaved, whatever the number of threads.
//! * **Every construction path gets a fresh id**: construction sites that the
//!   generated patch wraps in [`track`] / [`track_at`] (including the
//!   `Clone`/`Default` impls it writes in place of the derives, so clones are
//!   measured when they are made), and the tracker's own fallbacks: `Clone`,
//!   `Default`, deserialization ([`Tracked::deserialized`], for
//!   `#[serde(skip, default = "...")]`).
//! * **DROP exactly once** per registered object, with the same size and type
//!   as its ALLOCATE line. A tracker that was never registered logs nothing.
//!
//! ## How the size of the containing value is known
//! The tracking field ([`Tracked`]) cannot see the struct around it. So the
//! generated code builds the value with a *pending* tracker
//! ([`Tracked::pending`]) and passes the finished value through [`track`]
//! (a function taking `T: Traced`), which measures it with [`Traced::own_size`]
//! and registers the tracker: id, size and type name are stored in the field
//! and the ALLOCATE line is written. `Drop` of the field repeats the stored
//! size. Paths that never see the container (the fallbacks) use what the
//! field knows; see [`Tracked`] for exactly which size each path logs.
//!
//! ## Sizes are exclusive
//! An ALLOCATE size counts the bytes an object owns **minus** the bytes owned
//! by instrumented objects nested in it (they log their own lines) and minus
//! the tracking field's own bytes ([`TRACKER_BYTES`]). A shared block
//! (`Rc`/`Arc`) is charged to one live tracked owner at a time
//! ([`shared_charge`]). So the sum over live objects counts every byte at
//! most once. See [`HeapSize`].
//!
//! ## Sites
//! A SITE line names where a value was built (`alloc_fn`: function, file,
//! line) and the exported function JS had called on that thread (`rust`: the
//! boundary, from [`enter_export`], which the generated patch calls at the top
//! of every `#[wasm_bindgen]` function).
//!
//! ## Heap snapshots
//! [`snapshot`] writes a `SNAPSHOT` line: linear memory size, live heap bytes
//! and blocks from [`CountingAlloc`] (a counting global allocator the
//! embedding crate installs), and the tracked objects alive.
//!
//! ## Output
//! Lines go to a [`Sink`]. On `wasm32` with feature `wasm-extern-sink` the
//! default sink calls `wlh_trace_sink_write(&str)`, a function the embedding
//! crate defines (the generated bindings patch forwards it to a JS function
//! that writes synchronously to a file descriptor). The crate never uses
//! `println!` on wasm32. Natively the default is standard error; tests use
//! [`Sink::Capture`].

#![forbid(unsafe_op_in_unsafe_fn)]

mod alloc;
mod context;
mod heap;
mod log;
pub mod shared;
mod tracked;

pub use alloc::{heap_counts, wasm_memory_bytes, CountingAlloc, HeapCounts};
pub use context::{current_export, enter_export, enter_method, Export, ExportGuard};
pub use heap::{heap_of_fields, own_size_of, HeapSize};
pub use log::{
    emit_raw_line, events_logged, set_sink, site_id, snapshot, take_captured, tracked_live,
    with_sink, Sink,
};
pub use shared::shared_charge;
pub use tracked::{track, track_at, track_in, Traced, Tracked, TRACKER_BYTES};
