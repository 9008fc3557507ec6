//! Shared helpers: example instrumented types written the way the generated
//! patch writes them, a parser for the captured lines, and a lock so that
//! tests sharing the process-wide log do not mix their lines.
#![allow(dead_code)]

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use wlh_trace_core::{heap_of_fields, own_size_of, track_at, HeapSize, Traced, Tracked};

static TEST_LOCK: Mutex<()> = Mutex::new(());

/// Serializes tests and installs the capture sink (clearing old lines).
pub fn capture() -> MutexGuard<'static, ()> {
    let g = TEST_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    wlh_trace_core::set_sink(wlh_trace_core::Sink::Capture);
    wlh_trace_core::take_captured();
    g
}

#[derive(Debug, PartialEq)]
pub struct Ev {
    pub ev: String,
    pub size: u64,
    pub ty: String,
    pub id: u64,
    pub site: Option<u64>,
}

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!("\"{key}\":");
    let start = line.find(&pat)? + pat.len();
    let rest = &line[start..];
    let end = rest.find([',', '}']).unwrap();
    Some(rest[..end].trim_matches('"'))
}

/// A SITE line: its number, boundary (`rust`) and construction site (`alloc_fn`).
#[derive(Debug, PartialEq)]
pub struct SiteLine {
    pub site: u64,
    pub rust: Option<String>,
    pub alloc_fn: String,
}

/// Parses the SITE lines of a capture.
pub fn site_lines(text: &str) -> Vec<SiteLine> {
    text.lines()
        .filter(|l| l.starts_with("@{\"ev\":\"SITE\""))
        .map(|l| SiteLine {
            site: field(l, "site").unwrap().parse().unwrap(),
            rust: field(l, "rust")
                .filter(|r| *r != "null")
                .map(str::to_string),
            alloc_fn: l
                .split("\"alloc_fn\":\"")
                .nth(1)
                .unwrap()
                .trim_end_matches("\"}")
                .to_string(),
        })
        .collect()
}

/// Parses the ALLOCATE/DROP lines of a capture (panics on anything malformed;
/// SITE and SNAPSHOT lines are skipped).
pub fn events(text: &str) -> Vec<Ev> {
    let mut out = Vec::new();
    for line in text.lines() {
        assert!(
            line.starts_with("@{") && line.ends_with('}'),
            "torn line: {line:?}"
        );
        assert_eq!(
            line.matches("\"ev\"").count(),
            1,
            "two events on one line: {line:?}"
        );
        let ev = field(line, "ev").unwrap().to_string();
        if ev == "SITE" || ev == "SNAPSHOT" {
            continue;
        }
        out.push(Ev {
            ev,
            size: field(line, "size").unwrap().parse().unwrap(),
            ty: field(line, "type").unwrap().to_string(),
            id: field(line, "id").unwrap().parse().unwrap(),
            site: field(line, "site").map(|s| s.parse().unwrap()),
        });
    }
    out
}

// ---- instrumented types, as the generator writes them ----

/// Like a macro-generated wasm-bindgen class with named fields. `Clone` is
/// written the way the generator replaces `#[derive(Clone)]`: the clone is
/// built field by field and measured when it is made. `Default` is still
/// derived (the tracker's fallback path).
#[derive(Debug, Default)]
pub struct WasmFpPolyComm {
    pub unshifted: Vec<[u64; 4]>,
    pub shifted: Option<[u64; 4]>,
    pub wlh_trace: Tracked<Self>,
}

impl Clone for WasmFpPolyComm {
    fn clone(&self) -> Self {
        track_at(
            WasmFpPolyComm {
                unshifted: self.unshifted.clone(),
                shifted: self.shifted.clone(),
                wlh_trace: Tracked::pending(),
            },
            concat!(module_path!(), "::WasmFpPolyComm::clone"),
        )
    }
}

impl HeapSize for WasmFpPolyComm {
    fn heap_size(&self) -> usize {
        heap_of_fields(&[&self.unshifted, &self.shifted])
    }
    fn untracked_heap_size(&self) -> usize {
        0
    }
    fn tracked_inline_size(&self) -> usize {
        std::mem::size_of::<Self>()
    }
}

impl Traced for WasmFpPolyComm {
    const TYPE_NAME: &'static str = "WasmFpPolyComm";
    const SITE_BASE: &'static str = concat!(module_path!(), "::WasmFpPolyComm");
    fn own_size(&self) -> usize {
        own_size_of::<Self>(&[&self.unshifted, &self.shifted])
    }
    fn tracker_mut(&mut self) -> &mut Tracked<Self> {
        &mut self.wlh_trace
    }
}

impl WasmFpPolyComm {
    pub fn new(unshifted: Vec<[u64; 4]>) -> Self {
        wlh_trace_core::track(WasmFpPolyComm {
            unshifted,
            shifted: None,
            wlh_trace: Tracked::pending(),
        })
    }
}

/// Like `WasmFpSrs`: a tuple struct around an `Arc` that clones share. Its
/// `Clone` is the generated kind (measured at clone time).
pub struct WasmFpSrs(pub Arc<Vec<[u64; 4]>>, pub Tracked<Self>);

impl Clone for WasmFpSrs {
    fn clone(&self) -> Self {
        track_at(
            WasmFpSrs(self.0.clone(), Tracked::pending()),
            concat!(module_path!(), "::WasmFpSrs::clone"),
        )
    }
}

impl HeapSize for WasmFpSrs {
    fn heap_size(&self) -> usize {
        heap_of_fields(&[&self.0])
    }
    fn untracked_heap_size(&self) -> usize {
        0
    }
    fn tracked_inline_size(&self) -> usize {
        std::mem::size_of::<Self>()
    }
}

impl Traced for WasmFpSrs {
    const TYPE_NAME: &'static str = "WasmFpSrs";
    fn own_size(&self) -> usize {
        own_size_of::<Self>(&[&self.0])
    }
    fn tracker_mut(&mut self) -> &mut Tracked<Self> {
        &mut self.1
    }
}

impl WasmFpSrs {
    pub fn wrap(g: Arc<Vec<[u64; 4]>>) -> Self {
        track_at(
            WasmFpSrs(g, Tracked::pending()),
            concat!(module_path!(), "::WasmFpSrs::from"),
        )
    }
}

/// Bytes of the `Arc` block of an SRS: two counters, the Vec header, the points.
pub fn srs_block(g: &Arc<Vec<[u64; 4]>>) -> usize {
    2 * std::mem::size_of::<usize>() + std::mem::size_of::<Vec<[u64; 4]>>() + g.capacity() * 32
}

/// A class that nests instrumented values inline, in a Vec and in an Option.
#[derive(Clone, Debug)]
pub struct WasmFpProverCommitments {
    pub w_comm: Vec<WasmFpPolyComm>,
    pub z_comm: WasmFpPolyComm,
    pub lookup: Option<WasmFpPolyComm>,
    pub wlh_trace: Tracked<Self>,
}

impl HeapSize for WasmFpProverCommitments {
    fn heap_size(&self) -> usize {
        heap_of_fields(&[&self.w_comm, &self.z_comm, &self.lookup])
    }
    fn untracked_heap_size(&self) -> usize {
        0
    }
    fn tracked_inline_size(&self) -> usize {
        std::mem::size_of::<Self>()
    }
}

impl Traced for WasmFpProverCommitments {
    const TYPE_NAME: &'static str = "WasmFpProverCommitments";
    fn own_size(&self) -> usize {
        own_size_of::<Self>(&[&self.w_comm, &self.z_comm, &self.lookup])
    }
    fn tracker_mut(&mut self) -> &mut Tracked<Self> {
        &mut self.wlh_trace
    }
}

/// A tuple struct (like WasmFpSrs / WasmVecVecFp).
pub struct WasmVecVecFp(pub Vec<Vec<u64>>, pub Tracked<Self>);

impl HeapSize for WasmVecVecFp {
    fn heap_size(&self) -> usize {
        heap_of_fields(&[&self.0])
    }
    fn untracked_heap_size(&self) -> usize {
        0
    }
    fn tracked_inline_size(&self) -> usize {
        std::mem::size_of::<Self>()
    }
}

impl Traced for WasmVecVecFp {
    const TYPE_NAME: &'static str = "WasmVecVecFp";
    fn own_size(&self) -> usize {
        own_size_of::<Self>(&[&self.0])
    }
    fn tracker_mut(&mut self) -> &mut Tracked<Self> {
        &mut self.1
    }
}
