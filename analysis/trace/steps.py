"""Step 2, binary route: make the instrumented o1js copy and run the benchmark on it with tracing.

The instrumenting itself is Node code (bench/instrument/); this module only runs it and the traced
benchmark runs, with the same runner as Step 0 (a crash keeps everything logged so far).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from analysis.common.config import Config
from analysis.common.paths import BENCH
from analysis.step0.run import bench_args, node_command, run_benchmark
from analysis.step0.steps import check_o1js_pin

INSTRUMENTER = [BENCH / "instrument" / "instrument-wasm.mjs", BENCH / "instrument" / "make-traced-copy.mjs",
                BENCH / "instrument" / "grow-hooks.mjs", BENCH / "instrument" / "walk-expressions.mjs",
                BENCH / "tracer" / "wlh-tracer.cjs"]


def installed_o1js() -> Path:
    return BENCH / "node_modules" / "o1js"


def original_binaries(o1js_dir: Path) -> list[Path]:
    """The wasm binary and glue of the installed package (file deps of the instrument step)."""
    hits = []
    for d, base in (("node_bindings", "kimchi_wasm"), ("_node_bindings", "plonk_wasm")):
        folder = o1js_dir / "dist" / "node" / "bindings" / "compiled" / d
        if (folder / f"{base}_bg.wasm").exists():
            hits += [folder / f"{base}_bg.wasm", folder / f"{base}.cjs"]
    return hits


def traced_dir(cfg: Config) -> Path:
    return cfg.artifacts / "traced"


def instrument_report(cfg: Config) -> Path:
    return cfg.artifacts / "step2" / "instrument.json"


def traced_copy_command(o1js_dir: Path, out_dir: Path, report: Path) -> list[str]:
    """The one way to make an instrumented copy of an o1js package (Step 2, the matrix, `wlh run`):
    out_dir/o1js is the copy, report its instrument JSON."""
    return ["node", str(BENCH / "instrument" / "make-traced-copy.mjs"), "--o1js-dir", str(o1js_dir),
            "--out", str(out_dir), "--report", str(report)]


def run_traced_copy(cmd: list[str], report: Path) -> None:
    report.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(cmd, check=True, stdout=sys.stderr)


def instrument_command(cfg: Config) -> list[str]:
    return traced_copy_command(installed_o1js(), traced_dir(cfg), instrument_report(cfg))


def make_traced_copy(cfg: Config) -> None:
    check_o1js_pin(cfg)
    run_traced_copy(instrument_command(cfg), instrument_report(cfg))


def log_path(cfg: Config, scenario: str) -> Path:
    return cfg.artifacts / "step2" / f"{scenario}.log"


def bench_path(cfg: Config, scenario: str) -> Path:
    return cfg.artifacts / "step2" / f"{scenario}-bench.jsonl"


def source_build_dir(cfg: Config) -> Path:
    return cfg.artifacts / "source_build"


def traced_o1js(cfg: Config) -> Path:
    """The instrumented o1js copy of the configured route."""
    return (source_build_dir(cfg) if cfg["route"] == "source" else traced_dir(cfg)) / "o1js"


def trace_command(cfg: Config, scenario: str, *, o1js_dir: Path | None = None, out: Path | None = None,
                  log: Path | None = None, route: str | None = None) -> tuple[list[str], dict]:
    """The traced benchmark's command line and the tracer's environment (by default the configured
    route's copy and the Step 2 paths; the source-route comparison passes its own)."""
    b, t = cfg["bench"], cfg["trace"]
    cmd = node_command(scenario=scenario, iterations=t["iterations"], out=out or bench_path(cfg, scenario),
                       label=f"{scenario} traced", meta={"overrides": cfg.overrides, "trace": t, "bench": b,
                                                        "route": route or cfg["route"]},
                       o1js_dir=o1js_dir or traced_o1js(cfg), **bench_args(cfg))
    env = {"WLH_TRACE_LOG": str(log or log_path(cfg, scenario)),
           "WLH_CREATION_SITES": "1" if t["creation_sites"] else "0"}
    return cmd, env


def trace_run(cfg: Config, scenario: str) -> None:
    b = cfg["bench"]
    out, log = bench_path(cfg, scenario), log_path(cfg, scenario)
    o1js = traced_o1js(cfg)
    if not (o1js / "package.json").exists():
        step = "source_build" if cfg["route"] == "source" else "instrument"
        raise FileNotFoundError(f"no instrumented o1js copy at {o1js}: run `doit {step}`")
    # Both routes write the log themselves, synchronously, to WLH_TRACE_LOG (the source route's sink too).
    cmd, env = trace_command(cfg, scenario)
    run_benchmark(cmd, out, timeout_s=b["timeout_minutes"] * 60, env=env)


def read_instrument_report(cfg: Config) -> dict:
    return json.loads(instrument_report(cfg).read_text())
