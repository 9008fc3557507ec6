//! The one lock: id counter, site table and sink.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, MutexGuard, PoisonError};

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
    /// (`#[no_mangle] pub fn wlh_trace_sink_write(line: &str)`), which the
    /// generated bindings patch forwards to `console.log`.
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

pub(crate) struct State {
    next_id: u64,
    next_site: u64,
    sites: BTreeMap<&'static str, u64>,
    sink: Sink,
    captured: String,
    events: u64,
    line: String,
}

static STATE: Mutex<State> = Mutex::new(State {
    next_id: 0,
    next_site: 0,
    sites: BTreeMap::new(),
    sink: default_sink(),
    captured: String::new(),
    events: 0,
    line: String::new(),
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

    /// Site number for `rust`, writing its SITE line on first use.
    fn site(&mut self, rust: &'static str) -> u64 {
        if let Some(&s) = self.sites.get(rust) {
            return s;
        }
        let s = self.next_site;
        self.next_site += 1;
        self.sites.insert(rust, s);
        self.line.clear();
        let _ = write!(self.line, "@{{\"ev\":\"SITE\",\"site\":{s},\"rust\":");
        push_json_str(&mut self.line, rust);
        self.line.push('}');
        self.write_line();
        s
    }
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

/// Takes a fresh id and writes the ALLOCATE line, under the one lock.
/// Returns the id.
pub(crate) fn log_allocate(type_name: &str, size: u64, site: Option<&'static str>) -> u64 {
    let mut st = lock();
    let site_no = site.map(|s| st.site(s));
    let id = st.next_id;
    st.next_id += 1;
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
    st.line.clear();
    let _ = write!(st.line, "@{{\"ev\":\"DROP\",\"size\":{size},\"type\":");
    push_json_str(&mut st.line, type_name);
    let _ = write!(st.line, ",\"id\":{id}}}");
    st.write_line();
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

/// The site number of a Rust creation site (e.g. `"kimchi_wasm::srs::fp::caml_fp_srs_create"`),
/// writing `@{"ev":"SITE","site":S,"rust":"..."}` the first time it is seen.
pub fn site_id(rust: &'static str) -> u64 {
    lock().site(rust)
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
