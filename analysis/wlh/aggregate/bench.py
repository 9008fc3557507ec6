"""Benchmark: full against aggregate mode on one scenario (prints figures; not a test).

`wlh run` of bench/wlh-loop.mjs on the pinned release, full then aggregate mode (alternating, --pairs times), then
`wlh report` of each. Per run: wall time, mean proof time (the prover's own, from the samples), disk per proof
(each proof's bytes; steady: their median after proof 1, with the one-time ones apart, analysis.wlh.aggregate.disk)
and in all. Then what the
two modes found: objects created in the loop and never dropped, per type (count, bytes), and live bytes per type per
proof, side by side. Targets from issue 23: aggregate mode at most 100 KB of disk per proof on the recursive scenario,
and no slower than full mode.

    python -m analysis.wlh.aggregate.bench [--scenario recursive] [--proofs 5] [--pairs 1] [--out artifacts/wlh/aggregate.json]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from analysis.candidate.steps import WLH, _call
from analysis.common import benchmark
from analysis.common.jsonl import read_jsonl
from analysis.common.paths import BENCH
from analysis.wlh import spec
from analysis.wlh.aggregate.disk import log_offsets, steady_bytes_per_proof

TARGET_BYTES_PER_PROOF = 100_000
MODES = ("full", "aggregate")


def one_run(out: Path, mode: str, scenario: str, proofs: int) -> dict:
    cmd = [*WLH, "run", "--o1js", spec.pinned_version(), "--workers", "1", "--out", str(out), "--force",
           *(["--aggregate"] if mode == "aggregate" else []), "--label", f"{scenario} {mode}", "--",
           "node", str(BENCH / "wlh-loop.mjs"), "--scenario", scenario, "--proofs", str(proofs), "--workers", "1"]
    t = time.monotonic()
    _call(cmd, f"aggregate bench {mode}: wlh run")
    wall = time.monotonic() - t
    _call([*WLH, "report", str(out)], f"aggregate bench {mode}: wlh report")
    summary = json.loads((out / "report.json").read_text())["summary"]
    samples = [r for r in read_jsonl(out / "samples.jsonl", strict=False).records if r.get("phase") == "after_proof"]
    offs = log_offsets(out / "trace.log")
    disk = steady_bytes_per_proof(offs)
    return {"mode": mode, "wall_s": round(wall, 1),
            "proof_s": statistics.mean(r["prover_seconds"] for r in samples if r.get("prover_seconds") is not None),
            "bytes_per_proof": disk["per_proof"], "bytes_by_proof": disk["by_proof"], "one_time_bytes": disk["one_time"],
            "bytes_total": offs["log_bytes"],
            "checks_ok": summary["checks_ok"], "failed_checks": summary["failed_checks"], "proofs": summary["proofs"],
            "live_per_proof": summary["live"]["per_proof"],
            "never_dropped_in_loop": {r["type"]: [r["count"], r["bytes"]] for r in summary["never_dropped_in_loop"]},
            "type_rates": {r["type"]: r["per_proof"] for r in summary["type_rates"]}}


def agreement(full: dict, agg: dict) -> dict:
    """The types whose never-dropped count or bytes differ between the modes, and the largest difference in
    a type's live-bytes rate."""
    types = sorted(set(full["never_dropped_in_loop"]) | set(agg["never_dropped_in_loop"]))
    differ = {t: [full["never_dropped_in_loop"].get(t), agg["never_dropped_in_loop"].get(t)] for t in types
              if full["never_dropped_in_loop"].get(t) != agg["never_dropped_in_loop"].get(t)}
    rates = [abs((full["type_rates"].get(t) or 0) - (agg["type_rates"].get(t) or 0))
             for t in set(full["type_rates"]) | set(agg["type_rates"])]
    return {"types": len(types), "never_dropped_differ": differ, "max_rate_difference": max(rates, default=0.0)}


def measure(scenario: str, proofs: int, pairs: int, workdir: Path, progress=print) -> dict:
    def one(mode: str, k: int) -> dict:
        r = one_run(workdir / f"{mode}-{k}", mode, scenario, proofs)
        bpp = r["bytes_per_proof"]
        by_proof = ", ".join(f"{v / 1000:,.1f}" for v in r["bytes_by_proof"].values())
        progress(f"aggregate bench: pair {k}/{pairs} {mode}: {r['wall_s']:.1f} s, proof {r['proof_s']:.1f} s, "
                 f"disk {'n/a' if bpp is None else f'{bpp / 1000:.1f} KB'} per proof (steady; proofs 1..: "
                 f"{by_proof} KB), "
                 f"{r['bytes_total'] / 2 ** 20:.1f} MiB in all; checks {'ok' if r['checks_ok'] else r['failed_checks']}")
        return {"pair": k, **r}
    runs = benchmark.alternate(pairs, MODES, one)
    by = {m: [r for r in runs if r["mode"] == m] for m in MODES}
    mean = {m: {k: statistics.mean(r[k] for r in by[m]) for k in ("wall_s", "proof_s", "bytes_total")} for m in MODES}
    for m in MODES:
        b = [r["bytes_per_proof"] for r in by[m] if r["bytes_per_proof"] is not None]
        mean[m]["bytes_per_proof"] = statistics.mean(b) if b else None
    return {"scenario": scenario, "proofs": proofs, "pairs": pairs, "runs": runs, "mean": mean,
            "wall_ratio": mean["aggregate"]["wall_s"] / mean["full"]["wall_s"],
            "proof_ratio": mean["aggregate"]["proof_s"] / mean["full"]["proof_s"],
            "target_bytes_per_proof": TARGET_BYTES_PER_PROOF,
            "agreement": [agreement(f, a) for f, a in zip(by["full"], by["aggregate"])],
            "method": "wlh run of bench/wlh-loop.mjs (pinned release, 1 worker, cold key cache), full then aggregate "
                      "mode per pair; disk per proof = bytes written (trace log + aggregate.jsonl) between the "
                      "snapshots before and after a proof; steady = their median over proofs 2..N, the proofs above "
                      "twice it listed as one-time; times: wall of `wlh run`, and the prover's "
                      "own per proof (samples)"}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", choices=["trivial", "recursive"], default="recursive")
    ap.add_argument("--proofs", type=int, default=5)
    ap.add_argument("--pairs", type=int, default=1)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args(argv)
    if a.proofs < 3:
        print("aggregate bench: error: --proofs must be >= 3 (the steady disk per proof is taken after proof 1)",
              file=sys.stderr)
        return 2

    def lines(r):
        m = r["mean"]
        differ = sum(len(x["never_dropped_differ"]) for x in r["agreement"])
        return [f"{a.scenario}, {a.proofs} proofs: disk per proof full {m['full']['bytes_per_proof'] / 1000:,.1f} KB, "
                f"aggregate {m['aggregate']['bytes_per_proof'] / 1000:,.1f} KB (target <= "
                f"{TARGET_BYTES_PER_PROOF / 1000:.0f} KB); wall aggregate/full {r['wall_ratio']:.3f}, proof "
                f"{r['proof_ratio']:.3f}; never-dropped types that differ: {differ}"]
    return benchmark.main("aggregate bench", lambda tmp: measure(
        a.scenario, a.proofs, a.pairs, tmp, lambda m: print(m, file=sys.stderr, flush=True)), lines, a.out)


if __name__ == "__main__":
    sys.exit(main())
