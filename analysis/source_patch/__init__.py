"""Source route (Step 2): generate the instrumentation patch for the Rust bindings, build it and
install it into a copy of o1js.

Entry points (explicit arguments, for dodo.py):
    generate_patch(inventory_json, checkout, out_dir, *, include_internal=False, sites=True,
                   expected_commit=None) -> dict           (analysis.source_patch.generator)
    check_toolchain(cfg) -> list[str]                      (analysis.source_patch.build)
    build(cfg, checkout, out_dir) -> dict                  (analysis.source_patch.build)
    install(glue, wasm, out_dir, *, o1js_dir=None) -> dict (analysis.source_patch.build)
"""
from .generator import PatchError, generate_patch  # noqa: F401
