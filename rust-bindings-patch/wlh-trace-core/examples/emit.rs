//! Writes a small, realistic log to standard output: a META line, a few
//! instrumented objects shaped like the bindings classes (a proof holding
//! commitments, an SRS shared through an `Arc` and cloned, a witness vector
//! that is consumed, clones measured when made, a `Default`), creation sites
//! under export boundaries, a SNAPSHOT per iteration, and noise lines without
//! '@' as o1js and Node would print them. One object (the SRS) is left alive
//! on purpose, as a leak would be.
//!
//! Run: `cargo run --offline --example emit`

use std::mem::size_of;
use std::sync::Arc;
use wlh_trace_core::{
    heap_of_fields, own_size_of, track, track_at, CountingAlloc, HeapSize, Sink, Traced, Tracked,
};

// as the generated patch installs it: SNAPSHOT lines report the live heap
#[global_allocator]
static ALLOC: CountingAlloc<std::alloc::System> = CountingAlloc::new(std::alloc::System);

macro_rules! instrument {
    ($ty:ident, $name:literal, [$($f:tt),*]) => {
        impl HeapSize for $ty {
            fn heap_size(&self) -> usize { heap_of_fields(&[$(&self.$f),*]) }
            fn untracked_heap_size(&self) -> usize { 0 }
            fn tracked_inline_size(&self) -> usize { size_of::<Self>() }
        }
        impl Traced for $ty {
            const TYPE_NAME: &'static str = $name;
            fn own_size(&self) -> usize { own_size_of::<Self>(&[$(&self.$f),*]) }
            fn tracker_mut(&mut self) -> &mut Tracked<Self> { &mut self.wlh_trace }
        }
        // as the generator replaces #[derive(Clone)]: built field by field, measured now
        impl Clone for $ty {
            fn clone(&self) -> Self {
                track_at(
                    $ty { $($f: self.$f.clone(),)* wlh_trace: Tracked::pending() },
                    concat!(module_path!(), "::", stringify!($ty), "::clone"),
                )
            }
        }
    };
}

#[derive(Default)]
struct WasmFpPolyComm {
    unshifted: Vec<[u64; 8]>,
    shifted: Option<[u64; 8]>,
    wlh_trace: Tracked<Self>,
}
instrument!(WasmFpPolyComm, "WasmFpPolyComm", [unshifted, shifted]);

struct WasmFpProverCommitments {
    w_comm: Vec<WasmFpPolyComm>,
    z_comm: WasmFpPolyComm,
    wlh_trace: Tracked<Self>,
}
instrument!(
    WasmFpProverCommitments,
    "WasmFpProverCommitments",
    [w_comm, z_comm]
);

struct WasmFpSrs {
    g: Arc<Vec<[u64; 8]>>,
    wlh_trace: Tracked<Self>,
}
instrument!(WasmFpSrs, "WasmFpSrs", [g]);

struct WasmVecVecFp {
    columns: Vec<Vec<[u64; 4]>>,
    wlh_trace: Tracked<Self>,
}
instrument!(WasmVecVecFp, "WasmVecVecFp", [columns]);

fn poly_comm(chunks: usize) -> WasmFpPolyComm {
    track_at(
        WasmFpPolyComm {
            unshifted: vec![[7; 8]; chunks],
            shifted: None,
            wlh_trace: Tracked::pending(),
        },
        concat!(module_path!(), "::WasmFpPolyComm::from"),
    )
}

fn main() {
    wlh_trace_core::set_sink(Sink::Stdout);
    wlh_trace_core::emit_raw_line(r#"@{"ev":"META","route":"source","example":"emit"}"#);
    println!("o1js: compiling circuit (noise line, not an event)");

    let srs = {
        let _boundary = wlh_trace_core::enter_export("caml_fp_srs_create");
        track_at(
            WasmFpSrs {
                g: Arc::new(vec![[1; 8]; 64]),
                wlh_trace: Tracked::pending(),
            },
            concat!(module_path!(), "::caml_fp_srs_create"),
        )
    };
    wlh_trace_core::snapshot(0, "after_compile", wlh_trace_core::wasm_memory_bytes());

    for proof in 0..2 {
        println!("proving #{proof} ...");
        let _boundary = wlh_trace_core::enter_export("caml_pasta_fp_plonk_proof_create");
        let shared = srs.clone(); // shares the Arc: its block is not counted twice
        drop(shared);
        let witness = track(WasmVecVecFp {
            columns: (0..15).map(|_| vec![[0; 4]; 16]).collect(),
            wlh_trace: Tracked::pending(),
        });
        let commitments = track_at(
            WasmFpProverCommitments {
                w_comm: (0..3).map(|_| poly_comm(1)).collect(),
                z_comm: poly_comm(2),
                wlh_trace: Tracked::pending(),
            },
            concat!(module_path!(), "::WasmFpProverCommitments::new"),
        );
        drop(witness); // consumed by the prover
        let copy = commitments.clone(); // a getter returns a clone
        drop(copy);
        drop(commitments);
        drop(_boundary);
        wlh_trace_core::snapshot(
            proof + 1,
            "after_prove",
            wlh_trace_core::wasm_memory_bytes(),
        );
    }
    let empty = WasmFpPolyComm::default();
    drop(empty);
    println!("done: {} bytes of SRS still alive", srs.wlh_trace.size());
    std::mem::forget(srs); // left alive, as a leak would be
}
