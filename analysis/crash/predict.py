"""Predicted crash proof of a cell under a memory cap, from its uncapped baseline run (the release matrix).

byteLength never shrinks, so after proof k it is the high-water mark so far; the run dies in the first proof
whose high-water mark would pass the cap. The prediction extrapolates the steady part only: the least-squares
slope of byteLength over proofs 2..N (proof 1 carries one-time growth: keys, SRS, first-proof peak), from
byteLength after proof N. It is an estimate and says so; the capped run measures the real crash proof.
"""
from __future__ import annotations

import math
from pathlib import Path

from analysis.common.jsonl import read_jsonl
from analysis.common.paths import ROOT, rel_path
from analysis.common.stats import linear_fit

MiB = 1 << 20


def after_proof_bytes(baseline: Path) -> dict[int, int]:
    return {r["iteration"]: r["wasm_memory_bytes"] for r in read_jsonl(baseline).records
            if r.get("event") == "sample" and r.get("phase") == "after_proof" and r.get("wasm_memory_bytes") is not None}


def predict(baseline: Path, cap_bytes: int, max_proofs: int) -> dict:
    by_proof = after_proof_bytes(baseline)
    proofs = sorted(by_proof)
    steady = [k for k in proofs if k >= 2]
    if len(steady) < 2:
        raise ValueError(f"{baseline}: needs byteLength after at least proofs 1..3 for a steady slope")
    fit = linear_fit([float(k) for k in steady], [float(by_proof[k]) for k in steady])
    last = proofs[-1]
    last_bytes = by_proof[last]
    out = {"baseline": rel_path(baseline, ROOT), "proofs_in_baseline": len(proofs), "cap_bytes": cap_bytes, "max_proofs": max_proofs,
           "bytes_after_proof": {str(k): by_proof[k] for k in proofs}, "steady_slope_bytes_per_proof": fit.slope,
           "steady_slope_stderr": fit.slope_stderr, "fit_proofs": [steady[0], steady[-1]],
           "method": "first proof k whose extrapolated byteLength (after proof N plus slope x (k - N), slope fitted "
                     "over proofs 2..N of the uncapped baseline) passes the cap; an estimate, not a measurement"}
    over = [k for k in proofs if by_proof[k] > cap_bytes]
    if over:
        out["predicted_crash_proof"] = over[0]
    elif fit.slope <= 0:
        out["predicted_crash_proof"] = None
    else:
        k = last + max(1, math.ceil((cap_bytes - last_bytes) / fit.slope))
        out["predicted_crash_proof"] = k if k <= max_proofs else None
        out["predicted_crash_proof_unbounded"] = k
    out["predicted"] = ("survives" if out["predicted_crash_proof"] is None
                        else f"crash in proof {out['predicted_crash_proof']}")
    return out
