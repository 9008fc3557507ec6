"""The actions of the candidate steps: pack the candidate, trace each build with `wlh run` (then `wlh report`),
compare the two builds per scenario with `wlh compare`. Each runs a command line (recorded as a parameter in
the lock) from the repository root; a failing command fails the step with one line naming it."""
from __future__ import annotations

import os
import subprocess
import sys

from analysis.candidate import paths
from analysis.common.config import Config
from analysis.common.paths import BENCH, ROOT

# Commands name the interpreter "python" (the lock must not depend on how doit was started: .venv/bin/python
# and .venv/bin/python3 are one interpreter); _call runs them with this process's own.
PYTHON = "python"
WLH = [PYTHON, "-m", "analysis.wlh"]


def installed_o1js():
    return BENCH / "node_modules" / "o1js"


def pack_command(cfg: Config) -> list[str]:
    return [PYTHON, str(paths.GENERATOR), "--o1js-dir", str(installed_o1js()),
            "--out", str(paths.tarball(cfg)), "--record", str(paths.pack_record(cfg))]


def o1js_spec(cfg: Config, build: str) -> str:
    return cfg["o1js_version"] if build == "release" else str(paths.tarball(cfg))


def label(cfg: Config, build: str, scenario: str) -> str:
    name = f"o1js {cfg['o1js_version']}" if build == "release" else paths.NAME
    return f"{name} {scenario}"


def run_command(cfg: Config, build: str, scenario: str) -> list[str]:
    c = cfg["candidate"]
    workers = str(c["workers"])
    return [*WLH, "run", "--o1js", o1js_spec(cfg, build), "--workers", workers,
            "--out", str(paths.run_dir(cfg, build, scenario)), "--force", "--label", label(cfg, build, scenario),
            "--", "node", str(paths.LOOP), "--scenario", scenario, "--proofs", str(c["proofs"]),
            "--workers", workers, "--rows", str(cfg["bench"]["circuit_rows"])]


def report_command(cfg: Config, build: str, scenario: str) -> list[str]:
    return [*WLH, "report", str(paths.run_dir(cfg, build, scenario))]


def compare_command(cfg: Config, scenario: str) -> list[str]:
    return [*WLH, "compare", *(str(paths.run_dir(cfg, b, scenario)) for b in paths.BUILDS),
            "--json", str(paths.compare_json(cfg, scenario)), "--out", str(paths.compare_md(cfg, scenario))]


def _env() -> dict:
    # The instrumented o1js copies wlh makes go to the pipeline's local state (.wlh-cache/, not committed)
    # rather than the user's home, unless WLH_CACHE says otherwise.
    return {**os.environ, "WLH_CACHE": os.environ.get("WLH_CACHE") or str(ROOT / ".wlh-cache" / "wlh")}


def _call(cmd: list[str], what: str) -> None:
    cmd = [sys.executable, *cmd[1:]] if cmd[0] == PYTHON else cmd
    code = subprocess.run(cmd, cwd=ROOT, env=_env()).returncode
    if code != 0:
        raise RuntimeError(f"{what}: exited with code {code} (its output is above)")


def pack(cfg: Config) -> None:
    _call(pack_command(cfg), f"candidate {paths.NAME}: pack")


def run(cfg: Config, build: str, scenario: str) -> None:
    _call(run_command(cfg, build, scenario), f"candidate {build}/{scenario}: wlh run")


def report(cfg: Config, build: str, scenario: str) -> None:
    _call(report_command(cfg, build, scenario), f"candidate {build}/{scenario}: wlh report")


def compare(cfg: Config, scenario: str) -> None:
    _call(compare_command(cfg, scenario), f"candidate {scenario}: wlh compare")
