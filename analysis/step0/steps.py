"""Step 0 actions called by dodo.py: run one benchmark run, then write the report."""
from __future__ import annotations

import json
from pathlib import Path

from analysis.step0 import report as step0_report
from analysis.common.config import Config, ConfigError
from analysis.common.paths import BENCH
from analysis.step0.run import bench_args, node_command, run_benchmark


def check_o1js_pin(cfg: Config) -> None:
    """config.yaml names the o1js version; bench/package.json must pin the same one."""
    pinned = json.loads((BENCH / "package.json").read_text())["dependencies"]["o1js"]
    if pinned != cfg["o1js_version"]:
        raise ConfigError(f"config.yaml: o1js_version is {cfg['o1js_version']!r} but bench/package.json pins "
                          f"{pinned!r}: change both together (then `npm install` in bench/ to update the lockfile)")


def run_path(cfg: Config, scenario: str, run: int) -> Path:
    return cfg.artifacts / "step0" / f"{scenario}-run{run}.jsonl"


def run_command(cfg: Config, scenario: str, run: int) -> list[str]:
    b = cfg["bench"]
    return node_command(scenario=scenario, iterations=b["iterations"], out=run_path(cfg, scenario, run),
                        label=f"{scenario} run {run}", meta={"overrides": cfg.overrides, "bench": b}, **bench_args(cfg))


def run_one(cfg: Config, scenario: str, run: int) -> None:
    check_o1js_pin(cfg)
    run_benchmark(run_command(cfg, scenario, run), run_path(cfg, scenario, run),
                  timeout_s=cfg["bench"]["timeout_minutes"] * 60)


def report_paths(cfg: Config) -> dict[str, Path]:
    return {"md": cfg.reports / "STEP_0.md", "plot": cfg.artifacts / "step0" / "memory.png",
            "summary": cfg.artifacts / "step0" / "summary.json"}


def report(cfg: Config) -> None:
    runs = {s: [step0_report.load_run(run_path(cfg, s, k)) for k in range(1, cfg["bench"]["runs"] + 1)]
            for s in cfg["bench"]["scenarios"]}
    out = report_paths(cfg)
    step0_report.write_report(runs, out["md"], out["plot"], out["summary"], overrides=cfg.overrides)
