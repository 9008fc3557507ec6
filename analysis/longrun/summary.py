"""Figures of the long run (artifacts/longrun/<scenario>/): the live-heap rate over the whole run with its
spread and per window of proofs (does the leak rate stay constant?), the log's disk per proof, byteLength as
the forecaster reads it, and the forecasts made from the first K proofs against what the run then saw."""
from __future__ import annotations

import json
from pathlib import Path

from analysis.common.stats import linear_fit
from analysis.common.units import mib, signed_mib
from analysis.forecast import forecast, headline
from analysis.forecast.steps import steps_text
from analysis.forecast.ceiling import live_rate
from analysis.wlh.aggregate.disk import steady_bytes_per_proof

CHECKPOINTS = (4, 10, 25, 50, 100, 200)  # forecasts made from the first K proofs (those below the run's length)


def _fit(points: list[tuple[int, float]]) -> tuple[float | None, float | None]:
    """Least-squares slope and its standard error (analysis.common.stats)."""
    fit = linear_fit([float(x) for x, _ in points], [float(y) for _, y in points]) if len(points) >= 2 else None
    return (fit.slope, fit.slope_stderr) if fit else (None, None)


def summarize(run_dir: Path) -> dict:
    samples = [json.loads(x) for x in (run_dir / "samples.jsonl").read_text().splitlines() if x.strip()]
    taken = {s["iteration"]: s for s in samples if s.get("event") == "sample"}
    bl = {k: s["wasm_memory_bytes"] for k, s in taken.items()}
    live = {k: s["live_heap_bytes"] for k, s in taken.items() if s.get("live_heap_bytes") is not None}
    n = max(k for k in live)
    slope, err = _fit([(k, v) for k, v in live.items() if k >= 1])
    width = max(5, n // 5)
    windows = []
    for start in range(1, n + 1, width):
        pts = [(k, live[k]) for k in range(start, min(start + width, n + 1)) if k in live]
        s, e = _fit(pts)
        if s is not None:
            windows.append({"from": pts[0][0], "to": pts[-1][0], "per_proof": s, "spread": e})
    offs = json.loads((run_dir / "log_offsets.json").read_text())
    o = {int(k): v for k, v in offs["snapshot_offsets"].items()}
    disk = steady_bytes_per_proof(offs)  # as `doit wlh_aggregate` reads disk: the median, one-time proofs apart
    checks = []
    for k in CHECKPOINTS:
        if k >= n:
            continue
        fc = forecast({i: bl[i] for i in bl if i <= k}, {i: live[i] for i in live if i <= k})
        r = live_rate({i: live[i] for i in live if i <= k})
        predicted = live[k] + r["per_proof"] * (n - k) if r.get("per_proof") is not None else None
        checks.append({"from_proofs": k, "forecast": fc.get("verdict"), "crash_proof": fc.get("crash_proof"),
                       "headline": headline(fc), "rate": r.get("per_proof"),
                       "predicted_live_at_end": predicted, "measured_live_at_end": live[n],
                       "error_bytes": None if predicted is None else live[n] - predicted})
    full = forecast(bl, live)
    record = json.loads((run_dir / "run.json").read_text())
    return {"label": record.get("label"), "proofs": n, "mode": record.get("mode", "full"),
            "live": {"per_proof": slope, "spread": err, "first_proof": live[1] - live[0] if 0 in live and 1 in live else None,
                     "start": live.get(0), "end": live[n]},
            "windows": windows, "window_rates": {"min": min(w["per_proof"] for w in windows),
                                                 "max": max(w["per_proof"] for w in windows)} if windows else None,
            "disk": {"log_bytes": offs["log_bytes"], "before_first_proof": o.get(0), "per_proof": disk["per_proof"],
                     "first_proof": disk["by_proof"].get(1),
                     "one_time": {k: v for k, v in disk["one_time"].items() if k >= 2}},
            "bytelength": full["bytelength"], "forecast_whole_run": {"verdict": full.get("verdict"),
                                                                    "crash_proof": full.get("crash_proof"),
                                                                    "headline": headline(full)},
            "checks": checks}


def markdown(s: dict | None) -> list[str]:
    if not s:
        return []
    lv, w = s["live"], s["window_rates"]
    md = [f"## A long run: {s['label']}", "",
          f"_From `doit longrun_report` (artifacts/longrun/): one traced `wlh run` of {s['proofs']} proofs, made once "
          "(`python -m analysis.longrun.run`, DEV.md)._", "",
          f"- Live heap: {signed_mib(lv['per_proof'], 4)}" + (f" ± {mib(lv['spread'], 5)}" if lv["spread"] is not None else "")
          + f" MiB per proof over proofs 1..{s['proofs']} (least squares), from {mib(lv['start'], 2)} to {mib(lv['end'], 2)} MiB."]
    if w:
        md.append(f"- Per window of {s['windows'][0]['to'] - s['windows'][0]['from'] + 1} proofs, in bytes per proof: "
                  f"from {w['min']:+,.0f} to {w['max']:+,.0f} ("
                  + "; ".join(f"{x['from']}-{x['to']}: {x['per_proof']:+,.0f}"
                              + (f" ± {x['spread']:,.0f}" if x["spread"] is not None else "") for x in s["windows"]) + ").")
    bl = s["bytelength"]
    md.append(f"- byteLength: {signed_mib(bl['first_proof'], 1)} MiB in proof 1, then {steps_text(bl, 8)}"
              + (f": steps that recur, {signed_mib(bl['per_proof'], 4)} MiB per proof on average" if bl["kind"] == "steady"
                 else "") + ".")
    d = s["disk"]
    what = ("aggregate mode: the trace log without event lines and aggregate.jsonl" if s.get("mode") == "aggregate"
            else "full trace log")
    size = (lambda b: f"{b / 1000:,.1f} KB" if b < 2 ** 20 else f"{mib(b, 2)} MiB")
    once = d.get("one_time") or {}
    apart = ("; written once, apart: " + ", ".join(f"proof {k} {size(v)}" for k, v in sorted(once.items(), key=lambda x: int(x[0])))
             if once else "")
    md.append(f"- Disk ({what}): {mib(d['log_bytes'], 1)} MiB in all, {mib(d['before_first_proof'], 1)} MiB "
              f"before the first proof (compile), {size(d['first_proof'])} in proof 1, then {size(d['per_proof'])} per "
              f"proof (the median of proofs 2..{s['proofs']}{apart}).")
    md.append(f"- Forecast from the whole run: {s['forecast_whole_run']['headline']}")
    for c in s["checks"]:
        err = "" if c["error_bytes"] is None else (f"; the live heap it implied for proof {s['proofs']} was "
                                                   f"{mib(c['predicted_live_at_end'], 2)} MiB, measured "
                                                   f"{mib(c['measured_live_at_end'], 2)} ({signed_mib(c['error_bytes'], 3)} MiB)")
        md.append(f"- From the first {c['from_proofs']} proofs the forecaster said: {c['headline'].rstrip('.')}{err}.")
    return md + [""]


def write(run_dir: Path, out: Path) -> None:
    out.write_text(json.dumps(summarize(run_dir), indent=1) + "\n")


def main(argv=None) -> int:
    import argparse
    import sys

    ap = argparse.ArgumentParser(description="summarise a long run")
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    write(a.run_dir, a.out)
    print("\n".join(markdown(json.loads(a.out.read_text()))), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
