//! Alone in its own test binary (its own process): the first id is 0 and the
//! ids of 16 threads logging at once are unique, contiguous and in order.
mod common;
use common::*;
use wlh_trace_core::{track, Tracked};

#[test]
fn sixteen_threads_ids_unique_contiguous_from_zero() {
    let _g = capture();
    const THREADS: usize = 16;
    const PER_THREAD: usize = 500;
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    let v = track(WasmVecVecFp(
                        vec![vec![t as u64; i % 7]],
                        Tracked::pending(),
                    ));
                    let c = WasmFpPolyComm::new(vec![[0; 4]; i % 3]);
                    drop(v);
                    drop(c);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let text = wlh_trace_core::take_captured();
    let evs = events(&text);
    let allocs: Vec<&Ev> = evs.iter().filter(|e| e.ev == "ALLOCATE").collect();
    let drops: Vec<&Ev> = evs.iter().filter(|e| e.ev == "DROP").collect();
    let n = THREADS * PER_THREAD * 2;
    assert_eq!(allocs.len(), n);
    assert_eq!(drops.len(), n);
    // In log order the ALLOCATE ids are exactly 0, 1, 2, ...: unique,
    // contiguous, and written in the order they were taken.
    for (k, a) in allocs.iter().enumerate() {
        assert_eq!(a.id, k as u64, "ALLOCATE #{k} has id {}", a.id);
    }
    // Every DROP matches one earlier ALLOCATE with the same size and type.
    let mut seen = std::collections::HashMap::new();
    for e in &evs {
        if e.ev == "ALLOCATE" {
            seen.insert(e.id, (e.size, e.ty.clone(), false));
        } else {
            let entry = seen.get_mut(&e.id).expect("DROP before its ALLOCATE");
            assert!(!entry.2, "second DROP of id {}", e.id);
            assert_eq!((entry.0, &entry.1), (e.size, &e.ty));
            entry.2 = true;
        }
    }
    assert!(seen.values().all(|v| v.2));
}
