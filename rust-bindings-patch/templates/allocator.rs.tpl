
/// wasm-leak-hunt: std's allocator (dlmalloc on wasm32), counted: live bytes
/// and blocks for the SNAPSHOT lines.
#[global_allocator]
static WLH_TRACE_ALLOC: ::wlh_trace_core::CountingAlloc<::std::alloc::System> =
    ::wlh_trace_core::CountingAlloc::new(::std::alloc::System);
