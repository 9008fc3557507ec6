"""The crash horizon compared: per capped cell the cap, the crash proof forecast before the capped run (the one
forecaster, analysis.forecast, on the cell's 4-proof matrix runs: the live-heap model, and byteLength alone for
comparison), the measured one (or "survived N proofs"), the error in proofs, how the end looked to JS, and
byteLength over the whole capped run as steps (does it level off or keep growing?)."""
from __future__ import annotations

import json
from pathlib import Path

from tabulate import tabulate

from analysis.common.jsonl import read_jsonl
from analysis.common.units import mib
from analysis.forecast.steps import bytelength_growth, steps_text

MiB = 1 << 20


def growth(run_jsonl: Path) -> dict:
    """byteLength after each proof of the capped run, read as steps (analysis.forecast.steps)."""
    rows = {r["iteration"]: r["wasm_memory_bytes"] for r in read_jsonl(run_jsonl, strict=False).records
            if r.get("event") == "sample" and r.get("phase") in ("after_compile", "after_proof")}
    g = bytelength_growth(rows)
    verdict = {"steady": "keeps growing", "levels_off": "levels off", "not_enough_proofs": None}[g["kind"]]
    return {"proofs": g["proofs"], "bytes_after_proof": {str(k): v for k, v in sorted(rows.items()) if k >= 1},
            "steps": g, "verdict": verdict}


def error_in_proofs(predicted: int | None, measured: int | None, proofs_done: int, max_proofs: int) -> int | None:
    """predicted - measured crash proof (negative: forecast too early); 0 when both say it survives;
    None when one says it survives and the other does not."""
    if predicted is None and measured is None:
        return 0
    if predicted is None or measured is None:
        return None
    return predicted - measured


def horizon(cells: list[dict]) -> dict:
    """cells: [{"cell", "prediction": dict, "outcome": dict, "run": path}] -> the comparison (JSON)."""
    rows = []
    for c in cells:
        pred, out = c["prediction"], c["outcome"]
        bl = pred.get("bytelength_only") or {}
        measured = out.get("crash_proof")
        rows.append({"cell": c["cell"], "cap_bytes": pred["cap_bytes"], "max_proofs": pred["max_proofs"],
                     "baseline_proofs": pred["proofs_in_baseline"], "model": (pred.get("forecast") or {}).get("model"),
                     "predicted_crash_proof": pred["predicted_crash_proof"], "predicted": pred["predicted"],
                     "predicted_crash_proof_latest": pred.get("predicted_crash_proof_latest"),
                     "headline": pred.get("headline"),
                     "bytelength_only_crash_proof": bl.get("predicted_crash_proof"),
                     "bytelength_only": bl.get("predicted"),
                     "measured_crash_proof": measured, "how": out["how"],
                     "error_proofs": error_in_proofs(pred["predicted_crash_proof"], measured, out["proofs_done"],
                                                     pred["max_proofs"]),
                     "bytelength_only_error_proofs": error_in_proofs(bl.get("predicted_crash_proof"), measured,
                                                                     out["proofs_done"], pred["max_proofs"])
                     if bl.get("predicted") and not bl["predicted"].startswith("no forecast") else None,
                     "message": (out.get("message") or "").splitlines()[0][:200] if out.get("message") else None,
                     "proofs_done": out["proofs_done"], "cap_applied": out["cap_applied"],
                     "ended_by": out.get("ended_by"),
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


def _err(e) -> str:
    return "n/a" if e is None else ("0" if e == 0 else f"{e:+d}")


def markdown(h: dict | None) -> list[str]:
    if not h or not h["cells"]:
        return []
    md = ["## Crash horizon: does the process die, and does removing the leak stop it?", "",
          "Untraced runs of the benchmark with o1js's shared WebAssembly.Memory given a lower maximum "
          "(`crash.cells`, applied by the guard, `bench/guard/guard.cjs`, where the glue creates the memory; the guard also ends a run "
          "5 s after a rayon worker dies), proving until "
          "the cap ends the run or `max proofs` are done. **Forecast** is made before the capped run by the one "
          "forecaster that `wlh report`/`wlh compare` use (`analysis/forecast/`), from the same cell's 4-proof "
          "matrix runs: the live-heap model (steady live-heap slope, plus what a proof needs above the live heap "
          "and how that drifts with fragmentation; the earliest proof, with the latest if fragmentation stopped "
          "worsening) and, for comparison, byteLength alone (a rate only where its steps recur). Both are "
          "estimates. **Measured** is the proof during which the capped run ended; the error is forecast minus "
          "measured, in proofs (negative: too early).", ""]
    rows = []
    for c in h["cells"]:
        g = c["growth"]
        measured = (f"proof {c['measured_crash_proof']}" if c["measured_crash_proof"] is not None
                    else f"survived {c['proofs_done']} proofs")
        latest = c.get("predicted_crash_proof_latest")
        forecast = c["predicted"] + (f" (at the latest {latest})" if latest and latest != c["predicted_crash_proof"] else "")
        st = g.get("steps") or {}
        growth_text = (f"{g['verdict']}; steps after proof 1: {steps_text(st, 3)}" if g.get("verdict")
                       else f"too few proofs to tell; steps: {steps_text(st, 3)}") if st else "n/a"
        rows.append([f"`{c['cell']}`", mib(c["cap_bytes"], 0), forecast, _err(c["error_proofs"]),
                     c.get("bytelength_only") or "n/a", _err(c.get("bytelength_only_error_proofs")), measured,
                     c["how"] + (f": `{c['message'][:100]}`" if c.get("message") else "")
                     + (f"; ended by {c['ended_by']}" if c.get("ended_by") else ""), growth_text])
    md += [tabulate(rows, headers=["cell", "cap MiB", "forecast (live-heap model)", "error", "byteLength alone",
                                   "error", "measured", "how the end looked to JS", "byteLength in the capped run"],
                    tablefmt="github", disable_numparse=True), ""]
    # one line per matrix cell: cells with another cap (`cell@MiB`) share their matrix run
    traced = list({c["cell"].split("@")[0]: c["traced"] for c in h["cells"] if c.get("traced")}.items())
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
