"""Step 1: inventory of the Rust/WASM bindings layer of o1js (issue 4).

Public entry points (all paths explicit):
  build_source_inventory(checkout, crates, out, expected_commit=None, dependency_exports=True) -> dict
  build_binary_inventory(o1js_dir, out) -> dict
  write_reports(source_json, binary_json, inventory_out, types_md, step1_md) -> dict
CLI: python -m analysis.inventory {source,binary,report,all}
"""
from .binary_step import build_binary_inventory
from .report import write_reports
from .source_step import build_source_inventory

__all__ = ["build_source_inventory", "build_binary_inventory", "write_reports"]
