"""Actions of one matrix cell's chain (issue 8): install the release, instrument it, run the benchmark
untraced (baseline) and traced. The per-cell summary is analysis.matrix.summary.summarize_cell; paths are
in analysis.matrix.paths. This module is what the doit task generator (analysis.matrix.tasks) is given."""
from __future__ import annotations

import subprocess
import sys

from analysis.trace import compat as compat_steps
from analysis.common.config import Config
from analysis.matrix.cells import Cell
from analysis.matrix.paths import (PRELOAD, baseline_path, cell_dir, installed_marker, instrument_report,  # noqa: F401
                           is_main_release, lockfile, mitigation_file, mitigation_report_path, o1js_dir,
                           summary_path, trace_bench_path, trace_log_path, traced_o1js)
from analysis.matrix.summary import summarize_cell  # noqa: F401
from analysis.common.paths import BENCH
from analysis.step0.run import node_command, run_benchmark


def install(cfg: Config, version: str) -> None:
    if is_main_release(cfg, version):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=BENCH, check=True, stdout=sys.stderr)
    else:
        compat_steps.install(version)


def instrument(cfg: Config, version: str) -> None:
    report = instrument_report(cfg, version)
    report.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["node", str(BENCH / "instrument" / "make-traced-copy.mjs"), "--o1js-dir", str(o1js_dir(cfg, version)),
                    "--out", str(traced_o1js(cfg, version).parent), "--report", str(report)], check=True, stdout=sys.stderr)


def _run(cfg: Config, cell: Cell, *, traced: bool) -> None:
    b, m = cfg["bench"], cfg["matrix"]
    out = trace_bench_path(cfg, cell) if traced else baseline_path(cfg, cell)
    o1js = traced_o1js(cfg, cell.version) if traced else o1js_dir(cfg, cell.version)
    if not (o1js / "package.json").exists():
        raise FileNotFoundError(f"{cell.name}: no o1js at {o1js}: run `doit matrix` (install and instrument first)")
    env, node_options = {}, []
    mitigation = mitigation_file(cfg, cell)
    if mitigation is not None:
        # A preload, so that o1js itself is never edited for a what-if run.
        node_options = ["--require", str(PRELOAD)]
        env = {"WLH_MITIGATION": str(mitigation),
               "WLH_MITIGATION_REPORT": str(mitigation_report_path(cfg, cell, "trace" if traced else "baseline"))}
    if traced:
        env |= {"WLH_TRACE_LOG": str(trace_log_path(cfg, cell)), "WLH_CREATION_SITES": "1"}
    cmd = node_command(scenario=cell.scenario, iterations=m["iterations"], workers=cell.workers, cache=b["cache"],
                       rows=b["circuit_rows"], settle_turns=b["settle_turns"], out=out,
                       label=f"{cell.name}{' traced' if traced else ''}",
                       meta={"cell": cell.params(), "iterations": m["iterations"], "overrides": cfg.overrides},
                       o1js_dir=o1js, node_options=node_options)
    run_benchmark(cmd, out, timeout_s=b["timeout_minutes"] * 60, env=env)


def baseline(cfg: Config, cell: Cell) -> None:
    """The benchmark on the release as shipped (plus the cell's mitigation, if any): byteLength per proof."""
    _run(cfg, cell, traced=False)


def trace(cfg: Config, cell: Cell) -> None:
    """The same benchmark on the instrumented copy: the trace log the cell summary is computed from."""
    _run(cfg, cell, traced=True)
