"""Benchmark: what the guard (bench/guard/guard.cjs) costs a proving program (prints figures; not a test).

Runs the trivial scenario of the Step 0 benchmark alternately without and with the guard (plain, guarded,
plain, guarded, ...), so both see the same machine state, and compares the mean prove time of proofs 2..N
(proof 1 carries one-time work). Target from issue 22: guarded / plain <= 1.01. The guard has no
per-allocation hook (it wraps o1js's two prover exports and looks at the memory once a second from its own
thread), so the ratio should be within the run-to-run noise; the output says both.

    python -m analysis.guard.overhead [--pairs 2] [--iterations 4] [--out overhead.json]
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from analysis.common import benchmark, config as config_mod
from analysis.common.paths import BENCH
from analysis.step0.run import bench_args, node_command, run_benchmark
from analysis.trace.overhead import prove_times

GUARD = BENCH / "guard" / "guard.cjs"
TARGET = 1.01


def measure(cfg, pairs: int, iterations: int, workdir: Path) -> dict:
    def one(mode: str, k: int) -> dict:
        guarded = mode == "guarded"
        out = workdir / f"{mode}-{k}.jsonl"
        cmd = node_command(scenario="trivial", iterations=iterations, out=out,
                           label=f"guard overhead {mode} {k}/{pairs}", meta={},
                           node_options=["--require", str(GUARD)] if guarded else None, **bench_args(cfg))
        env = {"WLH_GUARD_RECORD": str(workdir / f"guard-{k}.jsonl")} if guarded else {"WLH_GUARD": "0"}
        run_benchmark(cmd, out, timeout_s=cfg["bench"]["timeout_minutes"] * 60, env=env)
        return {"guarded": guarded, "prove_seconds": prove_times(out)}
    runs = benchmark.alternate(pairs, ("plain", "guarded"), one)

    def later(guarded):
        return [t for r in runs if r["guarded"] == guarded for t in r["prove_seconds"][1:]]
    plain, guarded = later(False), later(True)
    mp, mg = statistics.mean(plain), statistics.mean(guarded)
    # run-to-run noise of the plain runs alone: their per-run means relative to their overall mean
    per_run = [statistics.mean(r["prove_seconds"][1:]) for r in runs if not r["guarded"]]
    noise = (max(per_run) - min(per_run)) / mp if len(per_run) > 1 else None
    return {"pairs": pairs, "iterations": iterations, "runs": runs, "mean_prove_seconds_plain": mp,
            "mean_prove_seconds_guarded": mg, "ratio": mg / mp, "target": TARGET,
            "plain_run_spread": noise,
            "method": "alternating plain/guarded runs of the trivial scenario; mean prove time of proofs 2..N; "
                      "plain_run_spread = (slowest - fastest plain run mean) / overall plain mean"}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=2)
    ap.add_argument("--iterations", type=int, default=4)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args(argv)
    cfg = config_mod.load()

    def lines(r):
        spread = (f", plain runs differ by {100 * r['plain_run_spread']:.1f} % among themselves"
                  if r["plain_run_spread"] is not None else "")
        return [f"prove time, proofs 2..{a.iterations}: plain {r['mean_prove_seconds_plain']:.2f} s, guarded "
                f"{r['mean_prove_seconds_guarded']:.2f} s, ratio {r['ratio']:.3f} (target <= {TARGET}){spread}"]
    return benchmark.main("guard overhead", lambda tmp: measure(cfg, a.pairs, a.iterations, tmp), lines, a.out)


if __name__ == "__main__":
    sys.exit(main())
