//! Its own test binary (its own process) with the counting allocator
//! installed, as the generated patch installs it in the bindings crate.
mod common;
use common::*;
use std::alloc::System;
use std::sync::Arc;
use wlh_trace_core::{heap_counts, CountingAlloc, TRACKER_BYTES};

#[global_allocator]
static ALLOC: CountingAlloc<System> = CountingAlloc::new(System);

#[test]
fn live_bytes_follow_allocations_and_snapshots_report_them() {
    let _g = capture();
    const N: usize = 1 << 20;
    let before = heap_counts();
    assert!(before.installed);
    let big: Vec<u8> = Vec::with_capacity(N);
    let during = heap_counts();
    // other threads (the harness, threads of other tests ending) may allocate
    // and free meanwhile: compare with a margin far below N
    const MARGIN: u64 = 64 * 1024;
    assert!(during.live_bytes + MARGIN >= before.live_bytes + N as u64);
    assert!(during.alloc_calls > before.alloc_calls);
    wlh_trace_core::snapshot(1, "after_prove", 0);
    drop(big);
    let after = heap_counts();
    assert!(after.live_bytes + N as u64 <= during.live_bytes + MARGIN);
    assert!(after.free_calls > before.free_calls);
    let text = wlh_trace_core::take_captured();
    let snap = text.lines().find(|l| l.contains("\"SNAPSHOT\"")).unwrap();
    assert!(snap.contains("\"allocator_counted\":true"), "{snap}");
    let live: u64 = snap
        .split("\"live_heap_bytes\":")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(live >= N as u64, "{snap}");
}

#[test]
fn realloc_moves_the_counted_bytes() {
    let _g = capture();
    let mut v: Vec<u8> = Vec::with_capacity(1000);
    let a = heap_counts().live_bytes;
    v.reserve_exact(100_000 - v.len());
    let b = heap_counts().live_bytes;
    assert!(b + 64 * 1024 >= a + 99_000, "{a} -> {b}");
    drop(v);
}

#[test]
fn threads_cloning_one_shared_block_count_it_once() {
    let _g = capture();
    let g = Arc::new(vec![[0u64; 4]; 1000]);
    let block = srs_block(&g) as u64;
    let base = (std::mem::size_of::<WasmFpSrs>() - TRACKER_BYTES) as u64;
    let root = WasmFpSrs::wrap(g);
    let clones: Vec<WasmFpSrs> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..8)
            .map(|_| s.spawn(|| (0..200).map(|_| root.clone()).collect::<Vec<_>>()))
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let total: u64 = root.1.size() + clones.iter().map(|c| c.1.size()).sum::<u64>();
    assert_eq!(total, base * (1 + clones.len() as u64) + block);
    drop(clones);
    drop(root);
    wlh_trace_core::take_captured();
}
