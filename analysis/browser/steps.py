"""The actions of the browser steps: `wlh browser` for one run (a page that stops answering is an outcome to
record, not a failure of the step), `wlh report` of a traced run."""
from __future__ import annotations

from analysis.browser.runs import BrowserRun, run_dir
from analysis.candidate.steps import WLH, _call, _env
from analysis.common.config import Config
from analysis.common.paths import ROOT

import subprocess
import sys

NOT_RUN = 2  # wlh browser's exit code when nothing could be run (no Chromium, o1js never loaded, bad input)


def run_command(cfg: Config, run: BrowserRun) -> list[str]:
    b = cfg["browser"]
    return [*WLH, "browser", "--scenario", run.scenario, "--proofs", str(b["proofs"]), "--workers", str(b["workers"]),
            "--out", str(run_dir(cfg, run)), "--force", "--label", f"browser {run.name}",
            "--watch", str(b["watch_seconds"]), *([] if run.traced else ["--no-trace"]),
            *(["--whatif", run.whatif] if run.whatif else [])]


def report_command(cfg: Config, run: BrowserRun) -> list[str]:
    return [*WLH, "report", str(run_dir(cfg, run))]


def run(cfg: Config, run: BrowserRun) -> None:
    cmd = run_command(cfg, run)
    code = subprocess.run([sys.executable, *cmd[1:]], cwd=ROOT, env=_env()).returncode
    if code == NOT_RUN:
        raise RuntimeError(f"browser {run.name}: wlh browser could not run (exit code 2; its output is above)")


def report(cfg: Config, run: BrowserRun) -> None:
    _call(report_command(cfg, run), f"browser {run.name}: wlh report")
