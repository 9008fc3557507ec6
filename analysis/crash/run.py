"""A capped run: the Step 0 benchmark, untraced, under a lowered WASM memory maximum set by the guard
(bench/guard/guard.cjs, the same file users load into their services), proving until the cap kills it or
`max_proofs` are done. A crash is the expected outcome here, so it is recorded, not raised: the run's JSONL
keeps every proof before the end, the guard's record says how the end looked to JS (a worker's error, an
exception, or no answer) and how the guard ended the process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from analysis.common.config import Config
from analysis.common.jsonl import read_jsonl
from analysis.common.paths import BENCH
from analysis.crash.cells import CrashCell
from analysis.matrix.paths import cell_dir as step_cell_dir, o1js_dir
from analysis.matrix.steps import mitigation_setup
from analysis.step0.run import bench_args, node_command

GUARD = BENCH / "guard" / "guard.cjs"


def cell_dir(cfg: Config, cc: CrashCell) -> Path:
    return step_cell_dir(cfg, cc, step="crash")  # the matrix's per-step cell folder, named by the crash cell's id


def prediction_path(cfg: Config, cc: CrashCell) -> Path:
    return cell_dir(cfg, cc) / "prediction.json"


def run_path(cfg: Config, cc: CrashCell) -> Path:
    return cell_dir(cfg, cc) / "run.jsonl"


def end_record_path(cfg: Config, cc: CrashCell) -> Path:
    return cell_dir(cfg, cc) / "end.jsonl"


def outcome_path(cfg: Config, cc: CrashCell) -> Path:
    return cell_dir(cfg, cc) / "outcome.json"


def command(cfg: Config, cc: CrashCell) -> tuple[list[str], dict]:
    c, cell = cfg["crash"], cc.cell
    options, env = mitigation_setup(cfg, cell, cell_dir(cfg, cc) / "mitigation.json")
    cmd = node_command(scenario=cell.scenario, iterations=cc.max_proofs, out=run_path(cfg, cc),
                       label=f"{cell.name} cap {cc.cap_mib} MiB",
                       meta={"cell": cell.params(), "cap_mib": cc.cap_mib, "max_proofs": cc.max_proofs},
                       o1js_dir=o1js_dir(cfg, cell.version), node_options=["--require", str(GUARD), *options],
                       **bench_args(cfg, workers=cell.workers))
    env |= {"WLH_MEMORY_CAP_MIB": str(cc.cap_mib), "WLH_WATCHDOG_SECONDS": str(c["watchdog_seconds"]),
            "WLH_GUARD_RECORD": str(end_record_path(cfg, cc))}
    return cmd, env


def run(cfg: Config, cc: CrashCell) -> None:
    cmd, env = command(cfg, cc)
    d = cell_dir(cfg, cc)
    d.mkdir(parents=True, exist_ok=True)
    for p in (run_path(cfg, cc), end_record_path(cfg, cc)):
        p.unlink(missing_ok=True)  # the guard appends
    proc = subprocess.run(cmd, env={**os.environ, "O1JS_BACKEND": "wasm", **env}, stdout=sys.stderr, stderr=sys.stderr,
                          timeout=cfg["bench"]["timeout_minutes"] * 60 * 4)
    result = outcome(run_path(cfg, cc), end_record_path(cfg, cc), proc.returncode)
    if result["how"] == "preload_refused":
        raise RuntimeError(f"{cc.name}: the guard refused its configuration (see above)")
    outcome_path(cfg, cc).write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(f"crash {cc.name}: {result['summary']}", file=sys.stderr)


def outcome(run_jsonl: Path, end_record: Path, returncode: int) -> dict:
    """How the capped run ended, from its two records (and the process status as the last resort)."""
    records = read_jsonl(run_jsonl, strict=False).records if run_jsonl.exists() else []
    ends = read_jsonl(end_record, strict=False).records if end_record.exists() else []
    proofs = [r for r in records if r.get("event") == "sample" and r.get("phase") == "after_proof"]
    last = proofs[-1] if proofs else None
    crashes = [e for e in ends if e.get("event") == "crash"]
    completed = any(r.get("event") == "end" and r.get("ok") for r in records)
    caps = [e for e in ends if e.get("event") == "memory_cap"]
    res = {"returncode": returncode, "proofs_done": len(proofs),
           "last_proof_bytes": last["wasm_memory_bytes"] if last else None,
           "cap_applied": bool(caps and any(e.get("applied") for e in caps)),
           "completed": completed}
    if completed and not crashes:
        res |= {"how": "survived", "crash_proof": None, "summary": f"survived {len(proofs)} proofs"}
        return res
    if returncode == 2 and not crashes and not records:
        res |= {"how": "preload_refused", "crash_proof": None, "summary": "the guard refused its configuration"}
        return res
    first = crashes[0] if crashes else {}
    compiled = any(r.get("event") == "sample" and r.get("phase") == "after_compile" for r in records)
    guard = next((e for e in ends if e.get("event") == "guard_exit"), None)
    res |= {"how": first.get("how", "unknown"), "cause": first.get("cause"), "message": first.get("message"),
            "end_bytes": first.get("wasm_memory_bytes"), "crash_proof": len(proofs) + 1 if compiled else None,
            "guard_proof": first.get("proof"), "ended_before_compile": not compiled,
            "consequences": [c.get("how") for c in crashes[1:]],
            "ended_by": (f"the guard (exit code {guard['exit_code']}, {guard['reason']}, "
                         f"{guard['t'] - first['t']:.1f} s after the first crash event)") if guard and first else
                        ("the guard" if guard else f"the process itself (status {returncode})"),
            "error_event": next((r.get("message", "").splitlines()[0] for r in records if r.get("event") == "error"), None)}
    res["summary"] = ((f"ended in proof {res['crash_proof']}" if compiled else "ended before compile finished")
                      + f" ({res['how']}" + (f", {res['cause']}" if res.get("cause") else "")
                      + (f": {res['message'].splitlines()[0][:160]}" if res.get("message") else "")
                      + f"); ended by {res['ended_by']}")
    return res
