mod common;
use common::*;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::mem::size_of;
use std::rc::Rc;
use std::sync::Arc;
use wlh_trace_core::{track, track_at, HeapSize, Sink, Traced, Tracked, TRACKER_BYTES};

#[test]
fn constructor_logs_allocate_and_drop_once_with_same_size() {
    let _g = capture();
    let c = WasmFpPolyComm::new(Vec::with_capacity(10));
    let id = c.wlh_trace.id().unwrap();
    // the struct without its tracking field, plus the buffer
    let expected = size_of::<WasmFpPolyComm>() - TRACKER_BYTES + 10 * 32;
    assert_eq!(c.wlh_trace.size(), expected as u64);
    drop(c);
    let evs = events(&wlh_trace_core::take_captured());
    assert_eq!(
        evs,
        vec![
            Ev {
                ev: "ALLOCATE".into(),
                size: expected as u64,
                ty: "WasmFpPolyComm".into(),
                id,
                site: None
            },
            Ev {
                ev: "DROP".into(),
                size: expected as u64,
                ty: "WasmFpPolyComm".into(),
                id,
                site: None
            },
        ]
    );
}

#[test]
fn exact_line_format() {
    let _g = capture();
    let v = track(WasmVecVecFp(Vec::new(), Tracked::pending()));
    let id = v.1.id().unwrap();
    drop(v);
    let s = size_of::<WasmVecVecFp>() - TRACKER_BYTES;
    assert_eq!(
        wlh_trace_core::take_captured(),
        format!(
            "@{{\"ev\":\"ALLOCATE\",\"size\":{s},\"type\":\"WasmVecVecFp\",\"id\":{id}}}\n\
             @{{\"ev\":\"DROP\",\"size\":{s},\"type\":\"WasmVecVecFp\",\"id\":{id}}}\n"
        )
    );
}

#[test]
fn clone_is_a_new_object_measured_when_it_is_made() {
    let _g = capture();
    let mut v = Vec::with_capacity(10);
    v.extend([[1u64; 4]; 3]);
    let a = WasmFpPolyComm::new(v);
    let b = a.clone();
    assert_ne!(a.wlh_trace.id(), b.wlh_trace.id());
    // the clone's buffer has capacity 3, not the source's 10: measured, not copied
    let base = (size_of::<WasmFpPolyComm>() - TRACKER_BYTES) as u64;
    assert_eq!(a.wlh_trace.size(), base + 10 * 32);
    assert_eq!(b.wlh_trace.size(), base + 3 * 32);
    drop(a);
    drop(b);
    let text = wlh_trace_core::take_captured();
    let evs = events(&text);
    assert_eq!(evs.iter().filter(|e| e.ev == "ALLOCATE").count(), 2);
    assert_eq!(evs.iter().filter(|e| e.ev == "DROP").count(), 2);
    let ids: std::collections::HashSet<u64> = evs.iter().map(|e| e.id).collect();
    assert_eq!(ids.len(), 2);
    // the clone has a site, named after the concrete type (its SITE line may
    // have been written by an earlier test: sites are defined once per process)
    let site = wlh_trace_core::site_id("core::common::WasmFpPolyComm::clone");
    assert_eq!(evs[1].site, Some(site));
    assert_eq!(evs[0].site, None);
}

#[test]
fn derived_clone_falls_back_to_the_source_size_with_a_site() {
    let _g = capture();
    let parent = track(WasmFpProverCommitments {
        w_comm: vec![],
        z_comm: WasmFpPolyComm::new(vec![]),
        lookup: None,
        wlh_trace: Tracked::pending(),
    });
    let copy = parent.clone(); // #[derive(Clone)]: the tracker's fallback
    assert_eq!(copy.wlh_trace.size(), parent.wlh_trace.size());
    let text = wlh_trace_core::take_captured();
    let sites = site_lines(&text);
    assert!(
        sites
            .iter()
            .any(|s| s.alloc_fn == "WasmFpProverCommitments::clone"),
        "{text}"
    );
    drop((parent, copy));
    wlh_trace_core::take_captured();
}

#[test]
fn default_gets_a_new_id_and_exact_size_when_defaults_own_no_heap() {
    let _g = capture();
    let d = WasmFpPolyComm::default();
    let e = WasmFpPolyComm::default();
    assert!(d.wlh_trace.is_registered());
    assert_ne!(d.wlh_trace.id(), e.wlh_trace.id());
    assert_eq!(d.wlh_trace.size() as usize, d.own_size());
    drop((d, e));
    let text = wlh_trace_core::take_captured();
    assert_eq!(events(&text).len(), 4);
    assert_eq!(
        site_lines(&text)[0].alloc_fn,
        "core::common::WasmFpPolyComm::default"
    );
}

#[test]
fn deserialization_hook_registers() {
    let _g = capture();
    let t: Tracked<WasmFpPolyComm> = Tracked::deserialized();
    assert!(t.is_registered());
    assert_eq!(
        t.size() as usize,
        size_of::<WasmFpPolyComm>() - TRACKER_BYTES
    );
    drop(t);
    let text = wlh_trace_core::take_captured();
    let evs = events(&text);
    assert_eq!(evs.len(), 2);
    assert_eq!(evs[1].ev, "DROP");
    assert_eq!(
        site_lines(&text)[0].alloc_fn,
        "core::common::WasmFpPolyComm::deserialize"
    );
}

#[test]
fn pending_tracker_logs_nothing_and_track_is_idempotent() {
    let _g = capture();
    let p: Tracked<WasmFpPolyComm> = Tracked::pending();
    drop(p);
    assert_eq!(wlh_trace_core::take_captured(), "");
    let v = track(track(WasmVecVecFp(vec![], Tracked::pending())));
    drop(v);
    assert_eq!(events(&wlh_trace_core::take_captured()).len(), 2);
}

#[test]
fn nested_tracked_values_are_counted_once() {
    let _g = capture();
    let w = vec![
        WasmFpPolyComm::new(vec![[0; 4]; 2]),
        WasmFpPolyComm::new(vec![[0; 4]; 5]),
    ];
    let mut w = w;
    w.reserve_exact(1); // spare slot: owned by the parent, not by a child
    let cap = w.capacity();
    let parent = track(WasmFpProverCommitments {
        w_comm: w,
        z_comm: WasmFpPolyComm::new(vec![[0; 4]; 1]),
        lookup: Some(WasmFpPolyComm::new(Vec::new())),
        wlh_trace: Tracked::pending(),
    });
    let pc = size_of::<WasmFpPolyComm>();
    // Parent: its own struct minus the two inline children, plus the w_comm
    // buffer minus the two children stored in it.
    let expected_parent =
        size_of::<WasmFpProverCommitments>() - TRACKER_BYTES - 2 * pc + cap * pc - 2 * pc;
    assert_eq!(parent.wlh_trace.size() as usize, expected_parent);
    let evs = events(&wlh_trace_core::take_captured());
    let sum: u64 = evs
        .iter()
        .filter(|e| e.ev == "ALLOCATE")
        .map(|e| e.size)
        .sum();
    assert_eq!(
        sum as usize,
        parent.total_size() - 5 * TRACKER_BYTES,
        "live sizes add up to the inclusive size, less the five tracking fields"
    );
    drop(parent);
    let evs = events(&wlh_trace_core::take_captured());
    assert_eq!(evs.iter().filter(|e| e.ev == "DROP").count(), 5);
}

#[test]
fn sites_are_defined_once_before_use() {
    let _g = capture();
    let a = track_at(
        WasmVecVecFp(vec![], Tracked::pending()),
        "kimchi_wasm::wasm_vector::fp::WasmVecVecFp::create",
    );
    let b = track_at(
        WasmVecVecFp(vec![], Tracked::pending()),
        "kimchi_wasm::wasm_vector::fp::WasmVecVecFp::create",
    );
    let text = wlh_trace_core::take_captured();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with("@{\"ev\":\"SITE\",\"site\":"),
        "{text}"
    );
    assert!(lines[0].ends_with(
        ",\"rust\":null,\"alloc_fn\":\"kimchi_wasm::wasm_vector::fp::WasmVecVecFp::create\"}"
    ));
    let site = wlh_trace_core::site_id("kimchi_wasm::wasm_vector::fp::WasmVecVecFp::create");
    assert_eq!(events(&text)[0].site, Some(site));
    assert_eq!(events(&text)[1].site, Some(site));
    drop((a, b));
    wlh_trace_core::take_captured();
}

#[test]
fn sites_name_the_outermost_export_and_have_no_spaces() {
    let _g = capture();
    fn build() -> WasmVecVecFp {
        // stringify! of a path puts spaces around `::`; the SITE line has none
        track_at(
            WasmVecVecFp(vec![], Tracked::pending()),
            concat!("kimchi_wasm::", stringify!(WasmVecVecFp::create)),
        )
    }
    let outside = build();
    let (inside, on_worker) = {
        let _e = wlh_trace_core::enter_export("caml_fp_srs_create");
        let _nested = wlh_trace_core::enter_export("caml_inner_export"); // Rust calling an export
        assert_eq!(
            wlh_trace_core::current_export().map(|e| e.to_string()),
            Some("caml_fp_srs_create".to_string())
        );
        // a value a rayon worker builds while the export runs has the same boundary
        let w = std::thread::spawn(build).join().unwrap();
        (build(), w)
    };
    assert_eq!(wlh_trace_core::current_export(), None, "the guard restores");
    let method = {
        let _m = wlh_trace_core::enter_method("WasmFpPolyComm", "unshifted");
        build()
    };
    let text = wlh_trace_core::take_captured();
    let sites = site_lines(&text);
    assert_eq!(
        sites.len(),
        3,
        "one site per (construction, boundary): {text}"
    );
    assert_eq!(sites[0].rust, None);
    assert_eq!(sites[1].rust.as_deref(), Some("caml_fp_srs_create"));
    // a method is named as wasm-bindgen names its export
    assert_eq!(sites[2].rust.as_deref(), Some("wasmfppolycomm_unshifted"));
    for s in &sites {
        assert_eq!(s.alloc_fn, "kimchi_wasm::WasmVecVecFp::create");
    }
    drop((outside, inside, on_worker, method));
    wlh_trace_core::take_captured();
}

#[test]
fn shared_blocks_count_once_across_clones() {
    let _g = capture();
    let g = Arc::new(vec![[0u64; 4]; 100]);
    let block = srs_block(&g) as u64;
    let base = (size_of::<WasmFpSrs>() - TRACKER_BYTES) as u64;
    let a = WasmFpSrs::wrap(g);
    assert_eq!(
        a.1.size(),
        base + block,
        "the first owner carries the block"
    );
    let b = a.clone();
    let c = b.clone();
    assert_eq!(
        b.1.size(),
        base,
        "a clone shares the block: not counted again"
    );
    assert_eq!(c.1.size(), base);
    // the first owner goes; the block stays alive through b and c, uncounted,
    // until an owner is measured again
    drop(a);
    let d = WasmFpSrs::wrap(Arc::clone(&b.0));
    assert_eq!(
        d.1.size(),
        base + block,
        "charged again after its carrier was dropped"
    );
    let e = WasmFpSrs::wrap(Arc::clone(&b.0));
    assert_eq!(e.1.size(), base);
    // a different block is charged on its own
    let f = WasmFpSrs::wrap(Arc::new(vec![[0u64; 4]; 7]));
    assert_eq!(f.1.size(), base + srs_block(&f.0) as u64);
    drop((b, c, d, e, f));
    // outside a registration, HeapSize keeps the split estimate
    let x = Arc::new(vec![[0u64; 4]; 4]);
    let y = Arc::clone(&x);
    assert_eq!(x.heap_size(), srs_block(&x).div_ceil(2));
    drop(y);
    wlh_trace_core::take_captured();
}

#[test]
fn snapshot_line_has_the_schema_fields() {
    let _g = capture();
    let (objects, bytes) = wlh_trace_core::tracked_live();
    let keep = WasmFpPolyComm::new(vec![[0; 4]; 2]);
    wlh_trace_core::snapshot(3, "after_prove", 1 << 20);
    let text = wlh_trace_core::take_captured();
    let snap = text.lines().find(|l| l.contains("\"SNAPSHOT\"")).unwrap();
    let want = format!(
        "@{{\"ev\":\"SNAPSHOT\",\"iteration\":3,\"phase\":\"after_prove\",\"memory_bytes\":1048576,\
         \"live_heap_bytes\":0,\"live_blocks\":0,\"tracked_live_objects\":{},\"tracked_live_bytes\":{},\
         \"alloc_calls\":0,\"free_calls\":0,\"allocator_counted\":false,\"route\":\"source\"}}",
        objects + 1,
        bytes + keep.wlh_trace.size()
    );
    // this test binary installs no counting allocator: heap figures are 0 and say so
    assert_eq!(snap, want);
    drop(keep);
    assert_eq!(wlh_trace_core::tracked_live(), (objects, bytes));
    wlh_trace_core::take_captured();
}

#[test]
fn callback_sink_and_discard() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    fn cb(line: &str) {
        assert!(line.starts_with('@') && !line.contains('\n'));
        CALLS.fetch_add(1, Ordering::SeqCst);
    }
    let _g = capture();
    wlh_trace_core::with_sink(Sink::Callback(cb), || drop(WasmFpPolyComm::new(vec![])));
    assert_eq!(CALLS.load(Ordering::SeqCst), 2);
    let before = wlh_trace_core::events_logged();
    wlh_trace_core::with_sink(Sink::Discard, || drop(WasmFpPolyComm::new(vec![])));
    assert_eq!(wlh_trace_core::events_logged(), before + 2);
    assert_eq!(wlh_trace_core::take_captured(), "");
}

#[test]
fn type_names_are_json_escaped() {
    struct Odd(Tracked<Odd>);
    impl HeapSize for Odd {
        fn heap_size(&self) -> usize {
            0
        }
    }
    impl Traced for Odd {
        const TYPE_NAME: &'static str = "a\"b\\c";
        fn own_size(&self) -> usize {
            0
        }
        fn tracker_mut(&mut self) -> &mut Tracked<Self> {
            &mut self.0
        }
    }
    let _g = capture();
    drop(track(Odd(Tracked::pending())));
    let text = wlh_trace_core::take_captured();
    assert!(text.contains(r#""type":"a\"b\\c""#), "{text}");
}

// ---- HeapSize: exact sizes of nested containers ----

#[test]
fn heap_size_of_nested_vecs_is_exact() {
    let mut inner1: Vec<u32> = Vec::with_capacity(10);
    inner1.push(1);
    let inner2: Vec<u32> = Vec::with_capacity(3);
    let mut outer: Vec<Vec<u32>> = Vec::with_capacity(5);
    outer.push(inner1);
    outer.push(inner2);
    assert_eq!(
        outer.heap_size(),
        5 * size_of::<Vec<u32>>() + 10 * 4 + 3 * 4
    );
    assert_eq!(
        outer.total_size(),
        size_of::<Vec<Vec<u32>>>() + outer.heap_size()
    );
}

#[test]
fn heap_size_of_box_string_option_tuple_array() {
    let s = String::with_capacity(17);
    assert_eq!(s.heap_size(), 17);
    let b: Box<[u64; 4]> = Box::new([0; 4]);
    assert_eq!(b.heap_size(), 32);
    let bs: Box<String> = Box::new(String::with_capacity(9));
    assert_eq!(bs.heap_size(), size_of::<String>() + 9);
    let o: Option<Box<String>> = Some(Box::new(String::with_capacity(4)));
    assert_eq!(o.heap_size(), size_of::<String>() + 4);
    let none: Option<Vec<u8>> = None;
    assert_eq!(none.heap_size(), 0);
    let t = (Vec::<u16>::with_capacity(3), String::with_capacity(2), 7u8);
    assert_eq!(t.heap_size(), 6 + 2);
    let arr = [Vec::<u64>::with_capacity(1), Vec::with_capacity(2)];
    assert_eq!(arr.heap_size(), 24);
    let slice: Box<[Vec<u8>]> =
        vec![Vec::with_capacity(5), Vec::with_capacity(6)].into_boxed_slice();
    assert_eq!(slice.heap_size(), 2 * size_of::<Vec<u8>>() + 11);
    let bstr: Box<str> = "hello".into();
    assert_eq!(bstr.heap_size(), 5);
    let dq: VecDeque<u32> = VecDeque::with_capacity(8);
    assert_eq!(dq.heap_size(), dq.capacity() * 4);
    let r: Result<Vec<u8>, String> = Err(String::with_capacity(3));
    assert_eq!(r.heap_size(), 3);
}

#[test]
fn heap_size_of_shared_pointers_is_split_between_owners() {
    let a = Arc::new(vec![0u64; 4]); // block: 2 counters + Vec header + 32
    let block = 2 * size_of::<usize>() + size_of::<Vec<u64>>() + a.capacity() * 8;
    assert_eq!(a.heap_size(), block);
    let b = Arc::clone(&a);
    assert_eq!(a.heap_size() + b.heap_size(), block + block % 2);
    let r = Rc::new(String::with_capacity(10));
    assert_eq!(
        r.heap_size(),
        2 * size_of::<usize>() + size_of::<String>() + 10
    );
}

#[test]
fn heap_size_of_maps_is_a_documented_estimate() {
    let mut m: HashMap<u32, Vec<u8>> = HashMap::new();
    assert_eq!(m.heap_size(), 0);
    m.insert(1, Vec::with_capacity(100));
    let buckets = match m.capacity() {
        0 => 0,
        1..=3 => 4,
        4..=7 => 8,
        c => (c * 8 / 7).next_power_of_two(),
    };
    let table = buckets * size_of::<(u32, Vec<u8>)>() + buckets + 16;
    assert_eq!(m.heap_size(), table + 100);
    let mut t: BTreeMap<u64, String> = BTreeMap::new();
    assert_eq!(t.heap_size(), 0);
    t.insert(1, String::with_capacity(4));
    assert_eq!(t.heap_size(), 11 * (8 + size_of::<String>()) + 16 + 4);
}

#[test]
fn the_tracking_field_is_three_words_and_never_counted() {
    // id, size (with the charge flag in its top bit) and the type name: 24 bytes on wasm32
    assert_eq!(
        TRACKER_BYTES,
        2 * size_of::<u64>() + size_of::<&'static str>()
    );
}
