"""One matrix cell reduced to the figures the comparison needs (a small JSON, committed): byteLength per
proof from the untraced baseline, live-heap rates and coverage from the trace, the top leaking types."""
from __future__ import annotations

import json
from pathlib import Path

from analysis.common.config import Config
from analysis.common.jsonl import read_jsonl
from analysis.parse import parse_file
from analysis.matrix.cells import Cell
from analysis.matrix.paths import baseline_path, instrument_report, mitigation_report_path, summary_path, trace_log_path
from analysis.common.paths import ROOT
from analysis.analyze.figures import figures, site_kind_shares, tracked_coverage
from analysis.analyze.growth import reuse_verdict


def baseline_memory(path: Path) -> dict:
    """byteLength after compile (iteration 0) and after each proof, from an untraced benchmark run."""
    records = read_jsonl(path, strict=False).records if path.exists() else []
    samples = {r["iteration"]: r["wasm_memory_bytes"] for r in records
               if r.get("event") == "sample" and r.get("iteration", -1) >= 0}
    its = sorted(samples)
    out = {"bytes_by_iteration": {str(i): samples[i] for i in its},
           "completed": any(r.get("event") == "end" and r.get("ok") for r in records),
           "first_proof_growth": None, "later_growth_per_proof": None}
    if 0 in samples and 1 in samples:
        out["first_proof_growth"] = samples[1] - samples[0]
    if len(its) >= 3 and its[-1] > 1:
        out["later_growth_per_proof"] = (samples[its[-1]] - samples[1]) / (its[-1] - 1)
    return out


def coverage(rows) -> dict:
    """Share of the live-heap growth held by live tracked objects (analysis.analyze.figures.tracked_coverage)."""
    return {k: (v["share"] if v else None) for k, v in tracked_coverage(rows).items()}


def summarize(cell: Cell, result, baseline: Path, instrument_report: Path, mitigation_reports: dict,
              targets: list[str] | None) -> dict:
    f = figures(cell.scenario, result, None)
    leaks = [{"type": r["type"], "count": r["count"], "bytes": r["bytes"], "bytes_per_proof": r["bytes_per_proof"],
              "site": (r["sites"][0] if r["sites"] else None)} for r in f.leaks_by_type_in_loop[:5]]
    # every growing type (type_rates keeps 25): a what-if prediction sums the rates of some of them
    types = [{"type": r["type"], "per_proof": r["per_proof"], "spread": r["spread"], "first_proof": r["first_proof"]}
             for r in f.type_rates if (r["per_proof"] or 0) > 0]
    out = {
        "cell": cell.name, **cell.params(),
        "checks_ok": result.ok, "failed_checks": result.failed_checks,
        "instrument": json.loads(instrument_report.read_text()) if instrument_report.exists() else None,
        "proofs": f.proofs,
        "baseline": baseline_memory(baseline),
        "trace": {
            "bytes_by_iteration": {str(r.iteration): r.memory_bytes for r in f.rows},
            "live_heap_by_iteration": {str(r.iteration): r.live_heap_bytes for r in f.rows},
            "tracked_by_iteration": {str(r.iteration): r.tracked_live_bytes for r in f.rows},
            "first_proof_live_growth": f.first_proof_live_growth,
            "live_per_proof": f.live_slope, "live_per_proof_spread": f.live_slope_stderr,
            "coverage": coverage(f.rows),
            "by_site_kind": {k: {"per_proof": v["per_proof"], "spread": v["spread"], "growth": v["growth"],
                                 "growth_after_first": v["growth_after_first"]} for k, v in f.growth_by_site_kind.items()},
            "site_kind_shares": {"with_first_proof": site_kind_shares(f.growth_by_site_kind, "growth"),
                                 "without_first_proof": site_kind_shares(f.growth_by_site_kind, "growth_after_first")},
            "growing_types": types,
            "never_dropped_in_loop": f.never_dropped_in_loop,
            "leaks_by_type_in_loop": leaks,
            "byte_growth": f.byte_growth and {k: v for k, v in f.byte_growth.items() if k != "sites"}
                           | {"sites": f.byte_growth["sites"][:8]},
            "fragmentation": f.fragmentation,
            "reuse": reuse_verdict(f.fragmentation, f.byte_growth),
        },
    }
    if targets is not None:
        out["mitigation_targets"] = targets
        out["mitigation_reports"] = mitigation_reports
    return out


def _without_machine_paths(report: dict) -> dict:
    """The preload records the glue as o1js required it: for an ES-module import that is an absolute path of this
    machine. Keep it from the package root on (`dist/...`), so no machine's path reaches a committed file."""
    glue = report.get("glue")
    if isinstance(glue, str) and glue.startswith("/") and "/o1js/" in glue:
        report = {**report, "glue": glue.rsplit("/o1js/", 1)[1]}
    return report


def summarize_cell(cfg: Config, cell: Cell) -> None:
    """Parse the cell's trace log and write its summary (cell.json)."""
    log = trace_log_path(cfg, cell)
    print(f"matrix {cell.name}: parsing {log.relative_to(ROOT) if log.is_relative_to(ROOT) else log.name}", flush=True)
    result = parse_file(log)
    reports = {run: _without_machine_paths(json.loads(p.read_text())) for run in ("baseline", "trace")
               if (p := mitigation_report_path(cfg, cell, run)).exists()} if cell.mitigation else {}
    out = summarize(cell, result, baseline_path(cfg, cell), instrument_report(cfg, cell.version), reports,
                    targets=cfg["mitigations"][cell.mitigation]["targets"] if cell.mitigation else None)
    summary_path(cfg, cell).write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
