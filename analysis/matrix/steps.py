"""Actions of one matrix cell's chain (issue 8): install the release, instrument it, run the benchmark
untraced (baseline) and traced. The per-cell summary is analysis.matrix.summary.summarize_cell; paths are
in analysis.matrix.paths. This module is what the doit task generator (analysis.matrix.tasks) is given."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from analysis.common.config import Config
from analysis.matrix.cells import Cell
from analysis.matrix.paths import (PRELOAD, baseline_path, cell_dir, compat_dir, installed_marker, instrument_report,  # noqa: F401
                           is_main_release, lockfile, mitigation_file, mitigation_report_path, o1js_dir,
                           summary_path, trace_bench_path, trace_log_path, traced_o1js)
from analysis.matrix.summary import summarize_cell  # noqa: F401
from analysis.step0.run import bench_args, node_command, run_benchmark
from analysis.trace.steps import run_traced_copy, traced_copy_command


def install(cfg: Config, version: str) -> None:
    """Releases other than the main one (which `./run` and task node_deps install) from their pinned lockfile."""
    d = compat_dir(version)
    if not (d / "package-lock.json").exists():
        raise FileNotFoundError(f"{d}/package-lock.json is missing: pin the release there first "
                                f"(a package.json with o1js {version}, then `npm install`)")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=d, check=True, stdout=sys.stderr)


def instrument_command(cfg: Config, version: str) -> list[str]:
    return traced_copy_command(o1js_dir(cfg, version), traced_o1js(cfg, version).parent, instrument_report(cfg, version))


def instrument(cfg: Config, version: str) -> None:
    run_traced_copy(instrument_command(cfg, version), instrument_report(cfg, version))


def mitigation_setup(cfg: Config, cell: Cell, report: Path) -> tuple[list[str], dict]:
    """Node options and environment that apply the cell's mitigation (none for a plain cell): a preload, so
    that o1js itself is never edited for a what-if run; it writes what it did to report."""
    mitigation = mitigation_file(cfg, cell)
    if mitigation is None:
        return [], {}
    return ["--require", str(PRELOAD)], {"WLH_MITIGATION": str(mitigation), "WLH_MITIGATION_REPORT": str(report)}


def command(cfg: Config, cell: Cell, *, traced: bool) -> tuple[list[str], dict]:
    """The cell's benchmark command line and environment (a parameter of its tasks in the lock)."""
    m = cfg["matrix"]
    out = trace_bench_path(cfg, cell) if traced else baseline_path(cfg, cell)
    o1js = traced_o1js(cfg, cell.version) if traced else o1js_dir(cfg, cell.version)
    node_options, env = mitigation_setup(cfg, cell, mitigation_report_path(cfg, cell, "trace" if traced else "baseline"))
    if traced:
        env |= {"WLH_TRACE_LOG": str(trace_log_path(cfg, cell)), "WLH_CREATION_SITES": "1"}
    cmd = node_command(scenario=cell.scenario, iterations=m["iterations"], out=out,
                       label=f"{cell.name}{' traced' if traced else ''}",
                       meta={"cell": cell.params(), "iterations": m["iterations"], "overrides": cfg.overrides},
                       o1js_dir=o1js, node_options=node_options, **bench_args(cfg, workers=cell.workers))
    return cmd, env


def _run(cfg: Config, cell: Cell, *, traced: bool) -> None:
    o1js = traced_o1js(cfg, cell.version) if traced else o1js_dir(cfg, cell.version)
    if not (o1js / "package.json").exists():
        raise FileNotFoundError(f"{cell.name}: no o1js at {o1js}: run `doit matrix` (install and instrument first)")
    cmd, env = command(cfg, cell, traced=traced)
    out = trace_bench_path(cfg, cell) if traced else baseline_path(cfg, cell)
    run_benchmark(cmd, out, timeout_s=cfg["bench"]["timeout_minutes"] * 60, env=env)


def baseline(cfg: Config, cell: Cell) -> None:
    """The benchmark on the release as shipped (plus the cell's mitigation, if any): byteLength per proof."""
    _run(cfg, cell, traced=False)


def trace(cfg: Config, cell: Cell) -> None:
    """The same benchmark on the instrumented copy: the trace log the cell summary is computed from."""
    _run(cfg, cell, traced=True)
