"""Where the candidate steps write: artifacts/candidate/ (tarball, pack record, one `wlh run` directory per
build and scenario, one `wlh compare` per scenario)."""
from __future__ import annotations

from pathlib import Path

from analysis.common.config import Config
from analysis.common.paths import BENCH

NAME = "free-wrapped-polycomm"
GENERATOR = BENCH / "candidates" / NAME / "make.py"
TEMPLATE = BENCH / "candidates" / NAME / "free-on-collect.js"
LOOP = BENCH / "wlh-loop.mjs"
BUILDS = ("release", "candidate")  # baseline first: `wlh compare BASELINE CANDIDATE`


def folder(cfg: Config) -> Path:
    return cfg.artifacts / "candidate"


def tarball(cfg: Config) -> Path:
    return folder(cfg) / f"o1js-{cfg['o1js_version']}-{NAME}.tgz"


def pack_record(cfg: Config) -> Path:
    return folder(cfg) / "pack.json"


def run_dir(cfg: Config, build: str, scenario: str) -> Path:
    return folder(cfg) / f"{build}-{scenario}"


def compare_json(cfg: Config, scenario: str) -> Path:
    return folder(cfg) / f"compare-{scenario}.json"


def compare_md(cfg: Config, scenario: str) -> Path:
    return folder(cfg) / f"compare-{scenario}.md"
