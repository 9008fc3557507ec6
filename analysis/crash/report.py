"""The crash horizon compared: per capped cell the cap, the predicted crash proof (an estimate from the
uncapped baseline), the measured one (or "survived N proofs"), how the end looked to JS, and the byteLength
growth per proof over the whole capped run with a verdict: does it level off or keep growing?"""
from __future__ import annotations

import json
from pathlib import Path

from tabulate import tabulate

from analysis.common.jsonl import read_jsonl
from analysis.common.stats import linear_fit
from analysis.common.units import mib

MiB = 1 << 20
# below this steady rate (and within twice its standard error of zero) byteLength is said to level off
LEVEL_OFF_BYTES_PER_PROOF = 0.05 * MiB


def growth(run_jsonl: Path) -> dict:
    """byteLength after each proof of the capped run: steady slope over the second half of the proofs (after
    the one-time growth), and the last proof at which byteLength still grew."""
    rows = [(r["iteration"], r["wasm_memory_bytes"]) for r in read_jsonl(run_jsonl, strict=False).records
            if r.get("event") == "sample" and r.get("phase") == "after_proof"]
    out = {"proofs": len(rows), "bytes_after_proof": {str(k): v for k, v in rows}}
    if len(rows) < 4:
        return out | {"verdict": None}
    half = rows[len(rows) // 2:]
    fit = linear_fit([float(k) for k, _ in half], [float(v) for _, v in half])
    grew = [k for (k, v), (_, prev) in zip(rows[1:], rows[:-1]) if v > prev]
    out |= {"second_half_from_proof": half[0][0], "slope_bytes_per_proof": fit.slope,
            "slope_stderr": fit.slope_stderr, "last_growth_proof": grew[-1] if grew else None,
            "growth_after_proof_1_bytes": rows[-1][1] - rows[0][1]}
    err = fit.slope_stderr or 0.0
    levels = fit.slope < LEVEL_OFF_BYTES_PER_PROOF or fit.slope <= 2 * err
    out["verdict"] = "levels off" if levels else "keeps growing"
    return out


def horizon(cells: list[dict]) -> dict:
    """cells: [{"cell", "prediction": dict, "outcome": dict, "run": path}] -> the comparison (JSON)."""
    rows = []
    for c in cells:
        pred, out = c["prediction"], c["outcome"]
        rows.append({"cell": c["cell"], "cap_bytes": pred["cap_bytes"], "max_proofs": pred["max_proofs"],
                     "predicted_crash_proof": pred["predicted_crash_proof"], "predicted": pred["predicted"],
                     "steady_slope_bytes_per_proof": pred["steady_slope_bytes_per_proof"],
                     "baseline_proofs": pred["proofs_in_baseline"],
                     "measured_crash_proof": out.get("crash_proof"), "how": out["how"],
                     "message": (out.get("message") or "").splitlines()[0][:200] if out.get("message") else None,
                     "proofs_done": out["proofs_done"], "cap_applied": out["cap_applied"],
                     "growth": growth(Path(c["run"])), "traced": traced_growth(c.get("cell_summary"))})
    return {"cells": rows}


def traced_growth(cell: dict | None) -> dict | None:
    """From the same cell's traced matrix run: byteLength growth attributed to the requests that forced each
    memory.grow, and what its heap walks say about reuse of free space."""
    g = ((cell or {}).get("trace") or {}).get("byte_growth")
    if not g:
        return None
    return {"proofs": cell["proofs"], "coverage": g["coverage"], "steady_coverage": g["steady_coverage"],
            "bytelength_growth": g["bytelength_growth"], "steady_growth": g["steady_growth"],
            "unexplained_bytes": g["unexplained_bytes"], "top_sites": g["sites"][:3], "reuse": cell["trace"].get("reuse")}


def write(cell_files: list[dict], out: Path) -> None:
    load = lambda p: json.loads(Path(p).read_text())  # noqa: E731
    cells = [{"cell": c["cell"], "prediction": load(c["prediction"]), "outcome": load(c["outcome"]), "run": c["run"],
              "cell_summary": load(c["cell_summary"]) if Path(c["cell_summary"]).exists() else None}
             for c in cell_files]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(horizon(cells), indent=1, sort_keys=True) + "\n")


def markdown(h: dict | None) -> list[str]:
    if not h or not h["cells"]:
        return []
    md = ["## Crash horizon: does the process die, and does removing the leak stop it?", "",
          "Untraced runs of the benchmark with o1js's shared WebAssembly.Memory given a lower maximum "
          "(`crash.cap_mib`, applied by `bench/crash/preload.cjs` where the glue creates the memory), proving until "
          "the cap ends the run or `max proofs` are done. **Predicted** is an estimate made before the capped run "
          "from the uncapped matrix baseline of the same cell (byteLength after its last proof plus the least-squares "
          "slope over proofs 2..N, proof 1 being one-time growth); **measured** is the proof during which the capped "
          "run ended.", ""]
    rows = []
    for c in h["cells"]:
        g = c["growth"]
        measured = (f"proof {c['measured_crash_proof']}" if c["measured_crash_proof"] is not None
                    else f"survived {c['proofs_done']} proofs")
        slope = (f"{mib(g['slope_bytes_per_proof'], 3)} ± {mib(g['slope_stderr'] or 0, 3)} (proofs "
                 f"{g['second_half_from_proof']}..{g['proofs']}): {g['verdict']}; last grew in proof "
                 f"{g['last_growth_proof']}" if g.get("verdict") else "too few proofs")
        rows.append([f"`{c['cell']}`", mib(c["cap_bytes"], 0), c["predicted"] + f" (slope {mib(c['steady_slope_bytes_per_proof'], 2)} "
                     f"MiB/proof over {c['baseline_proofs']} baseline proofs)", measured,
                     c["how"] + (f": `{c['message'][:120]}`" if c.get("message") else ""), slope])
    md += [tabulate(rows, headers=["cell", "cap MiB", "predicted (estimate)", "measured", "how the end looked to JS",
                                   "byteLength growth MiB/proof in the capped run"], tablefmt="github"), ""]
    traced = [(c["cell"], c["traced"]) for c in h["cells"] if c.get("traced")]
    if traced:
        md += ["Why byteLength grows, from the same cells' traced matrix runs (every memory.grow hooked; a grow is "
               "attributed to the JS→Rust export in progress and the Rust function that asked):", ""]
        for name, t in traced:
            top = "; ".join(f"`{s['site'][:110]}` {mib(s['one_time'] + s['steady'], 1)} MiB" for s in t["top_sites"])
            md += [f"- `{name}` ({t['proofs']} proofs): byteLength +{mib(t['bytelength_growth'], 2)} MiB after compile, "
                   f"{mib(t['steady_growth'], 2)} MiB of it after proof 1; attributed to a site: "
                   f"{_pct(t['coverage'])} (after proof 1: {_pct(t['steady_coverage'])}); GROW bytes not matching "
                   f"byteLength: {t['unexplained_bytes']:,}. Largest: {top}."
                   + (f" {t['reuse']}" if t.get("reuse") else "")]
        md += [""]
    return md


def _pct(x) -> str:
    return "n/a (no growth)" if x is None else f"{100 * x:.1f} %"
