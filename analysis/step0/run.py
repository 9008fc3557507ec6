"""Run the Step 0 benchmark (bench/prove-loop.mjs) as a child process and check what it wrote.

The child writes JSON Lines as it goes; when it dies (e.g. at the 4 GiB WASM ceiling) the lines
already written are kept, and this raises an error naming the last iteration reached.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from analysis.common.jsonl import read_jsonl
from analysis.common.paths import BENCH


class BenchmarkFailed(RuntimeError):
    pass


def bench_args(cfg, **override) -> dict:
    """The benchmark knobs of config `bench` as node_command's keywords (workers can be overridden per run)."""
    b = cfg["bench"]
    return {"workers": b["workers"], "cache": b["cache"], "rows": b["circuit_rows"], "settle_turns": b["settle_turns"],
            **override}


def node_command(*, scenario: str, iterations: int, workers: int, cache: str, rows: int, settle_turns: int,
                 out: Path, label: str, meta: dict, o1js_dir: Path | None = None,
                 node_options: list[str] | None = None) -> list[str]:
    cmd = ["node", "--expose-gc", *(node_options or []), str(BENCH / "prove-loop.mjs"),
           "--scenario", scenario, "--iterations", str(iterations), "--workers", str(workers),
           "--cache", cache, "--rows", str(rows), "--settle-turns", str(settle_turns),
           "--out", str(out), "--label", label, "--meta", json.dumps(meta, sort_keys=True)]
    if o1js_dir is not None:
        cmd += ["--o1js-dir", str(o1js_dir)]
    return cmd


def last_iteration(path: Path) -> int | None:
    if not path.exists():
        return None
    samples = [r for r in read_jsonl(path, strict=False).records if r.get("event") == "sample"]
    return samples[-1]["iteration"] if samples else None


def run_benchmark(cmd: list[str], out: Path, *, timeout_s: float, env: dict | None = None,
                  stdout_path: Path | None = None) -> None:
    """Run the benchmark; progress lines pass through to our stderr (stdout too, unless stdout_path is
    given: the source route's tracer logs through console.log). Raise BenchmarkFailed on any failure."""
    out.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, **(env or {})}
    full_env.setdefault("O1JS_BACKEND", "wasm")
    try:
        with open(stdout_path, "w") if stdout_path else open(os.devnull) as sink:
            proc = subprocess.run(cmd, env=full_env, stdout=sink if stdout_path else sys.stderr, stderr=sys.stderr,
                                  timeout=timeout_s)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        code = "timeout"
    records = read_jsonl(out, strict=False).records if out.exists() else []
    ended = any(r.get("event") == "end" for r in records)
    if code == 0 and ended:
        return
    reached = last_iteration(out)
    where = "before compile finished" if reached is None or reached < 0 else (
        "after compile, before the first proof" if reached == 0 else f"after proof {reached}")
    errors = [r["message"].splitlines()[0] for r in records if r.get("event") == "error"]
    raise BenchmarkFailed(
        f"benchmark {out.name} failed (exit {code}) {where}; lines written up to there are kept in {out}"
        + (f"; error: {errors[0]}" if errors else ""))
