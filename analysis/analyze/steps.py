"""Step 3/4 actions called by dodo.py (`doit analyze`, `doit summary`)."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from analysis.common.config import Config
from analysis.common.paths import ROOT
from analysis.trace.steps import log_path
from analysis.analyze.figures import figures
from analysis.analyze.report import parse_log, write_report


def result_path(cfg: Config, scenario: str) -> Path:
    return cfg.artifacts / "step3" / f"{scenario}.json"


def figures_path(cfg: Config) -> Path:
    return cfg.artifacts / "step3" / "figures.json"


def decomposition_plot(cfg: Config) -> Path:
    return cfg.artifacts / "step3" / "decomposition.png"


def fragmentation_plot(cfg: Config) -> Path:
    return cfg.artifacts / "step3" / "fragmentation.png"


def step0_summary_path(cfg: Config) -> Path:
    return cfg.artifacts / "step0" / "summary.json"


def analyze(cfg: Config) -> None:
    s0_path = step0_summary_path(cfg)
    step0 = json.loads(s0_path.read_text()) if s0_path.exists() else {}
    results, figs = {}, {}
    for scenario in cfg["trace"]["scenarios"]:
        log = log_path(cfg, scenario)
        print(f"analyze: parsing {log}", flush=True)
        name = str(log.relative_to(ROOT)) if log.is_relative_to(ROOT) else log.name
        results[scenario] = parse_log(log, result_path(cfg, scenario), name)
        runs = step0.get(scenario) or []
        figs[scenario] = figures(scenario, results[scenario], runs[0]["wasm_memory_by_iteration"] if runs else None)
    note = (f"Trace: `{cfg['trace']['iterations']}` proofs per scenario, o1js {cfg['o1js_version']}, route "
            f"`{cfg['route']}`; Step 0 figures from `{s0_path.relative_to(ROOT) if s0_path.is_relative_to(ROOT) else s0_path.name}`"
            + (f"; config overrides: `{json.dumps(cfg.overrides, sort_keys=True)}`" if cfg.overrides else "") + ".")
    write_report(results, figs, cfg.reports / "STEP_3.md", note, plot=decomposition_plot(cfg),
                 frag_plot=fragmentation_plot(cfg))
    figures_path(cfg).write_text(json.dumps({s: asdict(f) for s, f in figs.items()}, indent=1, default=str) + "\n")
