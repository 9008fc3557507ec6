"""Where the release matrix keeps things: artifacts/matrix/o1js-<version>/ holds the instrumented copy of a
release (shared by its cells), artifacts/matrix/<cell id>/ one cell's runs and summary. Releases other than
the main one (config o1js_version) are installed from bench/compat/o1js-<version>/ (pinned lockfile)."""
from __future__ import annotations

from pathlib import Path

from analysis.common.config import Config
from analysis.matrix.cells import Cell
from analysis.common.paths import BENCH, ROOT

PRELOAD = BENCH / "mitigations" / "preload.cjs"


def compat_dir(version: str) -> Path:
    """Where a release other than the main one is pinned (package.json + package-lock.json)."""
    return BENCH / "compat" / f"o1js-{version}"


def is_main_release(cfg: Config, version: str) -> bool:
    return version == cfg["o1js_version"]


def installed_marker(cfg: Config, version: str) -> Path:
    """The file npm ci writes last: a task target that says the release is installed."""
    base = BENCH if is_main_release(cfg, version) else compat_dir(version)
    return base / "node_modules" / ".package-lock.json"


def lockfile(cfg: Config, version: str) -> Path:
    return (BENCH if is_main_release(cfg, version) else compat_dir(version)) / "package-lock.json"


def o1js_dir(cfg: Config, version: str) -> Path:
    return installed_marker(cfg, version).parent / "o1js"


def version_dir(cfg: Config, version: str) -> Path:
    return cfg.artifacts / "matrix" / f"o1js-{version}"


def instrument_report(cfg: Config, version: str) -> Path:
    return version_dir(cfg, version) / "instrument.json"


def traced_o1js(cfg: Config, version: str) -> Path:
    return version_dir(cfg, version) / "traced" / "o1js"


def cell_dir(cfg: Config, cell: Cell, step: str = "matrix") -> Path:
    """One cell's folder under the artifacts of the step that runs it (the matrix, or the crash horizon)."""
    return cfg.artifacts / step / cell.id


def baseline_path(cfg: Config, cell: Cell) -> Path:
    return cell_dir(cfg, cell) / "baseline.jsonl"


def trace_bench_path(cfg: Config, cell: Cell) -> Path:
    return cell_dir(cfg, cell) / "trace-bench.jsonl"


def trace_log_path(cfg: Config, cell: Cell) -> Path:
    return cell_dir(cfg, cell) / "trace.log"


def mitigation_report_path(cfg: Config, cell: Cell, run: str) -> Path:
    return cell_dir(cfg, cell) / f"mitigation-{run}.json"


def summary_path(cfg: Config, cell: Cell) -> Path:
    return cell_dir(cfg, cell) / "cell.json"


def mitigation_file(cfg: Config, cell: Cell) -> Path | None:
    return ROOT / cfg["mitigations"][cell.mitigation]["file"] if cell.mitigation else None
