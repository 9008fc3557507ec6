mod common;
use common::*;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::mem::size_of;
use std::rc::Rc;
use std::sync::Arc;
use wlh_trace_core::{track, track_at, HeapSize, Sink, Traced, Tracked};

#[test]
fn constructor_logs_allocate_and_drop_once_with_same_size() {
    let _g = capture();
    let c = WasmFpPolyComm::new(Vec::with_capacity(10));
    let id = c.wlh_trace.id().unwrap();
    let expected = size_of::<WasmFpPolyComm>() + 10 * 32;
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
    let s = size_of::<WasmVecVecFp>();
    assert_eq!(
        wlh_trace_core::take_captured(),
        format!(
            "@{{\"ev\":\"ALLOCATE\",\"size\":{s},\"type\":\"WasmVecVecFp\",\"id\":{id}}}\n\
             @{{\"ev\":\"DROP\",\"size\":{s},\"type\":\"WasmVecVecFp\",\"id\":{id}}}\n"
        )
    );
}

#[test]
fn clone_gets_a_new_id_and_the_source_size() {
    let _g = capture();
    let a = WasmFpPolyComm::new(vec![[1; 4]; 3]);
    let b = a.clone();
    assert_ne!(a.wlh_trace.id(), b.wlh_trace.id());
    assert_eq!(a.wlh_trace.size(), b.wlh_trace.size());
    drop(a);
    drop(b);
    let evs = events(&wlh_trace_core::take_captured());
    assert_eq!(evs.iter().filter(|e| e.ev == "ALLOCATE").count(), 2);
    assert_eq!(evs.iter().filter(|e| e.ev == "DROP").count(), 2);
    let ids: std::collections::HashSet<u64> = evs.iter().map(|e| e.id).collect();
    assert_eq!(ids.len(), 2);
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
    let evs = events(&wlh_trace_core::take_captured());
    assert_eq!(evs.len(), 4);
}

#[test]
fn deserialization_hook_registers() {
    let _g = capture();
    let t: Tracked<WasmFpPolyComm> = Tracked::deserialized();
    assert!(t.is_registered());
    assert_eq!(t.size() as usize, size_of::<WasmFpPolyComm>());
    drop(t);
    let evs = events(&wlh_trace_core::take_captured());
    assert_eq!(evs.len(), 2);
    assert_eq!(evs[1].ev, "DROP");
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
    let expected_parent = size_of::<WasmFpProverCommitments>() - 2 * pc + cap * pc - 2 * pc;
    assert_eq!(parent.wlh_trace.size() as usize, expected_parent);
    let evs = events(&wlh_trace_core::take_captured());
    let sum: u64 = evs
        .iter()
        .filter(|e| e.ev == "ALLOCATE")
        .map(|e| e.size)
        .sum();
    assert_eq!(
        sum as usize,
        parent.total_size(),
        "live sizes add up to the inclusive size"
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
        "kimchi_wasm::wasm_vector::fp::create",
    );
    let b = track_at(
        WasmVecVecFp(vec![], Tracked::pending()),
        "kimchi_wasm::wasm_vector::fp::create",
    );
    let text = wlh_trace_core::take_captured();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with("@{\"ev\":\"SITE\",\"site\":"),
        "{text}"
    );
    assert!(lines[0].ends_with(",\"rust\":\"kimchi_wasm::wasm_vector::fp::create\"}"));
    let site = wlh_trace_core::site_id("kimchi_wasm::wasm_vector::fp::create");
    assert_eq!(events(&text)[0].site, Some(site));
    assert_eq!(events(&text)[1].site, Some(site));
    drop((a, b));
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
