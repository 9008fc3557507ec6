"""A run reduced to the figures `wlh report` prints first and `wlh compare` puts side by side. All of
it comes from the Step 3 parser (analysis.parse) and figures (analysis.analyze.figures); the only new
arithmetic is the byteLength rate, fitted like the live-heap rate (least squares over proofs 1..N)."""
from __future__ import annotations

from analysis.analyze.figures import CEILING, ScenarioFigures, figures
from analysis.common.stats import linear_fit
from analysis.parse import ParseResult, parse_file
from analysis.wlh.errors import WlhError
from analysis.wlh.rundir import Run

SUMMARY_VERSION = 1


def analyze(run: Run) -> tuple[ParseResult, ScenarioFigures]:
    try:
        result = parse_file(run.log)
    except OSError as e:
        raise WlhError(f"{run.log}: cannot read: {e.strerror}") from None
    result.source = run.log.name
    return result, figures(run.label, result, None)


def bytelength_rate(f: ScenarioFigures) -> dict:
    later = [r for r in f.rows if r.iteration >= 1]
    fit = linear_fit([r.iteration for r in later], [r.memory_bytes for r in later]) if len(later) >= 2 else None
    first = f.rows[1].memory_bytes - f.rows[0].memory_bytes if len(f.rows) >= 2 else None
    per = fit.slope if fit else None
    return {"first_proof": first, "per_proof": per, "spread": fit.slope_stderr if fit else None,
            "proofs_to_ceiling": int((CEILING - f.rows[-1].memory_bytes) / per) if per and per > 0 else None}


def summarize(run: Run, result: ParseResult, f: ScenarioFigures) -> dict:
    o1js = run.record.get("o1js") or {}
    return {
        "summary_version": SUMMARY_VERSION,
        "label": run.label,
        "program": run.record.get("program"),
        "o1js": {k: o1js.get(k) for k in ("kind", "spec", "version")} if o1js else None,
        "workers": run.record.get("workers"), "snapshot": run.record.get("snapshot"),
        "exit_code": run.record.get("exit_code"),
        "checks_ok": result.ok, "failed_checks": result.failed_checks,
        "snapshots": len(f.rows), "proofs": f.proofs,
        "bytelength_by_iteration": {str(r.iteration): r.memory_bytes for r in f.rows},
        "live_by_iteration": {str(r.iteration): r.live_heap_bytes for r in f.rows},
        "live": {"first_proof": f.first_proof_live_growth, "per_proof": f.live_slope, "spread": f.live_slope_stderr,
                 "proofs_to_ceiling": f.proofs_to_ceiling_estimate},
        "bytelength": bytelength_rate(f),
        "never_dropped_by_type": [{"type": t, "bytes": b} for t, b in result.never_dropped_by_type],
        "never_dropped_in_loop": [{"type": r["type"], "count": r["count"], "bytes": r["bytes"],
                                   "bytes_per_proof": r["bytes_per_proof"], "sites": r["sites"][:3]}
                                  for r in f.leaks_by_type_in_loop],
        "type_rates": [{k: r[k] for k in ("type", "first_proof", "per_proof", "spread")} for r in f.type_rates],
    }
