"""Step 2 check on an older o1js (plonk_wasm era): instrument it with the same tool, trace a short run,
and keep a small summary. Each release is pinned by its own lockfile in bench/compat/o1js-<version>/."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from analysis.common.config import Config
from analysis.parse import parse_file
from analysis.common.paths import BENCH
from analysis.step0.run import node_command, run_benchmark


def compat_dir(version: str) -> Path:
    return BENCH / "compat" / f"o1js-{version}"


def summary_path(cfg: Config, version: str) -> Path:
    return cfg.artifacts / "step2" / f"compat-{version}.json"


def install(version: str) -> Path:
    d = compat_dir(version)
    if not (d / "package-lock.json").exists():
        raise FileNotFoundError(f"{d}/package-lock.json is missing: pin the release there first "
                                f"(a package.json with o1js {version}, then `npm install`)")
    if not (d / "node_modules" / ".package-lock.json").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=d, check=True, stdout=sys.stderr)
    return d / "node_modules" / "o1js"


def run_check(cfg: Config, version: str) -> None:
    o1js = install(version)
    work = cfg.artifacts / "traced-compat" / version
    report = work / "instrument.json"
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run(["node", str(BENCH / "instrument" / "make-traced-copy.mjs"), "--o1js-dir", str(o1js),
                    "--out", str(work), "--report", str(report)], check=True, stdout=sys.stderr)
    b, t = cfg["bench"], cfg["trace"]
    log, bench = work / "trace.log", work / "bench.jsonl"
    cmd = node_command(scenario="trivial", iterations=t["compat_iterations"], workers=b["workers"], cache=b["cache"],
                       rows=b["circuit_rows"], settle_turns=b["settle_turns"], out=bench,
                       label=f"o1js {version} traced", meta={"compat": version}, o1js_dir=work / "o1js")
    run_benchmark(cmd, bench, timeout_s=b["timeout_minutes"] * 60, env={"WLH_TRACE_LOG": str(log)})
    result = parse_file(log)
    snaps = [s for s in result.snapshots if s.get("iteration", -1) >= 0]
    keep = ("iteration", "memory_bytes", "live_heap_bytes", "live_blocks", "tracked_live_bytes", "unknown_frees",
            "unmatched_handles", "table_full")
    out = {"o1js_version": version, "instrument": json.loads(report.read_text()), "ok": result.ok,
           "failed_checks": result.failed_checks, "events": dict(result.events),
           "snapshots": [{**{k: s.get(k) for k in keep},
                          "inuse_chunks": (s.get("heap_walk") or {}).get("inuse_chunks"),
                          "unparsed_bytes": (s.get("heap_walk") or {}).get("unparsed_bytes")} for s in snaps],
           "top_never_dropped": [{"type": t, "bytes": b} for t, b in result.never_dropped_by_type[:8]]}
    path = summary_path(cfg, version)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1) + "\n")
