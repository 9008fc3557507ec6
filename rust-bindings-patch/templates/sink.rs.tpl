
/// wasm-leak-hunt: the trace sink's JS side, imported through wasm-bindgen.
/// `__wlh_trace_sink` is a global that `wlh-trace-sink.cjs` (required at the
/// top of the post-processed glue, in the main thread and in every worker)
/// defines; its `write` appends the line to the trace file with
/// `fs.writeSync`. Never `console.log`: Node forwards a worker's console
/// output asynchronously, and lines written on rayon workers were lost.
#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = __wlh_trace_sink, js_name = write)]
    fn wlh_trace_sink_js(line: &str);
}

/// wasm-leak-hunt: the sink of `wlh-trace-core` (feature `wasm-extern-sink`).
/// Called with the core's lock held; it must not create or drop
/// instrumented objects.
#[no_mangle]
pub fn wlh_trace_sink_write(line: &str) {
    wlh_trace_sink_js(line);
}

/// wasm-leak-hunt: writes a SNAPSHOT line (live heap from the counting
/// allocator below, tracked objects alive, linear memory size). The benchmark
/// calls it at each iteration boundary (through `globalThis.__wlhSample`,
/// which `wlh-trace-sink.cjs` sets).
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn wlh_trace_snapshot(iteration: i32, phase: &str) {
    ::wlh_trace_core::snapshot(iteration as i64, phase, ::wlh_trace_core::wasm_memory_bytes());
}
{{ALLOCATOR}}
/// wasm-leak-hunt: sizes of the instrumented types.
pub mod wlh_trace;
