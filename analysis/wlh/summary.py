"""A run reduced to the figures `wlh report` prints first and `wlh compare`/`wlh check` put side by side. All
of it comes from the Step 3 parser (analysis.parse) and figures (analysis.analyze.figures); whether and when the
run reaches the memory ceiling comes from the one forecaster (analysis.forecast), which reads byteLength as
steps and never as a rate through one-time steps."""
from __future__ import annotations

import json
from pathlib import Path

from analysis.analyze.figures import ScenarioFigures, figures
from analysis.forecast import CEILING, forecast, headline
from analysis.parse import MixedLogError, ParseResult, parse_file
from analysis.wlh.aggregate import overlay
from analysis.wlh.errors import WlhError
from analysis.wlh.rundir import Run, open_run

SUMMARY_VERSION = 2


def analyze(run: Run) -> tuple[ParseResult, ScenarioFigures]:
    try:
        result = parse_file(run.log)
    except OSError as e:
        raise WlhError(f"{run.log}: cannot read: {e.strerror}") from None
    except MixedLogError as e:
        raise WlhError(f"{run.log}:{e}") from None
    if not result.event_lines:
        raise WlhError(f"{run.log}: not a trace: none of its {result.lines_total:,} lines is a trace event "
                       "(an '@' line written by `wlh run`'s tracer)")
    result.source = run.log.name
    agg_path = overlay.path_for(run.log)
    # a `wlh run --aggregate` run: the tables its reader kept stand where the ALLOCATE/DROP lines would
    objects = overlay.apply(result, overlay.load(agg_path)) if agg_path.is_file() else None
    return result, figures(run.label, result, None, objects=objects)


def bytelength_summary(fc: dict) -> dict:
    """byteLength as the forecaster reads it: proof 1 apart, the steps after it, and a rate only when the
    steps recur (kind "steady") or it levelled off (0)."""
    g = fc["bytelength"]
    return {"first_proof": g["first_proof"], "steps": g["steps"], "kind": g["kind"], "per_proof": g["per_proof"],
            "spread": g["spread"], "since_proof": g["since_proof"], "more_proofs_needed": g["more_proofs_needed"]}


def summarize(run: Run, result: ParseResult, f: ScenarioFigures, ceiling: int = CEILING) -> dict:
    o1js = run.record.get("o1js") or {}
    by_bytes = {r.iteration: r.memory_bytes for r in f.rows}
    by_live = {r.iteration: r.live_heap_bytes for r in f.rows}
    fc = forecast(by_bytes, by_live, ceiling)
    return {
        "summary_version": SUMMARY_VERSION,
        "label": run.label,
        "instance": run.record.get("instance"),
        "program": run.record.get("program"),
        "o1js": {k: o1js.get(k) for k in ("kind", "spec", "version")} if o1js else None,
        "workers": run.record.get("workers"), "snapshot": run.record.get("snapshot"),
        "mode": run.record.get("mode", "full"),
        "key_cache": run.record.get("key_cache"),
        "exit_code": run.record.get("exit_code"),
        "checks_ok": result.ok and not overlay.incomplete(result),
        "failed_checks": result.failed_checks + ([overlay.INCOMPLETE] if overlay.incomplete(result) else []),
        "snapshots": len(f.rows), "proofs": f.proofs,
        "bytelength_by_iteration": {str(k): v for k, v in by_bytes.items()},
        "live_by_iteration": {str(k): v for k, v in by_live.items()},
        "live": {"first_proof": f.first_proof_live_growth, "per_proof": f.live_slope, "spread": f.live_slope_stderr},
        "bytelength": bytelength_summary(fc),
        "forecast": fc, "forecast_headline": headline(fc),
        "never_dropped_by_type": [{"type": t, "bytes": b} for t, b in result.never_dropped_by_type],
        "never_dropped_in_loop": [{"type": r["type"], "count": r["count"], "bytes": r["bytes"],
                                   "bytes_per_proof": r["bytes_per_proof"], "sites": r["sites"][:3]}
                                  for r in f.leaks_by_type_in_loop],
        "type_rates": [{k: r[k] for k in ("type", "first_proof", "per_proof", "spread")} for r in f.type_rates],
    }


def load_summary(path: Path | Run) -> dict:
    """A run's summary: from its report.json when that is as new as the log and of this summary version,
    else parsed now (what `wlh compare` and `wlh check` read). A Run is one instance of a run of several
    processes (analysis.wlh.instances)."""
    run = path if isinstance(path, Run) else open_run(path)
    cached = run.folder / "report.json"
    if run.path.is_dir() and cached.is_file() and cached.stat().st_mtime >= run.log.stat().st_mtime:
        try:
            s = json.loads(cached.read_text())["summary"]
            if s.get("summary_version") == SUMMARY_VERSION:
                return s
        except (ValueError, KeyError):
            pass
    result, f = analyze(run)
    return summarize(run, result, f)
