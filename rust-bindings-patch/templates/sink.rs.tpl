
/// wasm-leak-hunt: the sink of `wlh-trace-core` (feature `wasm-extern-sink`):
/// every ALLOCATE/DROP/SITE line goes to `console.log`. Called with the
/// core's lock held; it must not create or drop instrumented objects.
#[no_mangle]
pub fn wlh_trace_sink_write(line: &str) {
    {{LOG_FN}}(line);
}

/// wasm-leak-hunt: sizes of the instrumented types.
pub mod wlh_trace;
