"""Benchmark: how much the Step 2 tracer slows proving (a benchmark that prints figures, not a test).

Runs the trivial scenario alternately without and with tracing (plain, traced, plain, traced, ...), so
both see the same machine state, and compares the mean prove time of proofs 2..N (proof 1 carries
one-time work). Target from the issue: traced / plain <= 1.15 with creation sites on.

    python -m analysis.trace.overhead [--pairs 2] [--iterations 3] [--out overhead.json]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis.common import benchmark, config as config_mod
from analysis.common.jsonl import read_jsonl
from analysis.step0.run import bench_args, node_command, run_benchmark
from analysis.trace.steps import traced_dir


def prove_times(path: Path) -> list[float]:
    return [r["prove_seconds"] for r in read_jsonl(path).records
            if r.get("event") == "sample" and r.get("phase") == "after_proof"]


def measure(cfg, pairs: int, iterations: int, workdir: Path) -> dict:
    b = cfg["bench"]

    def one(mode: str, k: int) -> dict:
        traced = mode == "traced"
        out = workdir / f"{mode}-{k}.jsonl"
        cmd = node_command(scenario="trivial", iterations=iterations, out=out,
                           label=f"overhead {mode} {k}/{pairs}", meta={},
                           o1js_dir=(traced_dir(cfg) / "o1js") if traced else None, **bench_args(cfg))
        env = {"WLH_TRACE_LOG": str(workdir / f"trace-{k}.log"), "WLH_CREATION_SITES": "1"} if traced else {}
        run_benchmark(cmd, out, timeout_s=b["timeout_minutes"] * 60, env=env)
        return {"traced": traced, "prove_seconds": prove_times(out)}
    runs = benchmark.alternate(pairs, ("plain", "traced"), one)

    def mean_later(traced):
        xs = [t for r in runs if r["traced"] == traced for t in r["prove_seconds"][1:]]
        return sum(xs) / len(xs) if xs else None
    plain, traced = mean_later(False), mean_later(True)
    return {"pairs": pairs, "iterations": iterations, "creation_sites": True, "runs": runs,
            "mean_prove_seconds_plain": plain, "mean_prove_seconds_traced": traced,
            "ratio": traced / plain if plain and traced else None, "target": 1.15,
            "method": "alternating plain/traced runs of the trivial scenario; mean prove time of proofs 2..N"}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=2)
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args(argv)
    cfg = config_mod.load()
    if not (traced_dir(cfg) / "o1js").exists():
        print("trace overhead: error: no instrumented o1js copy: run `doit instrument` first", file=sys.stderr)
        return 2
    return benchmark.main("trace overhead", lambda tmp: measure(cfg, a.pairs, a.iterations, tmp), lambda r: [
        f"prove time, proofs 2..{a.iterations}: plain {r['mean_prove_seconds_plain']:.2f} s, "
        f"traced {r['mean_prove_seconds_traced']:.2f} s, ratio {r['ratio']:.3f} (target <= 1.15)"], a.out)


if __name__ == "__main__":
    sys.exit(main())
