//! The one lock: id counter, site table and sink.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::context::Export;

/// Where log lines go. Each line is passed without its trailing newline;
/// sinks that write to a stream add `\n`.
#[derive(Clone, Copy, Debug)]
pub enum Sink {
    /// Lines are dropped (the counter still advances).
    Discard,
    /// Lines are appended to an in-memory buffer, read with [`take_captured`].
    /// Meant for tests: the buffer grows until taken.
    Capture,
    /// Native only: standard output (the default of `examples/emit.rs`).
    #[cfg(not(target_arch = "wasm32"))]
    Stdout,
    /// Native only: standard error (the native default).
    #[cfg(not(target_arch = "wasm32"))]
    Stderr,
    /// A plain function, called with the lock held. It must not create or drop
    /// instrumented objects (that would deadlock on the lock).
    Callback(fn(&str)),
    /// wasm32 with feature `wasm-extern-sink`: calls
    /// `wlh_trace_sink_write(line: &str)`, defined by the embedding crate
    /// (`#[no_mangle] pub fn wlh_trace_sink_write(line: &str)`). The
    /// generated bindings patch forwards it to a JS function imported through
    /// wasm-bindgen that writes the line with `fs.writeSync` (never
    /// `console.log`, which Node forwards asynchronously from worker threads).
    #[cfg(all(target_arch = "wasm32", feature = "wasm-extern-sink"))]
    Extern,
}

#[cfg(all(target_arch = "wasm32", feature = "wasm-extern-sink"))]
extern "Rust" {
    fn wlh_trace_sink_write(line: &str);
}

const fn default_sink() -> Sink {
    #[cfg(all(target_arch = "wasm32", feature = "wasm-extern-sink"))]
    {
        Sink::Extern
    }
    #[cfg(all(target_arch = "wasm32", not(feature = "wasm-extern-sink")))]
    {
        Sink::Discard
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        Sink::Stderr
    }
}

/// A creation site: where the value was built (`built` + `suffix`, e.g.
/// `"kimchi_wasm::srs::fp::WasmFpSrs"` + `"::clone"`) and the exported
/// function JS had called on this thread when it was built (the boundary).
type SiteKey = (&'static str, &'static str, Option<Export>);

pub(crate) struct State {
    next_id: u64,
    next_site: u64,
    sites: BTreeMap<SiteKey, u64>,
    sink: Sink,
    captured: String,
    events: u64,
    line: String,
    live_objects: u64,
    live_bytes: u64,
    export: Option<Export>,
}

static STATE: Mutex<State> = Mutex::new(State {
    next_id: 0,
    next_site: 0,
    sites: BTreeMap::new(),
    sink: default_sink(),
    captured: String::new(),
    events: 0,
    line: String::new(),
    live_objects: 0,
    live_bytes: 0,
    export: None,
});

fn lock() -> MutexGuard<'static, State> {
    // A panic inside a sink must not silence every later line.
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    fn write_line(&mut self) {
        self.events += 1;
        match self.sink {
            Sink::Discard => {}
            Sink::Capture => {
                self.captured.push_str(&self.line);
                self.captured.push('\n');
            }
            #[cfg(not(target_arch = "wasm32"))]
            Sink::Stdout => {
                use std::io::Write;
                let out = std::io::stdout();
                let mut out = out.lock();
                let _ = out.write_all(self.line.as_bytes());
                let _ = out.write_all(b"\n");
                let _ = out.flush();
            }
            #[cfg(not(target_arch = "wasm32"))]
            Sink::Stderr => {
                use std::io::Write;
                let err = std::io::stderr();
                let mut err = err.lock();
                let _ = err.write_all(self.line.as_bytes());
                let _ = err.write_all(b"\n");
            }
            Sink::Callback(f) => f(&self.line),
            #[cfg(all(target_arch = "wasm32", feature = "wasm-extern-sink"))]
            Sink::Extern => {
                // SAFETY: the embedding crate defines this function with the
                // declared signature (the generated patch does).
                unsafe { wlh_trace_sink_write(&self.line) }
            }
        }
    }

    /// Site number of `key`, writing its SITE line on first use:
    /// `rust` is the boundary (exported function, or null when the value was
    /// built outside any export call on this thread, e.g. on a rayon worker),
    /// `alloc_fn` the function that built the value, with its file and line.
    fn site(&mut self, key: SiteKey) -> u64 {
        if let Some(&s) = self.sites.get(&key) {
            return s;
        }
        let s = self.next_site;
        self.next_site += 1;
        self.sites.insert(key, s);
        let (built, suffix, export) = key;
        self.line.clear();
        let _ = write!(self.line, "@{{\"ev\":\"SITE\",\"site\":{s},\"rust\":");
        match export {
            Some(e) => push_json_str(&mut self.line, &e.to_string()),
            None => self.line.push_str("null"),
        }
        self.line.push_str(",\"alloc_fn\":");
        push_json_name(&mut self.line, &[built, suffix]);
        self.line.push('}');
        self.write_line();
        s
    }
}

/// Appends the concatenated `parts` as a JSON string, without the spaces that
/// `stringify!` puts around `::` (`"WasmFpGate :: new"` -> `"WasmFpGate::new"`):
/// site names are identifiers, and the parser groups by exact text.
fn push_json_name(out: &mut String, parts: &[&str]) {
    let mut joined = String::new();
    for p in parts {
        joined.push_str(p);
    }
    push_json_str(out, &joined.replace(" :: ", "::").replace(":: ", "::"));
}

/// Appends `s` as a JSON string literal.
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Where a value is registered from: nowhere known, a generated construction
/// site, or a fallback path of the tracker (`Clone`/`Default`/deserialization)
/// named after the type.
#[derive(Clone, Copy)]
pub(crate) enum Site {
    None,
    At(&'static str),
    Path(&'static str, &'static str),
}

/// Takes a fresh id and writes the ALLOCATE line, under the one lock.
/// Returns the id.
pub(crate) fn log_allocate(type_name: &str, size: u64, site: Site) -> u64 {
    let mut st = lock();
    let export = st.export;
    let site_no = match site {
        Site::None => None,
        Site::At(s) => Some(st.site((s, "", export))),
        Site::Path(base, suffix) => Some(st.site((base, suffix, export))),
    };
    let id = st.next_id;
    st.next_id += 1;
    st.live_objects += 1;
    st.live_bytes += size;
    st.line.clear();
    let _ = write!(st.line, "@{{\"ev\":\"ALLOCATE\",\"size\":{size},\"type\":");
    push_json_str(&mut st.line, type_name);
    let _ = write!(st.line, ",\"id\":{id}");
    if let Some(s) = site_no {
        let _ = write!(st.line, ",\"site\":{s}");
    }
    st.line.push('}');
    st.write_line();
    id
}

/// Writes the DROP line of a registered object.
pub(crate) fn log_drop(type_name: &str, size: u64, id: u64) {
    let mut st = lock();
    st.live_objects = st.live_objects.saturating_sub(1);
    st.live_bytes = st.live_bytes.saturating_sub(size);
    st.line.clear();
    let _ = write!(st.line, "@{{\"ev\":\"DROP\",\"size\":{size},\"type\":");
    push_json_str(&mut st.line, type_name);
    let _ = write!(st.line, ",\"id\":{id}}}");
    st.write_line();
}

/// Writes a `SNAPSHOT` line (schemas/trace-event.schema.json) at an iteration
/// boundary of the benchmark: `memory_bytes` as given (on wasm32 pass
/// [`wasm_memory_bytes`](crate::wasm_memory_bytes)), the live heap as the
/// counting allocator sees it ([`CountingAlloc`](crate::CountingAlloc);
/// `allocator_counted: false` and zeros when it is not installed), and the
/// tracked objects alive now with the sum of their logged sizes. Taken under
/// the one lock, so it sits between whole ALLOCATE/DROP lines.
pub fn snapshot(iteration: i64, phase: &str, memory_bytes: u64) {
    let mut st = lock();
    let h = crate::alloc::heap_counts();
    let (objects, bytes) = (st.live_objects, st.live_bytes);
    st.line.clear();
    let _ = write!(
        st.line,
        "@{{\"ev\":\"SNAPSHOT\",\"iteration\":{iteration},\"phase\":"
    );
    push_json_str(&mut st.line, phase);
    let _ = write!(
        st.line,
        ",\"memory_bytes\":{memory_bytes},\"live_heap_bytes\":{},\"live_blocks\":{},\
         \"tracked_live_objects\":{objects},\"tracked_live_bytes\":{bytes},\
         \"alloc_calls\":{},\"free_calls\":{},\"allocator_counted\":{},\"route\":\"source\"}}",
        h.live_bytes, h.live_blocks, h.alloc_calls, h.free_calls, h.installed
    );
    st.write_line();
}

/// Tracked objects alive now and the sum of their logged sizes.
pub fn tracked_live() -> (u64, u64) {
    let st = lock();
    (st.live_objects, st.live_bytes)
}

/// Replaces the sink; returns the previous one.
pub fn set_sink(sink: Sink) -> Sink {
    let mut st = lock();
    std::mem::replace(&mut st.sink, sink)
}

/// Runs `f` with `sink` installed, then restores the previous sink.
pub fn with_sink<R>(sink: Sink, f: impl FnOnce() -> R) -> R {
    let prev = set_sink(sink);
    let r = f();
    set_sink(prev);
    r
}

/// Takes (and clears) everything [`Sink::Capture`] collected.
pub fn take_captured() -> String {
    std::mem::take(&mut lock().captured)
}

/// Number of lines written so far (any kind, any sink).
pub fn events_logged() -> u64 {
    lock().events
}

/// The site number of a creation site (e.g.
/// `"kimchi_wasm::srs::fp::WasmFpSrs::create (kimchi-wasm/src/srs.rs:88)"`)
/// under the current export context, writing its SITE line the first time
/// the pair is seen.
pub fn site_id(built: &'static str) -> u64 {
    let mut st = lock();
    let export = st.export;
    st.site((built, "", export))
}

/// Sets the export context unless one is set; true if it was set now.
pub(crate) fn enter_export(e: Export) -> bool {
    let mut st = lock();
    if st.export.is_none() {
        st.export = Some(e);
        true
    } else {
        false
    }
}

pub(crate) fn leave_export() {
    lock().export = None;
}

pub(crate) fn current_export() -> Option<Export> {
    lock().export
}

/// Writes one line as it is, under the lock (for META lines or noise). The
/// caller is responsible for its format; a newline inside is replaced by a space.
pub fn emit_raw_line(line: &str) {
    let mut st = lock();
    st.line.clear();
    st.line
        .extend(line.chars().map(|c| if c == '\n' { ' ' } else { c }));
    st.write_line();
}
