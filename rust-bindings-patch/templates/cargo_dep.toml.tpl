# wasm-leak-hunt: object lifecycle logging (std-only, no dependencies)
wlh-trace-core = { path = "{{CORE_PATH}}", features = ["wasm-extern-sink"] }
