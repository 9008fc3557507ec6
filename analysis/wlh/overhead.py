"""Benchmark: what `wlh run` costs a whole program, compile included (prints figures; not a test).

The README's program (a 1-method ZkProgram: compile, then N proofs, one rayon worker, cold key cache) runs
alternately under plain node, under `wlh run` (full mode, "traced") and under `wlh run --aggregate` (plain,
traced, aggregate, plain, ...) in one go, so all see the same machine state. The program times itself (compile, each proof) and prints one JSON line; the
benchmark also takes each process's wall time (for `wlh run`: the whole command, Python start and the check
of the cached instrumented copy included). The copy itself is made once before the runs, as a user's first
`wlh run` of an o1js build makes it (its time is printed apart; until session 10 every traced run of this
benchmark made it again, about 7 s, because the cold key cache moved wlh's cache too). Target from issue 23: traced / plain <= 1.15 for the whole
program, in both modes. Where the time goes (compile against proofs) is printed beside it.

    python -m analysis.wlh.overhead [--pairs 2] [--proofs 3] [--out artifacts/wlh/overhead.json]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from analysis.common import benchmark
from analysis.common.benchmark import BenchError
from analysis.common.paths import BENCH
from analysis.wlh import spec, traced
from analysis.wlh.paths import cache_root

TARGET = 1.15
# The README's worked example, timing itself; setNumberOfWorkers(1) so plain and traced use one worker
# without `--workers` (which only wlh has).
PROGRAM = """\
import { Field, ZkProgram, setNumberOfWorkers } from 'o1js';
setNumberOfWorkers(1);
const program = ZkProgram({ name: 'p', publicInput: Field, methods: {
  run: { privateInputs: [Field], async method(x, y) { x.mul(y).add(x).assertEquals(x.mul(y).add(x)); } } } });
const t0 = performance.now();
await program.compile();
const compiled = performance.now();
const proofs = [];
for (let i = 1; i <= Number(process.argv[2]); i++) {
  const t = performance.now();
  await program.run(Field(i), Field(i + 1));
  proofs.push((performance.now() - t) / 1000);
}
console.log(JSON.stringify({ wlh_overhead: { compile_s: (compiled - t0) / 1000, proof_s: proofs } }));
process.exit(0);
"""


def _timings(stdout: str) -> dict:
    for line in stdout.splitlines():
        if line.startswith('{"wlh_overhead"'):
            return json.loads(line)["wlh_overhead"]
    raise BenchError("the program printed no timings (did it fail? its output is above)")


def run_once(cmd: list[str], env: dict, cwd: Path, timeout_s: float) -> dict:
    t = time.monotonic()
    p = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout_s)
    wall = time.monotonic() - t
    if p.returncode != 0:
        sys.stderr.write(p.stdout[-2000:] + p.stderr[-4000:])
        raise BenchError(f"`{' '.join(map(str, cmd[:6]))} ...` exited with code {p.returncode}")
    return {"wall_s": wall, **_timings(p.stdout)}


def commands(workdir: Path, proofs: int, wlh: list[str]) -> dict[str, list[str]]:
    script = workdir / "prove.mjs"
    return {"plain": ["node", str(script), str(proofs)],
            "traced": [*wlh, "run", "--key-cache", "fresh", "--out", str(workdir / "run"), "--force", "--",
                       "node", str(script), str(proofs)],
            "aggregate": [*wlh, "run", "--key-cache", "fresh", "--out", str(workdir / "run"), "--force", "--aggregate",
                          "--", "node", str(script), str(proofs)]}


MODES = ("plain", "traced", "aggregate")


def prepare_copy(script: Path) -> float:
    """Make (or find) the instrumented copy `wlh run` will use, before the timed runs; seconds it took (0: cached).
    A user makes it once per o1js build (wlh's cache keeps it), so it is no part of what a run costs."""
    t = time.monotonic()
    copy = traced.prepare(spec.resolve(None, script))
    return 0.0 if copy.reused else time.monotonic() - t


def measure(pairs: int, proofs: int, workdir: Path, wlh: list[str], node_modules: Path = BENCH / "node_modules",
            timeout_s: float = 1800, progress=print, prepare=prepare_copy) -> dict:
    """Alternate plain, traced and aggregate runs; plain node resolves 'o1js' from node_modules (the pinned release),
    `wlh run` from its own default (the same release, instrumented)."""
    (workdir / "prove.mjs").write_text(PROGRAM)
    if not (workdir / "node_modules").exists():
        (workdir / "node_modules").symlink_to(node_modules.resolve(), target_is_directory=True)
    cmds = commands(workdir, proofs, wlh)
    instrument_s = prepare(workdir / "prove.mjs")
    # Each run gets an empty XDG_CACHE_HOME (a cold o1js key cache, as `wlh run --key-cache fresh` gives); wlh's own
    # cache, which lives there too by default, stays where the copy was just made.
    wlh_cache = str(cache_root())

    def one(mode: str, k: int) -> dict:
        with tempfile.TemporaryDirectory(prefix="wlh-keys-") as keys:  # cold key cache for plain too
            env = {**os.environ, "XDG_CACHE_HOME": keys, **({"WLH_CACHE": wlh_cache} if mode != "plain" else {})}
            r = run_once(cmds[mode], env, workdir, timeout_s)
        if mode != "plain":  # disk: what the run wrote, compile included (no per-proof split without a marker)
            r["trace_log_bytes"] = sum(f.stat().st_size for f in (workdir / "run" / "trace.log",
                                                                 workdir / "run" / "aggregate.jsonl") if f.exists())
        progress(f"wlh overhead: pair {k}/{pairs} {mode}: {r['wall_s']:.1f} s "
                 f"(compile {r['compile_s']:.1f} s, proofs {' '.join(f'{x:.1f}' for x in r['proof_s'])} s)")
        return {"mode": mode, "pair": k, **r}
    runs = benchmark.alternate(pairs, MODES, one)
    return {**summarize(runs, pairs, proofs), "instrument_seconds": round(instrument_s, 1)}


def summarize(runs: list[dict], pairs: int, proofs: int) -> dict:
    def mean(mode: str, f) -> float:
        return statistics.mean(f(r) for r in runs if r["mode"] == mode)

    parts = {"whole program (wall)": lambda r: r["wall_s"], "compile": lambda r: r["compile_s"],
             "proofs": lambda r: sum(r["proof_s"])}
    modes = [m for m in MODES if any(r["mode"] == m for r in runs)]
    ratios = {name: mean("traced", f) / mean("plain", f) for name, f in parts.items()}
    plain = [r for r in runs if r["mode"] == "plain"]
    per_pair = [t["wall_s"] / p["wall_s"] for p, t in zip(plain, [r for r in runs if r["mode"] == "traced"])]
    logs = [r["trace_log_bytes"] for r in runs if r["mode"] == "traced"]
    out = {"pairs": pairs, "proofs": proofs, "runs": runs, "target": TARGET,
            "mean_seconds": {name: {m: mean(m, f) for m in modes} for name, f in parts.items()},
            "ratio": ratios["whole program (wall)"], "ratios": ratios, "per_pair_ratio": per_pair,
            "trace_log_bytes": statistics.mean(logs) if logs else None,
            "method": "alternating runs of the README's ZkProgram (compile + proofs, 1 worker, cold key cache) "
                      "under plain node and `wlh run`; ratio = mean traced wall time / mean plain wall time; "
                      "compile and proofs as the program timed them itself; aggregate: the same for `wlh run --aggregate`"}
    if "aggregate" in modes:
        agg = [r for r in runs if r["mode"] == "aggregate"]
        out["aggregate"] = {"ratio": mean("aggregate", parts["whole program (wall)"]) / mean("plain", parts["whole program (wall)"]),
                            "ratios": {name: mean("aggregate", f) / mean("plain", f) for name, f in parts.items()},
                            "per_pair_ratio": [a["wall_s"] / p["wall_s"] for p, a in zip(plain, agg)],
                            "bytes": statistics.mean(r["trace_log_bytes"] for r in agg)}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=2)
    ap.add_argument("--proofs", type=int, default=3)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args(argv)
    wlh = [sys.executable, "-m", "analysis.wlh"]

    def lines(r):
        m = r["mean_seconds"]["whole program (wall)"]
        yield (f"whole program: plain {m['plain']:.1f} s, wlh run {m['traced']:.1f} s, ratio {r['ratio']:.3f} (target "
               f"<= {TARGET}; per pair {', '.join(f'{x:.3f}' for x in r['per_pair_ratio'])}); compile "
               f"{r['ratios']['compile']:.3f}, {a.proofs} proofs {r['ratios']['proofs']:.3f}; trace log "
               f"{r['trace_log_bytes'] / 2 ** 20:.1f} MiB (compile and proofs, full mode)")
        made = r["instrument_seconds"]
        yield (f"instrumented copy: {f'made once before the runs, {made:.1f} s' if made else 'found in wlh cache'} "
               "(not part of any run: a user makes it once per o1js build)")
        g = r.get("aggregate")
        if g:
            yield (f"aggregate mode: wlh run --aggregate {m['aggregate']:.1f} s, ratio {g['ratio']:.3f} (per pair "
                   f"{', '.join(f'{x:.3f}' for x in g['per_pair_ratio'])}); compile {g['ratios']['compile']:.3f}, "
                   f"{a.proofs} proofs {g['ratios']['proofs']:.3f}; written {g['bytes'] / 2 ** 20:.1f} MiB")
    return benchmark.main("wlh overhead", lambda tmp: measure(a.pairs, a.proofs, tmp, wlh), lines, a.out)


if __name__ == "__main__":
    sys.exit(main())
