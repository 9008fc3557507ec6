"""Source route, after a build made on the user's machine: trace the Step 2 scenarios on the built copy,
parse the logs and keep the parsed results, which the pipeline compares with the binary route's.

    python -m analysis.source_patch.runs --o1js DIR [--scenario S ...] [--patch FILE] [--work DIR]

DIR is the o1js copy that ``python -m analysis.source_patch.build`` (or ``--install GLUE WASM``) made.
Each scenario runs the same benchmark as Step 2 (``trace.iterations`` proofs, the Step 0 knobs),
with the same runner (a run that dies keeps what it logged, and that is parsed). The logs and
benchmark files go to ``--work`` (default ``artifacts/source_route/work``, not committed); what is
kept (committed) in ``artifacts/source_route/``:

* ``<scenario>.json``: the parsed log (schemas/parse-result.schema.json), the log named by file name;
* ``build.json``: what was run, read off the files themselves: the wasm's size and sha256 and the
  ``producers`` section its compiler wrote (rustc and wasm-bindgen versions), the sha256 of the patch
  given with ``--patch`` (the generator's output for the checkout), the proof counts.

Nothing here builds anything: the build needs the upstream toolchain and crates (build.py checks).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from analysis.analyze.report import parse_log
from analysis.common.config import Config, load as load_config
from analysis.common.paths import ROOT, rel_path
from analysis.inventory.wasm_names import read_wasm_names
from analysis.step0.run import BenchmarkFailed, run_benchmark
from analysis.trace.steps import trace_command

from .build import GLUE_DIR, has_sink


def out_dir(cfg: Config) -> Path:
    return cfg.artifacts / "source_route"


def result_path(cfg: Config, scenario: str) -> Path:
    return out_dir(cfg) / f"{scenario}.json"


def build_record_path(cfg: Config) -> Path:
    return out_dir(cfg) / "build.json"


def build_record(o1js: Path, patch: Path | None, iterations: int) -> dict:
    wasm = (o1js / GLUE_DIR / "kimchi_wasm_bg.wasm").read_bytes()
    prod = read_wasm_names(wasm).producers          # what the compiler and wasm-bindgen wrote into it
    tools = prod.get("processed-by", {})
    rec = {"wasm_bytes": len(wasm), "wasm_sha256": hashlib.sha256(wasm).hexdigest(),
           "rustc": tools.get("rustc"), "wasm_bindgen": tools.get("wasm-bindgen"),
           "producers": prod, "iterations": iterations}
    if patch is not None:
        data = Path(patch).read_bytes()
        rec.update(patch_sha256=hashlib.sha256(data).hexdigest(), patch_lines=data.count(b"\n"))
    return rec


def run_scenarios(cfg: Config, o1js: Path, scenarios: list[str], work: Path, patch: Path | None = None) -> dict:
    glue = o1js / GLUE_DIR / "kimchi_wasm.cjs"
    if not glue.exists() or not has_sink(glue.read_text()):
        raise SystemExit(f"runs: error: {glue}: not a source-route build (no trace sink in the glue)")
    out_dir(cfg).mkdir(parents=True, exist_ok=True)
    rec = build_record(o1js, patch, cfg["trace"]["iterations"])
    rec["scenarios"] = {}
    for sc in scenarios:
        log, bench = work / f"{sc}.log", work / f"{sc}-bench.jsonl"
        cmd, env = trace_command(cfg, sc, o1js_dir=o1js, out=bench, log=log, route="source")
        print(f"runs: {sc}: {cfg['trace']['iterations']} proofs on the source-route build", file=sys.stderr, flush=True)
        failed = None
        try:
            run_benchmark(cmd, bench, timeout_s=cfg["bench"]["timeout_minutes"] * 60, env=env)
        except BenchmarkFailed as e:        # what was logged before it died is still parsed
            failed = str(e)
            print(f"runs: {sc}: the run failed ({e}); parsing what it logged", file=sys.stderr, flush=True)
        if not log.exists():
            raise SystemExit(f"runs: error: {sc}: the run wrote no trace log ({failed or 'no reason given'})")
        res = parse_log(log, result_path(cfg, sc), log.name)
        rec["scenarios"][sc] = {"failed": failed, "checks_ok": res.ok, "lines": res.lines_total}
        print(f"runs: {sc}: {res.lines_total:,} lines, checks {'passed' if res.ok else 'FAILED'}",
              file=sys.stderr, flush=True)
    build_record_path(cfg).write_text(json.dumps(rec, indent=1) + "\n")
    return rec


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m analysis.source_patch.runs", description=__doc__.split("\n\n")[1])
    ap.add_argument("--o1js", required=True, type=Path, help="the o1js copy holding the source-route build")
    ap.add_argument("--scenario", action="append", help="scenario to run (default: trace.scenarios)")
    ap.add_argument("--patch", type=Path, help="the patch the build was made from (its sha256 is recorded)")
    ap.add_argument("--work", type=Path, help="where logs go (default artifacts/source_route/work)")
    args = ap.parse_args(argv)
    cfg = load_config()
    work = args.work or out_dir(cfg) / "work"
    work.mkdir(parents=True, exist_ok=True)
    known = set(cfg["trace"]["scenarios"]) | set(cfg["bench"]["scenarios"])
    for sc in args.scenario or []:
        if sc not in known:
            print(f"runs: error: unknown scenario {sc!r} (known: {', '.join(sorted(known))})", file=sys.stderr)
            return 2
    for p in (args.o1js, args.patch):
        if p is not None and not p.exists():
            print(f"runs: error: {p}: no such file or folder", file=sys.stderr)
            return 2
    run_scenarios(cfg, args.o1js.resolve(), args.scenario or cfg["trace"]["scenarios"], work.resolve(), args.patch)
    print(f"runs: results in {rel_path(out_dir(cfg).resolve(), ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
