"""Predicted crash proof of a cell under a memory cap, made before the capped run from the cell's matrix runs
(4 proofs), with the one forecaster (analysis.forecast):

- from the traced matrix run: the live-heap model (steady live-heap slope plus what a proof needs above the
  live heap, and its drift with fragmentation) -- the forecast;
- from the untraced baseline: byteLength alone (a rate only where its steps recur), for comparison.
Both are estimates and say so; the capped run measures the real crash proof."""
from __future__ import annotations

import json
from pathlib import Path

from analysis.common.jsonl import read_jsonl
from analysis.common.paths import ROOT, rel_path
from analysis.forecast import forecast, headline

MiB = 1 << 20


def after_proof_bytes(baseline: Path) -> dict[int, int]:
    """byteLength after compile (iteration 0) and after each proof of a benchmark run (JSONL)."""
    return {r["iteration"]: r["wasm_memory_bytes"] for r in read_jsonl(baseline, strict=False).records
            if r.get("event") == "sample" and r.get("phase") in ("after_compile", "after_proof")
            and r.get("wasm_memory_bytes") is not None}


def _outcome(fc: dict, max_proofs: int) -> tuple[int | None, str]:
    k = fc.get("crash_proof") if fc["verdict"] == "crash" else None
    if k is not None and k <= max_proofs:
        return k, f"crash in proof {k}"
    if fc["verdict"] == "not_enough_proofs":
        return None, "no forecast (not enough proofs)"
    return None, f"survives {max_proofs} proofs"


def predict(baseline: Path, cell_summary: Path | None, cap_bytes: int, max_proofs: int) -> dict:
    by_proof = after_proof_bytes(baseline)
    if sum(1 for k in by_proof if k >= 1) < 2:
        raise ValueError(f"{baseline}: needs byteLength after at least two proofs")
    out = {"baseline": rel_path(baseline, ROOT), "proofs_in_baseline": max(by_proof), "cap_bytes": cap_bytes,
           "max_proofs": max_proofs, "bytes_after_proof": {str(k): v for k, v in sorted(by_proof.items())}}
    bl = forecast(by_proof, None, cap_bytes)
    out["bytelength_only"] = {"forecast": bl, "headline": headline(bl)}
    out["bytelength_only"]["predicted_crash_proof"], out["bytelength_only"]["predicted"] = _outcome(bl, max_proofs)
    trace = (json.loads(cell_summary.read_text()).get("trace") or {}) if cell_summary and cell_summary.exists() else {}
    if trace.get("live_heap_by_iteration"):
        fc = forecast(trace["bytes_by_iteration"], trace["live_heap_by_iteration"], cap_bytes)
        out["source"] = rel_path(cell_summary, ROOT)
    else:
        fc = bl
        out["source"] = out["baseline"]
    out["forecast"] = fc
    out["headline"] = headline(fc)
    out["predicted_crash_proof"], out["predicted"] = _outcome(fc, max_proofs)
    out["predicted_crash_proof_latest"] = fc.get("crash_proof_latest") if out["predicted_crash_proof"] else None
    return out
